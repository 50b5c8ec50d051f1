#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""rate_test.py - `--max-rate` holds a transfer to its rate (issue 16), end to end with the real program (registered
by tests/cmake/rate_tests.cmake).

    rate_test.py SCENARIO --peer P2P_PEER [--work DIR]

Scenarios:
  get     6 MiB from a holder without a limit by `get --max-rate 2M`: the receiving side holds its ACKs back
  serve   6 MiB from `serve --max-rate 2M` by a `get` without a limit: the holder's uploads wait for their tokens
  menu    6 MiB from a holder without a limit by the menu of a peer started with --max-rate 2M (choice 3)
  errors  bad values of --max-rate are usage errors (exit 2) that name the option

A limit lets through at most RATE x time + one burst (a 128 KiB chunk at 2 MiB/s), so the whole get, start-up
included, must take at least (size - burst) / rate; the check allows 10 % below that for timer rounding, and is only a
lower bound, so that a slow or paused machine cannot fail it. The file must arrive byte for byte.

No fixed ports (every peer binds port 0 and the test reads the port back from its start line) and no fixed sleeps
(every wait is on a condition with a deadline).
"""
import os
import random
import subprocess
import sys
import time

MIB = 1 << 20
RATE = "2M"  # binary multiples, like --chunk-size: 2 MiB/s
RATE_BYTES = 2 * MIB
BURST = 128 << 10  # the bucket: one chunk of 128 KiB (the largest power of two that takes at most 100 ms at 2 MiB/s)
SIZE = 6 * MIB
SLACK = 0.9

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from child_process import check, process, run, scenario_main  # noqa: E402
from test_files import make_folder, read  # noqa: E402
from peer_harness import STARTUP_S, TRANSFER_S, peer_harness  # noqa: E402


class harness(peer_harness):
    def __init__(self, args):
        super().__init__(args, "rate")

    def serve(self, folder, *extra):
        """A holder on a free port, serving at once (--settle 0), with no discovery (other tests' peers on this
        machine must not join in); returns (process, id, port)."""
        argv = [self.peer, "serve", "0", folder, "--bind", "127.0.0.1", "--settle", "0", "--no-discover", *extra]
        p = process("holder", argv, self.dir)
        match = p.wait_for(r"Peer (\S+) started on \S+:(\d+)", STARTUP_S)
        return p, match.group(1), int(match.group(2))


def check_limited(what, result, wall):
    """The whole get took at least what the limit allows, less the slack."""
    floor = (SIZE - BURST) / RATE_BYTES
    limit = result.get("limit", {})
    print(f"{what}: {SIZE / MIB:.0f} MiB in {wall:.2f} s (whole get), {SIZE / wall / MIB:.2f} MiB/s; get reports "
          f"{result['rate'] / MIB:.2f} MiB/s over {result['seconds']:.2f} s; limit {RATE_BYTES / MIB:.0f} MiB/s, "
          f"at least {floor:.2f} s x {SLACK} = {floor * SLACK:.2f} s; report: {limit.get('text')}")
    check(wall >= floor * SLACK, f"{what}: the get took {wall:.2f} s, under the {floor * SLACK:.2f} s a limit of "
          f"{RATE} allows for {SIZE} bytes")


def scenario_get(h):
    data = random.Random(16).randbytes(SIZE)
    _, _, port = h.serve(make_folder(h.path("holder"), {"big.bin": data}))
    h.wait_hashed(port, "big.bin")
    result, wall = h.get(port, "big.bin", data, "--max-rate", RATE)
    check_limited(f"get --max-rate {RATE}", result, wall)


def scenario_serve(h):
    data = random.Random(17).randbytes(SIZE)
    _, _, port = h.serve(make_folder(h.path("holder"), {"big.bin": data}), "--max-rate", RATE)
    h.wait_hashed(port, "big.bin")
    result, wall = h.get(port, "big.bin", data)
    check_limited(f"serve --max-rate {RATE}", result, wall)


def scenario_menu(h):
    data = random.Random(18).randbytes(SIZE)
    _, s_id, port = h.serve(make_folder(h.path("holder"), {"big.bin": data}))
    h.wait_hashed(port, "big.bin")
    m = process("menu", [h.peer, "0", h.path("menu"), "--bind", "127.0.0.1", "--no-discover", "--max-rate", RATE],
                h.dir, stdin=subprocess.PIPE)
    m.wait_for(r"Peer \S+ started on \S+:(\d+)", STARTUP_S)
    m.send("4", "127.0.0.1", str(port))
    m.wait_for(rf"^Connected to peer {s_id} at 127\.0\.0\.1:{port} ", STARTUP_S)
    started = time.monotonic()
    m.send("3", "big.bin", "")
    line = m.wait_for(rf"^Got file big\.bin from peer {s_id} \({SIZE} bytes in ([0-9.]+) s", TRANSFER_S)
    wall = time.monotonic() - started
    check(read(h.path("menu", "big.bin")) == data, "big.bin arrived with other bytes than the holder's")
    floor = (SIZE - BURST) / RATE_BYTES
    print(f"menu --max-rate {RATE}: {SIZE / MIB:.0f} MiB in {wall:.2f} s from choice 3 to its Got file line (the line "
          f"says {line.group(1)} s), {SIZE / wall / MIB:.2f} MiB/s; at least {floor:.2f} s x {SLACK} = "
          f"{floor * SLACK:.2f} s")
    check(wall >= floor * SLACK, f"the menu's download took {wall:.2f} s, under the {floor * SLACK:.2f} s a limit of "
          f"{RATE} allows for {SIZE} bytes")
    m.send("5")
    check(m.exit_code() == 0, "the menu did not exit 0")


def scenario_errors(h):
    folder = make_folder(h.path("holder"), {})
    for value in ["-5", "fast", "2X", "0M", "1.5M", "2M/h", "2000T"]:
        code, out, err = run([h.peer, "serve", "0", folder, "--bind", "127.0.0.1", "--no-discover", "--max-rate",
                              value], STARTUP_S)
        print(f"--max-rate {value!r}: exit {code}: {err.strip()}")
        check(code == 2, f"--max-rate {value!r} exited {code}, not 2 (a usage error): {out.strip()} {err.strip()}")
        check("--max-rate" in err, f"--max-rate {value!r}: the error does not name the option: {err.strip()}")
    # 0 is no limit, and the forms the docs give are taken (checked with --help, which parses the options first).
    for value in ["0", "500K", "2M", "2MiB/s", "1G"]:
        code, out, err = run([h.peer, "--max-rate", value, "--help"], STARTUP_S)
        check(code == 0, f"--max-rate {value!r} was refused: {err.strip()}")
    check("--max-rate" in out, "--help does not list --max-rate")


SCENARIOS = {"get": scenario_get, "serve": scenario_serve, "menu": scenario_menu, "errors": scenario_errors}


if __name__ == "__main__":
    sys.exit(scenario_main("--max-rate holds a transfer to its rate", SCENARIOS, harness))
