#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""cli_test.py - end-to-end tests of the p2p-peer program between real processes (registered by
tests/cmake/cli_tests.cmake).

    cli_test.py SCENARIO --peer P2P_PEER [--work DIR]

Scenarios:
  menu     three peers A, B, C driven through the menu over pipes: the original assignment's example
  ls_get   ls and get, with and without --json, against a serving peer; unknown file, existing file
  errors   exit codes and one-line reasons: usage errors (2), dead address (1 within 3 s), <dir> that is a file
  signals  serve stops on SIGINT and SIGTERM, the menu on SIGINT and at end of input, each exiting 0
  hostile  a fake peer (python3-zmq, python3-msgpack) sends terminal escapes; p2p-peer prints them escaped
  hash     `hash` prints the file ids that manifest_ref.py computes in pure Python; --json; errors exit 1

No fixed ports (every peer binds port 0 and the test reads the port back from its start line) and no fixed sleeps
(every wait is for an expected line, with a deadline).
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

STARTUP_S = 15  # deadline for a peer to print its start line
STEP_S = 20  # deadline for one menu answer
TRANSFER_S = 90  # deadline for one download
SKIP = 77  # CTest's SKIP_RETURN_CODE
STARTED = r"Peer (\S+) started on \S+:(\d+)"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from child_process import check, failure, process, run  # noqa: E402

process.default_timeout = STEP_S


class harness:
    def __init__(self, args):
        self.peer = args.peer
        os.makedirs(args.work, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"{args.scenario}-", dir=args.work)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, *argv, timeout=60):
        return run([self.peer, *argv], timeout)

    def menu(self, name, folder, *extra):
        """A menu peer on a free port; returns (process, id, port)."""
        p = process(name, [self.peer, "0", folder, "--bind", "127.0.0.1", *extra], self.dir, stdin=subprocess.PIPE)
        match = p.wait_for(STARTED, STARTUP_S)
        p.wait_for(r"^Enter choice: $|^6\. Show failed connections$")
        return p, match.group(1), int(match.group(2))

    def serve(self, name, folder, *extra):
        """A serving peer on a free port; returns (process, id, port)."""
        p = process(name, [self.peer, "serve", "0", folder, "--bind", "127.0.0.1", *extra], self.dir)
        match = p.wait_for(STARTED, STARTUP_S)
        return p, match.group(1), int(match.group(2))


