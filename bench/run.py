#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The benchmark run behind scripts/bench: p2p-peer against cp, nc, a sendfile transfer and an rsync daemon on
loopback (with each side's CPU per byte), the first download of a file that just appeared in a holder's folder (and
after the holder restarts), memory at 4 GiB, resume after kill -9 at random points, hashing a 100 GiB sparse file,
rate against window, delay and chunk size through the p2p-tap relay, rate against delay for fixed windows and the
self-sizing one (issue 18), one download from three rate-limited holders at once (issue 16), the 64-peer mesh and the
small-files figures.
Every timing is the median of --repeats runs; every figure that has a target is printed as a ratio against anchors
measured in the same run, so a busy machine moves both sides."""

import argparse
import hashlib
import json
import os
import platform
import queue
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
# The window section's tables by delay, then by window (1, 4, ..., "auto"): what it records and what --report-only
# reads back.
WINDOW_TABLES = ("mb_s", "runs", "peak_in_flight_bytes", "final_bytes", "min_rtt_ms", "full_after_ms", "limit")


def log(*parts):
    print("[bench]", *parts, file=sys.stderr, flush=True)


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)i?B?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2).upper()]


def human(n):
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, timeout=5.0):
    """True once something listens on 127.0.0.1:port (read from ss, so no connection is used up)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
        if out.strip():
            return True
        time.sleep(0.01)
    return False


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 * MIB):
            h.update(block)
    return h.hexdigest()


