package run.cocoon.shim.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.container.ContainerId;

/** The one state store: claims, atomic private state, lookups, exit records, removal. */
class ContainerStoreTest {
  @TempDir Path dir;

  private static ContainerState state(String id) {
    return ContainerState.creating(new ContainerId(id), "container", Path.of("/b"), Path.of("/b/r"),
        "img", List.of("sh"), "2026-01-01T00:00:00Z", Map.of(), Map.of());
  }

  @Test
  void directoriesAndStateArePrivateWhateverTheUmask() throws Exception {
    ContainerStore store = new ContainerStore(dir.resolve("root"));
    Path d = store.claim(new ContainerId("a"));
    store.save(state("a"));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(store.root())));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(d)));
    assertEquals("rw-------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(d.resolve(ContainerStore.STATE))));
  }

  @Test
  void anIdIsClaimedOnce() throws Exception {
    ContainerStore store = new ContainerStore(dir);
    store.claim(new ContainerId("a"));
    LifecycleException e = assertThrows(LifecycleException.class, () -> store.claim(new ContainerId("a")));
    assertTrue(e.getMessage().contains("exists"), e.getMessage());
  }

  @Test
  void aClaimWithoutStateIsBeingCreatedAndAnUnknownIdDoesNotExist() throws Exception {
    ContainerStore store = new ContainerStore(dir);
    store.claim(new ContainerId("half"));
    assertTrue(store.find(new ContainerId("half")).isEmpty());
    assertThrows(LifecycleException.class, () -> store.load(new ContainerId("half")));
    assertEquals("container does not exist",
        assertThrows(LifecycleException.class, () -> store.find(new ContainerId("none"))).getMessage());
    assertEquals(List.of(), store.list(), "a container being created is not listed");
  }

  @Test
  void stateRoundTripsAndTheExitIsRecordedOnlyWhileTheContainerExists() throws Exception {
    ContainerStore store = new ContainerStore(dir);
    ContainerId id = new ContainerId("a");
    store.claim(id);
    ContainerState running = state("a").withProcess(42, 7, Map.of("unified", "/sys/fs/cgroup/x"), 3);
    store.save(running);
    assertEquals(running, store.load(id));
    store.saveExit(running, 5);
    assertEquals(5, store.load(id).exitCode());
    store.remove(id);
    assertFalse(Files.exists(store.dir(id)));
    store.saveExit(running, 6);
    assertFalse(Files.exists(store.dir(id)), "a removed container is not recreated");
  }

  @Test
  void aStateNamingAnotherIdIsCorrupt() throws Exception {
    ContainerStore store = new ContainerStore(dir);
    store.claim(new ContainerId("a"));
    StateFiles.write(store.dir(new ContainerId("a")).resolve(ContainerStore.STATE), state("b"));
    assertTrue(assertThrows(LifecycleException.class, () -> store.load(new ContainerId("a")))
        .getMessage().contains("corrupt"));
  }

  @Test
  void strayFilesInTheRootAreNotContainers() throws Exception {
    ContainerStore store = new ContainerStore(dir);
    store.claim(new ContainerId("a"));
    store.save(state("a"));
    Files.createDirectory(dir.resolve(".hidden"));
    assertEquals(List.of(new ContainerId("a")), store.ids());
    assertEquals(1, store.list().size());
  }
}
