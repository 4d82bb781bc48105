package run.cocoon.agent.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listener and connection code, over Unix sockets (the same code path as vsock; every host
 * has them) and over vsock loopback where the host kernel has it.
 */
@Timeout(60)
class VsockStreamsTest {
  @TempDir Path dir;

  private VsockListener unixListener() throws IOException {
    return VsockListener.bindUnix(dir.resolve("s"));
  }

  private VsockConnection connect() throws IOException {
    return VsockConnection.connectUnix(dir.resolve("s").toString());
  }

  private static CompletableFuture<VsockConnection> acceptAsync(VsockListener listener) {
    CompletableFuture<VsockConnection> f = new CompletableFuture<>();
    Thread.ofPlatform().start(() -> {
      try {
        f.complete(listener.accept());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f;
  }

  @Test
  void bytesGoBothWaysAndHalfCloseGivesEndOfStream() throws Exception {
    try (VsockListener listener = unixListener()) {
      CompletableFuture<VsockConnection> accepted = acceptAsync(listener);
      try (VsockConnection client = connect(); VsockConnection server = accepted.get(10, TimeUnit.SECONDS)) {
        assertEquals(-1, server.peerCid());
        client.output().write("hello\n".getBytes(StandardCharsets.UTF_8));
        client.shutdownOutput();
        assertEquals("hello\n", new String(server.input().readAllBytes(), StandardCharsets.UTF_8));
        server.output().write("back".getBytes(StandardCharsets.UTF_8));
        server.close();
        assertEquals("back", new String(client.input().readAllBytes(), StandardCharsets.UTF_8));
      }
    }
  }

  @Test
  void transfersLargerThanTheNativeBufferArriveIntact() throws Exception {
    byte[] data = new byte[VsockConnection.BUFFER_BYTES * 5 + 123];
    new Random(7).nextBytes(data);
    try (VsockListener listener = unixListener()) {
      CompletableFuture<VsockConnection> accepted = acceptAsync(listener);
      try (VsockConnection client = connect(); VsockConnection server = accepted.get(10, TimeUnit.SECONDS)) {
        CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
          try {
            return server.input().readAllBytes();
          } catch (IOException e) {
            throw new RuntimeException(e);
          }
        });
        client.output().write(data);
        client.shutdownOutput();
        assertArrayEquals(data, received.get(30, TimeUnit.SECONDS));
      }
    }
  }

  @Test
  void closingTheListenerWakesABlockedAccept() throws Exception {
    VsockListener listener = unixListener();
    CompletableFuture<VsockConnection> accepted = acceptAsync(listener);
    Thread.sleep(200); // let it block in poll
    listener.close();
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> accepted.get(10, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof ClosedChannelException, e.toString());
    assertThrows(ClosedChannelException.class, listener::accept);
    listener.close(); // idempotent
  }

  @Test
  void closingAConnectionWakesABlockedReader() throws Exception {
    try (VsockListener listener = unixListener()) {
      CompletableFuture<VsockConnection> accepted = acceptAsync(listener);
      try (VsockConnection client = connect()) {
        VsockConnection server = accepted.get(10, TimeUnit.SECONDS);
        CompletableFuture<Integer> read = CompletableFuture.supplyAsync(() -> {
          try {
            return server.input().read();
          } catch (IOException e) {
            return -2;
          }
        });
        Thread.sleep(200);
        server.close();
        assertEquals(-1, read.get(10, TimeUnit.SECONDS)); // end of stream, not a hang
        assertThrows(ClosedChannelException.class, () -> server.input().read());
        assertEquals(-1, client.input().read()); // the peer sees the close
      }
    }
  }

  @Test
  void connectingToNothingFailsWithTheCause() {
    IOException e = assertThrows(IOException.class,
        () -> VsockConnection.connectUnix(dir.resolve("none").toString()));
    assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
  }

  @Test
  void vsockLoopbackWhenTheHostKernelHasIt() throws Exception {
    // Without the loopback transport a connect to CID 1 goes out through whatever transport the
    // host has (a VM's virtio one) and may never be answered: do not try then.
    assumeTrue(Files.isDirectory(Path.of("/sys/module/vsock_loopback")),
        "vsock loopback unavailable here (module vsock_loopback not loaded)");
    VsockListener listener = VsockListener.bind(0x7c0c);
    try (listener) {
      CompletableFuture<VsockConnection> accepted = acceptAsync(listener);
      try (VsockConnection client = VsockConnection.connect(GuestLibc.VMADDR_CID_LOCAL, 0x7c0c);
          VsockConnection server = accepted.get(10, TimeUnit.SECONDS)) {
        assertEquals(GuestLibc.VMADDR_CID_LOCAL, server.peerCid());
        client.output().write("ping".getBytes(StandardCharsets.UTF_8));
        client.shutdownOutput();
        assertEquals("ping", new String(server.input().readAllBytes(), StandardCharsets.UTF_8));
      }
    }
  }

  @Test
  void aBlockedReaderDoesNotKeepTheJvmFromSafepoints() throws Exception {
    // A reader parked in read(2) must not stall GC: nothing here is linked "critical".
    try (VsockListener listener = unixListener()) {
      CompletableFuture<VsockConnection> accepted = acceptAsync(listener);
      try (VsockConnection client = connect(); VsockConnection server = accepted.get(10, TimeUnit.SECONDS)) {
        Thread reader = Thread.ofPlatform().start(() -> {
          try {
            server.input().read();
          } catch (IOException ignored) {
            // closed below
          }
        });
        Thread.sleep(100);
        long start = System.nanoTime();
        System.gc();
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 10);
        client.close();
        reader.join(10_000);
        assertTrue(!reader.isAlive());
      }
    }
  }

  @Test
  void virtualThreadsWaitingToReadDoNotHoldTheirCarriers() throws Exception {
    // More blocked readers than carrier threads: had the reads pinned their carriers, no other
    // virtual thread could run until data arrived.
    int readers = Runtime.getRuntime().availableProcessors() * 4;
    try (VsockListener listener = unixListener()) {
      List<VsockConnection> clients = new ArrayList<>();
      List<CompletableFuture<Integer>> reads = new ArrayList<>();
      for (int i = 0; i < readers; i++) {
        CompletableFuture<VsockConnection> accepted = acceptAsync(listener);
        clients.add(connect());
        VsockConnection server = accepted.get(10, TimeUnit.SECONDS);
        CompletableFuture<Integer> read = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
          try (server) {
            read.complete(server.input().read());
          } catch (IOException e) {
            read.completeExceptionally(e);
          }
        });
        reads.add(read);
      }
      Thread.sleep(300); // every reader is waiting now
      CompletableFuture<String> other = new CompletableFuture<>();
      Thread.ofVirtual().start(() -> other.complete("ran"));
      assertEquals("ran", other.get(10, TimeUnit.SECONDS));
      for (VsockConnection c : clients) {
        c.output().write(42);
      }
      for (CompletableFuture<Integer> read : reads) {
        assertEquals(42, read.get(10, TimeUnit.SECONDS));
      }
      clients.forEach(VsockConnection::close);
    }
  }
}
