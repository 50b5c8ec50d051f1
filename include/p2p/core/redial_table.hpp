// SPDX-License-Identifier: MIT
// core/redial_table.hpp - the addresses we connected to, dialled again with backoff after their peer is lost.
//
// A connect that made a peer (the user's, --connect's, or one of ours) leaves its address here. When that peer is
// evicted or its connection drops, the address is dialled again after 1 s, then 2, 4, 8... up to 30 s between tries,
// each wait stretched or shrunk by up to a fifth at random (so peers that lost each other at the same moment do not
// all dial at once). The random numbers come from a generator the owner seeds: a stepped test replays exactly. A
// peer that said GOODBYE left on purpose and is not dialled again; nor is one the user never reached.
#pragma once

#include "p2p/core/state.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace p2p::core {

/// One address being dialled again, for menu choice 6.
struct redial_entry {
    std::string address;      ///< "host:port", as shown to users.
    peer_id id;               ///< The peer last reached there.
    std::size_t attempts = 0; ///< Tries since the peer was lost.
    bool dialing = false;     ///< A try is under way now.
    steady_time next_at;      ///< When the next try starts (when not dialing).
};

class redial_table {
public:
    explicit redial_table(core_state& state);

    /// Seeds the jitter's generator (the real node: from the system's random source; tests: a fixed number).
    void seed(std::uint64_t value) { random_ = value; }

    /// A connect to `dial_address` ("host:port", or "KEY@host:port" in secure mode) reached peer `id`: remember it,
    /// and stop dialling it if it was being dialled again.
    void reached(const std::string& dial_address, const std::string& address, peer_id id);
    /// Peer `id` was lost without saying GOODBYE: its addresses are dialled again, the first time after about 1 s.
    void lost(peer_id id, steady_time now);
    /// Peer `id` said GOODBYE: it left on purpose, its addresses are no longer dialled.
    void left(peer_id id);
    /// A try for `dial_address` did not make a peer: the next one waits twice as long (at most 30 s).
    void failed(const std::string& dial_address, steady_time now);

    /// Addresses being dialled again (not those whose peer is connected).
    std::vector<redial_entry> retrying() const;

    std::optional<steady_time> next_deadline() const;
    /// Starts the tries that are due.
    void on_deadline(steady_time now);

    static constexpr milliseconds first_delay{1000};
    static constexpr milliseconds max_delay{30000};

private:
    struct entry {
        std::string address;
        peer_id id;
        bool connected = true;
        bool dialing = false;
        std::size_t attempts = 0;
        milliseconds delay = first_delay;
        steady_time next_at;
    };
    /// `delay` give or take a fifth, at random, and never more than max_delay.
    milliseconds jittered(milliseconds delay);

    core_state& state_;
    std::map<std::string, entry> entries_; ///< By dial address.
    std::uint64_t random_ = 0x9e3779b97f4a7c15ull;
};

} // namespace p2p::core
