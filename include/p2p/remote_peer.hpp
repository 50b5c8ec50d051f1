// SPDX-License-Identifier: MIT
// remote_peer.hpp - what a node knows of one other peer: its link, its files, and when it was last heard.
#pragma once

#include "p2p/event.hpp"
#include "p2p/message.hpp"
#include "p2p/peer_id.hpp"

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p2p {

using steady_time = std::chrono::steady_clock::time_point;

/// One known peer. It is reached through our DEALER when we connected to it, or through our ROUTER (addressed by its
/// routing id) when it connected to us: one connection carries both directions.
struct remote_peer {
    peer_id id;
    std::string address;                 ///< "host:port" where it listens, for users and failure records.
    std::optional<zmq::socket_t> dealer; ///< Our connection to it, when we connected.
    /// It said HELLO on our ROUTER, so its own DEALER reaches us there. Only then is a ROUTER message with its routing
    /// id from it: a peer we know only through our DEALER never uses our ROUTER, so such a message is someone else
    /// claiming its id (routing ids are not authenticated without --secure).
    bool inbound = false;
    std::uint64_t join_order = 0; ///< For listing peers in the order they came.
    steady_time joined_at;

    std::vector<file_entry> files;  ///< Its latest complete list.
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
    bool list_unsent = false;               ///< Our FILE_LIST could not be queued; send again on the next tick.
    std::optional<operation_id> connect_op; ///< The connect that waits for this peer's first list.

    /// Whether its latest list has this name (and, when given, this size).
    const file_entry* find_file(std::string_view name) const {
        for (const auto& f : files) {
            if (f.name == name) {
                return &f;
            }
        }
        return nullptr;
    }
};

} // namespace p2p
