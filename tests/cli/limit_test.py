#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""limit_test.py - a download names what limited its rate (issue 18): four set-ups, each made to be limited by one
thing, and the `limit` object of `p2p-peer get --json` must name that thing (registered by
tests/cmake/limit_tests.cmake).

    limit_test.py SCENARIO --peer P2P_PEER --tap P2P_TAP --slow-io LIBP2P_SLOW_IO [--work DIR]

Scenarios:
  delay          32 MiB through `p2p-tap relay --delay 25` with --window 1          -> limit.by == "round_trip"
  rate           40 MB through `p2p-tap relay --rate 20000000 --delay 5`, default window -> "link", and the
                 window found its size (full_after_ms) in the first half of the download
  slow_holder    32 MiB direct; the holder's reads of 64 KiB or more sleep 40 ms each
                 (tests/helpers/slow_io.cpp, LD_PRELOAD), default window             -> "holder"
  slow_receiver  32 MiB direct; the getter's writes of 64 KiB or more sleep 40 ms each, default window -> "receiver"

Each checks that the file arrived byte for byte, that the set-up really held the rate down to its bound (so a
wrong answer is the report's fault, not the set-up's), prints the rate and the report's line, and then checks the
report. A `get --json` without the report fails with "no limit report in get --json output".

No fixed ports (every peer and relay binds port 0 and the test reads the port back from its start line) and no
fixed sleeps (every wait is on a condition with a deadline).
"""
import json
import os
import random
import sys

MIB = 1 << 20
SLOW_US = 40_000  # per read or write of a piece: 1 MiB / 40 ms is 26 MB/s at most
SLACK = 1.15  # how far above its bound a set-up's rate may measure (timer granularity, a relay's initial burst)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from child_process import check, process, scenario_main  # noqa: E402
from test_files import make_folder  # noqa: E402
from peer_harness import STARTUP_S, peer_harness  # noqa: E402


class harness(peer_harness):
    def __init__(self, args):
        super().__init__(args, "limit")
        self.tap = args.tap
        self.slow_io = args.slow_io

    def slowed(self, variable, microseconds):
        """The argv prefix that runs a program with slow_io preloaded and `variable` set. A sanitized build's ASan
        wants its runtime first in the library list (a preloaded library comes before it): the check is turned off
        for this process only, keeping whatever ASAN_OPTIONS the test run was given (scripts/test sets some)."""
        asan = os.environ.get("ASAN_OPTIONS", "")
        asan = f"{asan}:verify_asan_link_order=0" if asan else "verify_asan_link_order=0"
        return ["/usr/bin/env", f"LD_PRELOAD={self.slow_io}", f"{variable}={microseconds}", f"ASAN_OPTIONS={asan}"]

    def serve(self, folder, prefix=()):
        """A holder on a free port, serving at once (--settle 0), with no discovery (other tests' peers on this
        machine must not join in); returns (process, port)."""
        argv = [*prefix, self.peer, "serve", "0", folder, "--bind", "127.0.0.1", "--settle", "0", "--no-discover"]
        p = process("holder", argv, self.dir)
        port = int(p.wait_for(r"Peer \S+ started on \S+:(\d+)", STARTUP_S).group(1))
        return p, port

    def relay(self, port, *extra):
        """A p2p-tap relay to 127.0.0.1:port on a free port; returns (process, relay port)."""
        argv = [self.tap, "relay", "--listen", "0", "--bind", "127.0.0.1", "--to", f"127.0.0.1:{port}", "--out",
                self.path("relay.cap"), *extra]
        p = process("relay", argv, self.dir)
        relay_port = int(p.wait_for(r"relay listening on tcp://[^ ]+:(\d+)$", STARTUP_S).group(1))
        return p, relay_port


def check_bound(what, result, wall, bound):
    """The set-up held the download to bound (bytes/s) or under: else the scenario does not test what it says. The
    whole get's wall time is what is checked (start-up included, so it can only err on the safe side): the rate
    get reports may count the network alone, and a receiver's writes may end after the last byte came in."""
    size = result["size"]
    wall_rate = size / wall
    print(f"{what}: {size / MIB:.1f} MiB, get reports {result['rate'] / 1e6:.1f} MB/s over {result['seconds']:.2f} s; "
          f"whole get {wall:.2f} s, {wall_rate / 1e6:.1f} MB/s (set-up bound {bound / 1e6:.1f} MB/s)")
    check(wall_rate <= SLACK * bound, f"set-up not limited as intended: the whole get ran at {wall_rate / 1e6:.1f} "
          f"MB/s, over the set-up's bound of {bound / 1e6:.1f} MB/s")


