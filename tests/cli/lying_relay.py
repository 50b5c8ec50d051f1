#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lying_relay.py - a holder that lies about one piece: a relay in front of a real `p2p-peer serve` that forwards
every frame unchanged both ways (as `p2p-tap relay` does) except one byte of the first CHUNK payload it passes on,
which it flips. So the manifest, the OFFER and every other piece are the real holder's, and exactly one piece is
wrong: what a holder with a bad disk sector or a malicious one serves. Used by tests/cli/multi_source_test.py.

    lying_relay.py --to HOST:PORT [--bind ADDR]

Prints "relay listening on tcp://ADDR:PORT" once it listens, "flipped byte OFFSET of transfer T" when it has lied,
and runs until SIGINT or SIGTERM. Speaks only the transport of docs/protocol.md: a ROUTER for the peers that connect,
and for each routing id a DEALER to the target with the same routing id, so the target sees the real peer id.
"""
import argparse
import signal
import sys

import msgpack
import zmq

CHUNK = 5  # docs/protocol.md: CHUNK = array-6 version %d5 transfer offset last holder-busy, then the payload frame
MAX_FRAME = (4 << 20) + (64 << 10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", required=True, help="the real holder, host:port")
    parser.add_argument("--bind", default="127.0.0.1")
    args = parser.parse_args()

    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME)
    router.bind(f"tcp://{args.bind}:*")
    print(f"relay listening on {router.getsockopt_string(zmq.LAST_ENDPOINT)}", flush=True)

    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    poller = zmq.Poller()
    poller.register(router, zmq.POLLIN)
    dealers = {}  # routing id -> DEALER to the target
    owner = {}  # DEALER -> routing id
    lied = False

    def dealer_for(rid):
        if rid not in dealers:
            d = ctx.socket(zmq.DEALER)
            d.setsockopt(zmq.LINGER, 0)
            d.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME)
            d.setsockopt(zmq.ROUTING_ID, rid)
            d.connect(f"tcp://{args.to}")
            dealers[rid], owner[d] = d, rid
            poller.register(d, zmq.POLLIN)
        return dealers[rid]

    while not stop:
        try:
            ready = dict(poller.poll(200))
        except zmq.ZMQError:
            continue  # a signal
        for sock in ready:
            if sock is router:
                frames = router.recv_multipart(copy=False)
                if len(frames) >= 2:
                    dealer_for(frames[0].bytes).send_multipart(frames[1:], copy=False)
                continue
            frames = sock.recv_multipart(copy=False)
            if not lied and len(frames) == 2 and len(frames[1]) > 0:
                body = msgpack.unpackb(frames[0].bytes, raw=False)
                if isinstance(body, list) and len(body) >= 4 and body[1] == CHUNK:
                    payload = bytearray(frames[1].bytes)
                    where = len(payload) // 2
                    payload[where] ^= 0x01
                    frames[1] = zmq.Frame(bytes(payload))
                    lied = True
                    print(f"flipped byte {body[3] + where} of transfer {body[2]}", flush=True)
            router.send_multipart([owner[sock], *frames], copy=False)
    for d in dealers.values():
        d.close()
    router.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
