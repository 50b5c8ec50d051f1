#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""manifest_ref.py - file ids of docs/manifest.md from the definitions alone, in Python's standard library: a pure
Python BLAKE3 (hash mode, 32-byte output, written from the BLAKE3 paper) and the piece, leaf, tree and file-root
rules. Independent of the C++ code, so tests/cmake/cli_tests.cmake checks `p2p-peer hash` against it; slow
(tens of KB/s), so for small files.

    manifest_ref.py [--piece-size N] FILE...     prints "<root hex>  <file>" per file, as p2p-peer hash does
    manifest_ref.py --self-test                  checks BLAKE3 against official test vectors
"""
import argparse
import struct
import sys

MASK = 0xFFFFFFFF
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
CHUNK_START, CHUNK_END, PARENT, ROOT = 1, 2, 4, 8
CHUNK_LEN, BLOCK_LEN = 1024, 64


def _compress(cv, block, counter, block_len, flags):
    """BLAKE3's compression function; returns the 8-word chaining value."""
    m = list(struct.unpack("<16I", block.ljust(BLOCK_LEN, b"\0")))
    s = list(cv) + list(IV[:4]) + [counter & MASK, (counter >> 32) & MASK, block_len, flags]

    def g(a, b, c, d, x, y):
        sa = (s[a] + s[b] + x) & MASK
        sd = s[d] ^ sa
        sd = ((sd >> 16) | (sd << 16)) & MASK
        sc = (s[c] + sd) & MASK
        sb = s[b] ^ sc
        sb = ((sb >> 12) | (sb << 20)) & MASK
        sa = (sa + sb + y) & MASK
        sd ^= sa
        sd = ((sd >> 8) | (sd << 24)) & MASK
        sc = (sc + sd) & MASK
        sb ^= sc
        sb = ((sb >> 7) | (sb << 25)) & MASK
        s[a], s[b], s[c], s[d] = sa, sb, sc, sd

    for r in range(7):
        g(0, 4, 8, 12, m[0], m[1])
        g(1, 5, 9, 13, m[2], m[3])
        g(2, 6, 10, 14, m[4], m[5])
        g(3, 7, 11, 15, m[6], m[7])
        g(0, 5, 10, 15, m[8], m[9])
        g(1, 6, 11, 12, m[10], m[11])
        g(2, 7, 8, 13, m[12], m[13])
        g(3, 4, 9, 14, m[14], m[15])
        if r < 6:
            m = [m[i] for i in PERMUTATION]
    return [s[i] ^ s[i + 8] for i in range(8)]


def _chunk_cv(chunk, index, root):
    cv = IV
    blocks = [chunk[i:i + BLOCK_LEN] for i in range(0, len(chunk), BLOCK_LEN)] or [b""]
    for i, block in enumerate(blocks):
        flags = (CHUNK_START if i == 0 else 0) | (CHUNK_END if i == len(blocks) - 1 else 0)
        if root and i == len(blocks) - 1:
            flags |= ROOT
        cv = _compress(cv, block, index, len(block), flags)
    return cv


def _subtree_cv(data, first_chunk, chunks, root):
    """Chaining value of `chunks` chunks from first_chunk on: the left subtree holds the largest power of two
    of chunks below the total, as in the BLAKE3 paper."""
    if chunks == 1:
        start = first_chunk * CHUNK_LEN
        return _chunk_cv(data[start:start + CHUNK_LEN], first_chunk, root)
    left = 1 << ((chunks - 1).bit_length() - 1)
    lcv = _subtree_cv(data, first_chunk, left, False)
    rcv = _subtree_cv(data, first_chunk + left, chunks - left, False)
    block = struct.pack("<16I", *lcv, *rcv)
    return _compress(IV, block, 0, BLOCK_LEN, PARENT | (ROOT if root else 0))


def blake3(data):
    """BLAKE3 of data, 32 bytes."""
    chunks = max(1, (len(data) + CHUNK_LEN - 1) // CHUNK_LEN)
    return struct.pack("<8I", *_subtree_cv(bytes(data), 0, chunks, True))


# docs/manifest.md
LEAF, NODE, FILE = b"\x00", b"\x01", b"\x02"
MIN_PIECE, MAX_PIECES = 1 << 20, 32768


def piece_size_for(size):
    piece = MIN_PIECE
    while max(1, -(-size // piece)) > MAX_PIECES:
        piece *= 2
    return piece


def leaf(piece):
    return blake3(LEAF + piece)


def node(left, right):
    return blake3(NODE + left + right)


def mth(leaves):
    """RFC 6962 section 2.1: split at the largest power of two below n; one leaf is its own root."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(mth(leaves[:k]), mth(leaves[k:]))


def file_root(size, piece_size, tree_root):
    return blake3(FILE + struct.pack("<QI", size, piece_size) + tree_root)


def file_id(data, piece_size=None):
    piece_size = piece_size or piece_size_for(len(data))
    pieces = [data[i:i + piece_size] for i in range(0, len(data), piece_size)] or [b""]
    return file_root(len(data), piece_size, mth([leaf(p) for p in pieces]))


# The first 32 bytes of "hash" in BLAKE3's test_vectors/test_vectors.json; input i is bytes i % 251.
OFFICIAL_VECTORS = {
    0: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    1: "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
    1023: "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11",
    1024: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
    1025: "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
    2048: "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a",
    3073: "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3",
    8193: "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b",
    31744: "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47",
}


def self_test():
    for length, expected in OFFICIAL_VECTORS.items():
        got = blake3(bytes(i % 251 for i in range(length))).hex()
        if got != expected:
            print(f"BLAKE3 of {length} bytes: {got}, expected {expected}")
            return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*")
    parser.add_argument("--piece-size", type=int, help="piece size (default: the piece size rule)")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        ok = self_test()
        print("BLAKE3 self-test:", "ok" if ok else "FAILED")
        return 0 if ok else 1
    for name in args.files:
        with open(name, "rb") as f:
            print(f"{file_id(f.read(), args.piece_size).hex()}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
