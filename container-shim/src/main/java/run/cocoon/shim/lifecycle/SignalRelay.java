package run.cocoon.shim.lifecycle;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Catches the given signals from the moment it is created, for a container that does not exist
 * yet: a signal that arrives before {@link #attach} (while a guest boots) is held and delivered
 * on attach, in arrival order, rather than ending this process and leaving the container's state
 * behind; later ones are delivered at once. {@link #close} puts the previous handlers back.
 */
final class SignalRelay implements AutoCloseable {
  private final Map<String, SignalHandler> previous = new LinkedHashMap<>();
  private final List<Integer> held = new ArrayList<>();
  private IntConsumer target;

  /** Signal names as {@link Signal} knows them: "INT", "TERM", "HUP". */
  SignalRelay(List<String> names) {
    for (String name : names) {
      Signal sig = new Signal(name);
      previous.put(name, Signal.handle(sig, x -> deliver(sig.getNumber())));
    }
  }

  private synchronized void deliver(int signal) {
    if (target == null) {
      held.add(signal);
    } else {
      target.accept(signal);
    }
  }

  /** From now on signals go to {@code forward}, starting with those held so far. */
  synchronized void attach(IntConsumer forward) {
    target = forward;
    held.forEach(forward::accept);
    held.clear();
  }

  @Override
  public void close() {
    previous.forEach((name, handler) -> Signal.handle(new Signal(name), handler));
  }
}
