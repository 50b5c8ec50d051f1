#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""web_api_test.py - the web interface's JSON API over plain HTTP, against real p2p-peer processes (registered by
tests/cmake/web_tests.cmake).

    web_api_test.py SCENARIO --peer P2P_PEER [--tap P2P_TAP] [--work DIR]

Scenarios:
  api       every endpoint: self, peers, files, transfers, failures, connect, download, cancel; bad JSON, wrong
            types, unknown ids, unknown routes, wrong methods; each error is {"error", "code"} with the CLI's codes
  events    the event stream: the same JSON objects `serve --json` prints, in order, with the token in a header or
            in the query (curl -N); a transfer's progress, rate and outcome
  security  the token (401 without it, POST only with the header), the cookie and the redirect, Host and Origin
            checks (403), the page's security headers, a hostile file name kept as data
  shutdown  SIGINT and SIGTERM with open event streams: `stopping`, `stopped`, the stream ends, exit 0 quickly
  menu      the menu with --web: the address line, a connect made from the API shows in the menu, 5 ends it all
  options   --web addresses: loopback by default, a remote bind needs --web-allow-remote and warns, a port in use

No fixed ports (every peer and web server binds port 0 and the test reads the real one back) and no fixed sleeps
(every wait is for an expected line, event or API state, with a deadline).
"""
import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_client import (STARTED, STARTUP_S, STEP_S, TRANSFER_S, WEB_LINE, check, client, failure,  # noqa: E402
                        harness, make_folder, process, read, run_scenario, wait_json_line)

HOSTILE = "<img src=x onerror=alert(1)>.txt"


def dead_port():
    """A port nothing listens on: bound by us for a moment, then released (never a fixed number)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_error(r, status, code, what):
    """An API error: this HTTP status, and a JSON body {"error": non-empty text, "code": code}."""
    check(r.status == status, f"{what}: expected {status}, got {r.status} {r.body!r}")
    check(r.header("Content-Type") == "application/json", f"{what}: error is not JSON: {r.header('Content-Type')}")
    body = r.json()
    check(set(body) == {"error", "code"} and body["error"] and body["code"] == code,
          f"{what}: expected {{error, code: {code}}}, got {body}")
    return body["error"]


def start_relay(h, tap, target_port, delay_ms):
    """p2p-tap relay in front of a peer, adding delay each way, so a transfer lasts long enough to watch or cancel."""
    relay = process("relay", [tap, "relay", "--listen", "0", "--to", f"127.0.0.1:{target_port}", "--out",
                              h.path("relay.cap"), "--bind", "127.0.0.1", "--delay", str(delay_ms)], h.dir)
    port = int(relay.wait_for(r"relay listening on tcp://[^ ]+:(\d+)$", STARTUP_S).group(1))
    return relay, port


# -------------------------------------------------------------------------------------------------------------------
# Scenarios