def make_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MIB)
            f.write(os.urandom(n))
            left -= n


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """User + system CPU of process pid so far (all its threads), from /proc/PID/stat; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    except (OSError, IndexError):
        return None
    # fields[0] is field 3 (state): utime and stime, fields 14 and 15, are fields[11] and fields[12].
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_io(pid):
    """/proc/PID/io as a dict (rchar: bytes passed to read/pread, page cache hits included; read_bytes: from disk)."""
    try:
        with open(f"/proc/{pid}/io") as f:
            return {k: int(v) for k, v in (line.split(":") for line in f if ":" in line)}
    except OSError:
        return {}


def partial_files(folder):
    """The hidden partial download files in folder (.p2p-part-<digest>, src/posix_folder.cpp), not .meta/.journal."""
    try:
        return [folder / n for n in os.listdir(folder)
                if n.startswith(".p2p-part-") and not n.endswith((".meta", ".journal"))]
    except FileNotFoundError:
        return []


def piece_size_for(size):
    """docs/protocol.md (src/manifest.cpp): 1 MiB pieces, doubled until the file has at most 32768 of them."""
    piece = MIB
    while max(1, -(-size // piece)) > 32768:
        piece *= 2
    return piece


def reset_hwm(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class Bench:
    def __init__(self, args):
        self.a = args
        self.build = Path(args.build_dir)
        self.work = Path(tempfile.mkdtemp(prefix="p2p-bench-", dir=args.work))
        self.results = {"host": {}, "transfer": {}, "rows": [], "memory": [], "relay": {}, "mesh": None,
                        "small_files": None, "many_files": None, "first": None, "resume": None, "hash100g": None, "window": None,
                        "multi": None,
                        "targets": [], "notes": []}
        self.tap = self.build / "tools" / "p2p-tap"
        self.peer_bin = self.pick_peer()
        self.has_time = Path("/usr/bin/time").exists()

    # ----- helpers ---------------------------------------------------------------------------------------------
    def pick_peer(self):
        if self.a.peer_bin:
            return Path(self.a.peer_bin)
        real = self.build / "src" / "p2p-peer"
        try:
            r = subprocess.run([real, "serve", "--help"], capture_output=True, text=True, timeout=5)
            if r.returncode == 0 and "serve" in (r.stdout + r.stderr).lower():
                return real
        except (OSError, subprocess.TimeoutExpired):
            pass
        stand_in = self.build / "bench" / "p2p-bench-peer"
        log(f"{real} has no 'serve' yet: using the stand-in {stand_in} (same command line, same engine)")
        self.results["notes"].append("p2p-peer serve/get missing: bench/bench_peer.cpp stand-in used")
        return stand_in

    def median_time(self, run_once, repeats=None):
        times, extra = [], []
        for _ in range(repeats or self.a.repeats):
            t, x = run_once()
            times.append(t)
            extra.append(x)
        return statistics.median(times), times, extra

    def check(self, path, what):
        if self.a.no_verify:
            return
        digest = sha256(path)
        if digest != self.src_sha:
            raise SystemExit(f"SHA-256 mismatch after {what}: {digest} != {self.src_sha}")

    # ----- anchors ---------------------------------------------------------------------------------------------
    def time_cp(self, src, dst):
        def once():
            dst.unlink(missing_ok=True)
            t0 = time.perf_counter()
            subprocess.run(["cp", src, dst], check=True)
            t = time.perf_counter() - t0
            self.check(dst, "cp")
            dst.unlink()
            return t, None
        return self.median_time(once)

    def time_nc(self, src, dst):
        def once():
            dst.unlink(missing_ok=True)
            for _ in range(5):
                port = free_port()
                with open(dst, "wb") as out:
                    listener = subprocess.Popen(["nc", "-l", "127.0.0.1", str(port)], stdout=out,
                                                stderr=subprocess.DEVNULL)
                if wait_listening(port):
                    break
                listener.kill()
                listener.wait()
            else:
                raise SystemExit("nc -l never listened")
            t0 = time.perf_counter()
            with open(src, "rb") as inp:
                subprocess.run(["nc", "-N", "127.0.0.1", str(port)], stdin=inp, check=True)
            listener.wait()
            t = time.perf_counter() - t0
            self.check(dst, "nc")
            dst.unlink()
            return t, None
        return self.median_time(once)

    def time_sendfile(self, src, dst, fsync=False):
        tool = self.build / "bench" / "p2p-bench-sendfile"

        def once():
            dst.unlink(missing_ok=True)
            recv = subprocess.Popen([tool, "recv", "0", dst] + (["--fsync"] if fsync else []),
                                    stdout=subprocess.PIPE, text=True)
            port = recv.stdout.readline().split()[1]
            t0 = time.perf_counter()
            subprocess.run([tool, "send", "127.0.0.1", port, src], check=True)
            recv.wait()
            t = time.perf_counter() - t0
            self.check(dst, "sendfile")
            dst.unlink()
            return t, None
        return self.median_time(once)

    def time_rsync(self, src, dst):
        """rsync --whole-file of the one file src from an rsync daemon on loopback."""
        def fetch(port):
            dst.unlink(missing_ok=True)
            t0 = time.perf_counter()
            subprocess.run(["rsync", "--whole-file", f"rsync://127.0.0.1:{port}/mod/{src.name}", dst], check=True)
            t = time.perf_counter() - t0
            self.check(dst, "rsync")
            dst.unlink()
            return t, None
        return self.with_rsync_daemon(src.parent, fetch)

    def with_rsync_daemon(self, folder, fetch):
        """Median of fetch(port) runs against an rsync daemon serving folder as module `mod` on loopback."""
        conf_dir = self.work / "rsyncd"
        conf_dir.mkdir(exist_ok=True)
        conf = conf_dir / "rsyncd.conf"
        ids = "uid = 0\ngid = 0\n" if os.geteuid() == 0 else ""
        conf.write_text(f"use chroot = no\n{ids}log file = {conf_dir}/rsyncd.log\n"
                        f"[mod]\npath = {folder}\nread only = yes\n")
        for _ in range(5):
            port = free_port()
            daemon = subprocess.Popen(["rsync", "--daemon", "--no-detach", f"--port={port}", f"--config={conf}",
                                       "--address=127.0.0.1"], stderr=subprocess.DEVNULL)
            if wait_listening(port):
                break
            daemon.kill()
            daemon.wait()
        else:
            raise SystemExit("rsync daemon never listened")
        try:
            return self.median_time(lambda: fetch(port))
        finally:
            daemon.terminate()
            daemon.wait()

    # ----- p2p -------------------------------------------------------------------------------------------------
    def start_server(self, folder, extra=()):
        out = open(self.work / "serve.log", "a")
        proc = subprocess.Popen([self.peer_bin, "serve", "0", folder, "--bind", "127.0.0.1", *extra],
                                stdout=subprocess.PIPE, stderr=out, text=True)
        line = proc.stdout.readline()
        m = re.search(r"started on (\S+):(\d+)", line)
        if not m:
            proc.kill()
            raise SystemExit(f"p2p-peer serve did not start: {line!r} (see {self.work}/serve.log)")
        who = re.search(r"Peer (\S+) started", line)
        proc.peer_id = who.group(1) if who else None  # the multi section tells holders apart by it
        return proc, int(m.group(2))

    def stop(self, proc):
        hwm = vm_hwm_kib(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return hwm

    def p2p_get(self, address, name, dest, window=None, chunk=None, verify=True, server=None, fresh=True):
        """One download into a fresh folder (fresh=False: resume what dest holds); returns (wall seconds, info dict
        with engine seconds, the client's peak RSS and CPU seconds and, given the server process, its CPU seconds
        over the download)."""
        if fresh:
            shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [str(self.peer_bin), "get", address, name, "--dir", str(dest), "--json"]
        if window is not None:
            cmd += ["--window", str(window)]
        if chunk is not None:
            cmd += ["--chunk-size", human(chunk)]
        rss_file = self.work / "time.out"
        if self.has_time:
            cmd = ["/usr/bin/time", "-f", "%M %U %S", "-o", str(rss_file)] + cmd
        server_cpu0 = cpu_seconds(server.pid) if server else None
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        t = time.perf_counter() - t0
        server_cpu1 = cpu_seconds(server.pid) if server else None
        if r.returncode != 0:
            raise SystemExit(f"get failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
        info = {}
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                info = json.loads(line)
        if self.has_time:
            rss, user, system = rss_file.read_text().splitlines()[-1].split()  # time may add a line before it
            info["client_rss_kib"] = int(rss)
            info["client_cpu_seconds"] = float(user) + float(system)
        if server_cpu0 is not None and server_cpu1 is not None:
            info["server_cpu_seconds"] = server_cpu1 - server_cpu0
        if verify:
            self.check(dest / name, f"p2p-peer get (window {window})")
        shutil.rmtree(dest, ignore_errors=True)
        return t, info

    def p2p_rows(self, src, size):
        """Window 1, the default, and 16: wall-clock median, engine median, client and server peak RSS."""
        server, port = self.start_server(src.parent)
        address = f"127.0.0.1:{port}"
        dest = self.work / "dst-p2p"
        rows = []
        try:
            t_first, _ = self.p2p_get(address, src.name, dest, verify=False)  # the server hashes on first REQUEST
            log(f"first download (server hashes the file): {t_first:.2f} s")
            self.results["transfer"]["p2p_first_download_seconds"] = t_first
            for label, window in (("p2p window 1", 1), ("p2p default window", None), ("p2p window 16", 16)):
                reset_hwm(server.pid)
                med, times, infos = self.median_time(
                    lambda: self.p2p_get(address, src.name, dest, window=window, server=server))
                engine = statistics.median(i.get("seconds", float("nan")) for i in infos)
                row = {"what": label, "window": window, "seconds": med, "runs": times, "engine_seconds": engine,
                       "client_rss_kib": max(i.get("client_rss_kib", 0) for i in infos),
                       "server_rss_kib": vm_hwm_kib(server.pid)}
                # CPU per byte moved, median over the repeats: the receiver's user + sys from /usr/bin/time (10 ms
                # resolution), the holder's from /proc/PID/stat before and after each get (clock ticks).
                for side in ("client", "server"):
                    cpu = [i[f"{side}_cpu_seconds"] for i in infos if f"{side}_cpu_seconds" in i]
                    if cpu:
                        row[f"{side}_cpu_seconds"] = statistics.median(cpu)
                        row[f"{side}_cpu_ns_per_byte"] = statistics.median(cpu) * 1e9 / size
                rows.append(row)
                log(f"{label}: {size / med / 1e6:.0f} MB/s wall, {size / engine / 1e6:.0f} MB/s engine, CPU "
                    f"{row.get('client_cpu_ns_per_byte', float('nan')):.2f} / "
                    f"{row.get('server_cpu_ns_per_byte', float('nan')):.2f} ns/B client / server")
        finally:
            rows_hwm = self.stop(server)
        self.results["transfer"]["server_rss_kib_overall"] = rows_hwm
        return rows

    # ----- sections --------------------------------------------------------------------------------------------
    def transfer(self):
        size = self.a.size
        src_dir = self.work / "src"
        src_dir.mkdir()
        src = src_dir / "random.bin"
        log(f"making {human(size)} of random data in {src}")
        make_file(src, size)
        self.src_sha = sha256(src)
        dst = self.work / "copy.bin"
        rows = []

        def anchor(what, fn, *fargs, **kw):
            med, times, _ = fn(*fargs, **kw)
            rows.append({"what": what, "seconds": med, "runs": times})
            log(f"{what}: {size / med / 1e6:.0f} MB/s ({med:.3f} s)")

        anchor("cp", self.time_cp, src, dst)
        anchor("nc", self.time_nc, src, dst)
        anchor("sendfile", self.time_sendfile, src, dst)
        anchor("sendfile + fsync", self.time_sendfile, src, dst, fsync=True)
        anchor("rsync daemon", self.time_rsync, src, dst)
        rows += self.p2p_rows(src, size)
        base = {r["what"]: r["seconds"] for r in rows}
        for r in rows:
            r["mb_s"] = size / r["seconds"] / 1e6
            for anchor_name, key in (("nc", "x_nc"), ("sendfile", "x_sendfile"), ("rsync daemon", "x_rsync"),
                                     ("cp", "x_cp"), ("sendfile + fsync", "x_sendfile_fsync")):
                r[key] = base[anchor_name] / r["seconds"]
            if "engine_seconds" in r:
                r["engine_mb_s"] = size / r["engine_seconds"] / 1e6
        self.results["transfer"].update({"size": size, "sha256": self.src_sha})
        self.results["rows"] = rows
        self.src = src

    def memory(self):
        if not self.a.big:
            return
        size = 4 << 30
        src_dir = self.work / "big"
        src_dir.mkdir()
        src = src_dir / "big.bin"
        log("making 4G of random data for the memory run")
        make_file(src, size)
        saved, self.src_sha = self.src_sha, sha256(src)
        server, port = self.start_server(src_dir)
        try:
            for window in (None, 16):
                reset_hwm(server.pid)
                t, info = self.p2p_get(f"127.0.0.1:{port}", src.name, self.work / "dst-big", window=window)
                self.results["memory"].append({"size": size, "window": window, "seconds": t,
                                               "client_rss_kib": info.get("client_rss_kib"),
                                               "server_rss_kib": vm_hwm_kib(server.pid)})
                log(f"4G window {window}: {size / t / 1e6:.0f} MB/s, RSS client {info.get('client_rss_kib')} KiB"
                    f" server {vm_hwm_kib(server.pid)} KiB")
        finally:
            self.stop(server)
            self.src_sha = saved
            src.unlink()

    def relay(self):
        size = self.a.sweep_size
        src_dir = self.work / "sweep"
        src_dir.mkdir()
        src = src_dir / "sweep.bin"
        make_file(src, size)
        saved, self.src_sha = self.src_sha, sha256(src)
        server, port = self.start_server(src_dir, ["--chunk-size", "4M"])
        dest = self.work / "dst-sweep"
        out = {"size": size, "windows": {}, "chunks": {}}
        relays = {}

        def via(delay):
            if delay not in relays:
                cap = self.work / f"relay-{delay}.cap"
                proc = subprocess.Popen([self.tap, "relay", "--listen", "0", "--bind", "127.0.0.1", "--to",
                                         f"127.0.0.1:{port}", "--out", cap, "--delay", str(delay)],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                m = re.search(r"relay listening on tcp://([\d.]+):(\d+)", proc.stdout.readline())
                if not m:
                    raise SystemExit("p2p-tap relay did not start")
                relays[delay] = (proc, f"127.0.0.1:{m.group(2)}")
            return relays[delay][1]

        def rate(address, window, chunk):
            med, _, _ = self.median_time(lambda: self.p2p_get(address, src.name, dest, window=window, chunk=chunk))
            return size / med / 1e6

        try:
            self.p2p_get(f"127.0.0.1:{port}", src.name, dest, verify=False)  # hash once
            for delay in self.a.delays:
                series = {}
                for w in self.a.windows:
                    series[w] = rate(via(delay), w, MIB)
                    log(f"relay delay {delay} ms, window {w}, 1M chunks: {series[w]:.0f} MB/s")
                out["windows"][delay] = series
            chunk_series = {"direct, window 1": (None, 1), "direct, window 16": (None, 16),
                            f"relay {self.a.chunk_delay} ms, window 16": (self.a.chunk_delay, 16)}
            for label, (delay, w) in chunk_series.items():
                address = f"127.0.0.1:{port}" if delay is None else via(delay)
                series = {}
                for c in self.a.chunks:
                    series[human(c)] = rate(address, w, c)
                    log(f"{label}, chunk {human(c)}: {series[human(c)]:.0f} MB/s")
                out["chunks"][label] = series
        finally:
            for proc, _ in relays.values():
                proc.send_signal(signal.SIGINT)
                proc.wait()
            self.stop(server)
            self.src_sha = saved
            src.unlink()
        self.results["relay"] = out

    def mesh(self):
        tool = self.build / "bench" / "p2p-bench-mesh"
        # All peers share one ZeroMQ context here; with its single default I/O thread serving the 4032 TCP sockets
        # of 64 peers, PONGs fall more than peer_timeout behind and the mesh evicts itself (docs/performance.md).
        # A p2p-peer process has one peer and its own I/O thread, so the bench gives the shared context 4.
        r = subprocess.run([tool, self.work / "mesh", "--peers", str(self.a.mesh_peers), "--idle",
                            str(self.a.idle), "--io-threads", str(self.a.mesh_io_threads)],
                           capture_output=True, text=True)
        lines = r.stdout.strip().splitlines()
        if not lines:
            raise SystemExit(f"mesh bench failed ({r.returncode}): {r.stderr[-2000:]}")
        self.results["mesh"] = json.loads(lines[-1])
        self.results["mesh"]["exit_code"] = r.returncode
        self.results["mesh"]["warnings"] = len(r.stderr.splitlines())
        log("mesh:", r.stdout.strip())

    def small_files(self):
        tool = self.build / "bench" / "p2p-bench-list"
        runs = []
        for _ in range(self.a.repeats):
            r = subprocess.run([tool, self.work / "small", "--files", str(self.a.files), "--requests",
                                str(self.a.requests)], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"list bench failed: {r.stdout}{r.stderr}")
            runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r[k] for r in runs) if isinstance(runs[0][k], float) else runs[0][k]
               for k in runs[0]}
        med["runs"] = runs
        self.results["small_files"] = med
        log("small files:", {k: v for k, v in med.items() if k != "runs"})

    # ----- issue 16: many small files ---------------------------------------------------------------------------
    def many_files(self):
        """A folder of --many-files files of --many-size random bytes: `p2p-peer get HOST:PORT FOLDER` (every file
        verified, synced and renamed into place) against `rsync -r` of the same folder from an rsync daemon, both
        on loopback, in the same run; files per second and the ratio."""
        count, size = self.a.many_files, self.a.many_size
        root = self.work / "many-src"
        folder = root / "many"
        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(16)
        digests = {}
        for i in range(count):
            data = rng.randbytes(size)
            (folder / f"f{i:05d}").write_bytes(data)
            digests[f"f{i:05d}"] = hashlib.sha256(data).hexdigest()
        # On ext4 without a journal (these machines) an inode freed in the last minute or more is skipped, one by one,
        # whenever a new inode is allocated near it (ext4's recently_deleted), as long as its inode-table block is
        # cached: a run right after 10,000 deletions (the last run's files, an earlier section's, a test suite's)
        # took 8.5 to 13 s where one on a settled disk took 3.3 (rsync -r alike: 1.6 s against 5.3). Users do not
        # download into a disk that has just deleted ten thousand files, so before each timed run, p2p's and
        # rsync's alike, the disk is settled: written back and its cache dropped (as root), then the source folder
        # read once more, as a holder that served before has it cached. Every run writes into a folder of its own.
        dests = []
        dest_parent = self.work / "many-dst"

        def settle_disk():
            if os.geteuid() == 0 and not self.a.smoke:  # the smoke checks the section runs, beside other tests
                os.sync()
                try:
                    Path("/proc/sys/vm/drop_caches").write_text("3\n")
                except OSError:
                    pass  # in a container without it: the figure may carry earlier deletions
            for f in folder.iterdir():
                f.read_bytes()

        def fresh_dest():
            dest = dest_parent / f"run-{len(dests)}"
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            dests.append(dest)
            settle_disk()
            return dest

        def verify(got, what):
            names = sorted(p.name for p in got.iterdir()) if got.is_dir() else []
            if names != sorted(digests):
                raise SystemExit(f"{what}: {len(names)} files arrived of {count}")
            for name in names[:: max(1, count // 200)]:  # a sample: each file is verified by the peer itself
                if hashlib.sha256((got / name).read_bytes()).hexdigest() != digests[name]:
                    raise SystemExit(f"{what}: {name} differs")

        server, port = self.start_server(root)
        try:
            # Until the holder has hashed its files it answers PREPARING: one untimed get first, as a user's second.
            subprocess.run([self.peer_bin, "get", f"127.0.0.1:{port}", "many", "--dir", fresh_dest(), "--json"],
                           capture_output=True, check=True)

            def p2p_once():
                dest = fresh_dest()
                t0 = time.perf_counter()
                r = subprocess.run([self.peer_bin, "get", f"127.0.0.1:{port}", "many", "--dir", dest, "--json"],
                                   capture_output=True, text=True)
                t = time.perf_counter() - t0
                if r.returncode != 0:
                    raise SystemExit(f"get of the folder failed ({r.returncode}): {r.stderr[-500:]}")
                verify(dest / "many", "p2p-peer get")
                return t, None
            p2p_s, p2p_runs, _ = self.median_time(p2p_once)
        finally:
            self.stop(server)

        def rsync_once(rport, extra=()):
            dest = fresh_dest()
            t0 = time.perf_counter()
            subprocess.run(["rsync", "-r", "--whole-file", *extra, f"rsync://127.0.0.1:{rport}/mod/many", dest],
                           check=True)
            t = time.perf_counter() - t0
            verify(dest / "many", "rsync -r")
            return t, None
        rsync_s, rsync_runs, _ = self.with_rsync_daemon(root, rsync_once)
        # rsync does not fsync unless asked; a download is durable before it is named, so the like-for-like anchor is
        # rsync --fsync (each file fsynced as written).
        rsync_fsync_s, rsync_fsync_runs, _ = self.with_rsync_daemon(root, lambda rport: rsync_once(rport, ["--fsync"]))
        shutil.rmtree(dest_parent, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        out = {"files": count, "file_size": size, "p2p_seconds": p2p_s, "p2p_runs": p2p_runs,
               "p2p_files_per_s": count / p2p_s, "rsync_seconds": rsync_s, "rsync_runs": rsync_runs,
               "rsync_files_per_s": count / rsync_s, "p2p_vs_rsync": rsync_s / p2p_s,
               "rsync_fsync_seconds": rsync_fsync_s, "rsync_fsync_runs": rsync_fsync_runs,
               "rsync_fsync_files_per_s": count / rsync_fsync_s, "p2p_vs_rsync_fsync": rsync_fsync_s / p2p_s}
        self.results["many_files"] = out
        log(f"many files: {count} x {size} B: p2p-peer get {count / p2p_s:.0f} files/s ({p2p_s:.2f} s), "
            f"rsync -r {count / rsync_s:.0f} files/s ({rsync_s:.2f} s): {rsync_s / p2p_s:.2f} x rsync; "
            f"rsync -r --fsync {count / rsync_fsync_s:.0f} files/s ({rsync_fsync_s:.2f} s): "
            f"{rsync_fsync_s / p2p_s:.2f} x rsync --fsync")

    # ----- issue 18: a window that sizes itself -----------------------------------------------------------------
    def window(self):
        """Rate against delay through `p2p-tap relay --delay D` for fixed windows and the default (auto) one, with
        the peak bytes in flight `get --json` reports; then the default window over a rate-limited, delayed link:
        where it settled and what the download names as its limit. `--window auto` is tried first: a peer that
        rejects it (usage error) is measured with fixed windows only, and the JSON says so."""
        size = self.a.window_size
        src_dir = self.work / "window"
        src_dir.mkdir()
        src = src_dir / "window.bin"
        make_file(src, size)
        (src_dir / "probe.bin").write_bytes(os.urandom(4096))
        saved, self.src_sha = self.src_sha, sha256(src)
        server, port = self.start_server(src_dir)
        direct = f"127.0.0.1:{port}"
        dest = self.work / "dst-window"
        out = {"size": size, "delays": self.a.window_delays, "fixed": self.a.window_fixed, "auto": False,
               **{key: {} for key in WINDOW_TABLES}, "ratios": {}, "rate_limited": None, "notes": []}
        relays = []
        try:
            self.p2p_get(direct, src.name, dest, verify=False)  # the holder has hashed it, if not before
            probe = subprocess.run([str(self.peer_bin), "get", direct, "probe.bin", "--dir", str(dest / "probe"),
                                    "--window", "auto", "--json"], capture_output=True, text=True)
            shutil.rmtree(dest, ignore_errors=True)
            out["auto"] = probe.returncode == 0
            if not out["auto"]:
                reason = (probe.stderr.strip().splitlines() or [""])[0][:200]
                note = f"--window auto rejected (exit {probe.returncode}: {reason}): the auto column is left out"
                out["notes"].append(note)
                log(note)
            columns = [*self.a.window_fixed, *(["auto"] if out["auto"] else [])]

            def measure(address):
                """Every column at one delay, in rounds: each round runs each column once, in the same order, so a
                machine that slows down or speeds up over the minutes touches every column alike (measured one
                column after the other, the ratios of one run moved by more than the columns differed). A column
                whose first run takes over 4 s (stop-and-wait over a delay) runs in the first round only, its own
                average. Returns {column: (median MB/s, wall times, the info of the median run)}."""
                runs = {w: [] for w in columns}
                infos = {w: [] for w in columns}
                for round_number in range(self.a.repeats):
                    for w in columns:
                        if round_number > 0 and runs[w][0] > 4.0:
                            continue
                        t, info = self.p2p_get(address, src.name, dest, window=w)
                        runs[w].append(t)
                        infos[w].append(info)
                return {w: (size / statistics.median(runs[w]) / 1e6, runs[w],
                            infos[w][runs[w].index(statistics.median_low(runs[w]))]) for w in columns}

            for delay in self.a.window_delays:
                relay, address = self.start_relay(port, self.work / f"window-{delay}.cap", delay)
                relays.append(relay)
                for key in WINDOW_TABLES:
                    out[key][delay] = {}
                measured = measure(address)
                for w in columns:
                    mb_s, runs, info = measured[w]
                    out["mb_s"][delay][w] = mb_s
                    out["runs"][delay][w] = runs
                    win = info.get("window") or {}
                    if "peak_in_flight_bytes" in win:
                        out["peak_in_flight_bytes"][delay][w] = win["peak_in_flight_bytes"]
                    for key in ("final_bytes", "min_rtt_ms", "full_after_ms"):
                        if key in win:
                            out[key][delay][w] = win[key]
                    if info.get("limit"):
                        out["limit"][delay][w] = info["limit"]
                    extra = (f", peak in flight {win['peak_in_flight_bytes'] / MIB:.1f} MiB"
                             if "peak_in_flight_bytes" in win else "")
                    if win.get("full_after_ms"):
                        extra += f", sized after {win['full_after_ms']:.0f} ms"
                    by = f", limit {info['limit'].get('by')}" if info.get("limit") else ""
                    log(f"window: delay {delay} ms each way, window {w}: {mb_s:.0f} MB/s ({len(runs)} runs){extra}{by}")
                self.stop_relay(relay)
                relays.remove(relay)
            if out["auto"]:
                for delay in self.a.window_delays:
                    series = out["mb_s"][delay]
                    best = max(self.a.window_fixed, key=series.get)
                    out["ratios"][delay] = {"auto_vs_best_fixed": series["auto"] / series[best], "best_fixed": best}
                if 0 in out["mb_s"]:
                    out["ratios"]["auto_vs_window_1_at_0"] = out["mb_s"][0]["auto"] / out["mb_s"][0][1]

            # The default window over a link of --window-rate bytes/s and --window-rate-delay ms each way.
            rate, delay = self.a.window_rate, self.a.window_rate_delay
            relay, address = self.start_relay(port, self.work / "window-rate.cap", delay, ["--rate", str(rate)])
            relays.append(relay)
            t, info = self.p2p_get(address, src.name, dest, window="auto" if out["auto"] else None)
            self.stop_relay(relay)
            relays.remove(relay)
            win = info.get("window") or {}
            limited = {"rate_limit": rate, "delay_ms": delay, "window": "auto" if out["auto"] else "default (fixed)",
                       "mb_s": size / t / 1e6, "seconds": t, "bdp_bytes": rate * 2 * delay / 1000,
                       "window_report": win or None, "limit": info.get("limit")}
            out["rate_limited"] = limited
            final = f"{win['final_bytes']} B" if "final_bytes" in win else "not reported"
            log(f"window: --rate {rate} --delay {delay}, {limited['window']} window: {limited['mb_s']:.1f} MB/s, "
                f"final window {final} (product {limited['bdp_bytes']:.0f} B), "
                f"limit {(info.get('limit') or {}).get('by', 'not reported')}")
        finally:
            for relay in relays:
                self.stop_relay(relay)
            self.stop(server)
            self.src_sha = saved
            src.unlink()
        self.results["window"] = out

    # ----- issue 16: one download from several holders at once --------------------------------------------------
    def multi_supported(self):
        """True when `get` takes several addresses and prints progress lines (`--json-progress`, issue 16)."""
        r = subprocess.run([str(self.peer_bin), "get", "--help"], capture_output=True, text=True)
        return "--json-progress" in r.stdout + r.stderr

    def wait_listed(self, port, name, timeout=120.0):
        """Waits until the holder on port lists name with its root (it has hashed it): a download then measures the
        transfer alone."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = subprocess.run([str(self.peer_bin), "ls", f"127.0.0.1:{port}", "--json"], capture_output=True,
                               text=True, timeout=30)
            if r.returncode == 0 and any(f.get("name") == name and f.get("root") for f in json.loads(r.stdout)):
                return
            time.sleep(0.05)
        raise SystemExit(f"the holder on port {port} did not list {name} with its root within {timeout:.0f} s")

    def multi_get(self, addresses, name, dest, timeout, on_progress=None):
        """`get ADDR... NAME --json --json-progress` into a fresh folder, its stdout read as it comes; returns (wall
        seconds, the file's JSON object, [(seconds since start, progress object)]). on_progress(seconds, object) is
        called for each progress line. The file's SHA-256 is checked."""
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        cmd = [str(self.peer_bin), "get", *addresses, name, "--dir", str(dest), "--json", "--json-progress"]
        with open(self.work / "multi-get.log", "a") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
            watchdog = threading.Timer(timeout, proc.kill)  # a get that hangs must not hang the bench
            watchdog.start()
            progress, result = [], None
            try:
                for line in proc.stdout:
                    at = time.perf_counter() - t0
                    if not line.startswith("{"):
                        continue
                    obj = json.loads(line)
                    if obj.get("event") == "progress":
                        progress.append((at, obj))
                        if on_progress:
                            on_progress(at, obj)
                    elif "ok" in obj:
                        result = obj
                code = proc.wait()
            finally:
                watchdog.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            t = time.perf_counter() - t0
        if code != 0 or not result or not result.get("ok"):
            raise SystemExit(f"get failed ({code}): {' '.join(cmd)}: {result} (see {self.work}/multi-get.log)")
        self.check(dest / name, f"p2p-peer get from {len(addresses)} holders")
        shutil.rmtree(dest, ignore_errors=True)
        return t, result, progress

    def menu_get(self, addresses, name, dest, timeout, on_held=None):
        """Before `get` takes several addresses: the menu of a fresh peer (`p2p-peer 0 DIR`, no discovery) connected
        to every address (choice 4), then choice 3 with an empty peer id ("all"): the download runs in the same core
        as get's. Returns (seconds from choice 3 to its "Got file" line, {"seconds": what the line says}, [(seconds,
        bytes held)]): the bytes held are the blocks of the partial file (written pieces, in any order), sampled
        every 10 ms; on_held(seconds, bytes) is called for each sample."""
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        lines = queue.Queue()
        with open(self.work / "multi-menu.log", "a") as err:
            proc = subprocess.Popen([str(self.peer_bin), "0", str(dest), "--bind", "127.0.0.1", "--no-discover",
                                     "--settle", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                    text=True)
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout] + [lines.put(None)],
                         daemon=True).start()

        def wait_line(pattern, seconds):
            end = time.monotonic() + seconds
            while True:
                try:
                    line = lines.get(timeout=max(0.0, end - time.monotonic()))
                except queue.Empty:
                    raise SystemExit(f"the menu printed no line matching {pattern!r} within {seconds:.0f} s "
                                     f"(see {self.work}/multi-menu.log)") from None
                if line is None:
                    raise SystemExit(f"the menu exited ({proc.wait()}) before {pattern!r}")
                m = re.search(pattern, line)
                if m:
                    return m

        def send(*answers):
            proc.stdin.write("".join(a + "\n" for a in answers))
            proc.stdin.flush()

        samples = []
        try:
            wait_line(r"Peer \S+ started on", 30)
            for address in addresses:
                host, port = address.rsplit(":", 1)
                send("4", host, port)
                wait_line(rf"Connected to peer \S+ at {re.escape(address)}\b", 30)
            part = []
            t0 = time.perf_counter()
            send("3", name, "")
            done = {}

            def sample():
                while not done:
                    at = time.perf_counter() - t0
                    part[:] = part or partial_files(dest)
                    try:
                        held = part[0].stat().st_blocks * 512 if part else 0
                    except OSError:
                        held = samples[-1][1] if samples else 0  # renamed into place
                    samples.append((at, held))
                    if on_held:
                        on_held(at, held)
                    time.sleep(0.01)
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            m = wait_line(rf"Got file {re.escape(name)} from peer \S+ \((\d+) bytes in ([0-9.]+) s", timeout)
            t = time.perf_counter() - t0
            done["at"] = t
            sampler.join()
            send("5")
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.check(dest / name, f"the menu's download from {len(addresses)} holders")
        shutil.rmtree(dest, ignore_errors=True)
        return t, {"seconds": float(m.group(2))}, samples

    def relay_chunks(self, cap):
        """[(time in µs, payload bytes)] of every CHUNK the holder sent through a relay, from its capture."""
        r = subprocess.run([self.tap, "dump", cap, "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"p2p-tap dump failed: {r.stderr}")
        out = []
        for line in r.stdout.splitlines():
            rec = json.loads(line)
            if rec.get("type") == "CHUNK" and rec.get("direction") == "sent":
                out.append((rec["time_us"], rec.get("payload_bytes", 0)))
        return out

    def multi(self):
        """One download from three holders, each `p2p-peer serve` of the same file on its own folder behind its own
        `p2p-tap relay --rate`: (a) all three at R, (b) at R, R and R/10, (c) the bytes thrown away in each, (d) all at
        R with the first holder killed (SIGKILL) once half the file has arrived. The anchor is one holder behind one
        relay at R in the same run; the targets are ratios of R. A `get` without `--json-progress` (before issue 16's
        command line) is replaced by the menu of a peer connected to the three relays (choice 3, all holders: the same
        core), with each holder's bytes from its relay's capture and progress from the partial file; the JSON says
        so."""
        size, rate = self.a.multi_size, self.a.multi_rate
        base = self.work / "multi"
        name = "multi.bin"
        src = base / "holder0" / name
        src.parent.mkdir(parents=True)
        make_file(src, size)
        for i in (1, 2):  # the same bytes in each holder's own folder (one inode: the relays are the bottleneck)
            (base / f"holder{i}").mkdir()
            os.link(src, base / f"holder{i}" / name)
        saved, self.src_sha = self.src_sha, sha256(src)
        piece = piece_size_for(size)
        out = {"size": size, "piece_size": piece, "rate": rate, "supported": self.multi_supported(), "runs": {},
               "notes": []}
        holders, relays = [], []
        dest = base / "dst"
        timeout = 120 + 4 * size / rate
        try:
            for i in range(3):
                proc, port = self.start_server(base / f"holder{i}", ["--settle", "0", "--no-discover"])
                holders.append((proc, port))
            for _, port in holders:
                self.wait_listed(port, name)
            ids = [proc.peer_id for proc, _ in holders]

            relay, address = self.start_relay(holders[0][1], base / "anchor.cap", 0, ["--rate", str(rate)])
            relays.append(relay)
            t, info = self.p2p_get(address, name, dest)
            self.stop_relay(relay)
            relays.remove(relay)
            out["anchor"] = {"what": "one holder, one relay at R", "seconds": t, "mb_s": size / t / 1e6,
                             "x_r": size / t / rate, "engine_seconds": info.get("seconds")}
            log(f"multi: anchor, one holder behind --rate {rate}: {size / t / 1e6:.1f} MB/s = {size / t / rate:.2f} R")
            out["driver"] = "get" if out["supported"] else "menu"
            if not out["supported"]:
                note = ("get takes one address and has no --json-progress on this build: the downloads from three "
                        "holders go through the menu (choice 3, all holders), each holder's bytes come from its "
                        "relay's capture, and progress is the partial file's written blocks")
                out["notes"].append(note)
                log(f"multi: {note}")

            def shares_of(holder_list):
                """Bytes per holder index (0..2) from a JSON "holders" list ({"peer", "bytes"})."""
                got = [0, 0, 0]
                for share in holder_list or []:
                    peer = str(share.get("peer", "")).lower()
                    for i, hid in enumerate(ids):
                        if peer and (peer.startswith(hid.lower()) or hid.lower().startswith(peer)):
                            got[i] += share.get("bytes", 0)
                return got

            def scenario(label, rates, kill_at=None):
                relay_addresses, caps = [], []
                for i, r in enumerate(rates):
                    caps.append(base / f"{label}-{i}.cap")
                    relay, address = self.start_relay(holders[i][1], caps[-1], 0, ["--rate", str(r)])
                    relays.append(relay)
                    relay_addresses.append(address)
                killed = {}

                def on_bytes(at, held):
                    if kill_at is not None and not killed and held >= kill_at * size:
                        # The first holder: before several holders at once, the one a download uses, so the run
                        # also shows how long a fail-over takes there; with all three at R any one would do.
                        victim = holders[0][0]
                        victim.kill()  # SIGKILL: no GOODBYE, no last ACK
                        victim.wait()
                        killed.update(bytes=held, at=at)

                start_us = time.time_ns() // 1000
                if out["driver"] == "get":
                    t, result, progress = self.multi_get(relay_addresses, name, dest, timeout,
                                                         lambda at, obj: on_bytes(at, obj.get("bytes", 0)))
                    # Progress is bytes arriving: the lines that add bytes (lines on a timer may repeat a count).
                    times, last = [], -1
                    for at, obj in progress:
                        if obj.get("bytes", 0) > last:
                            times.append(at)
                            last = obj.get("bytes", 0)
                    times.append(t)
                    gaps = [b - a for a, b in zip(times, times[1:])]
                    run_lines = [at for at, _ in progress] + [t]
                    line_gap = max((b - a for a, b in zip(run_lines, run_lines[1:])), default=t)
                else:
                    t, result, samples = self.menu_get(relay_addresses, name, dest, timeout, on_bytes)
                    progress = []
                    # The longest time the partial file did not grow, from its first piece to the end.
                    grew = [at for (at, held), (_, before) in zip(samples[1:], samples) if held > before] + [t]
                    times = grew
                    gaps = [b - a for a, b in zip(grew, grew[1:])]
                    line_gap = None
                for relay in relays[:]:
                    self.stop_relay(relay)
                    relays.remove(relay)
                # What each holder sent through its relay (the relay stamps a CHUNK when the holder's copy reaches
                # it; a rate-limited relay holds it up to its queue before the getter has it).
                chunks = [self.relay_chunks(cap) for cap in caps]
                relay_bytes = [sum(n for _, n in c) for c in chunks]
                json_bytes = shares_of(result.get("holders"))
                run = {"driver": out["driver"], "rates": rates, "seconds": t, "mb_s": size / t / 1e6,
                       "x_r": size / t / rate, "x_sum": size / t / sum(rates), "x_anchor": out["anchor"]["seconds"] / t,
                       "engine_seconds": result.get("seconds"), "relay_bytes": relay_bytes,
                       "holder_bytes": json_bytes if any(json_bytes) else relay_bytes,
                       "holder_bytes_from": "get --json" if any(json_bytes) else "relay captures",
                       "wasted": result.get("wasted"), "relay_bytes_over_size": sum(relay_bytes) - size,
                       "resumed_from": result.get("resumed_from", 0), "wasted_bound": 0.01 * size + 4 * piece,
                       "progress_lines": len(progress), "longest_gap_seconds": max(gaps, default=t),
                       "longest_gap_between_lines_seconds": line_gap}
                if progress and any(any(shares_of(obj.get("holders"))) for _, obj in progress):
                    run["series"] = [[round(at, 3), shares_of(obj.get("holders"))] for at, obj in progress]
                    run["series_from"] = "progress lines"
                else:  # cumulative bytes per holder from the relays' stamps, every 100 ms
                    events = sorted(((us - start_us) / 1e6, i, n) for i, c in enumerate(chunks) for us, n in c)
                    series, got, tick = [], [0, 0, 0], 0.1
                    for at, i, n in events:
                        while at > tick:
                            series.append([round(tick, 3), got[:]])
                            tick += 0.1
                        got[i] += n
                    series.append([round(max(t, events[-1][0] if events else 0), 3), got[:]])
                    run["series"] = series
                    run["series_from"] = "relay captures"
                total = sum(run["holder_bytes"]) or 1
                run["holder_share"] = [b / total for b in run["holder_bytes"]]
                if kill_at is not None:
                    if killed:
                        run["killed_at_bytes"] = killed["bytes"]
                        after = [killed["at"], *(at for at in times if at > killed["at"])]
                        run["longest_gap_after_kill_seconds"] = max(b - a for a, b in zip(after, after[1:]))
                    else:  # a small file (the smoke) may arrive between two progress lines: nothing was killed
                        run["missed"] = True
                        out["notes"].append(f"{label}: the download ended before a progress line said "
                                            f"{kill_at:.0%}; no holder was killed")
                out["runs"][label] = run
                shares = ", ".join(f"{x:.1%}" for x in run["holder_share"])
                wasted = run["wasted"] if run["wasted"] is not None else f"(relays: {run['relay_bytes_over_size']})"
                log(f"multi {label} ({', '.join(str(r) for r in rates)} B/s, {out['driver']}): {run['mb_s']:.1f} MB/s "
                    f"= {run['x_r']:.2f} R = {run['x_sum']:.2f} of the sum; shares {shares} "
                    f"(from {run['holder_bytes_from']}); wasted {wasted} B (bound {run['wasted_bound']:.0f}); "
                    f"longest stall {run['longest_gap_seconds']:.2f} s"
                    + (f"; holder 1 killed at {killed['bytes'] / size:.1%}" if killed else ""))

            scenario("equal", [rate, rate, rate])
            scenario("slow", [rate, rate, rate // 10])
            scenario("kill", [rate, rate, rate], kill_at=0.5)
        finally:
            for relay in relays:
                self.stop_relay(relay)
            for proc, _ in holders:
                if proc.poll() is None:
                    self.stop(proc)
            self.src_sha = saved
            shutil.rmtree(base, ignore_errors=True)
            self.results["multi"] = out

    # ----- issue 15: first download, resume after kill -9, hashing 100 GiB ---------------------------------------
    def start_relay(self, port, cap, delay=0, extra=()):
        """A p2p-tap relay to 127.0.0.1:port recording into cap (extra: more relay options); returns (process, its
        address)."""
        proc = subprocess.Popen([self.tap, "relay", "--listen", "0", "--bind", "127.0.0.1", "--to",
                                 f"127.0.0.1:{port}", "--out", cap, "--delay", str(delay), *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.search(r"relay listening on tcp://([\d.]+):(\d+)", proc.stdout.readline())
        if not m:
            proc.kill()
            proc.wait()
            raise SystemExit("p2p-tap relay did not start")
        return proc, f"127.0.0.1:{m.group(2)}"

    def stop_relay(self, proc):
        proc.send_signal(signal.SIGINT)  # the relay flushes and closes its capture on SIGINT
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def capture_times(self, cap, name):
        """From a relay capture (`p2p-tap dump --json`, the holder's side: "received" is what the holder got): the
        first REQUEST for name, the first OFFER and the first CHUNK of that transfer, and how many PREPARING the holder
        sent before its OFFER. Times in µs since the epoch, as the relay stamped them."""
        r = subprocess.run([self.tap, "dump", cap, "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"p2p-tap dump failed: {r.stderr}")
        out = {"request_us": None, "offer_us": None, "chunk_us": None, "preparing": 0}
        transfer = None
        for line in r.stdout.splitlines():
            rec = json.loads(line)
            kind, fields = rec.get("type"), rec.get("fields", {})
            if kind == "REQUEST" and transfer is None and fields.get("name") == name:
                transfer, out["request_us"] = fields["transfer"], rec["time_us"]
            elif transfer is None or fields.get("transfer") != transfer or rec["direction"] != "sent":
                continue
            elif kind == "PREPARING" and out["offer_us"] is None:
                out["preparing"] += 1
            elif kind == "OFFER" and out["offer_us"] is None:
                out["offer_us"] = rec["time_us"]
            elif kind == "CHUNK" and out["chunk_us"] is None:
                out["chunk_us"] = rec["time_us"]
        if out["request_us"] is None or out["offer_us"] is None:
            raise SystemExit(f"no REQUEST/OFFER for {name} in the capture {cap}")
        return out

    def first(self):
        """The first download of a file that has just appeared in a running holder's folder, 2 s after it appeared;
        then the same after a restart of the holder (its manifest is kept in .p2p/manifests): the time from REQUEST
        to OFFER, exact from a relay capture, and what the holder read besides the one pass of the upload."""
        size = self.a.size
        base = self.work / "first"
        share = base / "share"
        share.mkdir(parents=True)
        name = "first.bin"
        tmp = base / "incoming.tmp"  # outside the shared folder, same file system: the rename is atomic
        make_file(tmp, size)
        saved, self.src_sha = self.src_sha, sha256(tmp)
        out = {"size": size, "wait_after_appear_seconds": 2.0, "runs": []}
        server, port = self.start_server(share)
        try:
            for label in ("appeared", "restarted"):
                if label == "restarted":
                    self.stop(server)
                    server, port = self.start_server(share)
                io0 = proc_io(server.pid)
                if label == "appeared":
                    os.rename(tmp, share / name)
                    appeared = time.monotonic()
                    # The scenario itself (a user fetches a file 2 s after it was dropped in), not a synchronisation.
                    time.sleep(max(0.0, appeared + 2.0 - time.monotonic()))
                cap = base / f"{label}.cap"
                relay, address = self.start_relay(port, cap)
                try:
                    start_us = time.time_ns() // 1000
                    t, info = self.p2p_get(address, name, base / "dst", server=server)  # checks SHA-256
                finally:
                    self.stop_relay(relay)
                io1 = proc_io(server.pid)
                times = self.capture_times(cap, name)
                run = {"what": label, "get_seconds": t, "engine_seconds": info.get("seconds"),
                       "first_offer_seconds": (times["offer_us"] - times["request_us"]) / 1e6,
                       "get_start_to_offer_seconds": (times["offer_us"] - start_us) / 1e6,
                       "first_chunk_seconds": ((times["chunk_us"] - times["request_us"]) / 1e6
                                               if times["chunk_us"] else None),
                       "preparing": times["preparing"],
                       # rchar counts every read()/pread() byte, page cache hits included (read_bytes only those
                       # from the disk, 0 once the file is cached); minus the one pass of the upload, what is left
                       # is the hashing (and the small reads: manifest, /proc, eventfds).
                       "holder_rchar": io1.get("rchar", 0) - io0.get("rchar", 0),
                       "holder_read_bytes": io1.get("read_bytes", 0) - io0.get("read_bytes", 0),
                       "server_cpu_seconds": info.get("server_cpu_seconds")}
                run["holder_extra_read_bytes"] = run["holder_rchar"] - size
                if label == "restarted":
                    # Bytes read from the holder's start to the end of this get: start-up (manifests, scan) included.
                    run["holder_extra_read_bytes"] = io1.get("rchar", 0) - size
                out["runs"].append(run)
                log(f"first download ({label}): REQUEST to OFFER {run['first_offer_seconds']:.3f} s, "
                    f"{run['preparing']} PREPARING, get {t:.3f} s, holder read {run['holder_extra_read_bytes']} B "
                    f"besides the upload")
        finally:
            self.stop(server)
            self.src_sha = saved
            shutil.rmtree(base, ignore_errors=True)
        self.results["first"] = out

    def resume(self):
        """Kill -9 a download at a random point, then rerun it: how much of the partial file the rerun reads back.
        Every round is a FRESH download (the partial from the round before removed), killed when its partial file
        reaches a seeded random fraction in 5..95 %, so each round tests one kill point on its own."""
        size = self.a.resume_size
        base = self.work / "resume"
        share = base / "share"
        share.mkdir(parents=True)
        src = share / "resume.bin"
        make_file(src, size)
        digest = sha256(src)
        piece = piece_size_for(size)
        rng = random.Random(self.a.seed)
        out = {"size": size, "piece_size": piece, "seed": self.a.seed, "rounds": self.a.resume_rounds,
               "relay_delay_ms": self.a.resume_delay, "points": []}
        server, port = self.start_server(share)
        relay = None
        try:
            address = f"127.0.0.1:{port}"
            if self.a.resume_delay:  # small files: slow each message so there is time to kill part way
                relay, address = self.start_relay(port, base / "relay.cap", self.a.resume_delay)
            dest = base / "dst"
            cmd = [str(self.peer_bin), "get", address, src.name, "--dir", str(dest), "--json"]
            for i in range(self.a.resume_rounds):
                fraction = rng.uniform(0.05, 0.95)
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir(parents=True)
                getter = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                held, deadline = 0, time.monotonic() + max(60.0, size / 20e6)
                try:
                    while getter.poll() is None and time.monotonic() < deadline:
                        parts = partial_files(dest)
                        held = sum(p.stat().st_size for p in parts if p.exists())
                        if held >= fraction * size:
                            break
                        time.sleep(0.0005)
                    missed = getter.poll() is not None
                    getter.kill()  # SIGKILL: no goodbye, no last write of anything
                    getter.wait()
                finally:
                    if getter.poll() is None:
                        getter.kill()
                        getter.wait()
                # Finished between the last poll and the kill: nothing partial is left to resume.
                missed = missed or (dest / src.name).exists() or not partial_files(dest)
                if missed or held < fraction * size:
                    log(f"resume point {i}: the get {'ended' if missed else 'stalled'} before "
                        f"{fraction:.1%} ({held} B); skipped")
                    out["points"].append({"fraction": fraction, "missed": True, "held": held})
                    continue
                held = sum(p.stat().st_size for p in partial_files(dest))
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=max(120.0, size / 10e6))
                objs = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
                done = objs[-1] if objs else {}
                if r.returncode != 0 or not done.get("ok"):
                    raise SystemExit(f"resume point {i}: rerun failed ({r.returncode}): {r.stdout}{r.stderr}")
                identical = sha256(dest / src.name) == digest
                point = {"fraction": fraction, "held": held, "resumed_from": done["resumed_from"],
                         "rechecked": done["rechecked"], "rechecked_pieces": -(-done["rechecked"] // piece),
                         "rerun_seconds": done.get("seconds"), "identical": identical}
                out["points"].append(point)
                log(f"resume point {i}: killed at {held / size:.1%} (aimed {fraction:.1%}), resumed from "
                    f"{point['resumed_from']}, re-read {point['rechecked']} B = {point['rechecked_pieces']} pieces, "
                    f"{'identical' if identical else 'DIFFERENT'}")
        finally:
            if relay:
                self.stop_relay(relay)
            self.stop(server)
            shutil.rmtree(base, ignore_errors=True)
        done = [p for p in out["points"] if not p.get("missed")]
        out["measured"] = len(done)
        out["all_identical"] = all(p["identical"] for p in done)
        out["max_rechecked"] = max((p["rechecked"] for p in done), default=None)
        out["max_rechecked_pieces"] = max((p["rechecked_pieces"] for p in done), default=None)
        self.results["resume"] = out
        if not out["all_identical"]:
            raise SystemExit("resume: a resumed download differs from the source")

    def hash100g(self):
        """`p2p-peer hash` of a --hash-size (100 GiB) sparse file: time, rate, peak RSS and the size of the manifest
        it makes. Twice: all holes (`truncate`; the hasher finds holes with SEEK_DATA and hashes one piece of zeros
        for all of them, so this measures hole skipping), and with one byte written at every 1 MiB block, so every
        block is data that is read (from holes, no disk) and hashed: that run is the hashing rate."""
        size = self.a.hash_size
        path = self.work / "sparse.bin"
        runs = []
        info = {}
        try:
            for what in ("holes", "a byte every MiB"):
                with open(path, "wb") as f:
                    f.truncate(size)
                    if what != "holes":
                        for offset in range(0, size, MIB):
                            os.pwrite(f.fileno(), b"\x01", offset)
                subprocess.run(["sync", "-f", str(path)], check=False)  # not the writeback of this file in the time
                cmd = [str(self.peer_bin), "hash", str(path), "--json"]
                timing = self.work / "hash.time"
                if self.has_time:
                    cmd = ["/usr/bin/time", "-f", "%e %M", "-o", str(timing)] + cmd
                t0 = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True, text=True)
                wall = time.perf_counter() - t0
                if r.returncode != 0:
                    raise SystemExit(f"hash failed ({r.returncode}): {r.stderr}")
                info = json.loads([line for line in r.stdout.splitlines() if line.startswith("{")][-1])
                seconds, rss = wall, None
                if self.has_time:
                    elapsed, rss = timing.read_text().splitlines()[-1].split()
                    seconds, rss = max(float(elapsed), 0.01), int(rss)  # %e has 10 ms resolution
                run = {"what": what, "seconds": seconds, "wall_seconds": wall, "engine_seconds": info.get("seconds"),
                       "gb_s": size / seconds / 1e9, "peak_rss_kib": rss, "root": info.get("root")}
                runs.append(run)
                log(f"hash {human(size)} sparse, {what}: {seconds:.2f} s, {run['gb_s']:.2f} GB/s, peak RSS {rss} KiB")
                path.unlink()
        finally:
            path.unlink(missing_ok=True)
        pieces = info.get("pieces") or -(-size // info["piece_size"])
        self.results["hash100g"] = {"size": size, "piece_size": info["piece_size"], "pieces": pieces,
                                    "manifest_bytes": pieces * 32, "runs": runs}
        log(f"hash {human(size)}: {pieces} pieces of {human(info['piece_size'])}, manifest {pieces * 32} B")

    # ----- report ----------------------------------------------------------------------------------------------
    def targets(self):
        t = self.results["targets"]

        def target(name, value, limit, higher_is_better=True, unit="x", at_most=False):
            ok = value >= limit if higher_is_better else value <= limit if at_most else value < limit
            ratio = value / limit if higher_is_better else limit / value if value else float("inf")
            t.append({"target": name, "value": value, "limit": limit, "unit": unit, "pass": ok,
                      "ratio_to_target": ratio})

        rows = {r["what"]: r for r in self.results["rows"]}
        if rows:
            d = rows["p2p default window"]
            best = max((r for r in self.results["rows"] if r["what"].startswith("p2p")), key=lambda r: r["mb_s"])
            size = human(self.a.size)
            target(f"{size} default window vs sendfile", d["x_sendfile"], 0.7)
            target(f"{size} default window vs rsync daemon", d["x_rsync"], 1.0)
            target(f"{size} best window ({best['what']}) vs sendfile", best["x_sendfile"], 0.7)
            target(f"{size} best window ({best['what']}) vs rsync daemon", best["x_rsync"], 1.0)
            target(f"{size} window 1 vs sendfile", rows["p2p window 1"]["x_sendfile"], 0.5)
            # Issue 15: against the anchors that do what a download must (fsync before the rename; check the bytes).
            if "x_sendfile_fsync" in rows["p2p window 1"]:  # absent from runs before the anchor existed
                target(f"{size} window 1 vs sendfile+fsync", rows["p2p window 1"]["x_sendfile_fsync"], 0.9)
            target(f"{size} window 1 vs rsync daemon", rows["p2p window 1"]["x_rsync"], 1.3)
            peak = max(max(r["client_rss_kib"] or 0, r["server_rss_kib"] or 0) for r in rows.values()
                       if "client_rss_kib" in r)
            target(f"peak RSS per peer at {human(self.a.size)} (MiB)", peak / 1024, 64, False, "MiB")
        for m in self.results["memory"]:
            target(f"peak RSS per peer at 4G, window {m['window'] or 'default'} (MiB)",
                   max(m["client_rss_kib"] or 0, m["server_rss_kib"] or 0) / 1024, 64, False, "MiB")
        relay = self.results["relay"]
        if relay and 0 in relay["windows"] and 10 in relay["windows"]:
            # The window that fills 10 ms each way, against the same window through the relay without delay; and,
            # stricter, against the fastest no-delay run of any window (one lucky run there moves this one).
            best_w = max(relay["windows"][10], key=relay["windows"][10].get)
            target(f"10 ms each way, window {best_w} vs relay no delay, same window",
                   relay["windows"][10][best_w] / relay["windows"][0][best_w], 0.8)
            target(f"10 ms each way, window {best_w} vs relay no delay, fastest window",
                   relay["windows"][10][best_w] / max(relay["windows"][0].values()), 0.8)
        many = self.results.get("many_files")
        if many:
            # Issue 16: a folder of 10,000 files of 10 KiB at 2,000 files/s or more. The ratio to rsync -r (no fsync)
            # is reported in the log and the JSON; it is held to rsync's speed where rsync makes its files durable too.
            target(f"{many['files']} files of {human(many['file_size'])}: p2p-peer get (files/s)",
                   many["p2p_files_per_s"], 2000, unit="files/s")
            if "p2p_vs_rsync_fsync" in many:  # absent from runs before the anchor existed
                target(f"{many['files']} files of {human(many['file_size'])}: p2p-peer get vs rsync -r --fsync",
                       many["p2p_vs_rsync_fsync"], 1.0)
        window = self.results.get("window")
        if window and window.get("auto"):
            # Issue 18: the default against the best fixed window of the sweep at each delay, and on loopback against
            # stop-and-wait; the peak in flight against 2 x the bandwidth-delay product + one piece.
            for delay in window["delays"]:
                r = window["ratios"][delay]
                target(f"{delay} ms each way: auto window vs best fixed (window {r['best_fixed']})",
                       r["auto_vs_best_fixed"], 0.9)
                peak = window["peak_in_flight_bytes"].get(delay, {}).get("auto")
                # The round trip: the relay's 2 x delay, or the measured minimum when larger (on loopback the relay's
                # own hop is the whole round trip).
                rtt_ms = max(2 * delay, window.get("min_rtt_ms", {}).get(delay, {}).get("auto", 0))
                if peak is not None:
                    # The product of the path's rate (the best any window reached through it in this run) and the
                    # round trip.
                    path_rate = max(window["mb_s"][delay].values()) * 1e6
                    bound = 2 * path_rate * rtt_ms / 1000 + piece_size_for(window["size"])
                    target(f"{delay} ms each way: auto peak in flight (MiB, at most 2 x product + one piece)",
                           peak / MIB, round(bound / MIB, 2), False, "MiB", at_most=True)
                full = (window.get("full_after_ms") or {}).get(delay, {}).get("auto")
                if full and rtt_ms > 0:
                    target(f"{delay} ms each way: auto window sized after (round trips, at most 10)",
                           full / rtt_ms, 10, False, "round trips", at_most=True)
            if "auto_vs_window_1_at_0" in window["ratios"]:
                target("0 ms: auto window vs window 1", window["ratios"]["auto_vs_window_1_at_0"], 0.95)
            limited = window.get("rate_limited") or {}
            final = (limited.get("window_report") or {}).get("final_bytes")
            if final is not None:
                target(f"--rate {limited['rate_limit']} --delay {limited['delay_ms']}: final window (MiB, at most 2 x "
                       "product + one piece)", final / MIB,
                       round((2 * limited["bdp_bytes"] + piece_size_for(window["size"])) / MIB, 2), False, "MiB",
                       at_most=True)
            if limited.get("limit"):
                target(f"--rate {limited['rate_limit']} --delay {limited['delay_ms']}: limit named is the link",
                       int(limited["limit"].get("by") == "link"), 1)
        multi = self.results.get("multi")
        if multi and multi.get("runs"):
            # Issue 16: the rate from three holders as a multiple of R (each holder's link), the slow holder's share,
            # the bytes thrown away against 1 % of the file + 4 pieces, and the longest pause after a holder died.
            size, runs = human(multi["size"]), multi["runs"]
            bound = round((0.01 * multi["size"] + 4 * multi["piece_size"]) / MIB, 2)
            if "equal" in runs:
                target(f"{size} from 3 holders at R: rate / R", runs["equal"]["x_r"], 2.7)
            if "slow" in runs:
                target(f"{size} from holders at R, R, R/10: rate / R", runs["slow"]["x_r"], 1.8)
                target(f"{size} from holders at R, R, R/10: the slow one's share of bytes",
                       runs["slow"]["holder_share"][2], 0.10, False, "share")
            for label, run in runs.items():
                # get --json's "wasted"; from the menu, what the holders sent through their relays beyond the size
                # (an upper bound: it counts bytes a relay still held when the download ended).
                wasted, whence = run.get("wasted"), ""
                if wasted is None and "relay_bytes_over_size" in run:
                    wasted, whence = run["relay_bytes_over_size"], ", from the relays"
                if wasted is not None:
                    target(f"{size}, {label}: bytes thrown away (MiB{whence}, at most 1 % + 4 pieces)", wasted / MIB,
                           bound, False, "MiB", at_most=True)
            if "kill" in runs and not runs["kill"].get("missed"):
                target(f"{size}, one holder killed at 50 %: longest time the bytes stood still (s)",
                       runs["kill"]["longest_gap_seconds"], 1.0, False, "s", at_most=True)
        if self.results["mesh"]:
            m = self.results["mesh"]
            target(f"{m['peers']}-peer mesh converge (s)", m["converge_seconds"], 2.0, False, "s")
            target("idle CPU per peer (%)", m["idle_cpu_percent_per_peer"], 1.0, False, "%")
            full = m["peers"] * (m["peers"] - 1)
            target(f"mesh links still up after {m['idle_seconds']:.0f} s idle (of {full})", m["links_after_idle"],
                   full)
        if self.results["small_files"]:
            s = self.results["small_files"]
            target(f"{s['files']}-file list scan + send (s)", s["list_total_seconds"], 1.0, False, "s")
        if self.results.get("first"):
            f = self.results["first"]
            for run in f["runs"]:
                target(f"{human(f['size'])} first download, {run['what']}: REQUEST to OFFER (s)",
                       run["first_offer_seconds"], 0.3, False, "s")
            restarted = [run for run in f["runs"] if run["what"] == "restarted"]
            if restarted:
                # ~0 bytes hashed after a restart: below one piece read besides the upload counts as none.
                target("holder reads besides the upload after a restart (MiB)",
                       max(0, restarted[0]["holder_extra_read_bytes"]) / MIB, 1.0, False, "MiB")
        if self.results.get("resume") and self.results["resume"].get("measured"):
            r = self.results["resume"]
            target(f"resume after kill -9, {r['measured']} points: results identical", int(r["all_identical"]), 1)
            target("resume after kill -9: most pieces re-read (at most)", r["max_rechecked_pieces"], 4, False,
                   "pieces", at_most=True)

    def print_table(self):
        lines = []
        rows = self.results["rows"]
        if rows:
            size = self.results["transfer"]["size"]
            lines.append(f"{human(size)} of random data over tcp loopback, median of {self.a.repeats} "
                         f"(SHA-256 of every copy checked)")
            lines.append("| what | seconds | MB/s | × nc | × sendfile | × rsync | × cp | × sendfile+fsync "
                         "| p2p engine MB/s | peak RSS client / server | CPU ns/B client / server |")
            lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
            for r in rows:
                rss = (f"{r['client_rss_kib'] / 1024:.1f} / {r['server_rss_kib'] / 1024:.1f} MiB"
                       if r.get("client_rss_kib") else "")
                engine = f"{r['engine_mb_s']:.0f}" if "engine_mb_s" in r else ""
                cpu = (f"{r['client_cpu_ns_per_byte']:.2f} / {r['server_cpu_ns_per_byte']:.2f}"
                       if "client_cpu_ns_per_byte" in r and "server_cpu_ns_per_byte" in r else "")
                lines.append(f"| {r['what']} | {r['seconds']:.3f} | {r['mb_s']:.0f} | {r['x_nc']:.2f} | "
                             f"{r['x_sendfile']:.2f} | {r['x_rsync']:.2f} | {r['x_cp']:.2f} | "
                             f"{r['x_sendfile_fsync']:.2f} | {engine} | {rss} | {cpu} |")
        for m in self.results["memory"]:
            lines.append(f"4 GiB, window {m['window'] or 'default'}: {m['size'] / m['seconds'] / 1e6:.0f} MB/s, "
                         f"peak RSS client {m['client_rss_kib'] / 1024:.1f} MiB, "
                         f"server {m['server_rss_kib'] / 1024:.1f} MiB")
        relay = self.results["relay"]
        if relay:
            lines.append(f"\nrelay sweep, {human(relay['size'])}, MB/s, 1M chunks")
            lines.append("| delay each way | " + " | ".join(f"w{w}" for w in self.a.windows) + " |")
            lines.append("| --- |" + " ---: |" * len(self.a.windows))
            for delay, series in relay["windows"].items():
                lines.append(f"| {delay} ms | " + " | ".join(f"{v:.0f}" for v in series.values()) + " |")
            lines.append("\nchunk size sweep, MB/s")
            lines.append("| series | " + " | ".join(human(c) for c in self.a.chunks) + " |")
            lines.append("| --- |" + " ---: |" * len(self.a.chunks))
            for label, series in relay["chunks"].items():
                lines.append(f"| {label} | " + " | ".join(f"{v:.0f}" for v in series.values()) + " |")
        window = self.results.get("window")
        if window:
            columns = [*window["fixed"], *(["auto"] if window["auto"] else [])]
            lines.append(f"\nwindow: rate against delay through p2p-tap relay, {human(window['size'])}, 1M pieces, "
                         "MB/s (peak in flight, MiB, where reported)")
            lines.append("| delay each way | " + " | ".join(f"w{w}" if w != "auto" else "auto" for w in columns) + " |")
            lines.append("| --- |" + " ---: |" * len(columns))
            for delay in window["delays"]:
                cells = []
                for w in columns:
                    peak = window["peak_in_flight_bytes"].get(delay, {}).get(w)
                    cells.append(f"{window['mb_s'][delay][w]:.0f}" + (f" ({peak / MIB:.1f})" if peak else ""))
                lines.append(f"| {delay} ms | " + " | ".join(cells) + " |")
            for delay in window["delays"]:
                r = window["ratios"].get(delay)
                if r:
                    lines.append(f"{delay} ms: auto / best fixed (w{r['best_fixed']}) = {r['auto_vs_best_fixed']:.2f}")
            if "auto_vs_window_1_at_0" in window["ratios"]:
                lines.append(f"0 ms: auto / window 1 = {window['ratios']['auto_vs_window_1_at_0']:.2f}")
            limited = window.get("rate_limited")
            if limited:
                report = limited.get("window_report") or {}
                limit = limited.get("limit") or {}
                final = f"{report['final_bytes']} B" if "final_bytes" in report else "not reported"
                lines.append(f"--rate {limited['rate_limit']} --delay {limited['delay_ms']}, {limited['window']} "
                             f"window: {limited['mb_s']:.1f} MB/s; final window {final} "
                             f"(product {limited['bdp_bytes']:.0f} B); "
                             f"limit: {limit.get('by', 'not reported')} {limit.get('text', '')}".rstrip())
            for note in window["notes"]:
                lines.append(f"note: {note}")
        multi = self.results.get("multi")
        if multi:
            a = multi.get("anchor") or {}
            lines.append(f"\nseveral holders: {human(multi['size'])}, each holder behind p2p-tap relay --rate R = "
                         f"{multi['rate']} B/s; anchor: one holder through one such relay "
                         + (f"{a['mb_s']:.1f} MB/s = {a['x_r']:.2f} R" if a else "not measured"))
            if multi.get("runs"):
                lines.append("| run | MB/s | × R | × sum of rates | × anchor | share per holder | wasted B "
                             "| longest stall s |")
                lines.append("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
                for label, run in multi["runs"].items():
                    shares = " / ".join(f"{x:.1%}" for x in run["holder_share"])
                    wasted = (str(run["wasted"]) if run.get("wasted") is not None
                              else f"{run['relay_bytes_over_size']} (relays)" if "relay_bytes_over_size" in run else "")
                    killed = (f" (holder 1 killed at {run['killed_at_bytes'] / multi['size']:.0%})"
                              if "killed_at_bytes" in run else "")
                    lines.append(f"| {label}{killed} | {run['mb_s']:.1f} | {run['x_r']:.2f} | {run['x_sum']:.2f} | "
                                 f"{run['x_anchor']:.2f} | {shares} | {wasted} | {run['longest_gap_seconds']:.2f} |")
            for note in multi.get("notes", []):
                lines.append(f"note: {note}")
        if self.results["mesh"]:
            m = self.results["mesh"]
            lines.append(f"\nmesh: {m['peers']} peers ({m['connections']} connections, {m['transport']}) converge in "
                         f"{m['converge_seconds']:.3f} s; idle CPU {m['idle_cpu_percent_total']:.2f}% for all, "
                         f"{m['idle_cpu_percent_per_peer']:.3f}% per peer over {m['idle_seconds']:.0f} s; "
                         f"{m['links_after_idle']} of {m['peers'] * (m['peers'] - 1)} links still up after it")
        if self.results["small_files"]:
            s = self.results["small_files"]
            lines.append(f"small files: {s['files']} files scanned in {s['scan_seconds']:.3f} s, list sent in "
                         f"{s['list_send_seconds']:.3f} s; 1 KiB download latency p50 {s['latency_ms_p50']:.2f} ms, "
                         f"p99 {s['latency_ms_p99']:.2f} ms ({s['requests']} requests)")
        if self.results.get("first"):
            f = self.results["first"]
            lines.append(f"\nfirst download of a {human(f['size'])} file, 2 s after it appeared in the holder's folder,"
                         " and again after a restart of the holder (times from the relay capture)")
            lines.append("| when | REQUEST to OFFER s | PREPARING sent | REQUEST to first CHUNK s | get s "
                         "| holder read besides the upload | holder read_bytes (disk) |")
            lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            for run in f["runs"]:
                chunk = f"{run['first_chunk_seconds']:.3f}" if run.get("first_chunk_seconds") is not None else ""
                lines.append(f"| {run['what']} | {run['first_offer_seconds']:.3f} | {run['preparing']} | {chunk} | "
                             f"{run['get_seconds']:.3f} | {run['holder_extra_read_bytes'] / MIB:.1f} MiB | "
                             f"{run['holder_read_bytes'] / MIB:.1f} MiB |")
        if self.results.get("resume"):
            r = self.results["resume"]
            lines.append(f"\nresume after kill -9: {human(r['size'])}, {human(r['piece_size'])} pieces, seed "
                         f"{r['seed']}, {r['measured']} of {r['rounds']} kill points measured, each a fresh download"
                         + (f" through a relay of {r['relay_delay_ms']} ms each way" if r["relay_delay_ms"] else ""))
            lines.append("| aimed | killed at | resumed from | re-read bytes | re-read pieces | identical |")
            lines.append("| ---: | ---: | ---: | ---: | ---: | --- |")
            for pt in r["points"]:
                if pt.get("missed"):
                    lines.append(f"| {pt['fraction']:.1%} | (the get ended first) | | | | |")
                    continue
                lines.append(f"| {pt['fraction']:.1%} | {pt['held'] / r['size']:.1%} | {pt['resumed_from']} | "
                             f"{pt['rechecked']} | {pt['rechecked_pieces']} | {'yes' if pt['identical'] else 'NO'} |")
            lines.append(f"most re-read: {r['max_rechecked']} B = {r['max_rechecked_pieces']} pieces")
        if self.results.get("hash100g"):
            h = self.results["hash100g"]
            lines.append(f"\np2p-peer hash of a {human(h['size'])} sparse file: {h['pieces']} pieces of "
                         f"{human(h['piece_size'])}, manifest {h['manifest_bytes']} B ({h['pieces']} leaves × 32 B)")
            lines.append("| file | seconds | GB/s | peak RSS |")
            lines.append("| --- | ---: | ---: | ---: |")
            for run in h["runs"]:
                rss = f"{run['peak_rss_kib'] / 1024:.1f} MiB" if run.get("peak_rss_kib") else ""
                lines.append(f"| {run['what']} | {run['seconds']:.2f} | {run['gb_s']:.2f} | {rss} |")
        if self.results["targets"]:
            lines.append("\n| target | measured | limit | ratio to target | |")
            lines.append("| --- | ---: | ---: | ---: | --- |")
            for t in self.results["targets"]:
                lines.append(f"| {t['target']} | {t['value']:.3f} | {t['limit']} | {t['ratio_to_target']:.2f} | "
                             f"{'PASS' if t['pass'] else 'MISS'} |")
        text = "\n".join(lines)
        print(text)
        return text

    def charts(self):
        relay = self.results["relay"]
        if not shutil.which("gnuplot"):
            return
        charts = Path(self.a.charts)
        charts.mkdir(parents=True, exist_ok=True)
        style = ("set terminal svg size 720,420 dynamic font 'sans,12' background '#ffffff'; set grid; "
                 "set key top left; set yrange [0:*]; ")
        window = self.results.get("window")
        if window:
            # Issue 18: rate against delay, one line per window (the fixed ones and, where supported, auto).
            data = self.work / "delay.dat"
            columns = [*window["fixed"], *(["auto"] if window["auto"] else [])]
            with open(data, "w") as f:
                for w in columns:
                    f.write(f"# window {w}\n")
                    for delay in window["delays"]:
                        f.write(f"{delay} {window['mb_s'][delay][w]:.1f}\n")
                    f.write("\n\n")
            plots = ", ".join(f"'{data}' index {i} with linespoints lw {3 if w == 'auto' else 2} pt 7 "
                              f"title '{'auto (default)' if w == 'auto' else f'window {w}'}'"
                              for i, w in enumerate(columns))
            self.gnuplot(style.replace("top left", "top right") + f"set output '{charts}/rate-vs-delay.svg'; "
                         f"set title 'p2p-peer through p2p-tap relay --delay D, {human(window['size'])}'; "
                         "set xlabel 'delay each way (ms)'; set ylabel 'MB/s'; "
                         f"set xtics ({', '.join(str(d) for d in window['delays'])}); plot {plots}")
        multi = self.results.get("multi")
        if multi and {"equal", "slow"} <= set(multi.get("runs") or {}):
            # Issue 16: the MiB each holder has sent, over time, for (a) three at R and (b) R, R and R/10.
            data = self.work / "multi.dat"
            with open(data, "w") as f:
                for label in ("equal", "slow"):
                    for i in range(3):
                        f.write(f"# {label}, holder {i + 1}\n0 0\n")
                        for at, got in multi["runs"][label]["series"]:
                            f.write(f"{at} {got[i] / MIB:.2f}\n")
                        f.write("\n\n")
            panels = []
            for n, label in enumerate(("equal", "slow")):
                rates = multi["runs"][label]["rates"]
                plots = ", ".join(f"'{data}' index {3 * n + i} with lines lw 2 title 'holder {i + 1} "
                                  f"({rates[i] / 1e6:g} MB/s link)'" for i in range(3))
                panels.append(f"set title '{'three holders at R' if label == 'equal' else 'holders at R, R, R/10'}'; "
                              f"plot {plots}")
            self.gnuplot(style.replace("720,420", "960,420") + f"set output '{charts}/multi-holders.svg'; "
                         "set xlabel 'seconds'; set ylabel 'MiB sent by the holder'; "
                         f"set multiplot layout 1,2 title 'one download of {human(multi['size'])} from three "
                         "holders (p2p-tap relay --rate)'; " + "; ".join(panels) + "; unset multiplot")
        if not relay:
            log(f"charts written to {charts}")
            return
        data = self.work / "window.dat"
        with open(data, "w") as f:
            for delay, series in relay["windows"].items():
                f.write(f"# delay {delay}\n")
                for w, v in series.items():
                    f.write(f"{w} {v:.1f}\n")
                f.write("\n\n")
        plots = ", ".join(f"'{data}' index {i} with linespoints lw 2 pt 7 title '{d} ms each way'"
                          for i, d in enumerate(relay["windows"]))
        self.gnuplot(style + f"set output '{charts}/rate-vs-window.svg'; "
                     f"set title 'p2p-peer through p2p-tap relay, {human(relay['size'])}, 1 MiB chunks'; "
                     "set logscale x 2; set xlabel 'window (chunks in flight)'; set ylabel 'MB/s'; "
                     f"plot {plots}")
        data = self.work / "chunk.dat"
        with open(data, "w") as f:
            for label, series in relay["chunks"].items():
                f.write(f"# {label}\n")
                for c, v in series.items():
                    f.write(f"{parse_size(c) // 1024} {v:.1f}\n")
                f.write("\n\n")
        plots = ", ".join(f"'{data}' index {i} with linespoints lw 2 pt 7 title '{label}'"
                          for i, label in enumerate(relay["chunks"]))
        self.gnuplot(style + f"set output '{charts}/rate-vs-chunk.svg'; "
                     f"set title 'p2p-peer, {human(relay['size'])}: rate against chunk size'; "
                     "set logscale x 2; set xlabel 'chunk size (KiB)'; set ylabel 'MB/s'; "
                     f"plot {plots}")
        log(f"charts written to {charts}")

    def gnuplot(self, script):
        subprocess.run(["gnuplot"], input=script, text=True, check=True)

    def run(self):
        self.src_sha = None
        self.results["host"] = {"cpus": os.cpu_count(), "kernel": platform.release(),
                                "load_avg_at_start": os.getloadavg(), "peer_bin": str(self.peer_bin),
                                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "mode": self.a.mode, "repeats": self.a.repeats}
        if self.a.report_only:
            saved = json.loads(Path(self.a.report_only).read_text())
            for key in ("host", "transfer", "rows", "memory", "mesh", "small_files", "many_files", "notes", "mesh_one_io_thread",
                        "first", "resume", "hash100g", "window", "multi"):
                self.results[key] = saved.get(key, self.results.get(key))
            window = self.results.get("window")
            if window:  # JSON turned the numeric keys into strings: back to ints (delays, fixed windows)
                number = lambda k: int(k) if str(k).isdigit() else k  # noqa: E731
                for key in (*WINDOW_TABLES, "ratios"):
                    window[key] = {number(d): ({number(w): v for w, v in s.items()} if key != "ratios" else s)
                                   for d, s in (window.get(key) or {}).items()}
            relay = saved.get("relay") or {}
            if relay:  # JSON turned the numeric keys into strings
                relay["windows"] = {int(d): {int(w): v for w, v in s.items()} for d, s in relay["windows"].items()}
            self.results["relay"] = relay
            self.a.size = self.results["transfer"].get("size", self.a.size)
            self.a.sections = []
        failed = []

        def section(name, fn):
            # One section failing (a crash in the mesh, say) must not throw away the minutes of figures before it.
            if name not in self.a.sections:
                return
            try:
                fn()
            except (SystemExit, Exception) as e:  # noqa: BLE001 - recorded and reported, the run goes on
                log(f"section {name} FAILED: {e}")
                failed.append(name)
                self.results.setdefault("errors", {})[name] = str(e)

        try:
            section("transfer", self.transfer)
            if "transfer" not in failed:
                section("transfer", self.memory)
            section("first", self.first)
            section("resume", self.resume)
            section("hash100g", self.hash100g)
            section("relay", self.relay)
            section("mesh", self.mesh)
            section("small", self.small_files)
            section("many", self.many_files)
            section("window", self.window)
            section("multi", self.multi)
            self.targets()
            self.results["host"]["load_avg_at_end"] = os.getloadavg()
            self.results["table"] = self.print_table()
            out = Path(self.a.out)
            out.mkdir(parents=True, exist_ok=True)
            name = Path(self.a.report_only) if self.a.report_only else out / f"bench-{self.a.mode}.json"
            name.write_text(json.dumps(self.results, indent=1, default=str) + "\n")
            log(f"results written to {name}")
            if self.a.charts:
                self.charts()
        finally:
            if not self.a.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=parse_size, default=1 << 30, help="file size for the transfer table (1G)")
    p.add_argument("--quick", action="store_true", help="64M smoke run: fewer sweeps, short idle")
    p.add_argument("--smoke", action="store_true", help="the CTest smoke: tiny inputs, under 60 s")
    p.add_argument("--big", action="store_true", help="also the 4 GiB memory run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--charts", default=None, help="directory for the SVG charts (default docs/perf, none in smoke)")
    p.add_argument("--build-dir", default=str(ROOT / "build"))
    p.add_argument("--peer-bin", default=None, help="the p2p-peer to measure (default: build/src/p2p-peer)")
    p.add_argument("--work", default=None, help="where the temporary files go (default $TMPDIR)")
    p.add_argument("--sections", default=None,
                   help="comma-separated, from transfer,first,relay,mesh,small,many,window,multi,resume,hash100g "
                        "(default: the first eight; --big and --smoke add resume, --big also hash100g)")
    p.add_argument("--seed", type=int, default=15, help="seed of the resume section's kill points (15)")
    p.add_argument("--resume-size", type=parse_size, default=1 << 30, help="file size of the resume section (1G)")
    p.add_argument("--resume-rounds", type=int, default=20, help="kill points in the resume section (20)")
    p.add_argument("--resume-delay", type=int, default=0,
                   help="ms each way through a p2p-tap relay in the resume section (0: direct)")
    p.add_argument("--hash-size", type=parse_size, default=100 << 30,
                   help="sparse file size of the hash100g section (100G)")
    p.add_argument("--multi-size", type=parse_size, default=None,
                   help="file size of the multi section (1G; --quick 256M, --smoke 16M)")
    p.add_argument("--multi-rate", type=int, default=50_000_000,
                   help="R of the multi section: bytes/s of each holder's relay (50000000)")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--report-only", metavar="JSON", help="recompute targets, table and charts from a results file")
    a = p.parse_args()
    sections = a.sections
    a.windows = [1, 2, 4, 8, 16, 32]
    a.chunks = [64 << 10, 256 << 10, 1 << 20, 4 << 20]
    a.delays = [0, 10, 25]
    a.chunk_delay = 10
    a.sweep_size, a.mesh_peers, a.idle, a.files, a.requests = 256 * MIB, 64, 10.0, 100000, 1000
    # The window section (issue 18): fixed windows and auto, over these delays each way; then auto over a link of
    # window_rate bytes/s and window_rate_delay ms each way.
    a.window_size, a.window_delays, a.window_fixed = 256 * MIB, [0, 10, 25], [1, 4, 16, 64]
    a.window_rate, a.window_rate_delay = 50_000_000, 25
    # The many section (issue 16): a folder of many_files files of many_size bytes each.
    a.many_files, a.many_size = 10_000, 10 << 10
    # The multi section (issue 16): one file from three holders, each behind a relay of multi_rate bytes/s (R).
    a.multi_size = a.multi_size or 1 << 30
    a.mode = "full"
    a.mesh_io_threads = 4
    if a.quick:
        a.mode = "quick"
        a.size = 64 * MIB if a.size == 1 << 30 else a.size
        a.sweep_size, a.idle, a.requests, a.delays = 32 * MIB, 3.0, 300, [0, 10]
        a.window_size = 64 * MIB
        a.multi_size = 256 * MIB if a.multi_size == 1 << 30 else a.multi_size
        a.resume_size = 64 * MIB if a.resume_size == 1 << 30 else a.resume_size
        a.hash_size = 4 << 30 if a.hash_size == 100 << 30 else a.hash_size
    if a.smoke:
        a.mode = "smoke"
        a.size, a.sweep_size, a.repeats = 16 * MIB, 8 * MIB, 1
        a.mesh_peers, a.idle, a.files, a.requests = 16, 1.0, 5000, 50
        a.many_files = 500
        a.multi_size, a.multi_rate = 16 * MIB, 10_000_000  # 16 MiB lasts about 0.6 s over three such links
        a.windows, a.chunks, a.delays = [1, 8], [256 << 10, 1 << 20], [0, 10]
        a.window_size, a.window_delays, a.window_fixed = 8 * MIB, [0, 10], [1, 16]
        a.big = False
        # A tiny resume: 2 kill points on 16 MiB, slowed by a relay (5 ms each way) so a kill lands part way.
        a.resume_size, a.resume_rounds, a.resume_delay = 16 * MIB, 2, 5
    if sections is None:
        sections = "transfer,first,relay,mesh,small,many,window,multi" + (",resume" if a.smoke else "") + \
            (",resume,hash100g" if a.big else "")
    a.sections = sections.split(",")
    if a.charts is None and not a.smoke:
        # Only a full run replaces the charts the docs link; a quick run draws its own next to its JSON.
        a.charts = str(ROOT / "docs" / "perf") if a.mode == "full" else str(Path(a.out) / f"perf-{a.mode}")
    return Bench(a).run()


if __name__ == "__main__":
    sys.exit(main())
