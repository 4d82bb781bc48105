package run.cocoon.testbox;

import java.util.List;

/**
 * Recognises, in what a test's commands printed, the nested box's known intermittent failures
 * (docs/test-box.md): its L1 VM ending under a command, and an L2 guest whose kernel hangs or
 * triple-faults while it boots. A scenario whose checks all come after its guests' agents
 * answered can then run once more instead of failing on the box; a guest that never gets its
 * agent up for a reason of ours fails both times.
 */
public final class BoxFlakes {
  /**
   * What cocoon says when a guest never got as far as its agent: it ended with a triple fault,
   * or it said nothing on vsock until the bound (a hung guest kernel).
   */
  static final List<String> STOPPED_BEFORE_AGENT = List.of(
      "the VM ended before its agent answered: crashed: triple fault",
      "the agent did not answer within");

  /** What cocoon-box says when the box's own L1 VM ended while a command ran. */
  static final String BOX_GONE = "cocoon-box: the box serving ";

  private BoxFlakes() {}

  /** Whether {@code output} says the box's L1 VM ended under the command. */
  public static boolean boxGone(String output) {
    int at = output.indexOf(BOX_GONE);
    return at >= 0 && output.indexOf(" is gone", at) > at;
  }

  /** Whether {@code output} says one of its guests stopped before its agent answered. */
  public static boolean guestStoppedBeforeAgent(String output) {
    return STOPPED_BEFORE_AGENT.stream().anyMatch(output::contains);
  }
}
