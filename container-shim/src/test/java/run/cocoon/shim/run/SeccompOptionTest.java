package run.cocoon.shim.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.container.seccomp.DefaultSeccompProfile;

class SeccompOptionTest {
  @TempDir Path dir;

  @Test
  void theDefaultProfileUnlessToldOtherwise() {
    assertEquals(DefaultSeccompProfile.json(), SeccompOption.profile(List.of()));
    assertNull(SeccompOption.profile(List.of("seccomp=unconfined")));
  }

  @Test
  void aProfileFileIsCheckedAndCarried() throws IOException {
    Path file = Files.writeString(dir.resolve("p.json"),
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_KILL\"}]}");
    assertEquals("SCMP_ACT_KILL",
        SeccompOption.profile(List.of("seccomp=" + file)).get("syscalls").get(0).get("action").asText());
    Path bad = Files.writeString(dir.resolve("bad.json"), "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}");
    String message = assertThrows(IllegalArgumentException.class,
        () -> SeccompOption.profile(List.of("seccomp=" + bad))).getMessage();
    assertTrue(message.contains("SCMP_ACT_NOTIFY"), message);
    assertThrows(IllegalArgumentException.class,
        () -> SeccompOption.profile(List.of("seccomp=" + dir.resolve("absent.json"))));
  }

  @Test
  void otherSecurityOptionsAreRefused() {
    String message = assertThrows(IllegalArgumentException.class,
        () -> SeccompOption.profile(List.of("apparmor=unconfined"))).getMessage();
    assertTrue(message.contains("only seccomp="), message);
  }
}
