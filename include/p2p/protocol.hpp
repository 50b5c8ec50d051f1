// SPDX-License-Identifier: MIT
// protocol.hpp - wire constants and limits of the p2p protocol, in one place.
//
// docs/protocol.md is the grammar these numbers belong to; change both together.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace p2p::protocol {

/// Protocol version carried as the first element of every frame. 2: CANCEL (type 13) split from ABORT, so that a
/// transfer number is always the downloader's and each message says by its type which way it goes. 3: HELLO says
/// whether the sender is a one-shot client (it shares nothing and is no member of the other's peer list). 4: names are
/// relative paths ("sub/a.txt"), so folders with subfolders are shared. 5: files are addressed by the root of a BLAKE3
/// manifest (OFFER carries root and piece size, GET_MANIFEST/MANIFEST carry the leaves) and every piece is checked
/// when it is complete, instead of one BLAKE2b over the whole file at the end. 6: FILE_LIST entries carry the file's
/// root where the holder knows it (nil until it has hashed that version). 7: PEERS (type 16), peer exchange: the peers
/// the sender reached itself, so that the receiver can connect to them. 8: CHUNK carries holder-busy (the holder's
/// time spent serving the transfer, so the receiver can tell a slow holder from a slow network), and credit is
/// 1..max_credit chunks, the holder keeping at most max_window_bytes of one transfer in flight. 9: probes, a
/// connection under a routing id of the form probe_routing_id.hpp gives, which the ROUTER answers with HELLO and
/// nothing else, so that a peer can learn at once that an address reaches a peer it is connected to already.
inline constexpr std::uint32_t version = 9;

/// Longest path component of a file name, in bytes (as POSIX NAME_MAX).
inline constexpr std::size_t max_name_bytes = 255;
/// Longest file name on the wire, in bytes: a relative path of components joined by '/'.
inline constexpr std::size_t max_path_bytes = 1024;
/// Most components in one file name ("a/b/c.txt" has 3): a shared tree is at most 15 folders deep.
inline constexpr std::size_t max_path_depth = 16;
/// Longest endpoint string in HELLO ("tcp://[v6 address]:port" or "inproc://name").
inline constexpr std::size_t max_endpoint_bytes = 256;
/// Longest human-readable reason in NOT_FOUND and ABORT.
inline constexpr std::size_t max_reason_bytes = 256;
/// Longest string field of any kind (a file name): the msgpack str limit handed to the unpacker.
inline constexpr std::size_t max_string_bytes = max_path_bytes;

/// Entries in one FILE_LIST page; also the msgpack array limit.
inline constexpr std::size_t files_per_page = 1000;
/// Pages in one FILE_LIST; so a peer lists at most files_per_page * max_pages files.
inline constexpr std::size_t max_pages = 200;
inline constexpr std::size_t max_files = files_per_page * max_pages;

/// Entries in one PEERS message: the most peers one peer tells another about at once.
inline constexpr std::size_t max_peer_refs = 64;
/// Length of a Z85 public key in PEERS (32 bytes in 40 characters).
inline constexpr std::size_t key_chars = 40;

/// Length of a root or leaf (BLAKE3-256).
inline constexpr std::size_t hash_bytes = 32;
/// Most leaves in one MANIFEST page (256 KiB of them): the largest manifest (32768 leaves) takes 4 pages.
inline constexpr std::size_t leaves_per_page = 8192;

/// Smallest and largest chunk a peer may ask for or send.
inline constexpr std::uint32_t min_chunk_size = 1;
inline constexpr std::uint32_t max_chunk_size = 4u << 20;
/// Default chunk: chosen from bench/ results (see docs/performance.md), not by guess.
inline constexpr std::uint32_t default_chunk_size = 1u << 20;
/// Largest credit (REQUEST, ACK) on the wire, in chunks. What a holder lets be in flight is bounded in bytes, by
/// max_window_bytes; this only bounds the number so that small chunks can still fill a long, fast path.
inline constexpr std::uint32_t max_credit = 65536;
/// Most bytes a holder has in flight for one transfer, whatever credit it is given: it takes at most
/// max(1, max_window_bytes / chunk size) chunks of credit (64 with the default 1 MiB chunks, 1024 with 64 KiB).
inline constexpr std::uint64_t max_window_bytes = 64u << 20;
/// Credit in chunks a holder takes for chunks of `chunk_size` bytes: the byte bound in whole chunks, at least one.
constexpr std::uint32_t max_window_chunks(std::uint32_t chunk_size) {
    const std::uint64_t chunks = chunk_size == 0 ? max_credit : max_window_bytes / chunk_size;
    return static_cast<std::uint32_t>(chunks < 1 ? 1 : (chunks > max_credit ? max_credit : chunks));
}

/// Largest body frame (everything but a CHUNK payload): a full FILE_LIST page of 1024-byte names fits (each entry
/// at most 1 + 3 + 1024 + 9 + 2 + 32 bytes: 1,071,000 bytes for 1000 of them, plus the head).
inline constexpr std::size_t max_body_bytes = 1056u << 10;
/// Largest frame of any kind; handed to ZMQ_MAXMSGSIZE so libzmq drops bigger ones before allocating.
inline constexpr std::size_t max_frame_bytes = max_chunk_size + (64u << 10);

/// The UDP port of LAN discovery beacons (beacon.hpp, docs/protocol.md "LAN beacons"), unless --discover-port says
/// otherwise.
inline constexpr std::uint16_t default_discover_port = 7421;

} // namespace p2p::protocol
