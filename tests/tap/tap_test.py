#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tap_test.py - end-to-end tests of the p2p-tap program between real processes (registered by
tests/cmake/tap_tests.cmake).

    tap_test.py SCENARIO --tap P2P_TAP [--work DIR] [--peer PEER_COMMAND...]

Scenarios: cli, session, delay, drop, rate (real peer only). PEER_COMMAND is a program with
`serve <port> <dir> --bind ADDR` and `get host:port <file> --dir D` (the real p2p-peer, or tests/tap/fake_peer.py). With --require-serve the test exits 77
(skipped) when the peer has no `serve` subcommand yet.

No fixed ports (everything binds port 0 and reads the port back) and no fixed sleeps (every wait is on a condition
with a deadline).
"""
import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time

SKIP = 77
sys.dont_write_bytecode = True  # importing fake_peer must not litter the source tree
try:
    import zmq

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fake_peer as wire  # the message packing helpers
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: python module missing: {e}")
    sys.exit(SKIP)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from child_process import check, failure, process, run  # noqa: E402
from peer_harness import wait_listed_with_roots  # noqa: E402
from test_files import make_folder  # noqa: E402

STARTUP_S = 15  # deadline for a process to print its endpoint
TRANSFER_S = 90  # deadline for one download


class harness:
    def __init__(self, args):
        self.tap = args.tap
        self.peer = args.peer
        os.makedirs(args.work, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"{args.scenario}-", dir=args.work)
        self.count = 0

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def start_peer(self, folder):
        """A serving peer on a free port; returns (process, port)."""
        self.count += 1
        p = process(f"peer{self.count}", self.peer + ["serve", "0", folder, "--bind", "127.0.0.1"], self.dir)
        port = int(p.wait_for(r"Peer \S+ started on \S+:(\d+)", STARTUP_S).group(1))
        return p, port

    def start_relay(self, port, capture, *extra):
        """A relay to 127.0.0.1:port on a free port; returns (process, relay port)."""
        self.count += 1
        argv = [self.tap, "relay", "--listen", "0", "--bind", "127.0.0.1", "--to", f"127.0.0.1:{port}",
                "--out", capture, *extra]
        p = process(f"relay{self.count}", argv, self.dir)
        port = int(p.wait_for(r"relay listening on tcp://[^ ]+:(\d+)$", STARTUP_S).group(1))
        return p, port

    def wait_hashed(self, port, names):
        """Until the peer on port lists every one of names with its root: a capture recorded before a real peer has
        hashed its folder and a replay answered after (or the other way round) would differ in nothing but the roots.
        The fake peer addresses nothing by content, so there is nothing to wait for."""
        if any(part.endswith("fake_peer.py") for part in self.peer):
            return
        wait_listed_with_roots(self.peer, port, names)

    def get(self, port, name, folder):
        code, out, err = run(self.peer + ["get", f"127.0.0.1:{port}", name, "--dir", folder], TRANSFER_S)
        check(code == 0, f"get {name} through port {port} exited {code}: {err.strip()}")

    def tap_run(self, *argv, timeout=60):
        return run([self.tap, *argv], timeout)

    def dump(self, capture, *extra):
        code, out, err = self.tap_run("dump", capture, *extra)
        check(code == 0, f"dump {capture} exited {code}: {err.strip()}")
        return out.splitlines()


def message_type(line):
    # "<time> recv|sent <local> <-|-> <remote> TYPE fields..."
    return line.split()[5]


def runs(types):
    """HELLO HELLO CHUNK CHUNK -> HELLOx2 CHUNKx2, for readable logs."""
    out = []
    for t in types:
        if out and out[-1][0] == t:
            out[-1][1] += 1
        else:
            out.append([t, 1])
    return " ".join(t if n == 1 else f"{t}x{n}" for t, n in out)


def field(line, name):
    match = re.search(rf"\b{name}=(\S+)", line)
    return match.group(1) if match else None


# -------------------------------------------------------------------------------------------------------------------
# Scenarios


def scenario_cli(h):
    """Exit codes and one-line errors of the program itself."""
    code, out, _ = h.tap_run("--help")
    check(code == 0 and "relay" in out and "dump" in out and "replay" in out, f"--help: {code} {out}")
    for argv in ([], ["relay", "--listen", "0"], ["relay", "--listen", "0", "--to", "x", "--out", "f"],
                 ["relay", "--listen", "0", "--to", "h:1", "--out", "f", "--drop", "2"],
                 ["relay", "--listen", "0", "--to", "h:1", "--out", "f", "--rate", "4X"],
                 ["relay", "--listen", "0", "--to", "h:1", "--out", "f", "--rate", "-1"], ["dump"],
                 ["replay", "f", "--to", "nohost"], ["bogus"]):
        code, _, err = h.tap_run(*argv)
        check(code == 2, f"p2p-tap {' '.join(argv)}: expected usage error 2, got {code}: {err.strip()}")
    code, _, err = h.tap_run("dump", h.path("missing.cap"))
    check(code == 1 and len(err.strip().splitlines()) == 1, f"dump of a missing file: {code} {err!r}")
    text = h.path("not-a-capture.txt")
    with open(text, "w") as f:
        f.write("hello\n" * 10)
    code, _, err = h.tap_run("dump", text)
    check(code == 1 and "not a p2p capture" in err, f"dump of a text file: {code} {err!r}")
    print("cli: exit codes 0/1/2 and one-line errors as documented")


def scenario_session(h):
    """Record a download through the relay, dump it, replay it against an identical and a changed peer, and dump a
    capture cut in the middle."""
    rng = random.Random(7)
    data = rng.randbytes(3 * 1024 * 1024 + 12345)
    files = {"data.bin": data, "notes.txt": b"a small second file\n"}
    origin, origin_port = h.start_peer(make_folder(h.path("a"), files))
    h.wait_hashed(origin_port, files)
    capture = h.path("session.cap")
    relay, relay_port = h.start_relay(origin_port, capture)
    h.get(relay_port, "data.bin", h.path("download"))
    with open(h.path("download", "data.bin"), "rb") as f:
        check(f.read() == data, "downloaded bytes differ from the original")
    check(relay.stop() == 0, f"relay exit code {relay.proc.returncode}")
    check(any(line.startswith("relay stopped:") for line in relay.output), "relay printed no summary")

    # dump: the sequence of a session
    lines = h.dump(capture)
    types = [message_type(line) for line in lines]
    print(f"session: {len(lines)} records: {runs(types)}")
    check("MALFORMED" not in types, "a recorded frame did not decode")
    check(lines[0].split()[1] == "recv" and types[0] == "HELLO", f"first record: {lines[0]}")
    hellos = [line for line in lines if message_type(line) == "HELLO"]
    check(any(line.split()[1] == "sent" for line in hellos), "no HELLO from the target")
    for t in ("FILE_LIST", "REQUEST", "OFFER", "CHUNK", "ACK"):
        check(t in types, f"no {t} in the capture")
    check(types.index("HELLO") < types.index("REQUEST") < types.index("OFFER") < types.index("CHUNK"),
          "HELLO, REQUEST, OFFER, CHUNK out of order")
    chunks = [line for line in lines if message_type(line) == "CHUNK"]
    check(sum(int(field(line, "length")) for line in chunks) >= len(data), "CHUNK lengths do not cover the file")
    check(field(chunks[-1], "last") == "true", f"last CHUNK: {chunks[-1]}")
    busy = [int(field(line, "holder_busy_us") or -1) for line in chunks]
    check(min(busy) >= 0 and busy == sorted(busy), f"CHUNK holder_busy_us missing or going back: {busy}")
    check(f"size={len(data)}" in lines[types.index("OFFER")], "OFFER does not carry the file size")
    records = [json.loads(line) for line in h.dump(capture, "--json")]
    check([r["type"] for r in records] == types, "--json and text dumps disagree")

    # replay against a fresh peer with the same folder: no differences
    twin, twin_port = h.start_peer(make_folder(h.path("b"), files))
    h.wait_hashed(twin_port, files)
    code, out, err = h.tap_run("replay", capture, "--to", f"127.0.0.1:{twin_port}")
    print(out.strip())
    check(code == 0 and " 0 differences" in out, f"replay against the same folder exited {code}: {err.strip()}")

    # ... and against one whose file changed: differences, exit 1
    changed = dict(files, **{"data.bin": data[:-100] + bytes(300)})
    other, other_port = h.start_peer(make_folder(h.path("c"), changed))
    code, out, err = h.tap_run("replay", capture, "--to", f"127.0.0.1:{other_port}", "--timeout", "3000")
    print(out.strip())
    check(code == 1 and "difference 1" in out, f"replay against a changed file exited {code}: {err.strip()}")
    for p in (origin, twin, other):
        p.stop()

    # a capture cut in the middle of a record dumps every whole record before it, then says where it ends
    keep = len(records) // 2
    cut = h.path("cut.cap")
    with open(capture, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(records[keep]["offset"] + 20))
    cut_lines = h.dump(cut)
    check(cut_lines[:-1] == lines[:keep], "the cut capture does not dump the same first records")
    check(cut_lines[-1].startswith(f"-- capture ends early at byte {records[keep]['offset']}"),
          f"no truncation line: {cut_lines[-1]}")
    last = json.loads(h.dump(cut, "--json")[-1])
    check(last.get("truncated") is True and last["records"] == keep, f"--json tail: {last}")
    print(f"session: cut capture dumps {keep} of {len(records)} records, then: {cut_lines[-1]}")


def ping_rtts(port, count):
    """Round trips of PING -> PONG, in ms, after a HELLO handshake with the peer at port."""
    ctx = zmq.Context.instance()
    listener = ctx.socket(zmq.ROUTER)
    wire.socket_options(listener)
    listener.bind("tcp://127.0.0.1:*")
    self_id = wire.new_id()
    dealer = ctx.socket(zmq.DEALER)
    wire.socket_options(dealer)
    dealer.setsockopt(zmq.ROUTING_ID, f"{self_id:016x}".encode())
    dealer.connect(f"tcp://127.0.0.1:{port}")
    dealer.send(wire.pack(wire.HELLO, self_id, listener.getsockopt_string(zmq.LAST_ENDPOINT), 0, True))
    dealer.send(wire.pack(wire.FILE_LIST, 0, 0, 1, []))

    def wait_for(kind, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            check(remaining > 0 and dealer.poll(int(remaining * 1000) + 1), f"no message type {kind} in {timeout} s")
            got, _ = wire.unpack(dealer.recv_multipart()[0])
            if got == kind:
                return
            if got == wire.PING:
                dealer.send(wire.pack(wire.PONG))

    try:
        wait_for(wire.HELLO)
        rtts = []
        for _ in range(count):
            start = time.perf_counter()
            dealer.send(wire.pack(wire.PING))
            wait_for(wire.PONG)
            rtts.append((time.perf_counter() - start) * 1000)
        dealer.send(wire.pack(wire.GOODBYE))
        return rtts
    finally:
        dealer.close(0)
        listener.close(0)


def scenario_delay(h):
    """relay --delay 20 adds at least 40 ms to a PING -> PONG round trip."""
    peer, port = h.start_peer(make_folder(h.path("a"), {"x.txt": b"x\n"}))
    relay, relay_port = h.start_relay(port, h.path("delay.cap"), "--delay", "20")
    direct = ping_rtts(port, 5)
    delayed = ping_rtts(relay_port, 5)
    check(relay.stop() == 0, "relay did not stop cleanly")
    peer.stop()
    median = lambda xs: sorted(xs)[len(xs) // 2]
    print(f"delay: PING->PONG direct median {median(direct):.2f} ms; through relay --delay 20: min "
          f"{min(delayed):.2f} ms, median {median(delayed):.2f} ms; added {median(delayed) - median(direct):.2f} ms")
    check(min(delayed) >= 40.0, f"a round trip through the relay took only {min(delayed):.2f} ms")
    types = [message_type(line) for line in h.dump(h.path("delay.cap"))]
    check(types.count("PING") >= 5 and types.count("PONG") >= 5, f"capture lacks the PINGs: {runs(types)}")


def scenario_drop(h):
    """relay --drop 0.1 loses CHUNK and ACK frames, and the transfer still ends with the right bytes."""
    data = random.Random(11).randbytes(4 * 1024 * 1024 + 777)
    peer, port = h.start_peer(make_folder(h.path("a"), {"big.bin": data}))
    capture = h.path("drop.cap")
    relay, relay_port = h.start_relay(port, capture, "--drop", "0.1", "--seed", "7")
    started = time.monotonic()
    h.get(relay_port, "big.bin", h.path("download"))
    elapsed = time.monotonic() - started
    with open(h.path("download", "big.bin"), "rb") as f:
        check(f.read() == data, "bytes differ after a lossy transfer")
    check(relay.stop() == 0, "relay did not stop cleanly")
    peer.stop()
    lines = h.dump(capture)
    dropped = [line for line in lines if line.endswith("(dropped by relay)")]
    transfer = [line for line in lines if message_type(line) in ("CHUNK", "ACK")]
    check(all(message_type(line) in ("CHUNK", "ACK") for line in dropped), "dropped something other than CHUNK/ACK")
    print(f"drop: {len(data)} bytes intact in {elapsed:.2f} s; {len(dropped)} of {len(transfer)} CHUNK/ACK frames "
          f"dropped")
    if len(transfer) >= 40:  # with fewer frames, 10% may well be none
        check(len(dropped) > 0, "--drop 0.1 dropped nothing")


def scenario_rate(h):
    """relay --rate 4M holds an 8 MiB download to at most about 4 MiB/s, and the bytes arrive intact. Needs the real peer
    (its get --json reports the rate)."""
    limit = 4 * 1024 * 1024
    data = random.Random(13).randbytes(8 * 1024 * 1024)
    peer, port = h.start_peer(make_folder(h.path("a"), {"big.bin": data}))
    relay, relay_port = h.start_relay(port, h.path("rate.cap"), "--rate", "4M")
    relay.wait_for(r"relay forwarding to .*, rate 4\.0 MiB/s each way", STARTUP_S)
    started = time.monotonic()
    code, out, err = run(h.peer + ["get", f"127.0.0.1:{relay_port}", "big.bin", "--dir", h.path("download"),
                                   "--json"], TRANSFER_S)
    wall = time.monotonic() - started
    check(code == 0, f"get through the rate-limited relay exited {code}: {err.strip()}")
    with open(h.path("download", "big.bin"), "rb") as f:
        check(f.read() == data, "bytes differ after a rate-limited transfer")
    result = json.loads(out.strip().splitlines()[-1])
    check(result.get("ok") is True and result.get("size") == len(data), f"get --json: {result}")
    check(relay.stop() == 0, "relay did not stop cleanly")
    peer.stop()
    # The peer's rate counts from its REQUEST to the file synced and in place: the relay may send at most the 64 KiB
    # the bucket starts with ahead of the rate, so 8 MiB cannot come faster than 8 MiB / ((8 MiB - 64 KiB) / 4 MiB/s),
    # 1.008 x. Neither may the rate while receiving (window.rate_bytes_per_s, first grant to last byte), nor the wall
    # time of the whole get (start-up included). There is no lower bound: that would be a timed assertion, and the
    # relay writes its capture to a disk that other tests keep busy (three loops of 256 MiB writes and fsyncs beside
    # this test held the relay, and so the download, to 0.3 x the limit; two full suite runs went under the 0.5 x
    # this test used to ask for). The bucket's arithmetic is tested with time stepped by hand (token_bucket_test).
    rate = result["rate"]
    receiving = (result.get("window") or {}).get("rate_bytes_per_s")
    check(isinstance(receiving, (int, float)), f"get --json has no window.rate_bytes_per_s: {result}")
    print(f"rate: 8 MiB through relay --rate 4M: get reports {rate / 2**20:.2f} MiB/s "
          f"({rate / limit:.3f} x the limit), {receiving / 2**20:.2f} MiB/s while receiving "
          f"({receiving / limit:.3f} x); whole get {wall:.2f} s ({len(data) / wall / 2**20:.2f} MiB/s); "
          f"limit: {(result.get('limit') or {}).get('text')}")
    check(rate <= 1.15 * limit, f"the download ran at {rate} B/s, above the limit of {limit} B/s")
    check(receiving <= 1.15 * limit, f"the download received at {receiving} B/s, above the limit of {limit} B/s")
    check(len(data) / wall <= 1.15 * limit, f"the whole get took only {wall:.2f} s")


SCENARIOS = {"cli": scenario_cli, "session": scenario_session, "delay": scenario_delay, "drop": scenario_drop,
             "rate": scenario_rate}


def main():
    parser = argparse.ArgumentParser(description="p2p-tap end-to-end tests")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--tap", required=True, help="the p2p-tap binary")
    parser.add_argument("--work", default=tempfile.gettempdir(), help="where test folders are made")
    parser.add_argument("--peer", nargs="+", default=[], help="peer command (rest of the line)")
    args = parser.parse_args()
    if args.scenario != "cli" and not args.peer:
        parser.error("--peer is required for this scenario")

    h = harness(args)
    try:
        SCENARIOS[args.scenario](h)
    except failure as e:
        print(f"FAIL {args.scenario}: {e}")
        for p in process.live:
            print(f"  {p.name}: {' '.join(p.argv)}\n    stdout: {p.output[-5:]}\n    stderr: {p.stderr_tail()}")
        print(f"  files kept in {h.dir}")
        return 1
    finally:
        process.kill_all()
    shutil.rmtree(h.dir, ignore_errors=True)
    print(f"PASS {args.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
