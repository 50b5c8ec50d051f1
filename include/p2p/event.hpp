// SPDX-License-Identifier: MIT
// event.hpp - what a running peer tells its owner (the menu, a program, a test), and the views it answers with.
#pragma once

#include "p2p/file_entry.hpp"
#include "p2p/peer_id.hpp"
#include "p2p/rate_figures.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

namespace p2p {

/// Identifies one connect or download started through the peer front end.
using operation_id = std::uint64_t;

/// A remote peer as we know it.
struct peer_info {
    peer_id id;
    std::string address;           ///< Where it listens, as "host:port" (never an ephemeral source port).
    std::vector<file_entry> files; ///< Its latest complete FILE_LIST.
    bool outbound = false;         ///< We connected to it (else it connected to us).
};

/// An address we could not reach or had to evict, for menu choice 6.
struct failure_record {
    std::string address;
    std::size_t count = 0;
    std::string last_error;
    std::chrono::system_clock::time_point last_time;
    /// The address is being dialled again because the peer reached there was lost (evicted or dropped).
    bool retrying = false;
    peer_id retry_id;                        ///< The peer last reached there.
    std::size_t attempts = 0;                ///< Tries since it was lost.
    std::chrono::milliseconds next_retry{0}; ///< Until the next try; 0 while one is under way.
};

/// Counters since start.
struct peer_stats {
    std::uint64_t bytes_sent = 0;        ///< CHUNK payload bytes sent (retransmissions included).
    std::uint64_t bytes_received = 0;    ///< CHUNK payload bytes written to disk.
    std::uint64_t chunks_resent = 0;     ///< Retransmissions after a timeout.
    std::uint64_t messages_received = 0; ///< Messages from other peers taken in (each handled or refused).
    std::uint64_t protocol_errors = 0;   ///< Frames dropped as malformed, unexpected or from unknown peers.
    std::uint64_t uploads_done = 0;
    std::uint64_t uploads_refused = 0; ///< NOT_FOUND and refused REQUESTs.
    std::uint64_t chunk_buffers = 0;   ///< Payload buffers ever allocated: flat once the pool is warm.
    std::uint64_t loop_wakeups = 0;    ///< Turns of the node's poll loop: an idle peer adds a few per second.
    std::uint64_t hash_jobs = 0;       ///< Manifests computed for uploads (one per file version at most).
    std::uint64_t hash_bytes_read = 0; ///< Bytes of shared files read to build manifests (0 for a stored one).
    std::uint64_t bad_pieces = 0;      ///< Received pieces that did not match their leaf (each asked again).
    std::uint64_t jobs_cancelled = 0;  ///< File jobs given up because nobody waited for them any more.
    std::uint64_t events_dropped = 0;  ///< Events not kept while the front end did not read them (oldest first).
    /// Entries of the folder its last listing left out: symlinks, folders, special files, unsendable names.
    std::uint64_t entries_skipped = 0;
};

/// A peer said HELLO and its first file list is complete.
struct peer_joined {
    peer_id id;
    std::string address;
    std::size_t file_count = 0;
};

/// A known peer sent a new complete file list.
struct peer_files_changed {
    peer_id id;
    std::vector<file_entry> files;
    /// The same files as before, of the same sizes; only hashes the holder had not finished are known now. The
    /// state changed (the files can be fetched by content), but people were told nothing new.
    bool hashes_only = false;
};

/// A peer is gone.
struct peer_left {
    enum class reason { goodbye, evicted, dropped };
    peer_id id;
    std::string address;
    reason why = reason::goodbye;
    std::string detail; ///< For dropped: the protocol errors that led to it.
};

/// The outcome of peer::connect / start_connect.
struct connect_finished {
    operation_id op = 0;
    std::string address; ///< As asked, "host:port".
    bool ok = false;
    bool already_connected = false; ///< ok is false and the peer was known already (or is ourselves).
    peer_id id;
    std::size_t file_count = 0;
    std::string error; ///< One line, when !ok.
};

/// Why a download failed.
enum class download_errc {
    none,
    bad_name,    ///< The name is not a valid file name.
    exists,      ///< A file of that name is already in our folder; we never overwrite.
    no_source,   ///< No connected peer lists the file (or the one named).
    not_found,   ///< The peer answered NOT_FOUND.
    aborted,     ///< The peer aborted (file changed, shutting down...).
    stalled,     ///< Every source stopped answering.
    source_left, ///< The source left (GOODBYE, evicted) and no other peer has the file.
    integrity,   ///< The bytes did not match the announced BLAKE2b hash.
    io,          ///< Writing to our folder failed (disk full...).
    cancelled,   ///< We are shutting down.
};

/// A download is moving; sent at most every 200 ms.
/// What one holder sent of a download that kept its bytes (a download takes pieces from every holder at once).
struct holder_share {
    peer_id peer;
    std::uint64_t bytes = 0; ///< Bytes it sent that were kept (duplicates and bad pieces not counted).
    friend bool operator==(const holder_share&, const holder_share&) = default;
};

struct download_progress {
    operation_id op = 0;
    std::string name;
    peer_id from;
    std::uint64_t bytes = 0; ///< Bytes of the file held so far (resumed prefix included).
    std::uint64_t size = 0;  ///< Whole file.
    /// Each holder that sent bytes in this download so far, in the order they joined it.
    std::vector<holder_share> holders{};
};

/// The outcome of peer::download / start_download.
struct download_finished {
    operation_id op = 0;
    std::string name;
    bool ok = false;
    download_errc code = download_errc::none;
    std::string error; ///< One line, when !ok.
    peer_id from;      ///< The peer that sent the last byte.
    std::uint64_t size = 0;
    std::uint64_t bytes_received = 0; ///< Over the network in this download (less than size after a resume).
    std::uint64_t resumed_from = 0;   ///< Bytes reused from an earlier partial download.
    double seconds = 0;
    /// Bytes of the partial file read back to resume: those after the pieces its journal vouched for.
    std::uint64_t rechecked = 0;
    rate_figures figures{}; ///< What the download measured, stage by stage (zero when it failed before any byte).
    limit_finding limit{};  ///< What bounded its rate, named from the figures.
    /// Each holder that sent bytes in this download, in the order they joined it; `bytes_received` is their sum
    /// plus the bytes thrown away (`wasted`).
    std::vector<holder_share> holders{};
    std::uint64_t wasted = 0; ///< Bytes received and not kept: duplicates, bad pieces, bytes past a range's end.
};

/// One transfer a stopping peer waits for.
struct pending_transfer {
    bool upload = false; ///< We send it (else we receive it).
    peer_id peer;        ///< The other end.
    std::string name;
    std::uint64_t bytes = 0; ///< Held (download) or acknowledged (upload) so far.
    std::uint64_t size = 0;  ///< Whole file; 0 while not known yet.
};

/// The peer was asked to stop and finishes these transfers first, each for as long as it makes progress (one that
/// stalls ends after the transfer timeout). peer::stop_now() ends them at once.
struct stop_pending {
    std::vector<pending_transfer> transfers;
};

using event = std::variant<peer_joined, peer_files_changed, peer_left, connect_finished, download_progress,
                           download_finished, stop_pending>;

} // namespace p2p
