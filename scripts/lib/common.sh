# Shared helpers for cocoon's shell scripts. Source it; do not run it.
# shellcheck shell=bash

COCOON_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Expensive artifacts (guest kernel, box initramfs, images) live outside the clone, keyed by content.
COCOON_CACHE="${COCOON_CACHE:-/var/cache/cocoon}"
export COCOON_ROOT COCOON_CACHE

cocoon::die() { echo "cocoon: $*" >&2; exit 1; }
cocoon::log() { echo "cocoon: $*" >&2; }

# Prints JAVA_HOME of a JDK >= 25, or fails saying what to install.
cocoon::find_jdk25() {
  local candidate version
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [[ -n "$candidate" && -x "$candidate/bin/javac" ]] || continue
    version="$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 \
      | sed -n 's/^ *java.specification.version = //p')"
    if [[ "$version" =~ ^[0-9]+$ ]] && (( version >= 25 )); then
      echo "$candidate"
      return 0
    fi
  done
  cocoon::die "no JDK 25 or newer found (looked at \$JAVA_HOME and /usr/lib/jvm/*).
  Install one, e.g. Eclipse Temurin 25 (package temurin-25-jdk from the Adoptium apt repository),
  or unpack any JDK 25 build and point JAVA_HOME at it."
}