def scenario_api(h, args):
    data = random.Random(5).randbytes(2 * 1024 * 1024 + 333)
    a, a_id, a_port, web = h.web_serve("A", make_folder(h.path("a"), {"mine.txt": b"mine"}))
    b, b_id, b_port = h.serve("B", make_folder(h.path("b"), {"data.bin": data, "small.txt": b"small\n"}))

    # Reading: this peer, its files, and empty lists.
    me = web.get_json("/api/self")
    check(me["peer"].startswith(a_id) and len(me["peer"]) == 16 and me["short"] == a_id, f"self: {me}")
    check(me["address"] == f"127.0.0.1:{a_port}" and me["addresses"] == [f"127.0.0.1:{a_port}"], f"self: {me}")
    check(me["secure"] is False and me["public_key"] is None, f"self in plain mode: {me}")
    check(me["web"] == f"http://127.0.0.1:{web.port}/", f"self web: {me}")
    check(web.get_json("/api/files") == [{"name": "mine.txt", "size": 4}], "files")
    for path in ("/api/peers", "/api/transfers", "/api/failures"):
        check(web.get_json(path) == [], f"{path} is not empty at start")

    # Connect: the outcome comes back in the reply, as the menu prints it.
    r = web.post("/api/connect", {"address": f"localhost:{b_port}"})
    check(r.status == 200, f"connect: {r.status} {r.body}")
    done = r.json()
    check(done["event"] == "connect_finished" and done["ok"] and done["peer"].startswith(b_id) and
          done["file_count"] == 2, f"connect: {done}")
    a.wait_for(rf"^Connected to peer {b_id} at localhost:{b_port} \(2 files available\)$")
    error = check_error(web.post("/api/connect", {"address": f"localhost:{b_port}"}), 409, 1, "connect twice")
    check(error == f"Already connected to peer {b_id}", f"connect twice: {error}")
    dead = dead_port()
    error = check_error(web.post("/api/connect", {"address": f"127.0.0.1:{dead}"}), 502, 1, "connect to nobody")
    check(error.startswith("Connection error: "), f"connect to nobody: {error}")
    failures = web.get_json("/api/failures")
    check(len(failures) == 1 and failures[0]["address"] == f"127.0.0.1:{dead}" and failures[0]["count"] == 1 and
          re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", failures[0]["last_time"]), f"failures: {failures}")
    for bad in ({}, {"address": ""}, {"address": 5}, {"address": "nohost"}, {"address": "host:99999"}):
        check_error(web.post("/api/connect", bad), 400, 2, f"connect {bad}")

    peers = web.get_json("/api/peers")
    check(len(peers) == 1 and peers[0]["peer"].startswith(b_id) and peers[0]["outbound"] is True and
          peers[0]["address"] == f"localhost:{b_port}", f"peers: {peers}")
    check(sorted(f["name"] for f in peers[0]["files"]) == ["data.bin", "small.txt"], f"peer files: {peers}")

    # Download from one peer by a prefix of its id; follow it to the end through GET.
    r = web.post("/api/downloads", {"name": "data.bin", "from": b_id[:4]})
    check(r.status == 202, f"download: {r.status} {r.body}")
    started = r.json()
    op = started["op"]
    check(started["name"] == "data.bin" and started["from"] == b_id[:4] and started["state"] in ("starting",
          "running", "done") and started["holders"] == [peers[0]["peer"]], f"download: {started}")
    final = web.wait_until(f"/api/transfers/{op}", lambda t: t["state"] in ("done", "failed"), TRANSFER_S,
                           "the download to finish")
    check(final["state"] == "done" and final["bytes"] == final["size"] == len(data) and final["rate"] > 0 and
          final["peer"] == peers[0]["peer"] and final["code"] == "none" and final["eta"] is None, f"done: {final}")
    check(read(h.path("a", "data.bin")) == data, "data.bin differs from the original")
    check(any(t["op"] == op for t in web.get_json("/api/transfers")), "the transfer is not listed")
    web.wait_until("/api/files", lambda files: any(f["name"] == "data.bin" for f in files), what="data.bin listed")

    # Download from any peer.
    r = web.post("/api/downloads", {"name": "small.txt", "from": ""})
    check(r.status == 202, f"download from any: {r.status} {r.body}")
    web.wait_until(f"/api/transfers/{r.json()['op']}", lambda t: t["state"] == "done", TRANSFER_S, "small.txt")
    check(read(h.path("a", "small.txt")) == b"small\n", "small.txt differs")

    # Downloads that cannot be.
    other = "0" * 16 if not b_id.startswith("0") else "f" * 16
    cases = [({"name": "data.bin"}, 409, 1), ({"name": "mine.txt"}, 409, 1), ({"name": "nope.txt"}, 404, 1),
             ({"name": "small2.txt", "from": other}, 404, 1), ({"name": "data.bin", "from": "xyz"}, 400, 2),
             ({"name": "nope.txt", "from": b_id}, 404, 1), ({}, 400, 2), ({"name": ""}, 400, 2),
             ({"name": 7}, 400, 2), ({"name": "x", "from": 7}, 400, 2), ({"name": "../etc/passwd"}, 400, 2),
             ({"name": "a/../b"}, 400, 2)]
    for body, status, code in cases:
        check_error(web.post("/api/downloads", body), status, code, f"download {body}")
    check(not os.path.exists(h.path("a", "nope.txt")), "a refused download left a file")

    # Cancel: unknown, finished, malformed.
    check_error(web.post(f"/api/downloads/{op}/cancel"), 409, 1, "cancel a finished download")
    check_error(web.post("/api/downloads/999999/cancel"), 404, 1, "cancel an unknown op")
    check_error(web.post("/api/downloads/abc/cancel"), 404, 1, "cancel op abc")
    check_error(web.get("/api/transfers/999999"), 404, 1, "unknown transfer")
    check_error(web.get("/api/transfers/abc"), 404, 1, "transfer abc")

    # Cancel a running download: behind a relay that delays every message 40 ms each way, stop-and-wait, 384 chunks
    # take at least 30.7 s, longer than a request may take (STEP_S), so the download cannot end before the cancel
    # arrives on a slow machine (16 chunks and the auto window could: 1.5 s between the two requests was enough).
    if args.tap:
        delay_ms, chunk, chunks = 40, 64 * 1024, 384
        assert chunks * 2 * delay_ms / 1000 > STEP_S, "slow.bin must outlast the cancel request"
        make_folder(h.path("b"), {"slow.bin": os.urandom(chunks * chunk)})
        relay, relay_port = start_relay(h, args.tap, b_port, delay_ms)
        a2, a2_id, a2_port, web2 = h.web_serve("A2", h.path("a2"), "--chunk-size", str(chunk), "--window", "1")
        check(web2.post("/api/connect", {"address": f"127.0.0.1:{relay_port}"}).status == 200, "connect via relay")
        web2.wait_until("/api/peers", lambda peers: any(f["name"] == "slow.bin" for p in peers for f in p["files"]),
                        what="slow.bin listed")
        r = web2.post("/api/downloads", {"name": "slow.bin"})
        check(r.status == 202, f"slow download: {r.status} {r.body}")
        slow_op = r.json()["op"]
        error = check_error(web2.post("/api/downloads", {"name": "slow.bin"}), 409, 1, "the same download twice")
        check("being downloaded already" in error, f"the same download twice: {error}")
        r = web2.post(f"/api/downloads/{slow_op}/cancel")
        check(r.status == 202 and r.json()["op"] == slow_op, f"cancel: {r.status} {r.body}")
        final = web2.wait_until(f"/api/transfers/{slow_op}", lambda t: t["state"] != "starting" and
                                t["state"] != "running", TRANSFER_S, "the cancel to land")
        check(final["state"] == "failed" and final["code"] == "cancelled", f"cancelled: {final}")
        check(not os.path.exists(h.path("a2", "slow.bin")), "a cancelled download reached its final name")
        check(a2.stop() == 0 and relay.stop() == 0, "A2 or the relay did not stop cleanly")

    # Requests that are wrong in themselves.
    check_error(web.post("/api/connect", b"{not json"), 400, 2, "bad JSON")
    check_error(web.post("/api/connect", [1, 2]), 400, 2, "a JSON array")
    check_error(web.post("/api/connect", {"address": "x:1"}, content_type=None), 415, 2, "no Content-Type")
    check_error(web.post("/api/connect", {"address": "x:1"}, content_type="text/plain"), 415, 2, "text/plain")
    check_error(web.post("/api/connect", b"x" * (65 * 1024)), 413, 2, "a body over 64 KiB")
    check_error(web.get("/api/nothing"), 404, 2, "unknown route")
    check_error(web.post("/api/nothing", {}), 404, 2, "unknown POST route")
    r = web.get("/api/connect")
    check_error(r, 405, 2, "GET on a POST route")
    check(r.header("Allow") == "POST", f"Allow: {r.header('Allow')}")
    r = web.request("DELETE", "/api/peers")
    check_error(r, 405, 2, "DELETE on a GET route")
    check(r.header("Allow") == "GET, HEAD", f"Allow: {r.header('Allow')}")
    check_error(web.post("/api/peers", {}), 405, 2, "POST on a GET route")

    for p in (a, b):
        check(p.stop() == 0, f"{p.name} did not exit 0")
    print(f"api: every endpoint answered; {len(cases)} refused downloads; errors carry the CLI's codes")


def scenario_events(h, args):
    data = random.Random(7).randbytes(3 * 1024 * 1024)
    # A prints --json too: its stdout and its event stream must carry the very same objects.
    a = process("A", [h.peer, "serve", "0", h.path("a"), "--bind", "127.0.0.1", "--web", "0", "--json"], h.dir)
    started, _ = wait_json_line(a, "started", timeout=STARTUP_S)
    check(a.output[0].startswith('{"event":"started"') and started["address"].startswith("127.0.0.1:") and
          len(started["peer"]) == 16 and started["public_key"] is None, f"serve --json first line: {a.output}")
    web_line, _ = wait_json_line(a, "web")
    web = client(web_line["url"])
    b, b_id, b_port = h.serve("B", make_folder(h.path("b"), {"data.bin": data}))

    stream = web.events()
    check(stream.status == 200 and stream.content_type.startswith("text/event-stream"),
          f"events: {stream.status} {stream.content_type}")
    # The same stream with the token in the query string, as `curl -N URL` would open it.
    curl_like = web.events(token="query")
    check(curl_like.status == 200, f"events with ?token=: {curl_like.status}")

    check(web.post("/api/connect", {"address": f"127.0.0.1:{b_port}"}).status == 200, "connect")
    kind, event, raw = stream.wait_for("connect_finished")
    printed, printed_line = wait_json_line(a, "connect_finished")
    check(raw == printed_line, f"the stream and serve --json differ:\n  {raw}\n  {printed_line}")
    check(event["ok"] and event["peer"].startswith(b_id), f"connect_finished: {event}")
    curl_like.wait_for("connect_finished")

    # B's new file reaches A's stream.
    make_folder(h.path("b"), {"new.txt": b"new"})
    kind, event, raw = stream.wait_for("peer_files_changed", lambda e: any(f["name"] == "new.txt"
                                                                          for f in e["files"]))
    _, printed_line = wait_json_line(a, "peer_files_changed", lambda v: any(f["name"] == "new.txt"
                                                                            for f in v["files"]))
    check(raw == printed_line, f"peer_files_changed differs:\n  {raw}\n  {printed_line}")

    op = web.post("/api/downloads", {"name": "data.bin"}).json()["op"]
    kind, started, _ = stream.wait_for("transfer", lambda t: t["op"] == op)
    check(started["name"] == "data.bin" and started["state"] in ("starting", "running", "done"), f"{started}")
    kind, done, raw = stream.wait_for("download_finished", lambda e: e["op"] == op, TRANSFER_S)
    _, printed_line = wait_json_line(a, "download_finished", lambda v: v["op"] == op, TRANSFER_S)
    check(raw == printed_line, f"download_finished differs:\n  {raw}\n  {printed_line}")
    check(done["ok"] and done["size"] == len(data) and done["peer"].startswith(b_id) and done["rate"] > 0,
          f"download_finished: {done}")
    kind, last, _ = stream.wait_for("transfer", lambda t: t["op"] == op and t["state"] == "done")
    check(last["bytes"] == len(data) and last["rate"] > 0, f"last transfer view: {last}")
    progress = [e for k, e, _ in stream.seen if k == "download_progress" and e["op"] == op]
    check(all(0 <= e["bytes"] <= e["size"] == len(data) for e in progress), f"progress: {progress}")
    # Our new file list follows the outcome, unless the once-a-second rescan saw the file land just before it.
    if not any(k == "local_files_changed" for k, _, _ in stream.seen):
        stream.wait_for("local_files_changed")
    check(read(h.path("a", "data.bin")) == data, "data.bin differs")

    # B leaves: A's stream says so, and says it as --json does.
    check(b.stop() == 0, "B did not exit 0")
    kind, left, raw = stream.wait_for("peer_left")
    _, printed_line = wait_json_line(a, "peer_left")
    check(raw == printed_line and left["reason"] == "goodbye", f"peer_left: {raw} / {printed_line}")

    # Without the token there is no stream.
    check(web.events(token=None).status == 401, "an event stream without the token")
    stream.close()
    curl_like.close()
    check(a.stop() == 0, "A did not exit 0")
    print(f"events: {len(stream.seen)} events, each the same JSON as serve --json; {len(progress)} progress reports")


def scenario_security(h, args):
    a, a_id, a_port, web = h.web_serve("A", make_folder(h.path("a"), {HOSTILE: b"<script>alert(2)</script>"}))
    get_paths = ["/", "/app.js", "/style.css", "/api/self", "/api/peers", "/api/files", "/api/transfers",
                 "/api/transfers/1", "/api/failures", "/api/events"]
    post_paths = ["/api/connect", "/api/downloads", "/api/downloads/1/cancel"]

    # No token, or a wrong one: 401 everywhere, before anything else is looked at.
    wrong = ("0" if web.token[0] != "0" else "1") + web.token[1:]
    for path in get_paths + ["/api/nothing"]:
        check_error(web.get(path, token=None), 401, 2, f"GET {path} without a token")
        check_error(web.get(path, token=wrong), 401, 2, f"GET {path} with a wrong token")
    for path in post_paths:
        check_error(web.post(path, {}, token=None), 401, 2, f"POST {path} without a token")
        check_error(web.post(path, {}, token=wrong), 401, 2, f"POST {path} with a wrong token")
        # The token in the URL or in the cookie is not enough for a state change.
        check_error(web.post(path, {"address": "127.0.0.1:1"}, token="query"), 401, 2, f"POST {path} ?token=")
        check_error(web.post(path, {"address": "127.0.0.1:1"}, token="cookie"), 401, 2, f"POST {path} cookie")
    check(web.get_json("/api/failures") == [], "a refused POST connected anyway")

    # The printed URL: a redirect that moves the token into a cookie, then the page with that cookie.
    r = web.get("/", token="query")
    check(r.status == 303 and r.header("Location") == "/", f"GET /?token=: {r.status} {r.headers}")
    cookie = r.header("Set-Cookie")
    check(cookie == f"p2p-token-{web.port}={web.token}; Path=/; HttpOnly; SameSite=Strict", f"cookie: {cookie}")
    page = web.get("/", token="cookie")
    check(page.status == 200 and page.header("Content-Type") == "text/html; charset=utf-8", f"page: {page.status}")
    check(page.header("Content-Security-Policy").startswith(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'"), f"CSP: {page.header('Content-Security-Policy')}")
    for name, value in (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                        ("Cache-Control", "no-store")):
        check(page.header(name) == value, f"{name}: {page.header(name)}")
    check(f'<meta name="p2p-token" content="{web.token}">' in page.body, "the page does not carry the token")
    # No external asset: every src and href is the page's own, or a data: URL.
    for link in re.findall(r'(?:src|href)="([^"]*)"', page.body):
        check(link.startswith("/") or link.startswith("data:"), f"the page loads {link}")
    for path, kind in (("/app.js", "text/javascript; charset=utf-8"), ("/style.css", "text/css; charset=utf-8")):
        r = web.get(path, token="cookie")
        check(r.status == 200 and r.header("Content-Type") == kind and r.body, f"{path}: {r.status}")
        check("http://" not in r.body and "https://" not in r.body, f"{path} refers to another site")
    check("innerHTML" not in web.get("/app.js").body, "app.js uses innerHTML")

    # Host: only this server's own address (DNS rebinding sends another name), and only our port.
    for host in ("evil.example:%d" % web.port, "127.0.0.1:%d" % (web.port + 1 if web.port < 65535 else 1),
                 "127.0.0.1.nip.io:%d" % web.port, ""):
        check_error(web.get("/api/self", headers={"Host": host}), 403, 2, f"Host {host!r}")
    for host in (f"localhost:{web.port}", f"127.0.0.1:{web.port}"):
        check(web.get("/api/self", headers={"Host": host}).status == 200, f"Host {host} refused")

    # Origin: another site's page may not read or act.
    for origin in ("http://evil.example", f"http://localhost:{web.port + 1}", "null", f"https://{web.authority}"):
        check_error(web.get("/api/self", headers={"Origin": origin}), 403, 2, f"GET with Origin {origin}")
        check_error(web.post("/api/connect", {"address": "127.0.0.1:1"}, headers={"Origin": origin}), 403, 2,
                    f"POST with Origin {origin}")
        check_error(web.request("OPTIONS", "/api/connect", headers={"Origin": origin,
                                "Access-Control-Request-Method": "POST"}), 403, 2, f"preflight from {origin}")
    check(web.get_json("/api/failures") == [], "a cross-origin POST connected anyway")
    r = web.post("/api/connect", {"address": "nohost"}, headers={"Origin": f"http://{web.authority}"})
    check_error(r, 400, 2, "a same-origin POST")  # it got past the checks to the address check

    # A hostile name is data: the JSON string is the name exactly, for the page to show as text.
    files = web.get_json("/api/files")
    check(files == [{"name": HOSTILE, "size": len(b"<script>alert(2)</script>")}], f"files: {files}")
    check(a.stop() == 0, "A did not exit 0")
    print("security: 401 without the token, POST only with the header, 403 for other Hosts and Origins")


def scenario_shutdown(h, args):
    for sig in (signal.SIGINT, signal.SIGTERM):
        a, a_id, a_port, web = h.web_serve(f"A-{sig.name}", h.path(f"a-{sig.name}"))
        streams = [web.events(), web.events(token="query")]
        check(all(s.status == 200 for s in streams), "event streams")
        web.get_json("/api/self")  # a keep-alive connection besides
        start = time.monotonic()
        a.proc.send_signal(sig)
        a.wait_for(r"^Shutting down peer\.\.\.$")
        a.wait_for(rf"^Peer {a_id} stopped$")
        code = a.exit_code()
        elapsed = time.monotonic() - start
        check(code == 0, f"{sig.name}: exit {code}: {a.stderr_tail()}")
        check(elapsed < 5, f"{sig.name}: took {elapsed:.1f} s to stop with open event streams")
        for s in streams:
            kinds = [k for k, _, _ in s.wait_end()]
            check(kinds[-2:] == ["stopping", "stopped"], f"{sig.name}: the stream ended with {kinds}")
        try:
            web.get("/api/self", timeout=2)
            raise failure(f"{sig.name}: the web interface still answers after the peer stopped")
        except OSError:
            pass
        print(f"shutdown: {sig.name} with two event streams open: 'stopping', 'stopped', exit 0 in {elapsed:.2f} s")


def scenario_menu(h, args):
    b, b_id, b_port = h.serve("B", make_folder(h.path("b"), {"b.txt": b"b"}))
    m = process("menu", [h.peer, "0", h.path("m"), "--bind", "127.0.0.1", "--web", "0"], h.dir,
                stdin=subprocess.PIPE)
    m_id = m.wait_for(STARTED, STARTUP_S).group(1)
    web = client(m.wait_for(WEB_LINE).group(1))
    m.wait_for(r"^1\. List local files$")
    stream = web.events()
    # The menu waits at its prompt; the API acts meanwhile, and the menu prints what happened.
    r = web.post("/api/connect", {"address": f"127.0.0.1:{b_port}"})
    check(r.status == 200, f"connect from the API while the menu waits: {r.status} {r.body}")
    m.wait_for(rf"Connected to peer {b_id} at 127\.0\.0\.1:{b_port} \(1 file available\)$")
    r = web.post("/api/downloads", {"name": "b.txt", "from": b_id})
    check(r.status == 202, f"download from the API: {r.status} {r.body}")
    m.wait_for(rf"Got file b\.txt from peer {b_id} ")
    check(read(h.path("m", "b.txt")) == b"b", "b.txt differs")
    m.send("2")
    m.wait_for(rf"^  Peer {b_id} at 127\.0\.0\.1:{b_port}:$")
    m.send("5")
    m.wait_for(rf"^Peer {m_id} stopped$")
    check(m.exit_code() == 0, "the menu did not exit 0")
    kinds = [k for k, _, _ in stream.wait_end()]
    check(kinds[-2:] == ["stopping", "stopped"], f"the menu's event stream ended with {kinds}")
    check(b.stop() == 0, "B did not exit 0")
    print("menu: --web beside the menu; API actions show in the menu; 5 ends the web interface too")


def scenario_options(h, args):
    folder = h.path("unused")
    for argv in (["serve", "0", folder, "--web", "0.0.0.0:0"], ["0", folder, "--web", "[::]:0"],
                 ["serve", "0", folder, "--web", "bogus"], ["serve", "0", folder, "--web", "70000"],
                 ["serve", "0", folder, "--web", "example.com:80"], ["serve", "0", folder, "--web-allow-remote"],
                 ["ls", "127.0.0.1:5000", "--web", "0"], ["get", "127.0.0.1:5000", "x", "--web", "0"],
                 ["hash", os.path.abspath(__file__), "--web", "0"]):
        code, out, err = h.run(*argv, timeout=10)
        check(code == 2 and err.strip(), f"p2p-peer {' '.join(argv)}: expected usage error 2, got {code}: {err}")
    check(not os.path.exists(folder), "a refused --web created the folder")
    code, out, err = h.run("serve", "0", folder, "--web", "0.0.0.0:0", timeout=10)
    check("--web-allow-remote" in err, f"the refusal does not say what to add: {err}")

    # Allowed remote: a warning on stderr, and a URL a browser on this machine can open.
    a = process("remote", [h.peer, "serve", "0", h.path("r"), "--bind", "127.0.0.1", "--web", "0.0.0.0:0",
                           "--web-allow-remote"], h.dir)
    a.wait_for(STARTED, STARTUP_S)
    url = a.wait_for(WEB_LINE).group(1)
    check(url.startswith("http://127.0.0.1:"), f"remote URL: {url}")
    web = client(url)
    check(web.get("/api/self").status == 200, "the remote-bound web interface does not answer on 127.0.0.1")
    check(a.stop() == 0, "remote did not exit 0")
    check(re.search(r"warning: the web interface listens on 0\.0\.0\.0:\d+, beyond this machine",
                    a.stderr_tail()), f"no warning on stderr: {a.stderr_tail()}")

    # A port in use: one line, exit 1.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        code, out, err = h.run("serve", "0", h.path("busy"), "--bind", "127.0.0.1", "--web",
                               f"127.0.0.1:{s.getsockname()[1]}", timeout=15)
    check(code == 1 and len(err.strip().splitlines()) == 1 and "cannot listen" in err, f"port in use: {code} {err}")
    print("options: remote binds need --web-allow-remote and warn; bad addresses exit 2; a busy port exits 1")


SCENARIOS = {"api": scenario_api, "events": scenario_events, "security": scenario_security,
             "shutdown": scenario_shutdown, "menu": scenario_menu, "options": scenario_options}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--peer", required=True, help="the p2p-peer binary")
    parser.add_argument("--tap", help="the p2p-tap binary (its relay slows a transfer down to cancel it)")
    parser.add_argument("--work", default="/tmp", help="folder for the test's files")
    args = parser.parse_args()
    h = harness(args.peer, args.work, args.scenario)
    return run_scenario(lambda: SCENARIOS[args.scenario](h, args), h.dir)


if __name__ == "__main__":
    sys.exit(main())
