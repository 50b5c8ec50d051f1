#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""multi_source_test.py - one download takes pieces from every holder at once (issue 16), end to end with the real
program over tcp (registered by tests/cmake/multi_source_tests.cmake).

    multi_source_test.py SCENARIO --peer P2P_PEER --tap P2P_TAP [--work DIR]

Scenarios (three `p2p-peer serve` holders, each on its own folder with the same 64 MiB file). Until `get` takes several
addresses (no --json-progress in its --help), each downloads with the menu of a fresh peer connected to the three
(choice 4 each, then choice 3 with an empty peer id: all holders), the same core: then "three" counts each holder's
bytes at a relay in front of it (at least two send, together at least the size), and "kill" takes progress from the
partial file's written blocks.
  three  `get A1 A2 A3 NAME --json`: the file arrives byte for byte, and the "holders" of the JSON name holders
         among the three whose bytes, with any resumed, add up to the size
  kill   the same through three `p2p-tap relay --rate 8M` (so the download lasts seconds); the first holder gets SIGKILL
         once `--json-progress` says half the file has arrived: the download still completes, byte for byte, and
         its bytes never stand still for long (at most MAX_GAP_S between two progress lines that add bytes)
  menu   the menu of a peer connected to the three, choice 3 with an empty peer id ("all"): the file arrives byte
         for byte, and at least two holders sent bytes (counted at a relay in front of each), together at least the
         size
  liar   one holder sits behind tests/cli/lying_relay.py, which flips one byte of the first chunk it passes on; the
         file completes byte for byte, and the liar is named: its peer id is in the log on stderr (--log-level
         info: "piece N of NAME from peer ID does not match its leaf") or in the JSON

No fixed ports (every peer and relay binds port 0 and the test reads the port back from its start line) and no
fixed sleeps (every wait is on a condition with a deadline).
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