def check_limit(result, expected):
    """The report names expected; prints its line and the window figures."""
    limit = result.get("limit")
    check(isinstance(limit, dict) and "by" in limit,
          f"no limit report in get --json output (expected limit.by == {expected!r}): {json.dumps(result)}")
    print(f"  limit: by {limit['by']}: {limit.get('text')}")
    window = result.get("window")
    if isinstance(window, dict):
        print("  window: " + ", ".join(f"{k} {v}" for k, v in window.items()))
    check(limit["by"] == expected, f"the report names {limit['by']!r} ({limit.get('text')!r}), expected {expected!r}")
    check(isinstance(limit.get("text"), str) and limit["text"].strip() and "\n" not in limit["text"],
          f"limit.text is not one line: {limit.get('text')!r}")
    check(isinstance(window, dict), f"no window report in get --json output: {json.dumps(result)}")


# -------------------------------------------------------------------------------------------------------------------
# Scenarios


def scenario_delay(h):
    """Stop-and-wait over 25 ms each way: one 1 MiB piece per round trip of 50 ms or more."""
    data = random.Random(18).randbytes(32 * MIB)
    _, port = h.serve(make_folder(h.path("holder"), {"big.bin": data}))
    h.wait_hashed(port, "big.bin")
    _, relay_port = h.relay(port, "--delay", "25")
    result, wall = h.get(relay_port, "big.bin", data, "--window", "1")
    check_bound("delay 25 ms each way, window 1", result, wall, MIB / 0.050)
    check_limit(result, "round_trip")


def scenario_rate(h):
    """A 20 MB/s link with a short delay (5 ms each way), the default window."""
    limit = 20_000_000
    data = random.Random(19).randbytes(40_000_000)
    _, port = h.serve(make_folder(h.path("holder"), {"big.bin": data}))
    h.wait_hashed(port, "big.bin")
    relay, relay_port = h.relay(port, "--rate", str(limit), "--delay", "5")
    relay.wait_for(r"relay forwarding to .*, rate ", STARTUP_S)
    result, wall = h.get(relay_port, "big.bin", data)
    check_bound("relay --rate 20000000 --delay 5, default window", result, wall, limit)
    check_limit(result, "link")
    # The default window found its size (full_after_ms) during the download, not at its end or never.
    window = result["window"]
    full_after_ms = window.get("full_after_ms", 0)
    check(window.get("mode") == "auto" and 0 < full_after_ms < result["seconds"] * 1000 / 2,
          f"the auto window did not leave its startup in the first half of the download: full_after_ms "
          f"{full_after_ms}, download {result['seconds']} s")


def scenario_slow_holder(h):
    """The holder's disk gives a piece every 40 ms; the network is loopback."""
    data = random.Random(20).randbytes(32 * MIB)
    _, port = h.serve(make_folder(h.path("holder"), {"big.bin": data}), h.slowed("P2P_SLOW_READ_US", SLOW_US))
    h.wait_hashed(port, "big.bin")
    result, wall = h.get(port, "big.bin", data)
    check_bound(f"holder reads slowed by {SLOW_US // 1000} ms a piece, direct, default window", result, wall,
                MIB / (SLOW_US / 1e6))
    check_limit(result, "holder")


def scenario_slow_receiver(h):
    """The getter's disk takes a piece every 40 ms; the network is loopback."""
    data = random.Random(21).randbytes(32 * MIB)
    _, port = h.serve(make_folder(h.path("holder"), {"big.bin": data}))
    h.wait_hashed(port, "big.bin")
    result, wall = h.get(port, "big.bin", data, prefix=h.slowed("P2P_SLOW_WRITE_US", SLOW_US))
    check_bound(f"getter writes slowed by {SLOW_US // 1000} ms a piece, direct, default window", result, wall,
                MIB / (SLOW_US / 1e6))
    check_limit(result, "receiver")


SCENARIOS = {"delay": scenario_delay, "rate": scenario_rate, "slow_holder": scenario_slow_holder,
             "slow_receiver": scenario_slow_receiver}


if __name__ == "__main__":
    sys.exit(scenario_main("what limited a download: four set-ups, four reports", SCENARIOS, harness,
                           (("peer", "the p2p-peer binary"), ("tap", "the p2p-tap binary"),
                            ("slow-io", "the LD_PRELOAD library of tests/helpers/slow_io.cpp"))))
