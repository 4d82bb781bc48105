package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parts of an image config the runtime uses. Strings reaching exec, env or paths are checked
 * here so nothing later has to: no NUL bytes, env entries of the form KEY=VALUE with a non-empty
 * key, an absolute working directory without "..".
 */
public record ImageConfig(
    String os,
    String architecture,
    List<String> entrypoint,
    List<String> cmd,
    List<String> env,
    String workingDir,
    String user,
    Map<String, String> labels,
    String stopSignal,
    List<Digest> diffIds) {

  public ImageConfig {
    entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
    cmd = cmd == null ? List.of() : List.copyOf(cmd);
    env = env == null ? List.of() : List.copyOf(env);
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    diffIds = List.copyOf(diffIds);
    workingDir = workingDir == null || workingDir.isEmpty() ? "/" : workingDir;
    user = user == null ? "" : user;
  }

  static ImageConfig parse(byte[] data) {
    if (data.length > ImageLimits.MAX_CONFIG_BYTES) {
      throw ImageException.bad(
          "image config is " + data.length + " bytes, over the limit of "
              + ImageLimits.MAX_CONFIG_BYTES);
    }
    String what = "image config";
    JsonNode n = Json.parse(data, what);
    String os = Json.text(n, "os", what);
    String arch = Json.text(n, "architecture", what);
    JsonNode c = n.get("config");
    if (c != null && !c.isNull() && !c.isObject()) {
      throw ImageException.bad(what + ": 'config' is not an object");
    }
    if (c == null || c.isNull()) {
      c = Json.object();
    }
    String w = what + " config";
    List<String> entrypoint = Json.optStrings(c, "Entrypoint", w);
    List<String> cmd = Json.optStrings(c, "Cmd", w);
    List<String> env = Json.optStrings(c, "Env", w);
    String workingDir = Json.optText(c, "WorkingDir", w);
    String user = Json.optText(c, "User", w);
    Map<String, String> labels = Json.optStringMap(c, "Labels", w);
    String stopSignal = Json.optText(c, "StopSignal", w);
    JsonNode rootfs = n.get("rootfs");
    if (rootfs == null || !rootfs.isObject()) {
      throw ImageException.bad(what + ": 'rootfs' missing");
    }
    if (!"layers".equals(Json.optText(rootfs, "type", what + " rootfs"))) {
      throw ImageException.bad(what + ": rootfs.type must be \"layers\"");
    }
    List<String> ids = Json.optStrings(rootfs, "diff_ids", what + " rootfs");
    List<Digest> diffIds = new ArrayList<>();
    for (String id : ids == null ? List.<String>of() : ids) {
      diffIds.add(Digest.parse(id));
    }
    checkStrings("Entrypoint", entrypoint);
    checkStrings("Cmd", cmd);
    checkEnv(env);
    checkStrings("WorkingDir", workingDir == null ? List.of() : List.of(workingDir));
    checkStrings("User", user == null ? List.of() : List.of(user));
    if (workingDir != null && !workingDir.isEmpty()) {
      if (!workingDir.startsWith("/") || List.of(workingDir.split("/")).contains("..")) {
        throw ImageException.bad(
            what + ": WorkingDir '" + workingDir + "' must be absolute and free of '..'");
      }
    }
    return new ImageConfig(
        os, arch, entrypoint, cmd, env, workingDir, user, labels, stopSignal, diffIds);
  }

  private static void checkStrings(String field, List<String> values) {
    if (values == null) {
      return;
    }
    for (String v : values) {
      if (v.indexOf('\0') >= 0) {
        throw ImageException.bad("image config: " + field + " contains a NUL byte");
      }
    }
  }

  private static void checkEnv(List<String> env) {
    if (env == null) {
      return;
    }
    for (String e : env) {
      int eq = e.indexOf('=');
      if (e.indexOf('\0') >= 0 || eq <= 0) {
        throw ImageException.bad(
            "image config: Env entry '" + e.replace('\0', '?')
                + "' is not KEY=VALUE with a non-empty key and no NUL");
      }
    }
  }

  boolean runsHere() {
    return "linux".equals(os) && "amd64".equals(architecture);
  }
}
