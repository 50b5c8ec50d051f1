// SPDX-License-Identifier: MIT
// core/remote_peer.hpp - what the core knows of one other peer: how to reach it, its files, when it was heard.
#pragma once

#include "p2p/core/effects.hpp"
#include "p2p/core/time.hpp"
#include "p2p/event.hpp"
#include "p2p/file_entry.hpp"
#include "p2p/peer_id.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::core {

/// One known peer. It is reached through our connection to it (`link`) when we connected, or through our inbox
/// (addressed by its id) when it connected to us: one connection carries both directions.
struct remote_peer {
    peer_id id;
    std::string address; ///< "host:port" where it listens, for users and failure records.
    link_id link = 0;    ///< Our connection to it, when we connected; 0 otherwise.
    /// Secure mode, when we connected: the key we connected with, which the handshake proved. With `link`, `address`
    /// and `key` are what this peer verified itself, and so what PEERS may pass on (exchange_table).
    std::optional<std::string> key;
    /// It said HELLO on our inbox, so its own connection reaches us there. Only then is an inbox message with its
    /// id from it: a peer we know only through our connection never uses our inbox, so such a message is someone
    /// else claiming its id (ids are not authenticated without --secure).
    bool inbound = false;
    /// Its HELLO said it listens on every address of its machine (a wildcard endpoint): all of them reach it.
    bool every_address = false;
    /// Its HELLO said it is a one-shot client (`get`, `ls`): it lists nothing, is never a download source, and is
    /// not shown as a peer (no joined/left event).
    bool client = false;
    /// We dialled it because another peer named it (PEERS) or a beacon announced it, not because the user asked.
    /// A one-shot client takes pieces from such a holder but never lets it decide which content a name has.
    bool introduced = false;
    std::uint64_t join_order = 0; ///< For listing peers in the order they came.
    steady_time joined_at;

    /// Its latest complete list, sorted by name (peer_table sorts what arrives), so a name is found in log n: a
    /// folder of 10,000 files is looked up once per file downloaded.
    std::vector<file_entry> files;
    bool has_list = false;          ///< The first complete list arrived (until then it has not "joined").
    std::uint64_t list_version = 0; ///< Version of `files`.

    /// A list arriving page by page; replaces `files` only when complete.
    struct incoming_list {
        std::uint64_t version = 0;
        std::uint32_t page_count = 0;
        std::uint32_t next_page = 0;
        std::vector<file_entry> files;
    } incoming;

    steady_time last_heard;                 ///< Any message refreshes it.
    steady_time last_ping;                  ///< When we last sent PING.
    std::size_t strikes = 0;                ///< Protocol errors so far.
    bool list_unsent = false;               ///< Our FILE_LIST could not be queued (its queue was full)...
    steady_time list_retry_at;              ///< ...and goes again then.
    std::optional<operation_id> connect_op; ///< The connect that waits for this peer's first list.

    /// The entry of its latest list with this name (the first, if a list names it twice), or nullptr.
    const file_entry* find_file(std::string_view name) const {
        const auto it = std::lower_bound(files.begin(), files.end(), name,
                                         [](const file_entry& f, std::string_view n) { return f.name < n; });
        return it != files.end() && it->name == name ? &*it : nullptr;
    }
};

} // namespace p2p::core
