// SPDX-License-Identifier: MIT
// message.hpp - the messages peers exchange, as plain values.
//
// Every frame is one msgpack array [version, type, fields...]; CHUNK adds a second ZeroMQ frame with the raw bytes.
// docs/protocol.md has the grammar. In short:
//
//   type  name       fields                                         direction
//   1     HELLO      id, endpoint, list_version, client             both, first on every connection
//   2     FILE_LIST  list_version, page, page_count, [[name,size]]  both, after HELLO and on change
//   3     REQUEST    transfer, name, offset, chunk_size, credit     downloader -> holder
//   4     OFFER      transfer, size, root, piece_size, chunk_size   holder -> downloader, before the first CHUNK
//   5     CHUNK      transfer, offset, last, holder_busy + payload  holder -> downloader
//   6     ACK        transfer, next_offset, credit                  downloader -> holder
//   7     NOT_FOUND  transfer, name, reason                         holder -> downloader
//   8     ABORT      transfer, reason                               holder -> downloader: it stops serving
//   9     PING                                                      either
//   10    PONG                                                      answer to PING
//   11    GOODBYE                                                   either, last message
//   12    PREPARING  transfer, size                                 holder -> downloader, while it hashes
//   13    CANCEL     transfer, reason                               downloader -> holder: it stops downloading
//   14    GET_MANIFEST transfer, root, first                        downloader -> holder: leaves from `first` on
//   15    MANIFEST   transfer, first, leaves                        holder -> downloader: one page of leaves
//   16    PEERS      [[id, endpoint, key]]                          both: peers the sender reached itself
//
// `transfer` is always the downloader's number: the type of a message says which way it goes, and so whose
// transfer it names (a peer can hold our transfer 1 while it downloads its own transfer 1 from us).
#pragma once

#include "p2p/digest.hpp"
#include "p2p/file_entry.hpp"
#include "p2p/payload.hpp"
#include "p2p/peer_id.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace p2p {

/// Wire codes of the message types.
enum class msg_type : std::uint8_t {
    hello = 1,
    file_list = 2,
    request = 3,
    offer = 4,
    chunk = 5,
    ack = 6,
    not_found = 7,
    abort = 8,
    ping = 9,
    pong = 10,
    goodbye = 11,
    preparing = 12,
    cancel = 13,
    get_manifest = 14,
    manifest = 15,
    peers = 16,
};

/// Upper-case wire name of a type, as in docs and logs ("FILE_LIST").
std::string_view to_string(msg_type type);

/// First message on every connection, in both directions.
struct hello {
    peer_id id;                     ///< Sender's id; must equal the routing id it connects with.
    std::string endpoint;           ///< Where the sender listens (never an ephemeral source port).
    std::uint64_t list_version = 0; ///< Version of the FILE_LIST that follows.
    /// A one-shot client (`get`, `ls`): it serves and lists nothing, and the other side shows it as no peer.
    bool client = false;
    friend bool operator==(const hello&, const hello&) = default;
};

/// One page of the sender's shared files. A list is complete when pages 0..page_count-1 of one version arrived.
struct file_list {
    std::uint64_t list_version = 0; ///< Grows by one whenever the folder changes.
    std::uint32_t page = 0;         ///< 0-based page index.
    std::uint32_t page_count = 1;   ///< Pages in this version, 1..protocol::max_pages.
    std::vector<file_entry> files;  ///< At most protocol::files_per_page entries.
    friend bool operator==(const file_list&, const file_list&) = default;
};

/// Ask for a file from an offset (0, or where a partial download stopped).
struct request {
    std::uint32_t transfer = 0;   ///< Chosen by the downloader, unique among its open downloads.
    std::string name;             ///< File name as listed.
    std::uint64_t offset = 0;     ///< First byte wanted.
    std::uint32_t chunk_size = 0; ///< Largest chunk the downloader wants, min..max_chunk_size.
    /// Chunks the holder may send before the first ACK, 1..max_credit; the holder takes at most max_window_bytes.
    std::uint32_t credit = 1;
    friend bool operator==(const request&, const request&) = default;
};

/// The holder's answer to REQUEST: what it is about to send.
struct offer {
    std::uint32_t transfer = 0;
    std::uint64_t size = 0;       ///< Whole file size.
    digest root{};                ///< The file's id: file_root of its manifest (manifest.hpp).
    std::uint32_t piece_size = 0; ///< Bytes per piece of that manifest: a power of two.
    std::uint32_t chunk_size = 0; ///< Chunk size the holder will use, <= the requested one.
    friend bool operator==(const offer&, const offer&) = default;
};

