package run.cocoon.agent.server;

import run.cocoon.agent.protocol.ProtocolLimits;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;

/** Turns one request into one reply through the backend. */
final class RequestHandler {
  private final ContainerBackend backend;
  private final Runnable onShutdown;
  private final java.util.function.LongConsumer setClock;
  private final Reply.BootPhases boot;

  RequestHandler(ContainerBackend backend, Runnable onShutdown,
      java.util.function.LongConsumer setClock, Reply.BootPhases boot) {
    this.backend = backend;
    this.onShutdown = onShutdown;
    this.setClock = setClock;
    this.boot = boot;
  }

  Reply handle(Request request) throws InterruptedException {
    try {
      return switch (request) {
        case Request.Hello h -> {
          if (h.version() != ProtocolLimits.VERSION) {
            yield new Reply.Error(Reply.Code.PROTOCOL, "protocol version " + h.version()
                + " is not supported (agent speaks " + ProtocolLimits.VERSION + ")");
          }
          if (h.hostTimeMillis() > 0) {
            setClock.accept(h.hostTimeMillis());
          }
          yield new Reply.Welcome(ProtocolLimits.VERSION, AgentVersion.NAME, boot);
        }
        case Request.Create c -> new Reply.Started(backend.create(c));
        case Request.Start s -> {
          backend.start(s.container());
          yield new Reply.Ok();
        }
        case Request.Wait w -> backend.waitFor(w.container(), w.exec());
        case Request.Signal s -> {
          backend.signal(s.container(), s.exec(), s.signal(), s.all());
          yield new Reply.Ok();
        }
        case Request.Exec e -> new Reply.Started(backend.exec(e));
        case Request.Stats s -> backend.stats(s.container());
        case Request.ListContainers l -> new Reply.Containers(backend.list());
        case Request.Delete d -> {
          backend.delete(d.container(), d.force());
          yield new Reply.Ok();
        }
        case Request.Resize r -> {
          backend.resize(r.container(), r.exec(), r.rows(), r.columns());
          yield new Reply.Ok();
        }
        case Request.Shutdown s -> {
          backend.stopAll();
          onShutdown.run();
          yield new Reply.Ok();
        }
        case Request.Attach a -> new Reply.Error(Reply.Code.PROTOCOL,
            "attach must be the first frame of its own connection");
      };
    } catch (AgentFailure f) {
      return new Reply.Error(f.code(), f.getMessage());
    }
  }
}
