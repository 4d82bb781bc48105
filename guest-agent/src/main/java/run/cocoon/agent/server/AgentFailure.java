package run.cocoon.agent.server;

import run.cocoon.agent.protocol.Reply;

/** A request the agent could not carry out; becomes an {@link Reply.Error} with this code. */
public final class AgentFailure extends Exception {
  private static final long serialVersionUID = 1L;
  private final Reply.Code code;

  public AgentFailure(Reply.Code code, String message) {
    super(message);
    this.code = code;
  }

  public AgentFailure(Reply.Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public Reply.Code code() {
    return code;
  }
}
