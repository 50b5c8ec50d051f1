// SPDX-License-Identifier: MIT
// core/candidate_table.hpp - peers we heard of and may connect to: bounded, forgotten on their own, dialled with
// backoff and under a budget of dials a second.
//
// A candidate is a hint (a LAN beacon, an entry of another peer's PEERS), never trust: the most it makes this peer do
// is an ordinary connect with HELLO (through connect_table's redial path) to the address it names, at most once per
// backoff step (2, 4, 8, 16, then every 30 s), and only while it is not a peer already and there is room under
// max_peers. Each source of hints owns one table with its own limits (beacon_table,
// exchange_table); the rules are this one class.
#pragma once

#include "p2p/core/state.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace p2p::core {

struct candidate_limits {
    milliseconds expiry;           ///< A candidate not noted again this long is forgotten.
    std::size_t max_candidates;    ///< Remembered at once; a new one beyond this is not taken.
    unsigned max_dials_per_second; ///< Connects a second this table starts.
    /// No dial to an address a connect is under way to (any connect: the user's, a redial, another table's). Peer
    /// exchange: entries of any id can name one address. Beacons: each comes from its own source address anyway.
    bool one_connect_per_address = false;
};

class candidate_table {
public:
    candidate_table(core_state& state, candidate_limits limits);

    enum class noted { taken, full };
    /// Remembers candidate `id` at `address` ("host:port" or "inproc://name") with `key` (secure mode, Z85), or
    /// refreshes it. A new candidate is first dialled at `first_dial` at the earliest; one at another address or
    /// key (the peer restarted elsewhere) at once. A candidate that is a peer now is dialled at once once it is lost.
    noted note(peer_id id, const std::string& address, const std::optional<std::string>& key, steady_time first_dial,
               steady_time now);
    void forget(peer_id id);
    bool contains(peer_id id) const { return candidates_.contains(id); }
    /// Where candidate `id` is dialled, or nullptr when it is not one.
    const std::string* address_of(peer_id id) const;
    /// Candidate `id` is dialled at `address` from now on, with its backoff as it stands (the same peer, heard at
    /// another of its addresses).
    void readdress(peer_id id, const std::string& address);

    /// Dials candidate `id` when it is due and the limits allow; true when a connect was started.
    bool dial(peer_id id, steady_time now);
    /// Dials every candidate that is due (within the budget), after forgetting those not noted for `expiry`.
    void dial_due(steady_time now);
    /// When dial_due has something to do: the earliest due candidate that is not a peer.
    std::optional<steady_time> next_due() const;
    /// Forgets the candidates not noted for `expiry`.
    void expire(steady_time now);

    std::size_t size() const { return candidates_.size(); }
    /// Connects started so far.
    std::uint64_t dials() const { return dials_; }

    static constexpr milliseconds first_retry{2000}; ///< A dial that made no peer waits this, then twice...
    static constexpr milliseconds max_retry{30000};  ///< ...up to this.

private:
    struct candidate {
        std::string address;
        std::optional<std::string> key;
        steady_time last_noted;
        steady_time next_dial;
        unsigned attempts = 0;
    };
    /// False when `c` cannot be dialled now; then its next try is put off to when it might be.
    bool may_dial(peer_id id, candidate& c, steady_time now);

    core_state& state_;
    candidate_limits limits_;
    std::map<peer_id, candidate> candidates_;
    steady_time window_{};      ///< The second the dial budget counts in.
    unsigned window_dials_ = 0; ///< Dials in it.
    std::uint64_t dials_ = 0;
};

} // namespace p2p::core
