package run.cocoon.shim.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import sun.misc.Signal;

/** Real signals raised at this JVM: held before attach, forwarded after, handlers restored. */
class SignalRelayTest {
  private static final int SIGHUP = 1;
  private static final int SIGUSR1 = 10;

  @Test
  void signalsBeforeAttachAreHeldThenDeliveredInOrderLaterOnesAtOnce() throws Exception {
    List<Integer> got = new CopyOnWriteArrayList<>();
    List<Integer> afterClose = new CopyOnWriteArrayList<>();
    // The handler the relay must put back: records what reaches it once the relay is closed.
    Signal.handle(new Signal("USR1"), s -> afterClose.add(s.getNumber()));
    try (SignalRelay relay = new SignalRelay(List.of("HUP", "USR1"))) {
      // Java runs each signal's handler on a thread of its own, so two signals raised back to
      // back may be handled in either order: the pause makes the arrival order the raising order.
      Signal.raise(new Signal("HUP"));
      Thread.sleep(Duration.ofMillis(300));
      Signal.raise(new Signal("USR1"));
      Thread.sleep(Duration.ofMillis(300));
      assertEquals(List.of(), got, "nothing is delivered before attach");
      relay.attach(got::add);
      assertEquals(List.of(SIGHUP, SIGUSR1), got, "held signals arrive on attach, in order");
      Signal.raise(new Signal("USR1"));
      awaitSize(got, 3);
      assertEquals(List.of(SIGHUP, SIGUSR1, SIGUSR1), got);
    }
    Signal.raise(new Signal("USR1"));
    awaitSize(afterClose, 1);
    assertEquals(List.of(SIGUSR1), afterClose, "the previous handler is back");
    assertEquals(3, got.size(), "the closed relay delivers nothing more");
  }

  private static void awaitSize(List<Integer> list, int size) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (list.size() < size && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
  }
}
