package run.cocoon.agent.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/** What a frame carries: a request from the host or the agent's reply. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = Request.Hello.class, name = "hello"),
    @JsonSubTypes.Type(value = Request.Create.class, name = "create"),
    @JsonSubTypes.Type(value = Request.Start.class, name = "start"),
    @JsonSubTypes.Type(value = Request.Wait.class, name = "wait"),
    @JsonSubTypes.Type(value = Request.Signal.class, name = "signal"),
    @JsonSubTypes.Type(value = Request.Exec.class, name = "exec"),
    @JsonSubTypes.Type(value = Request.Stats.class, name = "stats"),
    @JsonSubTypes.Type(value = Request.ListContainers.class, name = "list"),
    @JsonSubTypes.Type(value = Request.Delete.class, name = "delete"),
    @JsonSubTypes.Type(value = Request.Shutdown.class, name = "shutdown"),
    @JsonSubTypes.Type(value = Request.Attach.class, name = "attach"),
    @JsonSubTypes.Type(value = Request.Resize.class, name = "resize"),
    @JsonSubTypes.Type(value = Reply.Welcome.class, name = "welcome"),
    @JsonSubTypes.Type(value = Reply.Ok.class, name = "ok"),
    @JsonSubTypes.Type(value = Reply.Started.class, name = "started"),
    @JsonSubTypes.Type(value = Reply.Exited.class, name = "exited"),
    @JsonSubTypes.Type(value = Reply.Statistics.class, name = "statistics"),
    @JsonSubTypes.Type(value = Reply.Containers.class, name = "containers"),
    @JsonSubTypes.Type(value = Reply.Error.class, name = "error"),
})
public sealed interface Body permits Request, Reply {}
