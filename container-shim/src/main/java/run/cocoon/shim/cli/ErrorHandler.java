package run.cocoon.shim.cli;

import picocli.CommandLine;

/** Turns exceptions escaping a command into one clear line on stderr and a stable exit code. */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
  @Override
  public int handleExecutionException(
      Exception e, CommandLine cl, CommandLine.ParseResult parseResult) {
    cl.getErr().println("cocoon: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
    if (Boolean.getBoolean("cocoon.debug")) {
      e.printStackTrace(cl.getErr());
    }
    return e instanceof CliException ce ? ce.exitCode() : ExitCodes.FAILURE;
  }
}
