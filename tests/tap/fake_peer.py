#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_peer.py - a small stand-in for `p2p-peer serve` and `p2p-peer get`, speaking the wire protocol of
docs/protocol.md (include/p2p/message.hpp), so the p2p-tap tests can run before the real peer exists.

    fake_peer.py serve <port> <dir> [--bind ADDR]   prints "Peer <id> started on <host>:<port>", runs until SIGINT
    fake_peer.py get <host:port> <file> [--dir D]   downloads one file, checks its length, exits 0 on success

It is deliberately simple (whole files in memory, go-back-N on a timer) but survives lost CHUNK and ACK frames, which
is what `p2p-tap relay --drop` needs. Python's standard library has no BLAKE3 (tests/cli/manifest_ref.py has one, far
too slow for megabytes), so it does not address files by content: its OFFER names the root 32 zero bytes, it answers
GET_MANIFEST with NOT_FOUND, and its get checks no root. A real peer refuses its files; it only ever talks to itself.
"""
import argparse
import os
import secrets
import signal
import sys
import time

import msgpack
import zmq

VERSION = 9
(HELLO, FILE_LIST, REQUEST, OFFER, CHUNK, ACK, NOT_FOUND, ABORT, PING, PONG, GOODBYE, PREPARING, CANCEL, GET_MANIFEST,
 MANIFEST, PEERS) = range(1, 17)
PIECE_SIZE = 1 << 20
NO_ROOT = bytes(32)
MAX_FRAME = (4 << 20) + (64 << 10)
SERVER_MAX_CHUNK = 1 << 20
RETRANSMIT_S = 0.25  # go back to the last acknowledged byte after this much silence
CLIENT_CHUNK = 64 << 10
CLIENT_CREDIT = 4
MAX_WINDOW_BYTES = 64 << 20  # a holder keeps at most this much of one transfer in flight, whatever the credit


def pack(*fields):
    return msgpack.packb([VERSION, *fields], use_bin_type=True)


def unpack(frame):
    value = msgpack.unpackb(frame, raw=False)
    if not isinstance(value, list) or len(value) < 2 or value[0] != VERSION:
        raise ValueError("not a p2p message")
    return value[1], value[2:]


def new_id():
    value = 0
    while value == 0:
        value = secrets.randbits(64)
    return value


def socket_options(sock):
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME)


class transfer:
    """One upload: the file's bytes, what was acknowledged, what was sent, the receiver's credit (held to
    MAX_WINDOW_BYTES), and the time spent sending it (CHUNK's holder-busy, in microseconds)."""

    def __init__(self, data, offset, chunk, credit):
        self.data, self.chunk = data, chunk
        self.set_credit(credit)
        self.acked = self.next = offset
        self.deadline = None
        self.busy_us = 0

    def set_credit(self, credit):
        self.credit = min(credit, max(1, MAX_WINDOW_BYTES // self.chunk))

    def in_flight(self):
        return (self.next - self.acked + self.chunk - 1) // self.chunk


def serve(args):
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    socket_options(router)
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    router.bind(f"tcp://{args.bind}:{args.port if args.port else '*'}")
    endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
    host_port = endpoint[len("tcp://"):]
    self_id = new_id()
    files = sorted(
        (name, os.path.getsize(os.path.join(args.dir, name)))
        for name in os.listdir(args.dir)
        if os.path.isfile(os.path.join(args.dir, name))
    )
    print(f"Peer {self_id:016x} started on {host_port}", flush=True)

    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    known = set()
    transfers = {}  # (routing id, transfer id) -> transfer

    def send(rid, body, payload=None):
        try:
            router.send_multipart([rid, body] + ([payload] if payload is not None else []))
        except zmq.ZMQError:
            pass  # the peer is gone

    def pump(rid, tid, t):
        size = len(t.data)
        while t.next < size and t.in_flight() < t.credit:
            started = time.monotonic()
            piece = t.data[t.next:t.next + t.chunk]
            send(rid, pack(CHUNK, tid, t.next, t.next + len(piece) >= size, t.busy_us), piece)
            t.next += len(piece)
            t.busy_us += int((time.monotonic() - started) * 1e6)
        t.deadline = time.monotonic() + RETRANSMIT_S if t.next > t.acked else None

    while not stop:
        deadlines = [t.deadline for t in transfers.values() if t.deadline]
        wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else 0.2
        try:
            ready = router.poll(int(min(wait, 0.2) * 1000) + 1)
        except zmq.ZMQError:
            continue
        now = time.monotonic()
        for key, t in list(transfers.items()):
            if t.deadline and now >= t.deadline:
                t.next = t.acked  # go-back-N: resend everything not yet acknowledged
                pump(key[0], key[1], t)
        if not ready:
            continue
        frames = router.recv_multipart()
        rid, body = frames[0], frames[1]
        try:
            kind, fields = unpack(body)
        except Exception:
            continue
        if kind == HELLO:
            known.add(rid)
            send(rid, pack(HELLO, self_id, "tcp://" + host_port, 1, False))
            send(rid, pack(FILE_LIST, 1, 0, 1, [[n, s, None] for n, s in files]))
        elif rid not in known:
            continue  # nothing before HELLO
        elif kind == PING:
            send(rid, pack(PONG))
        elif kind == REQUEST:
            tid, name, offset, chunk, credit = fields
            if name not in dict(files):
                send(rid, pack(NOT_FOUND, tid, name, "no such file"))
                continue
            with open(os.path.join(args.dir, name), "rb") as f:
                data = f.read()
            chunk = min(chunk, SERVER_MAX_CHUNK)
            send(rid, pack(OFFER, tid, len(data), NO_ROOT, PIECE_SIZE, chunk))
            t = transfer(data, offset, chunk, credit)
            if (rid, tid) in transfers:
                t.busy_us = transfers[(rid, tid)].busy_us  # holder-busy never goes back within a transfer
            transfers[(rid, tid)] = t
            pump(rid, tid, t)
        elif kind == GET_MANIFEST:
            send(rid, pack(NOT_FOUND, fields[0], "", "this stand-in keeps no manifests"))
        elif kind == ACK:
            tid, next_offset, credit = fields
            t = transfers.get((rid, tid))
            if t is None:
                continue
            t.acked = max(t.acked, next_offset)
            t.set_credit(credit)
            if t.acked >= len(t.data):
                del transfers[(rid, tid)]
                continue
            t.next = max(t.next, t.acked)
            pump(rid, tid, t)
        elif kind == GOODBYE:
            known.discard(rid)
            for key in [k for k in transfers if k[0] == rid]:
                del transfers[key]
    return 0


def get(args):
    host, _, port = args.address.rpartition(":")
    ctx = zmq.Context()
    listener = ctx.socket(zmq.ROUTER)  # only so that HELLO names a real endpoint
    socket_options(listener)
    listener.bind("tcp://127.0.0.1:*")
    self_id = new_id()
    dealer = ctx.socket(zmq.DEALER)
    socket_options(dealer)
    dealer.setsockopt(zmq.ROUTING_ID, f"{self_id:016x}".encode())
    dealer.connect(f"tcp://{host}:{port}")
    dealer.send(pack(HELLO, self_id, listener.getsockopt_string(zmq.LAST_ENDPOINT), 0, True))
    dealer.send(pack(FILE_LIST, 0, 0, 1, []))

    give_up = time.monotonic() + args.timeout
    listed = None
    offer = None
    received = bytearray()
    while time.monotonic() < give_up:
        if not dealer.poll(1000):
            if offer is not None:
                dealer.send(pack(ACK, 1, len(received), CLIENT_CREDIT))  # our last ACK may have been lost
            continue
        frames = dealer.recv_multipart()
        kind, fields = unpack(frames[0])
        if kind == PING:
            dealer.send(pack(PONG))
        elif kind == FILE_LIST and listed is None:
            listed = {entry[0]: entry[1] for entry in fields[3]}
            if args.file not in listed:
                print(f"get: {args.file} is not listed by {args.address}", file=sys.stderr)
                return 1
            dealer.send(pack(REQUEST, 1, args.file, 0, CLIENT_CHUNK, CLIENT_CREDIT))
        elif kind == NOT_FOUND:
            print(f"get: {args.file}: {fields[2]}", file=sys.stderr)
            return 1
        elif kind == OFFER:
            offer = fields
        elif kind == CHUNK and offer is not None:
            _, offset, _last, _holder_busy = fields
            if offset == len(received):
                received += frames[1]
            dealer.send(pack(ACK, 1, len(received), CLIENT_CREDIT))
            if len(received) >= offer[1]:
                if len(received) != offer[1]:
                    print("get: more bytes than offered", file=sys.stderr)
                    return 1
                os.makedirs(args.dir, exist_ok=True)
                temp = os.path.join(args.dir, f".p2p-{self_id:016x}.part")
                with open(temp, "wb") as f:
                    f.write(received)
                os.replace(temp, os.path.join(args.dir, args.file))
                dealer.send(pack(GOODBYE))
                print(f"get: {args.file}: {len(received)} bytes", flush=True)
                return 0
    print(f"get: {args.file}: no progress within {args.timeout} s", file=sys.stderr)
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    s.add_argument("dir")
    s.add_argument("--bind", default="0.0.0.0")
    g = sub.add_parser("get")
    g.add_argument("address")
    g.add_argument("file")
    g.add_argument("--dir", default=".")
    g.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    return serve(args) if args.command == "serve" else get(args)


if __name__ == "__main__":
    sys.exit(main())
