package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A fixed array of {@code struct pollfd} for poll(2): a device thread that waits on a TAP and on
 * eventfds at once fills the slots, polls, and reads each slot's ready events. Confined to the
 * thread that created it.
 */
public final class PollSet implements AutoCloseable {
  private static final long SIZE = Layouts.POLLFD.byteSize();
  private static final long FD = Layouts.offset(Layouts.POLLFD, "fd");
  private static final long EVENTS = Layouts.offset(Layouts.POLLFD, "events");
  private static final long REVENTS = Layouts.offset(Layouts.POLLFD, "revents");

  private final Arena arena = Arena.ofConfined();
  private final MemorySegment entries;
  private final int capacity;

  public PollSet(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("poll set of " + capacity + " entries");
    }
    this.capacity = capacity;
    this.entries = arena.allocate(Layouts.POLLFD, capacity);
    for (int i = 0; i < capacity; i++) {
      set(i, -1, 0);
    }
  }

  /**
   * Watches {@code fd} for {@code events} ({@link Libc#POLLIN}, {@link Libc#POLLOUT}) in slot
   * {@code index}; a negative {@code fd} leaves the slot out (poll(2) skips it).
   */
  public void set(int index, int fd, int events) {
    long at = slot(index);
    entries.set(JAVA_INT, at + FD, fd);
    entries.set(JAVA_SHORT, at + EVENTS, (short) events);
    entries.set(JAVA_SHORT, at + REVENTS, (short) 0);
  }

  /**
   * Waits until a watched descriptor is ready or {@code timeoutMillis} passed (negative: no
   * limit); returns the number of ready slots, 0 on timeout or when a signal interrupted the wait.
   */
  public int poll(int timeoutMillis) {
    return Libc.poll(entries, capacity, timeoutMillis);
  }

  /**
   * The events slot {@code index} reported in the last {@link #poll}: the requested ones that are
   * ready, plus {@link Libc#POLLERR}, {@link Libc#POLLHUP} or {@link Libc#POLLNVAL}.
   */
  public int ready(int index) {
    return Short.toUnsignedInt(entries.get(JAVA_SHORT, slot(index) + REVENTS));
  }

  private long slot(int index) {
    if (index < 0 || index >= capacity) {
      throw new IndexOutOfBoundsException("poll slot " + index + " of " + capacity);
    }
    return index * SIZE;
  }

  @Override
  public void close() {
    arena.close();
  }
}
