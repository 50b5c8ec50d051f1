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


class peer_harness:
    def __init__(self, args, prefix):
        self.peer = args.peer
        os.makedirs(args.work, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"{prefix}-{args.scenario}-", dir=args.work)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def wait_hashed(self, port, name):
        """Waits until the holder lists name with its root: hashing is then behind it, and a download measures the
        transfer alone."""
        deadline = time.monotonic() + HASH_S
        while True:
            code, out, err = run([self.peer, "ls", f"127.0.0.1:{port}", "--json"], STARTUP_S)
            check(code == 0, f"ls --json exited {code}: {err.strip()}")
            if any(f.get("name") == name and f.get("root") for f in json.loads(out)):
                return
            check(time.monotonic() < deadline, f"the holder did not list {name} with its root within {HASH_S} s")
            time.sleep(0.05)

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
