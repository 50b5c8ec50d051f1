# SPDX-License-Identifier: MIT
"""Shared by the program tests that time one download (tests/cli/limit_test.py, tests/cli/rate_test.py): a work
folder per scenario, waiting until a holder has hashed a file, and one `get --json` whose bytes are checked."""

import json
import os
import tempfile
import time

from child_process import check, run
from test_files import read

STARTUP_S = 15  # deadline for a peer or relay to print its start line (and for `ls` to answer)
HASH_S = 60  # deadline for a holder, slowed or rate-limited, to list a file with its root
TRANSFER_S = 90  # deadline for one download


def wait_listed_with_roots(peer_argv, port, names, timeout_s=HASH_S):
    """Waits until the peer on 127.0.0.1:port lists every one of names with its root. A peer hashes its folder in the
    background after it starts and lists a file without its root until then; after it, a download measures the
    transfer alone, and a capture holds the same answers as a replay. peer_argv: the command that runs p2p-peer."""
    deadline = time.monotonic() + timeout_s
    while True:
        code, out, err = run([*peer_argv, "ls", f"127.0.0.1:{port}", "--json"], STARTUP_S)
        check(code == 0, f"ls of port {port} exited {code}: {err.strip()}")
        roots = {f.get("name"): f.get("root") for f in json.loads(out)}
        if all(roots.get(name) for name in names):
            return
        check(time.monotonic() < deadline, f"port {port} still lists {roots} after {timeout_s} s")
        time.sleep(0.05)


class peer_harness:
    def __init__(self, args, prefix):
        self.peer = args.peer
        os.makedirs(args.work, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"{prefix}-{args.scenario}-", dir=args.work)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def wait_hashed(self, port, name):
        """Waits until the holder lists name with its root: hashing is then behind it."""
        wait_listed_with_roots([self.peer], port, [name])

    def get(self, port, name, data, *extra, prefix=()):
        """Downloads name from 127.0.0.1:port with --json and checks the bytes; returns (get's JSON object, the
        whole get's wall time in s)."""
        down = self.path("download")
        argv = [*prefix, self.peer, "get", f"127.0.0.1:{port}", name, "--dir", down, "--json", *extra]
        started = time.monotonic()
        code, out, err = run(argv, TRANSFER_S)
        wall = time.monotonic() - started
        check(code == 0, f"get exited {code}: {err.strip()} {out.strip()}")
        objects = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        check(len(objects) == 1 and objects[0].get("ok") is True, f"get --json printed {out!r}")
        check(read(os.path.join(down, name)) == data, f"{name} arrived with other bytes than the holder's")
        return objects[0], wall