def make_folder(path, files):
    os.makedirs(path, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def dead_port():
    """A port nothing listens on: bound by us for a moment, then released (never a fixed number)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -------------------------------------------------------------------------------------------------------------------
# Scenarios


def scenario_menu(h):
    """The example of the assignment, with a 20 MiB file from all peers on top."""
    big = random.Random(20).randbytes(20 * 1024 * 1024)
    a, a_id, a_port = h.menu("A", make_folder(h.path("peerA_files"), {"ohHi.txt": b""}))
    b, b_id, b_port = h.menu("B", make_folder(h.path("peerB_files"), {"whataboutme.txt": b"", "big.bin": big}))
    c, c_id, c_port = h.menu("C", make_folder(h.path("peerC_files"), {"hello.txt": b"", "big.bin": big}))

    # Step 2: local files, in the original's words.
    a.send("1")
    a.wait_for(r"^Your shared files:$")
    a.wait_for(r"^  ohHi\.txt \(0 bytes\)$")
    b.send("1")
    b.wait_for(r"^Your shared files:$")
    b.wait_for(r"^  big\.bin \(20971520 bytes\)$")
    b.wait_for(r"^  whataboutme\.txt \(0 bytes\)$")
    c.send("1")
    c.wait_for(r"^Your shared files:$")
    c.wait_for(r"^  hello\.txt \(0 bytes\)$")

    # Mistakes first: the menu reports them in one line and goes on.
    a.send("9")
    a.wait_for(r"^Invalid choice$")
    a.send("4", "localhost", "fivethousand")
    a.wait_for(r"^Error: Port must be a number$")
    a.send("4", "localhost", "70000")
    a.wait_for(r"^Error: Port must be a number from 1 to 65535$")

    # Step 3: A -> B, B -> C, C -> A.
    a.send("4", "localhost", str(b_port))
    a.wait_for(rf"^Connected to peer {b_id} at localhost:{b_port} \(2 files available\)$")
    b.wait_for(rf"^New peer {a_id} joined with 1 file$")
    b.send("4", "localhost", str(c_port))
    b.wait_for(rf"^Connected to peer {c_id} at localhost:{c_port} \(2 files available\)$")
    c.wait_for(rf"^New peer {b_id} joined with 2 files$")
    c.send("4", "localhost", str(a_port))
    c.wait_for(rf"^Connected to peer {a_id} at localhost:{a_port} \(1 file available\)$")
    a.wait_for(rf"^New peer {c_id} joined with 2 files$")

    # Step 4: A lists its peers in the order they joined.
    a.send("2")
    a.wait_for(r"^Connected peers and their files:$")
    a.wait_for(rf"^  Peer {b_id} at localhost:{b_port}:$")
    a.wait_for(r"^    - big\.bin$")
    a.wait_for(r"^    - whataboutme\.txt$")
    a.wait_for(rf"^  Peer {c_id} at 127\.0\.0\.1:{c_port}:$")
    a.wait_for(r"^    - big\.bin$")
    a.wait_for(r"^    - hello\.txt$")

    # Step 5: whataboutme.txt from B by its id, then 20 MiB from whoever has it.
    a.send("3", "whataboutme.txt", b_id)
    a.wait_for(rf"^Got file whataboutme\.txt from peer {b_id} \(0 bytes in ")
    check(read(h.path("peerA_files", "whataboutme.txt")) == b"", "whataboutme.txt differs")
    a.send("3", "big.bin", "")
    a.wait_for(rf"^Got file big\.bin from peer ({b_id}|{c_id}) \(20971520 bytes in ", TRANSFER_S)
    check(read(h.path("peerA_files", "big.bin")) == big, "big.bin differs from the original")
    # The others hear of A's new files.
    b.wait_for(rf"^Peer {a_id} updated its file list: .*big\.bin")

    # A failed connection shows under 6.
    dead = dead_port()
    a.send("4", "127.0.0.1", str(dead))
    a.wait_for(r"^Connection error: ")
    a.send("6")
    a.wait_for(r"^Failed connections:$")
    a.wait_for(rf"^  127\.0\.0\.1:{dead}: 1 failure, last at ")

    # Step 6: every peer exits with 5.
    for p in (a, b, c):
        p.send("5")
        p.wait_for(r"^Shutting down peer\.\.\.$")
        p.wait_for(r"^Peer \S+ stopped$")
        code = p.exit_code()
        check(code == 0, f"{p.name} exited {code}: {p.stderr_tail()}")
    print("menu: three peers, the original example, 20 MiB from all, clean exits")


def scenario_ls_get(h):
    data = random.Random(3).randbytes(3 * 1024 * 1024 + 777)
    files = {"data.bin": data, "notes.txt": b"some notes\n", "with space.txt": b"x"}
    s, s_id, port = h.serve("server", make_folder(h.path("shared"), files))
    address = f"127.0.0.1:{port}"

    code, out, err = h.run("ls", address)
    check(code == 0, f"ls exited {code}: {err}")
    expected = sorted(f"{name} {len(body)}" for name, body in files.items())
    check(sorted(out.splitlines()) == expected, f"ls printed {out!r}")

    code, out, err = h.run("ls", address, "--json")
    check(code == 0, f"ls --json exited {code}: {err}")
    listed = json.loads(out)
    check(sorted((f["name"], f["size"]) for f in listed) == sorted((n, len(b)) for n, b in files.items()),
          f"ls --json printed {out!r}")

    down = h.path("down")
    code, out, err = h.run("get", address, "data.bin", "--dir", down, timeout=TRANSFER_S)
    check(code == 0, f"get exited {code}: {err}")
    check(re.fullmatch(rf"Got file data\.bin from peer {s_id} \({len(data)} bytes in [0-9.]+ s, [0-9.]+ \S+/s\)\n",
                       out), f"get printed {out!r}")
    check(read(os.path.join(down, "data.bin")) == data, "data.bin differs")

    code, out, err = h.run("get", address, "notes.txt", "--dir", down, "--json")
    check(code == 0, f"get --json exited {code}: {err}")
    result = json.loads(out)
    check(result["name"] == "notes.txt" and result["size"] == len(files["notes.txt"]), f"get --json: {out!r}")
    check(result["peer"].startswith(s_id) and len(result["peer"]) == 16, f"get --json peer: {out!r}")
    check(result["seconds"] >= 0 and result["rate"] >= 0, f"get --json numbers: {out!r}")
    check(read(os.path.join(down, "notes.txt")) == files["notes.txt"], "notes.txt differs")

    code, out, err = h.run("get", address, "with space.txt", "--dir", down)
    check(code == 0 and read(os.path.join(down, "with space.txt")) == b"x", f"get with a space: {code} {err}")

    # Failures: one line on stderr, exit 1.
    code, out, err = h.run("get", address, "missing.txt", "--dir", down)
    check(code == 1 and len(err.strip().splitlines()) == 1 and "not found" in err.lower(),
          f"unknown file: {code} {err!r}")
    check(not os.path.exists(os.path.join(down, "missing.txt")), "an unknown file left something behind")
    code, out, err = h.run("get", address, "data.bin", "--dir", down)
    check(code == 1 and "exists" in err and len(err.strip().splitlines()) == 1, f"existing file: {code} {err!r}")

    s.proc.send_signal(signal.SIGINT)
    s.wait_for(r"^Shutting down peer\.\.\.$")
    check(s.exit_code() == 0, "serve did not exit 0 on SIGINT")
    print("ls_get: ls, get, --json, unknown and existing files")


def scenario_errors(h):
    code, out, _ = h.run("--help")
    check(code == 0 and all(w in out for w in ("serve", "ls", "get", "--bind", "--chunk-size")), f"--help: {code}")
    code, out, _ = h.run("--version")
    check(code == 0 and re.match(r"p2p-peer \d+\.\d+\.\d+", out), f"--version: {code} {out!r}")
    for sub in ("serve", "ls", "get"):
        code, out, _ = h.run(sub, "--help")
        check(code == 0 and sub in out, f"{sub} --help: {code}")

    folder = h.path("unused")
    usage = [
        [],
        ["5000"],
        ["bogus"],
        ["99999", folder],
        ["-1", folder],
        ["0", folder, "extra"],
        ["serve"],
        ["serve", "0"],
        ["serve", "0", folder, "--connect", "nohost"],
        ["ls"],
        ["ls", "localhost"],
        ["ls", "localhost:0"],
        ["ls", "localhost:99999"],
        ["get", "127.0.0.1:5000"],
        ["get", "notanaddress", "f"],
        ["get", "127.0.0.1:5000", "f", "--bogus"],
        ["--chunk-size", "0", "ls", "127.0.0.1:5000"],
        ["--chunk-size", "1T", "ls", "127.0.0.1:5000"],
        ["--window", "0", "ls", "127.0.0.1:5000"],
        ["--window", "65", "ls", "127.0.0.1:5000"],
        ["--log-level", "loud", "ls", "127.0.0.1:5000"],
        ["--ping-interval", "soon", "ls", "127.0.0.1:5000"],
        ["--ping-interval", "5s", "--peer-timeout", "1s", "ls", "127.0.0.1:5000"],
        ["ls", "127.0.0.1:5000", "--bind", "not an address"],
    ]
    for argv in usage:
        start = time.monotonic()
        code, out, err = h.run(*argv, timeout=10)
        check(code == 2, f"p2p-peer {' '.join(argv)}: expected usage error 2, got {code}: {err.strip()}")
        check(err.strip() != "", f"p2p-peer {' '.join(argv)}: no reason on stderr")
        check(time.monotonic() - start < 5, f"p2p-peer {' '.join(argv)}: a usage error took too long")
    check(not os.path.exists(folder), "a usage error created the folder")

    # A dead address fails within 3 s, with one line.
    for argv in (["ls", f"127.0.0.1:{dead_port()}"], ["get", f"127.0.0.1:{dead_port()}", "x", "--dir", h.path("d")]):
        start = time.monotonic()
        code, out, err = h.run(*argv, timeout=10)
        elapsed = time.monotonic() - start
        check(code == 1 and len(err.strip().splitlines()) == 1, f"{' '.join(argv)}: {code} {err!r}")
        check(elapsed < 3.0, f"{' '.join(argv)}: took {elapsed:.1f} s, more than 3 s")

    # A <dir> that is a regular file: a clear one-line error, exit 1, for the menu and serve alike.
    regular = h.path("regular-file")
    with open(regular, "w") as f:
        f.write("not a folder\n")
    for argv in (["0", regular], ["serve", "0", regular], ["get", "127.0.0.1:5000", "x", "--dir", regular]):
        code, out, err = h.run(*argv, timeout=10)
        check(code == 1 and "not a directory" in err and len(err.strip().splitlines()) == 1,
              f"{' '.join(argv)}: {code} {err!r}")
    check(read(regular) == b"not a folder\n", "the regular file was changed")

    # Global options go before or after the command; sizes and durations take units.
    s, _, port = h.serve("server", make_folder(h.path("shared"), {"f.txt": b"abc"}), "--chunk-size", "64K",
                         "--window", "4", "--ping-interval", "500ms", "--peer-timeout", "3s", "--log-level", "error")
    code, out, err = h.run("--chunk-size", "1", "--window", "2", "get", f"127.0.0.1:{port}", "f.txt", "--dir",
                           h.path("got"))
    check(code == 0 and read(h.path("got", "f.txt")) == b"abc", f"get with 1-byte chunks: {code} {err}")
    s.proc.send_signal(signal.SIGTERM)
    check(s.exit_code() == 0, "serve did not exit 0 on SIGTERM")
    print(f"errors: {len(usage)} usage errors exit 2, dead addresses fail within 3 s, a file as <dir> exits 1")


def scenario_signals(h):
    # serve --connect, then SIGINT: both sides print it.
    a, a_id, a_port = h.serve("A", make_folder(h.path("a"), {"a.txt": b"a"}))
    b, b_id, _ = h.serve("B", h.path("b"), "--connect", f"localhost:{a_port}")
    b.wait_for(rf"^Connected to peer {a_id} at localhost:{a_port} \(1 file available\)$")
    a.wait_for(rf"^New peer {b_id} joined with 0 files$")
    b.proc.send_signal(signal.SIGINT)
    b.wait_for(r"^Shutting down peer\.\.\.$")
    check(b.exit_code() == 0, "serve did not exit 0 on SIGINT")
    a.wait_for(rf"^Peer {b_id} at \S+ left$")

    # The menu: SIGINT at the prompt is choice 5.
    m, m_id, _ = h.menu("menu-sigint", h.path("m"))
    m.send("4", "localhost", str(a_port))
    m.wait_for(rf"^Connected to peer {a_id}")
    m.proc.send_signal(signal.SIGINT)
    m.wait_for(r"^Shutting down peer\.\.\.$")
    m.wait_for(rf"^Peer {m_id} stopped$")
    check(m.exit_code() == 0, "the menu did not exit 0 on SIGINT")
    a.wait_for(rf"^Peer {m_id} at \S+ left$")

    # The menu: end of input is choice 5.
    e, e_id, _ = h.menu("menu-eof", h.path("e"))
    e.proc.stdin.close()
    e.wait_for(r"^Shutting down peer\.\.\.$")
    check(e.exit_code() == 0, "the menu did not exit 0 at end of input")

    a.proc.send_signal(signal.SIGTERM)
    check(a.exit_code() == 0, "serve did not exit 0 on SIGTERM")
    print("signals: serve and the menu stop cleanly on SIGINT, SIGTERM and end of input")


def scenario_hostile(h):
    """Text from another peer never reaches the terminal raw. The core refuses control characters in file names and
    endpoints, but a NOT_FOUND reason is free text: a fake peer answers every REQUEST with escape sequences."""
    try:
        import msgpack
        import zmq
    except ImportError as e:
        print(f"SKIP: python module missing: {e}")
        return SKIP
    version, hello, file_list, request, not_found = 2, 1, 2, 3, 7
    evil = "\x1b[2J\x1b[31mgotcha\x07\u202e"
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    getter = subprocess.Popen([h.peer, "get", f"127.0.0.1:{port}", "x.txt", "--dir", h.path("d")],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + STEP_S
    try:
        while time.monotonic() < deadline:
            if not router.poll(100):
                continue
            rid, body = router.recv_multipart()
            message = msgpack.unpackb(body, raw=False)
            if message[1] == hello:
                router.send_multipart([rid, msgpack.packb([version, hello, 1, f"tcp://127.0.0.1:{port}", 1])])
                router.send_multipart([rid, msgpack.packb([version, file_list, 1, 0, 1, [["x.txt", 5]]])])
            elif message[1] == request:
                router.send_multipart([rid, msgpack.packb([version, not_found, message[2], message[3], evil])])
                break
        out, err = getter.communicate(timeout=STEP_S)
    finally:
        if getter.poll() is None:
            getter.kill()
        context.destroy(linger=0)
    text = err.decode("utf-8", "replace")
    check(getter.returncode == 1, f"get from the fake peer exited {getter.returncode}: {text!r}")
    check(not any(c in text for c in "\x1b\x07\u202e"), f"a raw control character reached stderr: {text!r}")
    check("gotcha" in text and "\\x1b" in text, f"the reason was not printed escaped: {text!r}")
    print(f"hostile: the reason was printed as {text.strip()!r}")


def scenario_secure(h):
    """--secure: get with the server's key works, plain and unlisted keys are refused, --allow needs --secure."""
    data = random.Random(9).randbytes(2 * 1024 * 1024)
    shared = make_folder(h.path("secure-shared"), {"secret.bin": data})
    # The first run makes the getter's key, so the server can be told to allow exactly it.
    down = h.path("secure-down")
    os.makedirs(down)
    g, g_id, g_port = h.serve("getter-keys", down, "--secure")
    getter_key = g.wait_for(r"^Public key: (\S+) ").group(1)
    g.proc.send_signal(signal.SIGINT)
    check(g.exit_code() == 0, "secure serve did not exit 0 on SIGINT")
    allow = h.path("allow.txt")
    with open(allow, "w") as f:
        f.write(f"# the getter\n{getter_key} getter\n")

    s, s_id, port = h.serve("secure-server", shared, "--secure", "--allow", allow)
    key = s.wait_for(r"^Public key: (\S+) \(others connect to (\S+)\)$").group(1)
    check(not os.path.exists(os.path.join(shared, ".p2p", "curve.key.tmp")), "a temporary key file was left")
    check(oct(os.stat(os.path.join(shared, ".p2p", "curve.key")).st_mode & 0o777) == "0o600", "key file not 0600")

    code, out, err = h.run("get", f"{key}@127.0.0.1:{port}", "secret.bin", "--dir", down, "--secure",
                           timeout=TRANSFER_S)
    check(code == 0, f"secure get exited {code}: {err}")
    check(read(os.path.join(down, "secret.bin")) == data, "secret.bin differs")

    # Without the key, with a plain peer, or with a key not on the allowlist: exit 1, nothing written.
    elsewhere = h.path("elsewhere")
    code, out, err = h.run("get", f"127.0.0.1:{port}", "secret.bin", "--dir", elsewhere, "--secure")
    check(code == 1 and "KEY@host:port" in err, f"secure get without a key: {code} {err!r}")
    code, out, err = h.run("get", f"127.0.0.1:{port}", "secret.bin", "--dir", elsewhere)
    check(code == 1, f"plain get from a secure peer: {code} {err!r}")
    stranger = h.path("stranger")
    code, out, err = h.run("get", f"{key}@127.0.0.1:{port}", "secret.bin", "--dir", stranger, "--secure")
    check(code == 1, f"get with a key not on the allowlist: {code} {err!r}")
    for folder in (elsewhere, stranger):
        check(not os.path.exists(os.path.join(folder, "secret.bin")), f"{folder} got the file")

    code, out, err = h.run("serve", "0", h.path("x"), "--allow", allow)
    check(code == 2 and "--allow needs --secure" in err, f"--allow without --secure: {code} {err!r}")

    s.proc.send_signal(signal.SIGINT)
    check(s.exit_code() == 0, "secure serve did not exit 0 on SIGINT")
    print("secure: keyed get, refusals (no key, plain, unlisted key), --allow needs --secure")


def scenario_hash(h):
    # The ids computed again from docs/manifest.md in pure Python, whose BLAKE3 is first checked against the
    # official test vectors: nothing here shares code with p2p-peer.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import manifest_ref
    check(manifest_ref.self_test(), "manifest_ref.py's BLAKE3 fails the official test vectors")
    files = {
        "empty": b"",
        "abc.txt": b"abc",
        "pattern.bin": bytes(i % 251 for i in range(2 * 1048576 + 1)),  # 3 pieces, the last of 1 byte
        "random.bin": os.urandom(1048576 + 4097),  # 2 pieces
    }
    folder = make_folder(h.path("files"), files)
    paths = [os.path.join(folder, name) for name in sorted(files)]
    code, out, err = h.run("hash", *paths)
    check(code == 0 and err == "", f"hash: {code} {err!r}")
    lines = out.splitlines()
    check(len(lines) == len(paths), f"hash printed {len(lines)} lines for {len(paths)} files: {out!r}")
    for line, path in zip(lines, paths):
        expected = manifest_ref.file_id(read(path)).hex()
        check(line == f"{expected}  {path}", f"hash {path}: {line!r}, expected root {expected}")
    # The test vector of docs/manifest.md, fixed here too: a change of definition must change this line.
    pattern = os.path.join(folder, "pattern.bin")
    code, out, _ = h.run("hash", pattern)
    check(out.split()[0] == "9850ec8f80770aa3c0d6ae632483c8532c7c2b48a4e895bff67284a1ed1206a4",
          f"pattern.bin: {out!r}")

    code, out, err = h.run("hash", "--json", pattern, os.path.join(folder, "empty"))
    check(code == 0, f"hash --json: {code} {err!r}")
    objects = [json.loads(line) for line in out.splitlines()]
    check(len(objects) == 2, f"hash --json: {out!r}")
    expected = {"file": pattern, "root": "9850ec8f80770aa3c0d6ae632483c8532c7c2b48a4e895bff67284a1ed1206a4",
                "size": 2 * 1048576 + 1, "piece_size": 1048576, "pieces": 3}
    check(all(objects[0][k] == v for k, v in expected.items()) and objects[0]["seconds"] >= 0,
          f"hash --json: {objects[0]}")
    check(objects[1]["size"] == 0 and objects[1]["pieces"] == 1, f"hash --json of an empty file: {objects[1]}")

    # A name with a line break is escaped as b3sum and sha256sum do: the line starts with a backslash.
    odd = os.path.join(folder, "a\nb")
    with open(odd, "wb") as f:
        f.write(b"abc")
    code, out, _ = h.run("hash", odd)
    shown = odd.replace("\\", "\\\\").replace("\n", "\\n")
    check(out == "\\" + manifest_ref.file_id(b"abc").hex() + "  " + shown + "\n", f"escaped name: {out!r}")

    # Errors: one line each on stderr and exit 1; the other files are still hashed.
    fifo = h.path("fifo")
    os.mkfifo(fifo)
    for path, reason in ((h.path("missing"), "No such file"), (folder, "is a directory"),
                         (fifo, "not a regular file")):
        code, out, err = h.run("hash", path, timeout=10)
        check(code == 1 and out == "" and len(err.strip().splitlines()) == 1 and reason in err,
              f"hash {path}: {code} {out!r} {err!r}")
    code, out, err = h.run("hash", h.path("missing"), pattern)
    check(code == 1 and len(out.splitlines()) == 1 and len(err.strip().splitlines()) == 1,
          f"a missing file then a good one: {code} {out!r} {err!r}")
    code, _, err = h.run("hash")
    check(code == 2 and err.strip() != "", f"hash with no file: {code} {err!r}")
    print(f"hash: {len(paths)} files match manifest_ref.py, --json, an escaped name, 3 errors exit 1")


SCENARIOS = {"menu": scenario_menu, "ls_get": scenario_ls_get, "errors": scenario_errors, "signals": scenario_signals,
             "hostile": scenario_hostile, "secure": scenario_secure, "hash": scenario_hash}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--peer", required=True, help="the p2p-peer binary")
    parser.add_argument("--work", default=tempfile.gettempdir(), help="folder for the test's files")
    args = parser.parse_args()
    h = harness(args)
    try:
        if SCENARIOS[args.scenario](h) == SKIP:
            return SKIP
    except failure as e:
        print(f"FAIL: {e}")
        for p in process.live:
            print(f"--- {p.name} stdout (last lines): {p.output[-15:]}")
            print(f"--- {p.name} stderr: {p.stderr_tail()}")
        return 1
    finally:
        process.kill_all()
    shutil.rmtree(h.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
