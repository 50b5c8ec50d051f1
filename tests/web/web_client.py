# SPDX-License-Identifier: MIT
"""Shared by the web tests (web_api_test.py, web_browser_test.py): starting peers with --web, a small HTTP client
for the JSON API (stdlib http.client only), and an event-stream reader that waits for events with a deadline."""

import http.client
import json
import os
import queue
import re
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from child_process import check, failure, process, run, run_scenario  # noqa: E402
from test_files import make_folder, read  # noqa: E402,F401

STARTUP_S = 15  # deadline for a peer to print its start lines
STEP_S = 20  # deadline for one step (an answer, an event)
TRANSFER_S = 90  # deadline for one download
SKIP = 77  # CTest's SKIP_RETURN_CODE
STARTED = r"Peer (\S+) started on \S+:(\d+)"
WEB_LINE = r"^Web interface: (http://\S+)$"

process.default_timeout = STEP_S


class harness:
    """Folders under the work directory and peers started from the p2p-peer binary."""

    def __init__(self, peer, work, name):
        self.peer = peer
        os.makedirs(work, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"{name}-", dir=work)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, *argv, timeout=60):
        return run([self.peer, *argv], timeout)

    def serve(self, name, folder, *extra):
        """A serving peer on a free port of 127.0.0.1; returns (process, id, port)."""
        p = process(name, [self.peer, "serve", "0", folder, "--bind", "127.0.0.1", *extra], self.dir)
        match = p.wait_for(STARTED, STARTUP_S)
        return p, match.group(1), int(match.group(2))

    def web_serve(self, name, folder, *extra):
        """A serving peer with --web 0; returns (process, id, port, client)."""
        p, peer_id, port = self.serve(name, folder, "--web", "0", *extra)
        url = p.wait_for(WEB_LINE, STARTUP_S).group(1)
        return p, peer_id, port, client(url)


class response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names -> list of values
        self.body = body

    def header(self, name):
        values = self.headers.get(name.lower(), [])
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)


class client:
    """The JSON API of one peer, at the URL it printed ("http://127.0.0.1:PORT/?token=...")."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self.host = parts.hostname
        self.port = parts.port
        self.token = urllib.parse.parse_qs(parts.query)["token"][0]
        self.authority = f"{self.host}:{self.port}"

    def request(self, method, path, body=None, token="header", headers=None, content_type="application/json",
                timeout=STEP_S):
        """One request. token: "header" (X-P2P-Token), "query" (?token=), "cookie", a literal string (sent as the
        header), or None. body: a dict/list (sent as JSON), bytes/str (sent as is) or None."""
        all_headers = {"Host": self.authority}
        if token == "header":
            all_headers["X-P2P-Token"] = self.token
        elif token == "cookie":
            all_headers["Cookie"] = f"p2p-token-{self.port}={self.token}"
        elif token == "query":
            path += ("&" if "?" in path else "?") + "token=" + self.token
        elif token is not None:
            all_headers["X-P2P-Token"] = token
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
        if method == "POST" and content_type is not None:
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in all_headers.items():
                connection.putheader(name, value)
            if data is not None or method == "POST":
                connection.putheader("Content-Length", str(len(data or b"")))
            connection.endheaders(data)
            r = connection.getresponse()
            headers_seen = {}
            for name, value in r.getheaders():
                headers_seen.setdefault(name.lower(), []).append(value)
            return response(r.status, headers_seen, r.read().decode("utf-8", "replace"))
        finally:
            connection.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def get_json(self, path):
        r = self.get(path)
        check(r.status == 200, f"GET {path}: {r.status} {r.body}")
        return r.json()

    def wait_until(self, path, predicate, timeout=STEP_S, what=None):
        """Polls GET path until predicate(json) holds; the last value. No fixed sleep decides the outcome: each poll
        follows the previous answer after a short pause, until the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.get_json(path)
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                raise failure(f"GET {path}: {what or 'condition'} not met within {timeout} s; last: {value}")
            time.sleep(0.05)

    def events(self, token="header"):
        return event_stream(self, token)


class event_stream:
    """GET /api/events, read by a thread: each event as (kind, data dict, raw data line)."""

    def __init__(self, web, token="header"):
        path = "/api/events"
        headers = {"Host": web.authority}
        if token == "header":
            headers["X-P2P-Token"] = web.token
        elif token == "query":
            path += "?token=" + web.token
        self.connection = http.client.HTTPConnection(web.host, web.port, timeout=STEP_S)
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.content_type = self.response.getheader("Content-Type")
        self.events = queue.Queue()
        self.seen = []
        self.ended = False
        if self.status == 200:
            # The socket keeps its STEP_S timeout: the server sends a comment every 10 s on a quiet stream, so only a
            # server that hangs makes the read time out (and the stream end).
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        kind, data = None, None
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    kind = line[len("event: "):]
                elif line.startswith("data: "):
                    data = line[len("data: "):]
                elif line == "" and kind is not None:
                    self.events.put((kind, json.loads(data), data))
                    kind, data = None, None
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            # The connection was closed under the reader (close()), or the server ended it: either way, the end.
            pass
        self.events.put(None)

    def wait_for(self, kind, predicate=lambda data: True, timeout=STEP_S):
        """The next event of this kind matching predicate; events before it are kept in self.seen."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise failure(f"no {kind} event within {timeout} s; seen: {[k for k, _, _ in self.seen]}") from None
            if item is None:
                self.ended = True
                self.events.put(None)
                raise failure(f"the event stream ended before a {kind} event; seen: {[k for k, _, _ in self.seen]}")
            self.seen.append(item)
            if item[0] == kind and predicate(item[1]):
                return item

    def wait_end(self, timeout=STEP_S):
        """Waits until the server ends the stream; the events that came before."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise failure(f"the event stream did not end within {timeout} s") from None
            if item is None:
                self.ended = True
                return self.seen
            self.seen.append(item)

    def close(self):
        self.connection.close()


def json_lines(p):
    """Every line p printed so far that parses as a JSON object."""
    out = []
    for line in p.output:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append((value, line))
    return out


def wait_json_line(p, event, predicate=lambda value: True, timeout=STEP_S):
    """Waits for p (serve --json) to print an event of this kind; (value, line)."""
    deadline = time.monotonic() + timeout
    pattern = re.compile(r'^\{"event":"' + re.escape(event) + '"')
    while True:
        match = p.wait_for(pattern.pattern, max(0.1, deadline - time.monotonic()))
        line = match.string
        value = json.loads(line)
        if predicate(value):
            return value, line
        if time.monotonic() > deadline:
            raise failure(f"{p.name}: no {event} line matching within {timeout} s")
