#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/package/package_test.sh [DEB]: installs the Debian package with dpkg, checks what it installed (programs, man
# pages, completion, systemd unit, library), builds both examples against the installed files (find_package and
# pkg-config) and runs a real download between them, then removes and purges the package and checks nothing is left.
# Needs root (or sudo); DEB defaults to the newest build-package/p2p-peer_*.deb. Run by scripts/test after
# scripts/package.
source "$(dirname "$0")/../../scripts/lib/setup.sh"

deb="${1:-$(ls -t "$P2P_ROOT"/build-package/p2p-peer_*.deb 2>/dev/null | head -n 1)}"
[ -f "$deb" ] || { echo "package_test: no .deb (run scripts/package first)" >&2; exit 1; }
deb="$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
version=$(dpkg-deb --field "$deb" Version)
wait_seconds=30 # the longest any single step may take before the test fails instead of hanging

work=$(mktemp -d /tmp/p2p-package-test.XXXXXX)
pids=()
installed_by_us=0
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
ok() { echo "ok: $*"; }
# Whatever happens, stop the peers we started and leave no package behind.
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [ "$installed_by_us" = 1 ] && dpkg-query -W p2p-peer >/dev/null 2>&1; then
        p2p_log "package_test: purging p2p-peer after a failure"
        p2p_as_root dpkg -P p2p-peer >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

package_state() { dpkg-query -W -f='${db:Status-Abbrev}' p2p-peer 2>/dev/null | tr -d ' ' || true; }

# --- install -------------------------------------------------------------------------------------------------------
if [ -n "$(package_state)" ] && [ "$(package_state)" != "un" ]; then
    p2p_log "package_test: p2p-peer is installed already ($(package_state)); purging it first"
    p2p_as_root dpkg -P p2p-peer >/dev/null
fi
installed_by_us=1
p2p_as_root dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb"
[ "$(package_state)" = "ii" ] || fail "after dpkg -i, p2p-peer is '$(package_state)', not ii"
depends=$(dpkg-query -W -f='${Depends}' p2p-peer)
ok "dpkg -i $(basename "$deb"): Depends: $depends"
# p2p-peer's web interface links Debian's shared cpp-httplib: dpkg-shlibdeps must have found it.
grep -q 'libcpp-httplib' <<<"$depends" || fail "Depends lacks libcpp-httplib (p2p-peer --web links it): $depends"

# --- what it installed ---------------------------------------------------------------------------------------------
[ "$(command -v p2p-peer)" = /usr/bin/p2p-peer ] || fail "p2p-peer is not /usr/bin/p2p-peer"
[ "$(p2p-peer --version)" = "p2p-peer $version" ] || fail "p2p-peer --version says '$(p2p-peer --version)'"
ok "p2p-peer --version: $(p2p-peer --version)"
grep -q '^Usage: p2p-tap' <<<"$(p2p-tap --help)" || fail "p2p-tap --help"
ok "p2p-tap --help"
for page in p2p-peer p2p-tap; do
    path=$(man -w "$page") || fail "man -w $page"
    ok "man -w $page: $path"
done
for command in p2p-peer p2p-tap; do
    script=/usr/share/bash-completion/completions/$command
    loaded=$(bash -c 'source "$1" && complete -p "$2"' check "$script" "$command") || fail "completion $script"
    ok "completion loads: $loaded"
done
completed=$(bash -c 'source "$1"; COMP_WORDS=(p2p-peer se); COMP_CWORD=1; _p2p_peer; echo "${COMPREPLY[*]}"' check \
    /usr/share/bash-completion/completions/p2p-peer)
[ "$completed" = serve ] || fail "completion of 'p2p-peer se' gives '$completed', not serve"
ok "completion of 'p2p-peer se': $completed"