MIB = 1 << 20
SIZE = 64 * MIB
RATE = "8M"  # per relay in the kill scenario: 64 MiB over three of them lasts about 2.7 s
# The longest a holder's death may stop the bytes, as progress lines show it: the pieces must move to the others
# well before the 5 s peer timeout would drop the holder (the issue: one retransmission timeout; the bench measures
# against 1 s; this is only a bound a loaded machine keeps).
MAX_GAP_S = 3.0

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from child_process import check, failure, process, run, scenario_main  # noqa: E402
from test_files import make_folder, read  # noqa: E402
from peer_harness import STARTUP_S, TRANSFER_S, peer_harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class harness(peer_harness):
    def __init__(self, args):
        super().__init__(args, "multi")
        self.tap = args.tap
        self.has_multi_get = None

    def holders(self, data, count=3):
        """count holders of big.bin (the same bytes), each on its own folder and a free port, serving at once
        (--settle 0), with no discovery (they must not find each other or other tests' peers); each has hashed the
        file when this returns. Returns [(process, peer id, port)]."""
        out = []
        for i in range(count):
            folder = make_folder(self.path(f"holder{i}"), {"big.bin": data})
            argv = [self.peer, "serve", "0", folder, "--bind", "127.0.0.1", "--settle", "0", "--no-discover"]
            p = process(f"holder{i}", argv, self.dir)
            m = p.wait_for(r"Peer (\S+) started on \S+:(\d+)", STARTUP_S)
            out.append((p, m.group(1), int(m.group(2))))
        for _, _, port in out:
            self.wait_hashed(port, "big.bin")
        return out

    def relay(self, i, port, *extra):
        """A p2p-tap relay to 127.0.0.1:port on a free port; returns its port."""
        argv = [self.tap, "relay", "--listen", "0", "--bind", "127.0.0.1", "--to", f"127.0.0.1:{port}", "--out",
                self.path(f"relay{i}.cap"), *extra]
        p = process(f"relay{i}", argv, self.dir)
        return int(p.wait_for(r"relay listening on tcp://[^ ]+:(\d+)", STARTUP_S).group(1))

    def multi_get(self):
        """True when `get` takes several addresses and prints progress lines (issue 16's command line); before it,
        the scenarios download with the menu, which runs the same core."""
        if self.has_multi_get is None:
            code, out, err = run([self.peer, "get", "--help"], STARTUP_S)
            self.has_multi_get = "--json-progress" in out + err
            print(f"downloading with {'get A1 A2 A3 big.bin' if self.has_multi_get else 'the menu (choice 3, all)'}")
        return self.has_multi_get

    def relay_bytes(self, i):
        """Payload bytes of the CHUNKs the holder behind relay i sent through it (resends included), from its
        capture; the relay must have stopped (it closes the capture on SIGINT)."""
        code, out, err = run([self.tap, "dump", self.path(f"relay{i}.cap"), "--json"], STARTUP_S)
        check(code == 0, f"p2p-tap dump of relay {i} exited {code}: {err.strip()}")
        records = [json.loads(line) for line in out.splitlines()]
        return sum(r.get("payload_bytes", 0) for r in records
                   if r.get("type") == "CHUNK" and r.get("direction") == "sent")

    def start_menu(self, ports, *extra):
        """The menu of a fresh peer (no discovery) connected to every port (choice 4), asked for big.bin from all
        holders (choice 3, empty peer id); its folder is the download folder."""
        os.makedirs(self.path("download"), exist_ok=True)
        m = process("menu", [self.peer, "0", self.path("download"), "--bind", "127.0.0.1", "--no-discover",
                             "--settle", "0", *extra], self.dir, stdin=subprocess.PIPE)
        m.wait_for(r"Peer \S+ started on", STARTUP_S)
        for port in ports:
            m.send("4", "127.0.0.1", str(port))
            m.wait_for(rf"^Connected to peer \S+ at 127\.0\.0\.1:{port} ", STARTUP_S)
        m.send("3", "big.bin", "")
        return m

    def finish_menu(self, m, data, poll=None):
        """Waits for the menu's "Got file big.bin" line (calling poll() about every 10 ms meanwhile), checks the
        bytes and ends the menu."""
        deadline = time.monotonic() + TRANSFER_S
        while True:
            try:
                m.wait_for(r"^Got file big\.bin from peer", 0.01)
                break
            except failure:
                check(m.proc.poll() is None, f"the menu exited ({m.proc.poll()}): {m.stderr_tail()}")
                check(time.monotonic() < deadline, f"the menu did not get big.bin within {TRANSFER_S} s: "
                      f"{m.output[-3:]} {m.stderr_tail()}")
            if poll:
                poll()
        check(read(self.path("download", "big.bin")) == data, "big.bin arrived with other bytes than the holders'")
        m.send("5")
        check(m.exit_code() == 0, "the menu did not exit 0")

    def held(self):
        """Bytes of big.bin written so far: the blocks of the hidden partial file (pieces come in any order), or the
        whole file once it is renamed into place."""
        folder = self.path("download")
        names = [n for n in os.listdir(folder) if n.startswith(".p2p-part-") and not n.endswith((".meta", ".journal"))]
        try:
            return (os.stat(os.path.join(folder, names[0])).st_blocks * 512 if names
                    else os.path.getsize(os.path.join(folder, "big.bin")))
        except OSError:
            return 0

    def start_get(self, ports, *extra):
        """`get` of big.bin from every port given, --json and the extra options; a process whose lines can be
        waited for."""
        argv = [self.peer, "get", *(f"127.0.0.1:{p}" for p in ports), "big.bin", "--dir", self.path("download"),
                "--json", "--no-discover", *extra]
        return process("get", argv, self.dir)

    def finish(self, getter, data):
        """Waits for get to end; checks it succeeded and the bytes; returns its final JSON object."""
        code = getter.exit_code(TRANSFER_S)
        objects = [json.loads(line) for line in getter.output if line.startswith("{")]
        results = [o for o in objects if "ok" in o]
        check(code == 0, f"get exited {code}: {getter.stderr_tail()} {getter.output[-3:]}")
        check(len(results) == 1 and results[0]["ok"] is True, f"get --json printed {results!r}")
        check(read(self.path("download", "big.bin")) == data, "big.bin arrived with other bytes than the holders'")
        return results[0]


