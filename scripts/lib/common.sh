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
    # The JDK's release file names its version without starting a JVM (a JVM start costs
    # seconds under emulation, e.g. in the nested test box); ask the JVM only when it is missing.
    version="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$candidate/release" 2>/dev/null || true)"
    [[ -n "$version" ]] || version="$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 \
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

# Succeeds when this host's /dev/kvm can boot a Linux guest: hardware virtualization (a CPU with
# vmx and kvm_intel, or svm and kvm_amd), not a software backend such as kvm_pvm that runs only
# tiny guests (the tests' KvmProbe decides the same way). Inside the nested test box L1's
# kvm_amd on emulated SVM counts.
cocoon::kvm_boots_linux() {
  [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
  [[ ! -d /sys/module/kvm_pvm ]] || return 1
  local flags
  flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
  { [[ " $flags " == *" vmx "* && -d /sys/module/kvm_intel ]] \
    || [[ " $flags " == *" svm "* && -d /sys/module/kvm_amd ]]; }
}
