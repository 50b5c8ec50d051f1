# SPDX-License-Identifier: MIT
"""Shared by the program tests (tests/cli/cli_test.py, tests/cli/reconnect_test.py, tests/tap/tap_test.py): a child
process whose output lines can be waited for with a deadline, the one failure type the drivers report, and how a
driver runs one scenario."""

import argparse
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time


class failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise failure(message)


def run(argv, timeout=60):
    """Runs argv to the end with no stdin; (exit code, stdout, stderr)."""
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


class process:
    """A child whose stdout is read line by line by a thread, so that tests can wait for a line with a deadline."""

    live = []
    default_timeout = 20

    def __init__(self, name, argv, log_dir, stdin=subprocess.DEVNULL):
        self.name = name
        self.argv = argv
        self.lines = queue.Queue()
        self.output = []
        self.stderr_path = os.path.join(log_dir, f"{name}.stderr")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=err, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        process.live.append(self)

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern, timeout=None):
        """The first match of pattern in the next lines of stdout, within timeout seconds. Lines before it are
        consumed: ask for lines in the order they are printed."""
        return re.search(pattern, self.read_until(pattern, timeout)[-1])

    def read_until(self, pattern, timeout=None):
        """The next lines of stdout up to and including the first that matches pattern, within timeout seconds; all
        of them are consumed. (Slicing `output` instead would race with the reader thread.)"""
        timeout = process.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        read = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.0, remaining))
            except queue.Empty:
                raise failure(f"{self.name}: no line matching {pattern!r} within {timeout} s; "
                              f"last lines: {self.output[-8:]}") from None
            if line is None:
                self.lines.put(None)  # stays at the end for later waits
                raise failure(f"{self.name} exited ({self.proc.wait()}) before printing {pattern!r}: "
                              f"{self.stderr_tail()}")
            read.append(line)
            if regex.search(line):
                return read

    def send(self, *answers):
        """Types answers on its stdin (a menu), one line each."""
        for answer in answers:
            self.proc.stdin.write(answer + "\n")
        self.proc.stdin.flush()

    def exit_code(self, timeout=15):
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise failure(f"{self.name} did not exit within {timeout} s") from None
        self.reader.join(timeout)
        return code

    def stop(self, timeout=10):
        """SIGINT, then the exit code within timeout seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.exit_code(timeout)

    @staticmethod
    def kill_all():
        """Kills every child still running: a failed scenario must not leave peers behind."""
        for p in process.live:
            if p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()

    def stderr_tail(self):
        with open(self.stderr_path, errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-5:])


def run_scenario(scenario, work_dir):
    """Runs scenario(). A failure is printed with the last output of every child still running, and gives 1. The
    children are killed either way; work_dir is removed when the scenario passed. Returns what the scenario returned,
    or 0 when that was None."""
    try:
        result = scenario()
    except failure as e:
        print(f"FAIL: {e}")
        for p in process.live:
            print(f"--- {p.name} stdout (last lines): {p.output[-15:]}")
            print(f"--- {p.name} stderr: {p.stderr_tail()}")
        return 1
    finally:
        process.kill_all()
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0 if result is None else result


def scenario_main(description, scenarios, make_harness, binaries=(("peer", "the p2p-peer binary"),)):
    """The command line of a program-test driver: `SCENARIO --peer BIN [--other BIN...] [--work DIR]`; runs the
    scenario with the harness make_harness(args) gives and prints PASS or FAIL. Returns the exit code."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("scenario", choices=sorted(scenarios))
    for name, what in binaries:
        parser.add_argument(f"--{name}", required=True, help=what)
    parser.add_argument("--work", default=tempfile.gettempdir(), help="where test folders are made")
    args = parser.parse_args()
    h = make_harness(args)
    code = run_scenario(lambda: scenarios[args.scenario](h), h.dir)
    print(f"{'PASS' if code == 0 else 'FAIL'} {args.scenario}" + ("" if code == 0 else f" (files kept in {h.dir})"))
    return code