def holder_bytes(result, ids):
    """The JSON's bytes per holder, keyed by which of ids it is (a peer id may be printed whole or shortened)."""
    shares = result.get("holders")
    check(isinstance(shares, list) and shares, f"get --json has no \"holders\" list: {result!r}")
    out = {}
    for share in shares:
        peer = str(share.get("peer", "")).lower()
        match = [i for i in ids if peer and (i.lower().startswith(peer) or peer.startswith(i.lower()))]
        check(len(match) == 1, f"holder {peer!r} of the JSON is none of the holders started ({ids})")
        out[match[0]] = out.get(match[0], 0) + share["bytes"]
    return out


def scenario_three(h):
    data = random.Random(16).randbytes(SIZE)
    holders = h.holders(data)
    ids = [i for _, i, _ in holders]
    if not h.multi_get():
        three_menu(h, holders, data)
        return
    result = h.finish(h.start_get([port for _, _, port in holders]), data)
    shares = holder_bytes(result, ids)
    print(f"three holders: {SIZE / MIB:.0f} MiB in {result['seconds']:.2f} s; bytes per holder "
          f"{ {i[:8]: b for i, b in shares.items()} }, resumed {result.get('resumed_from', 0)}, "
          f"wasted {result.get('wasted')}")
    total = sum(shares.values()) + result.get("resumed_from", 0)
    check(total == SIZE, f"the holders' bytes ({sum(shares.values())}) and the resumed ones "
          f"({result.get('resumed_from', 0)}) add up to {total}, not the size {SIZE}")
    check(len(shares) >= 2, f"only {len(shares)} of the 3 holders sent bytes: {shares}")


def three_menu(h, holders, data):
    """The menu connected to the three holders, choice 3 with an empty peer id (all holders). The menu says nothing
    per holder: each holder's bytes are counted at a relay in front of it."""
    ports = [h.relay(i, port) for i, (_, _, port) in enumerate(holders)]
    h.finish_menu(h.start_menu(ports), data)
    for p in process.live:
        if p.name.startswith("relay"):
            p.stop()
    sent = [h.relay_bytes(i) for i in range(3)]
    print(f"three holders (menu): bytes each holder sent through its relay {sent}, {sum(sent) - SIZE} beyond the size")
    check(sum(sent) >= SIZE, f"the holders sent {sum(sent)} bytes in all, less than the file's {SIZE}")
    check(sum(1 for b in sent if b) >= 2, f"only {sum(1 for b in sent if b)} of the 3 holders sent bytes: {sent}")


def scenario_menu(h):
    data = random.Random(19).randbytes(SIZE)
    three_menu(h, h.holders(data), data)


def scenario_kill(h):
    data = random.Random(17).randbytes(SIZE)
    holders = h.holders(data)
    ports = [h.relay(i, port, "--rate", RATE) for i, (_, _, port) in enumerate(holders)]
    if not h.multi_get():
        kill_menu(h, holders, ports, data)
        return
    getter = h.start_get(ports, "--json-progress")
    victim = holders[0][0]  # the first address: the holder a single-source download would be using
    times, killed_at, last_bytes = [], None, -1
    deadline = time.monotonic() + TRANSFER_S
    while True:
        try:
            line = getter.read_until(r"^\{", max(0.0, deadline - time.monotonic()))[-1]
        except failure:
            if getter.proc.poll() is not None:
                break  # it ended: finish() says how
            raise
        obj = json.loads(line)
        if obj.get("event") != "progress":
            break  # the file's result
        if obj["bytes"] > last_bytes:  # progress is bytes arriving: lines printed on a timer may repeat a count
            times.append(time.monotonic())
            last_bytes = obj["bytes"]
        if killed_at is None and obj["bytes"] >= SIZE // 2:
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait()
            killed_at = obj["bytes"]
    result = h.finish(getter, data)
    check(killed_at is not None, f"the download ended before half of it had arrived ({len(times)} progress lines)")
    gaps = [b - a for a, b in zip(times, times[1:])]
    longest = max(gaps, default=0.0)
    print(f"kill: holder 0 killed at {killed_at} B of {SIZE}; completed in {result['seconds']:.2f} s, "
          f"{len(times)} progress lines with more bytes than the one before, longest time between two "
          f"{longest:.2f} s, wasted {result.get('wasted')}")
    check(longest <= MAX_GAP_S, f"the download stood still for {longest:.2f} s after a holder died (at most "
          f"{MAX_GAP_S} s: its pieces must move before the peer timeout would drop it)")


