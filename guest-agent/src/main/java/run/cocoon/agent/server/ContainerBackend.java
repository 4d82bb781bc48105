package run.cocoon.agent.server;

import java.io.IOException;
import java.util.List;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;

/**
 * What the agent does with containers; the protocol layer only decodes, dispatches and answers.
 * Implementations are thread-safe: requests from several connections arrive concurrently, and
 * {@link #waitFor} blocks its caller only.
 */
public interface ContainerBackend {
  /** Sets up the container; its process waits for {@link #start}. Returns its pid. */
  long create(Request.Create request) throws AgentFailure;

  void start(String container) throws AgentFailure;

  /** Blocks until the container's process (or the exec) ends. */
  Reply.Exited waitFor(String container, String exec) throws AgentFailure, InterruptedException;

  void signal(String container, String exec, int signal, boolean all) throws AgentFailure;

  /** Starts another process in the running container; returns its pid. */
  long exec(Request.Exec request) throws AgentFailure;

  Reply.Statistics stats(String container) throws AgentFailure;

  List<Reply.ContainerInfo> list();

  void delete(String container, boolean force) throws AgentFailure;

  void resize(String container, String exec, int rows, int columns) throws AgentFailure;

  /**
   * Connects one standard stream of a process to a byte channel and returns once the stream is
   * done (EOF either way); the caller closes the channel afterwards. Throws before calling
   * {@link StdioChannel#ready()} when the process or stream does not exist; after it, failures
   * just end the stream.
   */
  void attach(String container, String exec, Request.Stream stream, StdioChannel channel)
      throws AgentFailure, IOException;

  /** Stops every container (shutdown); errors are logged, not thrown. */
  void stopAll();

  /** The bytes of one attached stream. */
  interface StdioChannel {
    java.io.InputStream input();

    java.io.OutputStream output();

    /** Tells the host the stream is attached; call once, before any byte flows. */
    void ready() throws IOException;

    /** The process closed this stream: the host sees EOF (the channel may still carry input). */
    void endOutput();
  }
}