unit=/usr/lib/systemd/system/p2p-peer@.service
[ -f "$unit" ] || fail "no $unit"
if command -v systemd-analyze >/dev/null; then
    # verify loads the unit as systemd would: unknown settings, a missing ExecStart program or a bad specifier fail.
    verify=$(systemd-analyze verify "p2p-peer@package-test.service" 2>&1) || fail "systemd-analyze verify: $verify"
    [ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
    ok "systemd-analyze verify p2p-peer@package-test.service"
else
    echo "SKIP: systemd-analyze is not installed (Debian package systemd): the unit is not verified"
fi

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
[ "$(readlink "/usr/lib/$multiarch/libp2pshare.so.0")" = "libp2pshare.so.$version" ] ||
    fail "/usr/lib/$multiarch/libp2pshare.so.0 does not point to libp2pshare.so.$version"
grep -q 'libp2pshare\.so\.0 ' <<<"$(/sbin/ldconfig -p)" || fail "the ldconfig cache has no libp2pshare.so.0"
[ "$(pkg-config --modversion p2pshare)" = "$version" ] || fail "pkg-config --modversion p2pshare"
ok "libp2pshare.so.0 -> libp2pshare.so.$version in /usr/lib/$multiarch, in the ldconfig cache, pkg-config $version"

# --- the examples, against the installed files only ---------------------------------------------------------------
examples="$P2P_ROOT/examples"
cmake -S "$examples" -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release -DCMAKE_COMPILE_WARNING_AS_ERROR=ON \
    >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "configuring the examples with find_package(P2PShare)"; }
package_dir=$(sed -n 's/^P2PShare_DIR:PATH=//p' "$work/cmake/CMakeCache.txt")
[ "$package_dir" = "/usr/lib/$multiarch/cmake/P2PShare" ] || fail "find_package found P2PShare in '$package_dir'"
cmake --build "$work/cmake" -j "$(nproc)" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "building the examples with CMake"; }
ok "examples built with find_package(P2PShare) from $package_dir"

mkdir -p "$work/pc"
flags=$(pkg-config --cflags --libs p2pshare) || fail "pkg-config --cflags --libs p2pshare"
for example in share_folder fetch_file; do
    # shellcheck disable=SC2086 # the flags are words
    g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror "$examples/$example.cpp" $flags -o "$work/pc/$example" \
        >"$work/pc/$example.log" 2>&1 &
