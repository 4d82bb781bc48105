package run.cocoon.agent.client;

import run.cocoon.agent.protocol.Reply;

/** The agent answered a request with an error. */
public final class AgentException extends Exception {
  private static final long serialVersionUID = 1L;
  private final Reply.Code code;

  public AgentException(Reply.Code code, String message) {
    super(message);
    this.code = code;
  }

  public Reply.Code code() {
    return code;
  }
}
