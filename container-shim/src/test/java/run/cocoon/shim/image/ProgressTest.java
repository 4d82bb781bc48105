package run.cocoon.shim.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

class ProgressTest {
  final Digest a = Digest.of(new byte[] {1});
  final Digest b = Digest.of(new byte[] {2});

  @Test
  void barRedrawsOneLineAndEndsIt() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Progress p = new Progress.Bar(new PrintStream(out, true));
    p.start(a, 2 * 1048576);
    p.start(b, 2 * 1048576);
    p.advance(a, 1048576);
    p.done(a);
    p.done(b);
    p.finish();
    String s = out.toString();
    assertTrue(s.contains("\r\033[K["), s);
    assertTrue(s.contains("4.0 MiB / 4.0 MiB"), s);
    assertEquals(1, s.chars().filter(c -> c == '\n').count(), "one finished line");
    assertTrue(s.endsWith("\n"));
  }

  @Test
  void plainLinesWithoutATerminal() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Progress p = new Progress.Lines(new PrintStream(out, true));
    p.start(a, 1048576);
    p.advance(a, 10);
    p.done(a);
    p.finish();
    assertEquals("pulling " + a.shortHex() + " (1.0 MiB)\ndone    " + a.shortHex() + "\n",
        out.toString());
    assertTrue(!out.toString().contains("\r"));
  }
}