/// File bytes [offset, offset + data.size()). The bytes travel as a frame of their own and are never copied: the
/// received frame, or the buffer the holder read them into, becomes `data` (payload.hpp).
struct chunk {
    std::uint32_t transfer = 0;
    std::uint64_t offset = 0;
    bool last = false; ///< True on the chunk that ends the file.
    /// The holder's cumulative time spent serving this transfer so far, in microseconds (0..2^63-1): the time its
    /// loop spent reading and sending this transfer's chunks, as charged to the upload. Monotonic per transfer (a
    /// REQUEST that restarts it keeps counting). The receiver divides its growth by the time between two chunks to
    /// tell "the holder is slow" from "the network is slow". Trusted for that report only: a holder that lies
    /// mislabels nothing but its own report.
    std::uint64_t holder_busy_us = 0;
    payload data; ///< The payload frame's bytes.
    friend bool operator==(const chunk& a, const chunk& b) {
        return a.transfer == b.transfer && a.offset == b.offset && a.last == b.last &&
               a.holder_busy_us == b.holder_busy_us && a.data == b.data;
    }
};

/// Cumulative acknowledgement and credit: every byte below next_offset is received and checked (and written right
/// after); up to `credit` more chunks may be in flight. With credit 1 this is the original stop-and-wait.
struct ack {
    std::uint32_t transfer = 0;
    std::uint64_t next_offset = 0;
    std::uint32_t credit = 1; ///< 1..max_credit; the holder takes at most max_window_bytes of chunks.
    friend bool operator==(const ack&, const ack&) = default;
};

/// The holder does not serve that name.
struct not_found {
    std::uint32_t transfer = 0;
    std::string name;
    std::string reason;
    friend bool operator==(const not_found&, const not_found&) = default;
};

/// The holder stops serving a transfer early, saying why (file changed, shutting down, too many transfers...).
struct abort_transfer {
    std::uint32_t transfer = 0;
    std::string reason;
    friend bool operator==(const abort_transfer&, const abort_transfer&) = default;
};

/// Liveness probe; any message counts as life, PING just asks for one.
struct ping {
    friend bool operator==(const ping&, const ping&) = default;
};
/// Answer to PING.
struct pong {
    friend bool operator==(const pong&, const pong&) = default;
};
/// The sender is leaving: forget it now rather than after the peer timeout.
struct goodbye {
    friend bool operator==(const goodbye&, const goodbye&) = default;
};

/// The holder got the REQUEST but is still hashing the file (seconds for a large one): keep waiting, do not give
/// up or fail over. Sent in answer to each repeated REQUEST while the hash runs.
struct preparing {
    std::uint32_t transfer = 0;
    std::uint64_t size = 0; ///< Of the file being hashed, so the user can be told why it takes a while.
    friend bool operator==(const preparing&, const preparing&) = default;
};

/// The downloader stops a transfer of its own early (the user cancelled, it failed over, it is shutting down).
struct cancel_transfer {
    std::uint32_t transfer = 0;
    std::string reason;
    friend bool operator==(const cancel_transfer&, const cancel_transfer&) = default;
};

/// Ask for the leaves of a file's manifest, from leaf `first` on (one page comes back). The root names the file
/// version: the holder answers from the manifest of that root, whatever file it came from.
struct get_manifest {
    std::uint32_t transfer = 0; ///< The downloader's transfer the leaves are for.
    digest root{};              ///< From the OFFER.
    std::uint64_t first = 0;    ///< Index of the first leaf wanted.
    friend bool operator==(const get_manifest&, const get_manifest&) = default;
};

/// One page of leaves: leaves first, first+1, ... of the manifest GET_MANIFEST named (at most
/// protocol::leaves_per_page). The downloader checks the whole set against the root once it has every leaf.
struct manifest_page {
    std::uint32_t transfer = 0;
    std::uint64_t first = 0;
    std::vector<digest> leaves; ///< At least one.
    friend bool operator==(const manifest_page&, const manifest_page&) = default;
};

/// One peer the sender of PEERS is connected to and reached itself: it connected to `endpoint` and got a HELLO from
/// `id` there (in secure mode through a handshake that proved `key`).
struct peer_ref {
    peer_id id;                     ///< Not 0.
    std::string endpoint;           ///< "tcp://host:port" (or "inproc://name"), as the sender dialled it.
    std::optional<std::string> key; ///< Secure mode: the peer's public key (Z85, 40 characters); plain: none.
    friend bool operator==(const peer_ref&, const peer_ref&) = default;
};

/// Peer exchange: some of the peers the sender reached itself (at most protocol::max_peer_refs), so the receiver can
/// connect to those it does not know (docs/protocol.md, "Peer exchange").
struct peer_list {
    std::vector<peer_ref> list;
    friend bool operator==(const peer_list&, const peer_list&) = default;
};

/// Any message; the variant's alternatives are in wire order (msg_type value minus one).
using message = std::variant<hello, file_list, request, offer, chunk, ack, not_found, abort_transfer, ping, pong,
                             goodbye, preparing, cancel_transfer, get_manifest, manifest_page, peer_list>;

/// Wire type of a message value.
msg_type type_of(const message& msg);

} // namespace p2p
