#!/bin/bash
# SPDX-License-Identifier: MIT
# netns_test.sh P2P_PEER - two peers on two hosts: network namespaces joined by a veth pair.
#
# Takes the link down: the peer across it must be evicted within the peer timeout. Brings it back up: a new
# connection and a download work again. Needs root (or CAP_NET_ADMIN) for `ip netns`; where that is not permitted
# it exits 77, which CTest reports as skipped, with the reason.
set -euo pipefail

peer_bin="$1"
tag="p2p$$"
ns_a="${tag}a"
ns_b="${tag}b"
work="$(mktemp -d)"
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; for f in "$work"/*.out "$work"/*.err; do echo "--- $f" >&2; cat "$f" >&2 || true; done; exit 1; }

if ! ip netns add "$ns_a" 2>/dev/null; then
    echo "skipped: 'ip netns add' is not permitted here (needs root or CAP_NET_ADMIN)"
    exit 77
fi
ip netns add "$ns_b"
ip link add "${tag}va" type veth peer name "${tag}vb"
ip link set "${tag}va" netns "$ns_a"
ip link set "${tag}vb" netns "$ns_b"
ip -n "$ns_a" addr add 10.199.0.1/24 dev "${tag}va"
ip -n "$ns_b" addr add 10.199.0.2/24 dev "${tag}vb"
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set "${tag}va" up
ip -n "$ns_b" link set "${tag}vb" up

source "$(dirname "$0")/wait_line.sh"

mkdir -p "$work/a" "$work/b" "$work/down"
head -c $((8 << 20)) /dev/urandom >"$work/b/data.bin"
timing=(--ping-interval 300ms --peer-timeout 1500ms)

ip netns exec "$ns_b" "$peer_bin" serve 0 "$work/b" --bind 10.199.0.2 "${timing[@]}" >"$work/b.out" 2>"$work/b.err" &
pids+=($!)
wait_line "$work/b.out" '^Peer [0-9a-f]{8} started on 10\.199\.0\.2:[0-9]+$' 10 || fail "peer B did not start"
port_b="$(sed -nE 's/^Peer [0-9a-f]{8} started on 10\.199\.0\.2:([0-9]+)$/\1/p' "$work/b.out")"
id_b="$(sed -nE 's/^Peer ([0-9a-f]{8}) started on .*/\1/p' "$work/b.out")"

ip netns exec "$ns_a" "$peer_bin" serve 0 "$work/a" --bind 10.199.0.1 "${timing[@]}" --connect "10.199.0.2:$port_b" \
    >"$work/a.out" 2>"$work/a.err" &
pids+=($!)
wait_line "$work/a.out" "Peer $id_b .*joined|Connected to peer $id_b" 10 || fail "A did not connect to B"
echo "A connected to B ($id_b) across the veth link"

ip -n "$ns_a" link set "${tag}va" down
down_at=$SECONDS
wait_line "$work/a.out" "^Peer $id_b is not reachable, removing$" 6 || fail "B was not evicted within 6 s of the link going down"
echo "link down: A evicted B after $((SECONDS - down_at)) s (peer timeout 1.5 s)"

ip -n "$ns_a" link set "${tag}va" up
ip netns exec "$ns_a" "$peer_bin" get "10.199.0.2:$port_b" data.bin --dir "$work/down" --bind 10.199.0.1 \
    >"$work/get.out" 2>"$work/get.err" || fail "get across the restored link failed"
cmp -s "$work/b/data.bin" "$work/down/data.bin" || fail "the file differs after the link came back"
echo "link up: get across it delivered identical bytes"
