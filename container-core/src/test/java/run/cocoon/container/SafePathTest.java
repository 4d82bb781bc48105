package run.cocoon.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafePathTest {
  @TempDir Path root;

  @BeforeEach
  void traps() throws IOException {
    Files.createDirectories(root.resolve("etc"));
    Files.createDirectories(root.resolve("a/b"));
    Files.createSymbolicLink(root.resolve("up"), Path.of("../../../../etc"));
    Files.createSymbolicLink(root.resolve("abs"), Path.of("/etc"));
    Files.createSymbolicLink(root.resolve("a/rel"), Path.of("../etc"));
    Files.createSymbolicLink(root.resolve("a/b/deep"), Path.of("../../../../../../.."));
    Files.createSymbolicLink(root.resolve("loop1"), Path.of("loop2"));
    Files.createSymbolicLink(root.resolve("loop2"), Path.of("loop1"));
    Files.createSymbolicLink(root.resolve("self"), Path.of("."));
  }

  @Test
  void plainPathsStayAsWritten() {
    assertEquals("a/b/c", SafePath.resolveInRoot(root, "/a/b/c"));
    assertEquals("", SafePath.resolveInRoot(root, "/"));
    assertEquals("new/dir", SafePath.resolveInRoot(root, "/new/dir"));
  }

  @Test
  void dotDotSymlinksAreClampedAtTheRoot() {
    assertEquals("etc/passwd", SafePath.resolveInRoot(root, "/up/passwd"));
    assertEquals("", SafePath.resolveInRoot(root, "/a/b/deep"));
    assertEquals("x", SafePath.resolveInRoot(root, "/a/b/deep/x"));
  }

  @Test
  void absoluteSymlinksAreReinterpretedInsideTheRoot() {
    assertEquals("etc/shadow", SafePath.resolveInRoot(root, "/abs/shadow"));
    assertEquals("etc", SafePath.resolveInRoot(root, "/a/rel"));
    assertEquals("a/b", SafePath.resolveInRoot(root, "/self/self/a/b"));
  }

  @Test
  void symlinkLoopsAreRefused() {
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> SafePath.resolveInRoot(root, "/loop1/x"));
    assertTrue(e.getMessage().contains("too many symlinks"), e.getMessage());
  }

  @Test
  void containerPathsMustBeAbsoluteWithoutDotDot() {
    assertEquals("/a/b", SafePath.checkContainerPath("f", "//a/./b/"));
    assertThrows(InvalidSpecException.class, () -> SafePath.checkContainerPath("f", "a/b"));
    assertThrows(InvalidSpecException.class, () -> SafePath.checkContainerPath("f", "/a/../../etc"));
    assertThrows(InvalidSpecException.class, () -> SafePath.checkContainerPath("f", "/a\0b"));
    assertThrows(InvalidSpecException.class, () -> SafePath.checkContainerPath("f", ""));
    assertThrows(InvalidSpecException.class,
        () -> SafePath.checkContainerPath("f", "/" + "x".repeat(ContainerLimits.MAX_PATH_BYTES)));
  }
}
