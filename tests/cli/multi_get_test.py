#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""multi_get_test.py - `p2p-peer get ADDR [ADDR...] NAME [NAME...]` (issue 16): get dials every address given,
goes on when some cannot be reached, and reports what each holder sent (registered by
tests/cmake/multi_get_tests.cmake).

    multi_get_test.py SCENARIO --peer P2P_PEER [--work DIR]

Scenarios:
  two_addresses  two holders, one file at only one of them, another at only the other, a third at both: each arrives
                 byte for byte from one `get` given both addresses (folders expand from both lists too)
  unreachable    one address nothing listens on and one holder: a warning on stderr, the file arrives, exit 0; both
                 unreachable: exit 1, code "connect"
  usage          no name, no address, only addresses: exit 2 with a line that says what is missing, nothing created
  json           --json objects carry "holders" (a list of {"peer", "bytes"}) and "wasted"
  json_progress  --json-progress: every stdout line parses as JSON, progress lines come before the result (a download
                 held to about 2 s by --max-rate, so there are some); without the flag no progress line
  led_to         `get A big.bin` where A reached B (the same file) and C (another file of that name): B brings part of
                 it, C nothing, and nothing is refused

Whether several holders each sent bytes is the core's matter (tests of the downloader); here a `holders` list may be
empty, and when it is not its peers are among those given and its bytes add up to no more than what was received.

