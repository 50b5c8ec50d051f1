# SPDX-License-Identifier: MIT
# Sourced by scripts/peer, scripts/test and scripts/bench: installs what is missing and builds.

set -euo pipefail

P2P_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Debian packages the build, the tests and the benchmarks need. clang is there for the libFuzzer run;
# librust-blake3-dev for BLAKE3's upstream C sources, which cmake/blake3.cmake builds (no Rust compiler needed);
# libcpp-httplib-dev and nlohmann-json3-dev for the web interface and --json; chromium, chromium-driver and
# python3-selenium for the web interface's browser test (which skips where they are missing). For the package
# (scripts/package, tests/package): dpkg-dev (dpkg-shlibdeps) and file (CPack finds the ELF files with it); man-db to
# check the man pages; systemd for systemd-analyze, which checks the unit.
P2P_PACKAGES=(g++ cmake make pkg-config libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libcli11-dev catch2 librust-blake3-dev
              libsodium-dev libcpp-httplib-dev nlohmann-json3-dev clang clang-format python3-zmq python3-msgpack
              netcat-openbsd rsync iproute2 gnuplot-nox dpkg-dev file man-db systemd chromium chromium-driver
              python3-selenium)

p2p_log() { printf '[setup] %s\n' "$*" >&2; }

p2p_as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the packages that are missing, and only those; apt-get update runs once, only if something is missing.
p2p_install_packages() {
    local missing=() pkg
    for pkg in "${P2P_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    p2p_log "installing: ${missing[*]}"
    p2p_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    p2p_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# p2p_build DIR [cmake options...] [-- targets...]: configures DIR if it has no cache, then builds what is stale (only
# the named targets when there are any).
p2p_build() {
    local dir="$1"
    shift
    local -a configure=() targets=()
    while [ $# -gt 0 ]; do
        if [ "$1" = "--" ]; then
            shift
            targets=(--target "$@")
            break
        fi
        configure+=("$1")
        shift
    done
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        p2p_log "configuring $dir"
        cmake -S "$P2P_ROOT" -B "$dir" "${configure[@]}" >/dev/null
    fi
    p2p_log "building $dir"
    cmake --build "$dir" -j "$(nproc)" "${targets[@]}" -- --no-print-directory >/dev/null 2> >(grep -v '^$' >&2) || {
        # Show the compiler's output only when the build fails.
        cmake --build "$dir" -j 1 "${targets[@]}"
        return 1
    }
}
