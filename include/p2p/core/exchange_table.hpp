// SPDX-License-Identifier: MIT
// core/exchange_table.hpp - peer exchange: telling our peers whom we reached, and dialling whom they reached.
//
// The rule (docs/protocol.md "Peer exchange", docs/security.md): a peer lists in PEERS only the peers it reached
// itself, by connecting to an address and getting a HELLO from that id there (in secure mode through a handshake that
// proved the key). A peer that connected to us is not listed: the endpoint its HELLO names is only a claim. A peer
// is told our list when its first complete FILE_LIST arrives (it is a member now), and again whenever we reach a new
// peer, at most once a second per peer; each PEERS is the whole list, up to protocol::max_peer_refs, newest first.
// What we are told is a candidate (candidate_table): dialled through the redial path, bounded, with backoff, and
// never passed on until we reach it ourselves.
#pragma once

#include "p2p/core/candidate_table.hpp"
#include "p2p/core/remote_peer.hpp"
#include "p2p/core/state.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace p2p::core {

/// What became of the PEERS sent and received, for tests and statistics.
struct exchange_counts {
    std::uint64_t sent = 0;     ///< PEERS messages sent.
    std::uint64_t received = 0; ///< PEERS messages taken.
    std::uint64_t refused =
        0; ///< PEERS messages refused whole (a strike): entries of the other mode, a key not the id's.
    std::uint64_t not_allowed = 0; ///< Entries skipped: a key we would not let in (--allow).
    std::uint64_t table_full = 0;  ///< Entries skipped: max_candidates remembered.
};

class exchange_table {
public:
    explicit exchange_table(core_state& state);

    /// Secure mode: the keys we let in (--allow), and so the only ones we dial; none: any valid key.
    void allow(std::optional<std::set<std::string>> keys) { allowed_ = std::move(keys); }

    /// Peer `p`'s first complete list arrived: it is told our list; when we reached it ourselves, every other member
    /// is told about it too.
    void on_joined(const remote_peer& p, steady_time now);
    /// Peer `id` is gone: nothing more is sent to it.
    void on_peer_gone(peer_id id);
    /// PEERS from a known peer: the entries we do not know become candidates and are dialled.
    void on_peers(remote_peer& from, const peer_list& m, steady_time now);

    std::optional<steady_time> next_deadline() const;
    /// Sends the lists that are due, and dials the candidates that are.
    void on_deadline(steady_time now);

    /// The PEERS we would send `to` now: the members we reached ourselves, newest first, at most max_peer_refs; those
    /// we reached at a loopback address only to a peer that is on this machine too (reached at a loopback address).
    std::vector<peer_ref> verified_for(peer_id to) const;
    const exchange_counts& counts() const { return counts_; }
    std::size_t candidates() const { return candidates_.size(); }
    std::uint64_t dials() const { return candidates_.dials(); }

    static constexpr milliseconds min_interval{1000};      ///< Between two PEERS to one peer.
    static constexpr milliseconds candidate_expiry{60000}; ///< An entry not told again this long is forgotten.
    static constexpr milliseconds wait_for_other{2000};    ///< The larger id's head start for the smaller (below).
    static constexpr std::size_t max_candidates = 256;
    static constexpr unsigned max_dials_per_second = 16;

private:
    struct schedule {
        bool due = false;
        std::optional<steady_time> last_sent;
    };
    void send_due(steady_time now);

    core_state& state_;
    std::optional<std::set<std::string>> allowed_;
    std::map<peer_id, schedule> schedules_;
    candidate_table candidates_;
    exchange_counts counts_;
};

} // namespace p2p::core
