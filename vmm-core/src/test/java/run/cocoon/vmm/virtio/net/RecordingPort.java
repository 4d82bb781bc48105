package run.cocoon.vmm.virtio.net;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import run.cocoon.kvm.Errno;
import run.cocoon.kvm.EventFd;

/**
 * A frame port that takes every frame at once and records its length, and never has a frame to
 * read (its descriptor is an eventfd nobody signals). For fuzzing the transmit path.
 */
final class RecordingPort implements FramePort {
  private final EventFd never = EventFd.createNonBlocking();
  final List<Long> written = new CopyOnWriteArrayList<>();

  @Override
  public int fd() {
    return never.fd();
  }

  @Override
  public long read(MemorySegment buffer) {
    return -Errno.EAGAIN;
  }

  @Override
  public long write(MemorySegment frame) {
    written.add(frame.byteSize());
    return frame.byteSize();
  }

  @Override
  public void setOffload(int tunFlags) {}

  @Override
  public String describe() {
    return "recording port";
  }

  @Override
  public void close() {
    never.close();
  }
}
