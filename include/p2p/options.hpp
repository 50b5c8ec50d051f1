// SPDX-License-Identifier: MIT
// options.hpp - everything a peer can be told at start; defaults suit a LAN.
#pragma once

#include "p2p/protocol.hpp"
#include "p2p/window_setting.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace p2p {

using std::chrono::milliseconds;

/// Settings of one peer. Every interval is an option, not a constant, so tests can shorten them.
struct peer_options {
    /// Where the ROUTER binds: "tcp://0.0.0.0:5000", "tcp://127.0.0.1:*" (any free port) or "inproc://name".
    std::string bind = "tcp://0.0.0.0:*";
    /// The shared folder; created if missing. Its regular files are served, and downloads land in it.
    std::filesystem::path folder;
    /// A one-shot client (`get`, `ls`): downloads land in `folder`, but nothing in it is listed or served, HELLO
    /// says so, and the other side does not show it as a peer (no "joined" or "left" line).
    bool client = false;
    /// A one-shot client that connects to the peers a holder names (PEERS), to take a file from every holder it is
    /// led to: `get` does; `ls`, which lists one peer, does not.
    bool follow_peers = false;

    milliseconds ping_interval{1000};    ///< Silence after which we PING a peer.
    milliseconds peer_timeout{5000};     ///< Silence after which a peer is evicted.
    milliseconds connect_timeout{2000};  ///< No HELLO back within this: the connect fails.
    milliseconds transfer_timeout{8000}; ///< No progress within this: the transfer fails over or fails.
    milliseconds rescan_delay{200};      ///< Folder changes are batched for this long before a rescan.
    /// A file is listed and served only once its size, times and inode have stayed the same this long (it may
    /// still be being written before); 0 lists and serves every file at once.
    milliseconds settle{1000};

    std::uint32_t chunk_size = protocol::default_chunk_size; ///< Largest chunk we ask for / send.
    /// Credit per download: automatic (the default) starts as stop-and-wait, as in the original, and grows while the
    /// round trip limits the rate; a number of chunks or bytes fixes it (1 chunk: stop-and-wait throughout).
    window_setting window{};
    /// Bytes of CHUNK payload per second, at most, that this peer sends over all its uploads together, and again
    /// that it receives over all its downloads together (`--max-rate`); 0: no limit. Uploads wait for the limit's
    /// tokens before a chunk goes; downloads hold an ACK back until the bytes received are paid for.
    std::uint64_t max_rate = 0;

    std::size_t max_peers = 256;           ///< HELLOs beyond this many peers are refused.
    std::size_t max_uploads_per_peer = 64; ///< Concurrent REQUESTs served per peer.
    std::size_t max_uploads = 256;         ///< Concurrent REQUESTs served in all.
    std::size_t max_strikes = 32;          ///< Protocol errors after which a peer is dropped.

    /// Keep our id in `<folder>/.p2p/id` (made on first start), so a restarted peer is known again by the others.
    /// False: a fresh random id at every start and nothing written under .p2p (one-shot clients, most tests). In
    /// secure mode the id is always the key's (stable with the key), whatever this says.
    bool keep_id = false;

    /// CURVE encryption and authentication on every socket (docs/security.md). The keypair lives in
    /// `<folder>/.p2p/curve.key` and the peer id derives from its public key; connecting needs the other peer's
    /// public key ("KEY@host:port").
    bool secure = false;
    /// With `secure`: only clients whose public key is in this file get in (one Z85 key per line). Empty: any
    /// client with a valid key gets in (still encrypted, and still unable to claim another peer's id).
    std::filesystem::path allow;

    /// LAN discovery (docs/usage.md): broadcast a beacon on the interfaces we listen on and connect to the peers whose
    /// beacons we hear. Off here (the library, tests); the menu and serve turn it on. Needs a TCP bind on an
    /// interface that can broadcast (not 127.0.0.1); a one-shot client never takes part.
    bool discover = false;
    /// The UDP port beacons are sent to and heard on; every peer of a LAN must use the same one.
    std::uint16_t discover_port = protocol::default_discover_port;

    /// Append every message sent and received to this file (docs/capture.md); empty for none.
    std::filesystem::path capture;
};

} // namespace p2p
