package run.cocoon.container;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ContainerIdTest {
  @ParameterizedTest
  @ValueSource(strings = {"a", "web-1", "A.b_c-9", "0abc"})
  void goodIds(String id) {
    assertDoesNotThrow(() -> new ContainerId(id));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".", "..", "../x", "a/b", "-a", "_a", ".hidden", "a b", "a\nb", "a\0b", "é"})
  void badIds(String id) {
    assertThrows(InvalidSpecException.class, () -> new ContainerId(id));
  }

  @org.junit.jupiter.api.Test
  void tooLong() {
    assertThrows(InvalidSpecException.class,
        () -> new ContainerId("a".repeat(ContainerLimits.MAX_ID_LENGTH + 1)));
    assertDoesNotThrow(() -> new ContainerId("a".repeat(ContainerLimits.MAX_ID_LENGTH)));
  }
}
