package run.cocoon.agent.client;

import java.io.IOException;
import run.cocoon.agent.protocol.Connection;

/** Opens a new connection to the agent (control or stdio). */
@FunctionalInterface
public interface Connector {
  Connection open() throws IOException;
}
