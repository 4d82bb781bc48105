package run.cocoon.agent.server;

/** How the agent names itself in the welcome reply. */
public final class AgentVersion {
  public static final String NAME = "cocoon-agent/"
      + java.util.Objects.requireNonNullElse(AgentVersion.class.getPackage().getImplementationVersion(), "dev");

  private AgentVersion() {}
}