done
for example in share_folder fetch_file; do
    wait -n || { cat "$work"/pc/*.log; fail "building the examples with g++ \$(pkg-config --cflags --libs p2pshare)"; }
done
ok "examples built with g++ -std=c++20 ... $flags"
loaded=$(sed -n 's/^\s*libp2pshare\.so\.0 => \(\S*\) .*/\1/p' <<<"$(ldd "$work/pc/fetch_file")")
# Debian 12 merges /lib into /usr/lib, so the loader may name either path for the same file.
[ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "/usr/lib/$multiarch/libp2pshare.so.$version" ] ||
    fail "fetch_file loads libp2pshare.so.0 from '$loaded', not from the package"

# --- a real download: each build's share_folder serves, the other build's fetch_file downloads ----------------------
# start_share NAME BINARY DIR: starts a share_folder on a free port of 127.0.0.1 and waits (with a deadline) for its
# started line; sets the fd and port variables NAME_fd, NAME_port.
start_share() {
    local name="$1" binary="$2" dir="$3" fd line
    exec {fd}< <(exec "$binary" 0 "$dir" 127.0.0.1 2>&1)
    pids+=("$!")
    printf -v "${name}_pid" '%s' "$!"
    printf -v "${name}_fd" '%s' "$fd"
    IFS= read -r -t "$wait_seconds" -u "$fd" line || fail "$binary printed no started line within ${wait_seconds}s"
    [[ $line =~ ^Peer\ [0-9a-f]{8}\ started\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "$binary started with '$line'"
    printf -v "${name}_port" '%s' "${BASH_REMATCH[1]}"
    ok "$binary: $line"
}
# stop_share NAME: SIGTERM, then reads its output to the end (the pipe closes when it exits) and checks exit code 0.
stop_share() {
    local name="$1" pid_var="${1}_pid" fd_var="${1}_fd" line last="" status
    kill -TERM "${!pid_var}"
    while :; do
        if IFS= read -r -t "$wait_seconds" -u "${!fd_var}" line; then
            last="$line"
            continue
        fi
        status=$? # 1 at the end of the output, above 128 on timeout
        break
    done
    [ "$status" -le 128 ] || fail "$name did not stop within ${wait_seconds}s of SIGTERM"
    wait "${!pid_var}" || fail "$name exited with $? after SIGTERM"
    [[ $last == *" stopped" ]] || fail "$name ended with '$last', not 'Peer ... stopped'"
    ok "$name stopped: $last"
}

mkdir -p "$work/share" "$work/got-pc" "$work/got-cmake"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$work/share/data.bin"
start_share cmake_share "$work/cmake/share_folder" "$work/share"
start_share pc_share "$work/pc/share_folder" "$work/share"

fetch() {
    local binary="$1" port="$2" into="$3" output
    output=$(timeout "$wait_seconds" "$binary" "127.0.0.1:$port" data.bin "$into" 2>&1) ||
        fail "$binary from port $port: $output"
    cmp -s "$work/share/data.bin" "$into/data.bin" || fail "$binary: $into/data.bin differs from the original"
    ok "$binary fetched data.bin ($(stat -c %s "$into/data.bin") bytes, identical): $(tail -n 1 <<<"$output")"
}
fetch "$work/pc/fetch_file" "$cmake_share_port" "$work/got-pc"
fetch "$work/cmake/fetch_file" "$pc_share_port" "$work/got-cmake"
listed=$(timeout "$wait_seconds" p2p-peer ls "127.0.0.1:$cmake_share_port") || fail "p2p-peer ls"
[ "$listed" = "data.bin $(stat -c %s "$work/share/data.bin")" ] || fail "p2p-peer ls printed '$listed'"
ok "the installed p2p-peer lists the example's folder: $listed"
stop_share cmake_share
stop_share pc_share
pids=()

# --- remove, then purge --------------------------------------------------------------------------------------------
mapfile -t files < <(dpkg -L p2p-peer)
mapfile -t conffiles < <(dpkg-query -W -f='${Conffiles}\n' p2p-peer | awk 'NF {print $1}')
[ "${#conffiles[@]}" -gt 0 ] || fail "the package has no conffiles (expected /etc/p2p-peer/example.conf)"
is_conffile() {
    local c
    for c in "${conffiles[@]}"; do [ "$c" = "$1" ] && return 0; done
    return 1
}
# Left after removal: a path that still exists and is neither a conffile nor a directory another package shares.
leftovers() {
    local path
    for path in "${files[@]}"; do
        [ "$path" != /. ] || continue
        [ -e "$path" ] || [ -L "$path" ] || continue
        if [ -d "$path" ] && [ ! -L "$path" ]; then
            dpkg-query -S "$path" >/dev/null 2>&1 && continue # another package's directory too
            [ "$1" = keep-conffiles ] && [ -n "$(ls -A "$path")" ] && continue # holds a conffile
        elif [ "$1" = keep-conffiles ] && is_conffile "$path"; then
            continue
        fi
        echo "$path"
    done
}

p2p_as_root dpkg -r p2p-peer >/dev/null || fail "dpkg -r p2p-peer"
[ "$(package_state)" = "rc" ] || fail "after dpkg -r, p2p-peer is '$(package_state)', not rc (config-files)"
left=$(leftovers keep-conffiles)
[ -z "$left" ] || fail "left after dpkg -r: $left"
for c in "${conffiles[@]}"; do [ -f "$c" ] || fail "dpkg -r removed the conffile $c (only a purge should)"; done
hash -r # forget where bash found p2p-peer before
! command -v p2p-peer >/dev/null || fail "p2p-peer is still on the PATH"
! grep -q libp2pshare <<<"$(/sbin/ldconfig -p)" || fail "the ldconfig cache still has libp2pshare"
ok "dpkg -r: ${#files[@]} paths gone but the conffiles (${conffiles[*]}), state rc"

p2p_as_root dpkg -P p2p-peer >/dev/null || fail "dpkg -P p2p-peer"
installed_by_us=0
! dpkg -L p2p-peer >/dev/null 2>&1 || fail "dpkg -L p2p-peer still lists files after the purge"
left=$(leftovers all)
[ -z "$left" ] || fail "left after dpkg -P: $left"
ok "dpkg -P: nothing of p2p-peer left, dpkg -L knows it no more"
echo "package test passed"