def kill_menu(h, holders, ports, data):
    """The kill scenario with the menu: progress is the partial file's written blocks, sampled every 10 ms."""
    m = h.start_menu(ports)
    victim = holders[0][0]
    state = {"killed_at": None, "last": -1, "times": []}

    def poll():
        held = h.held()
        if held > state["last"]:
            state["times"].append(time.monotonic())
            state["last"] = held
        if state["killed_at"] is None and held >= SIZE // 2:
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait()
            state["killed_at"] = held
    h.finish_menu(m, data, poll)
    times = state["times"] + [time.monotonic()]
    longest = max((b - a for a, b in zip(times, times[1:])), default=0.0)
    print(f"kill (menu): holder 0 killed at {state['killed_at']} B of {SIZE}; the file arrived intact; longest time "
          f"the partial file did not grow {longest:.2f} s")
    check(state["killed_at"] is not None, "the download ended before half of it had arrived")
    check(longest <= MAX_GAP_S, f"the download stood still for {longest:.2f} s after a holder died (at most "
          f"{MAX_GAP_S} s: its pieces must move before the peer timeout would drop it)")


def scenario_liar(h):
    data = random.Random(18).randbytes(SIZE)
    holders = h.holders(data)
    liar_id, liar_port = holders[2][1], holders[2][2]
    liar = process("liar", ["/usr/bin/python3", os.path.join(HERE, "lying_relay.py"), "--to",
                            f"127.0.0.1:{liar_port}"], h.dir)
    port = int(liar.wait_for(r"relay listening on tcp://[^ ]+:(\d+)", STARTUP_S).group(1))
    ports = [holders[0][2], holders[1][2], port]
    if h.multi_get():
        getter = h.start_get(ports, "--log-level", "info")
        result = h.finish(getter, data)
    else:
        getter = h.start_menu(ports, "--log-level", "info")
        h.finish_menu(getter, data)
        result = {}
    flipped = liar.wait_for(r"flipped byte (\d+)", STARTUP_S).group(1)
    with open(getter.stderr_path, errors="replace") as f:
        log_lines = f.read().splitlines()
    # Named: a line of the log that gives the liar's id (whole or short) and says what it did, or an entry of the
    # JSON for the liar that says more than its bytes (a count of bad pieces, a flag).
    named = [line for line in log_lines if liar_id[:8].lower() in line.lower()
             and any(word in line.lower() for word in ("match", "bad", "wrong", "corrupt", "integrity", "lie"))]
    entries = [s for s in result.get("holders") or [] if liar_id[:8].lower() in str(s.get("peer", "")).lower()]
    flagged = [s for s in entries if any(v for k, v in s.items() if k not in ("peer", "bytes"))]
    print(f"liar: flipped byte {flipped}; the file arrived intact; the liar {liar_id} "
          f"named in the log: {named[:1]}, flagged in the JSON: {flagged}; wasted {result.get('wasted')}")
    check(named or flagged, f"neither get's log nor its JSON says the holder {liar_id} sent a bad piece; log: "
          f"{log_lines[-5:]}, JSON: {result!r}")

SCENARIOS = {"three": scenario_three, "menu": scenario_menu, "kill": scenario_kill, "liar": scenario_liar}


if __name__ == "__main__":
    sys.exit(scenario_main("one download from every holder at once", SCENARIOS, harness,
                           binaries=(("peer", "the p2p-peer binary"), ("tap", "the p2p-tap binary"))))