No fixed ports (every holder binds port 0 and the test reads the port from its start line; an unreachable address is
a port bound for a moment and released) and no fixed sleeps (every wait is on a condition with a deadline).
"""
import json
import os
import random
import re
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from child_process import check, process, run, scenario_main  # noqa: E402
from peer_harness import STARTUP_S, TRANSFER_S, peer_harness  # noqa: E402
from test_files import make_folder, read  # noqa: E402

MIB = 1 << 20
USAGE_S = 10  # a usage error is decided before any peer starts


class harness(peer_harness):
    def __init__(self, args):
        super().__init__(args, "multi_get")
        self.holders = {}

    def serve(self, name, files, *extra):
        """A holder of files on a free port with no discovery (other tests' peers must not join in), with `extra`
        options; returns (its full peer id, "127.0.0.1:port"). Its process is self.holders[name]."""
        folder = make_folder(self.path(name), files)
        argv = [self.peer, "serve", "0", folder, "--bind", "127.0.0.1", "--settle", "0", "--no-discover", "--json",
                *extra]
        p = process(name, argv, self.dir)
        self.holders[name] = p
        started = json.loads(p.wait_for(r'^\{"event":"started"', STARTUP_S).string)
        port = started["address"].rsplit(":", 1)[1]
        return started["peer"], f"127.0.0.1:{port}"

    def get(self, *argv, timeout=TRANSFER_S):
        """Runs `p2p-peer get ARGV...`; (exit code, stdout, stderr)."""
        return run([self.peer, "get", *argv], timeout)


def dead_address():
    """An address nothing listens on: a port bound by us for a moment, then released (never a fixed number)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def json_lines(out):
    """Every line of stdout as JSON: each must parse."""
    objects = []
    for line in out.splitlines():
        try:
            objects.append(json.loads(line))
        except ValueError:
            check(False, f"a line of --json output is not JSON: {line!r}")
    return objects


def check_holders(obj, peers, what):
    """obj has "holders", a list of {"peer", "bytes"} whose peers are among `peers`, and "wasted", a count; the
    holders' bytes and wasted add up to no more than the file's size and what was thrown away."""
    holders = obj.get("holders")
    check(isinstance(holders, list), f"{what}: no holders list: {obj}")
    for h in holders:
        check(isinstance(h, dict) and set(h) == {"peer", "bytes"}, f"{what}: a holder is not {{peer, bytes}}: {h}")
        check(h["peer"] in peers, f"{what}: holder {h['peer']} is none of the peers given {sorted(peers)}")
        check(isinstance(h["bytes"], int) and h["bytes"] >= 0, f"{what}: a holder's bytes: {h}")
    check(len({h["peer"] for h in holders}) == len(holders), f"{what}: a holder is listed twice: {holders}")
    if "size" in obj:
        check(sum(h["bytes"] for h in holders) <= obj["size"], f"{what}: the holders sent more than the file: {obj}")


# -------------------------------------------------------------------------------------------------------------------
# Scenarios


def scenario_two_addresses(h):
    rng = random.Random(16)
    only_a, only_b, both = rng.randbytes(3 * MIB + 17), rng.randbytes(100_001), rng.randbytes(2 * MIB)
    _, a = h.serve("holder-a", {"only-a.bin": only_a, "both.bin": both})
    _, b = h.serve("holder-b", {"only-b.txt": only_b, "both.bin": both})

    # The file only the second address lists: the first one's list does not end the search.
    down = h.path("down")
    code, out, err = h.get(a, b, "only-b.txt", "--dir", down)
    check(code == 0, f"get A B only-b.txt exited {code}: {err.strip()} {out.strip()}")
    check(read(os.path.join(down, "only-b.txt")) == only_b, "only-b.txt arrived with other bytes")
    check(re.fullmatch(r"Got file only-b\.txt from peer [0-9a-f]{8} \(100001 bytes in .*\)\n", out),
          f"the result line: {out!r}")
    check("warning" not in err, f"a warning with every address reachable: {err!r}")

    # Several names, each at one of them or both: one get fetches them all.
    down2 = h.path("down2")
    code, out, err = h.get(b, a, "only-a.bin", "only-b.txt", "both.bin", "--dir", down2)
    check(code == 0, f"get B A with three names exited {code}: {err.strip()} {out.strip()}")
    for name, data in (("only-a.bin", only_a), ("only-b.txt", only_b), ("both.bin", both)):
        check(read(os.path.join(down2, name)) == data, f"{name} arrived with other bytes")
    check(out.splitlines()[-1] == "Got 3 of 3 files", f"summary: {out!r}")

    # A name neither lists fails alone; the others still come.
    down3 = h.path("down3")
    code, out, err = h.get(a, b, "only-a.bin", "missing.txt", "--dir", down3)
    check(code == 1 and read(os.path.join(down3, "only-a.bin")) == only_a,
          f"get with a name no holder lists: {code} {err!r}")
    check(re.search(r"^p2p-peer: missing\.txt: ", err, re.M), f"the missing name's line: {err!r}")
    check(not os.path.exists(os.path.join(down3, "missing.txt")), "the missing name left a file")

    # A folder expands from the union of the lists: files under it at either holder.
    folder_a = {"set/one.txt": b"one", "set/two.txt": b"two"}
    folder_b = {"set/three.txt": b"three"}
    for name, files in (("holder-c", folder_a), ("holder-d", folder_b)):
        os.makedirs(h.path(name, "set"), exist_ok=True)
    _, c = h.serve("holder-c", folder_a)
    _, d = h.serve("holder-d", folder_b)
    down4 = h.path("down4")
    code, out, err = h.get(c, d, "set", "--dir", down4)
    check(code == 0, f"get C D set exited {code}: {err.strip()} {out.strip()}")
    for name, data in {**folder_a, **folder_b}.items():
        check(read(os.path.join(down4, name)) == data, f"{name} of the folder arrived with other bytes")
    check(out.splitlines()[-1] == "Got 3 of 3 files", f"folder summary: {out!r}")
    print("two_addresses: names at one holder, at the other, at both, at neither, and a folder split between them")


def scenario_unreachable(h):
    data = random.Random(161).randbytes(MIB + 5)
    _, good = h.serve("holder", {"data.bin": data})
    dead = dead_address()

    down = h.path("down")
    code, out, err = h.get(dead, good, "data.bin", "--dir", down)
    check(code == 0, f"get DEAD GOOD exited {code}: {err.strip()} {out.strip()}")
    check(read(os.path.join(down, "data.bin")) == data, "data.bin arrived with other bytes")
    warnings = [line for line in err.splitlines() if "warning" in line]
    check(len(warnings) == 1 and f"cannot connect to {dead}" in warnings[0], f"the warning: {err!r}")
    check(out.startswith("Got file data.bin from peer "), f"the result line: {out!r}")

    # --json: the warning stays on stderr; stdout has the result only.
    down2 = h.path("down2")
    code, out, err = h.get(good, dead, "data.bin", "--dir", down2, "--json")
    check(code == 0, f"get GOOD DEAD --json exited {code}: {err.strip()} {out.strip()}")
    objects = json_lines(out)
    check(len(objects) == 1 and objects[0].get("ok") is True, f"get --json with a dead address printed {out!r}")
    check(f"cannot connect to {dead}" in err, f"no warning on stderr: {err!r}")

    # Every address unreachable: today's connect failure, naming each.
    dead2 = dead_address()
    code, out, err = h.get(dead, dead2, "data.bin", "--dir", h.path("never"), "--json")
    check(code == 1, f"get with no address reachable exited {code}: {err!r}")
    failed = json_lines(out)
    check(len(failed) == 1 and failed[0].get("code") == "connect", f"--json connect failure: {out!r}")
    check(dead in failed[0]["error"] and dead2 in failed[0]["error"], f"the failure names both: {failed[0]}")
    print("unreachable: a warning and the file from the other address; none reachable is a connect failure")


def scenario_usage(h):
    folder = h.path("never")
    dead = dead_address()
    cases = (
        ([dead], "needs a file name"),
        ([dead, dead_address()], "needs a file name"),
        (["a.txt"], "needs a peer address"),
        (["a.txt", dead], "needs a peer address"),
        ([], "needs a peer address"),
    )
    for argv, expected in cases:
        code, out, err = h.get(*argv, "--dir", folder, timeout=USAGE_S)
        check(code == 2 and expected in err and len(err.strip().splitlines()) <= 2,
              f"get {' '.join(argv)}: expected usage error 2 saying {expected!r}, got {code} {err!r}")
        code, out, err = h.get(*argv, "--dir", folder, "--json", timeout=USAGE_S)
        objects = json_lines(out)
        check(code == 2 and len(objects) == 1 and objects[0].get("code") == "usage",
              f"get --json {' '.join(argv)}: {code} {out!r}")
    check(not os.path.exists(folder), "a usage error created the folder")
    print("usage: no name, no address, only addresses")


def scenario_json(h):
    rng = random.Random(162)
    big, small = rng.randbytes(4 * MIB + 3), rng.randbytes(1000)
    a_id, a = h.serve("holder-a", {"big.bin": big, "small.txt": small})
    b_id, b = h.serve("holder-b", {"big.bin": big})
    peers = {a_id, b_id}

    down = h.path("down")
    code, out, err = h.get(a, b, "big.bin", "--dir", down, "--json")
    check(code == 0, f"get --json exited {code}: {err.strip()} {out.strip()}")
    objects = json_lines(out)
    check(len(objects) == 1, f"get --json of one file printed {out!r}")
    result = objects[0]
    check(result.get("ok") is True and result.get("size") == len(big), f"the result: {result}")
    check_holders(result, peers, "big.bin")
    check(isinstance(result.get("wasted"), int) and result["wasted"] >= 0, f"no wasted count: {result}")
    check("event" not in result, f"a result object with an event key: {result}")
    check(read(os.path.join(down, "big.bin")) == big, "big.bin arrived with other bytes")

    down2 = h.path("down2")
    code, out, err = h.get(a, b, "big.bin", "small.txt", "--dir", down2, "--json")
    check(code == 0, f"get --json of two files exited {code}: {err.strip()} {out.strip()}")
    objects = json_lines(out)
    check(len(objects) == 3 and objects[-1] == {"requested": 2, "got": 2, "failed": []}, f"two files: {out!r}")
    for obj in objects[:2]:
        check_holders(obj, peers, obj.get("name"))
        check(isinstance(obj.get("wasted"), int), f"no wasted count: {obj}")
    print(f"json: holders {result['holders']}, wasted {result['wasted']}")


def scenario_json_progress(h):
    size = 16 * MIB
    data = random.Random(163).randbytes(size)
    a_id, a = h.serve("holder-a", {"slow.bin": data})
    b_id, b = h.serve("holder-b", {"other.txt": b"other"})

    # 8 MiB/s on our side: about 2 s, so the core reports progress several times (at most every 200 ms).
    down = h.path("down")
    code, out, err = h.get(a, b, "slow.bin", "--dir", down, "--json-progress", "--max-rate", "8M")
    check(code == 0, f"get --json-progress exited {code}: {err.strip()} {out.strip()}")
    objects = json_lines(out)
    progress, results = objects[:-1], objects[-1:]
    check(results and results[0].get("ok") is True and "event" not in results[0], f"the last line: {out[-400:]!r}")
    check(len(progress) >= 2, f"{len(progress)} progress lines in a download of about 2 s: {out[:400]!r}")
    last = 0
    for p in progress:
        check(p.get("event") == "progress" and p.get("name") == "slow.bin", f"a progress line: {p}")
        check(isinstance(p.get("bytes"), int) and p.get("size") in (0, size) and p["bytes"] <= size,
              f"a progress line's numbers: {p}")
        check(p["bytes"] >= last, f"progress went back: {p['bytes']} after {last}")
        last = p["bytes"]
        check_holders(p, {a_id, b_id}, "a progress line")
    check(read(os.path.join(down, "slow.bin")) == data, "slow.bin arrived with other bytes")

    # Without the flag --json prints the result alone.
    down2 = h.path("down2")
    code, out, err = h.get(a, b, "slow.bin", "--dir", down2, "--json", "--max-rate", "32M")
    objects = json_lines(out)
    check(code == 0 and len(objects) == 1 and "event" not in objects[0], f"--json alone printed {out[:400]!r}")
    print(f"json_progress: {len(progress)} progress lines, the last at {last} of {size} bytes")


def scenario_led_to(h):
    """`get A big.bin` where A reached B (the same big.bin) and C (another file of that name): A tells get of them,
    get dials both, B brings part of the file, C brings nothing and refuses nothing."""
    size = 16 * MIB
    data = random.Random(164).randbytes(size)
    b_id, b = h.serve("holder-b", {"big.bin": data}, "--max-rate", "4M")
    c_id, c = h.serve("holder-c", {"big.bin": random.Random(165).randbytes(size)})
    # 4 MiB/s at each of A and B: about 2 s with both and 4 s with A alone, so B joins well before the end.
    a_id, a = h.serve("holder-a", {"big.bin": data}, "--max-rate", "4M", "--connect", b, "--connect", c)
    for _ in range(2):  # A reached both (its --connect), so it names them to whoever joins it
        h.holders["holder-a"].wait_for(r'^\{"event":"connect_finished".*"ok":true', STARTUP_S)
    # Each holder hashes its folder in the background, at low priority: on a busy machine B could still be hashing
    # when A alone has sent the whole file.
    for address in (a, b, c):
        h.wait_hashed(address.rsplit(":", 1)[1], "big.bin")

    down = h.path("down")
    code, out, err = h.get(a, "big.bin", "--dir", down, "--json")
    check(code == 0, f"get A big.bin exited {code}: {err.strip()} {out.strip()}")
    result = json_lines(out)[-1]
    check(result.get("ok") is True and result.get("size") == size, f"the result: {result}")
    check_holders(result, {a_id, b_id}, "big.bin")
    shares = {x["peer"]: x["bytes"] for x in result["holders"]}
    check(shares.get(b_id, 0) > 0, f"B, which A led get to, brought nothing: {result['holders']}")
    check(c_id not in shares, f"C, with other content, brought bytes: {result['holders']}")
    check(read(os.path.join(down, "big.bin")) == data, "big.bin arrived with other bytes")
    print(f"led_to: holders {result['holders']} (B {shares.get(b_id, 0)} of {size} bytes), C left alone")


SCENARIOS = {"two_addresses": scenario_two_addresses, "unreachable": scenario_unreachable, "usage": scenario_usage,
             "json": scenario_json, "json_progress": scenario_json_progress, "led_to": scenario_led_to}


if __name__ == "__main__":
    sys.exit(scenario_main("get from several addresses at once", SCENARIOS, harness))
