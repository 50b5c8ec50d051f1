// SPDX-License-Identifier: MIT
// core/beacon_table.hpp - LAN discovery: when to send our beacon, and which heard beacons lead to a connect.
//
// A beacon is a hint, never trust (docs/security.md): the most it makes this peer do is an ordinary connect with
// HELLO to the address the datagram came from, at most once per candidate per backoff step, and never a reply.
// Of each pair only the peer with the smaller id dials, so two peers that hear each other connect once. In secure
// mode only keys that this peer would let in are dialled, and the CURVE handshake proves the key.
//
// Our beacon goes out at start, then every interval, and soon after a change: an interface came up or got an address
// (a peer whose network came up late is found at once), a peer we had was lost (a peer that restarts finds us without
// waiting out the interval), or a peer we do not know appeared that waits for our beacon to dial us (the larger id
// does not dial). However many changes come, our beacons are at least min_gap apart: never more than four a second,
// whatever is heard, and never a datagram to anyone in particular.
//
// Floods are bounded before anything else is done: at most max_per_source beacons a second from one source address,
// max_per_second from all, max_sources sources and max_candidates candidates remembered, max_dials_per_second new
// connects a second. Everything the table keeps expires on its own.
#pragma once

#include "p2p/beacon.hpp"
#include "p2p/core/candidate_table.hpp"
#include "p2p/core/state.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>

namespace p2p::core {

/// What a peer that takes part in discovery says about itself and whom it dials.
struct discovery_settings {
    std::uint16_t port = 0;                       ///< Where we listen (TCP), put in our beacon.
    std::optional<std::string> key;               ///< Secure mode: our public key (Z85), put in our beacon.
    std::optional<std::set<std::string>> allowed; ///< Secure mode: the keys we dial (Z85); none: any valid key.
};

/// What became of the beacons heard, for tests and statistics.
struct beacon_counts {
    std::uint64_t heard = 0;        ///< Datagrams handed in.
    std::uint64_t rate_limited = 0; ///< Dropped unread: their source, or all sources, sent too many.
    std::uint64_t malformed = 0;    ///< Not a beacon of ours (size, magic, version, flags...).
    std::uint64_t own = 0;          ///< Our own beacons, looped back.
    std::uint64_t refused = 0;      ///< Other protocol version, other mode, a key not allowed or not the id's.
    std::uint64_t table_full = 0;   ///< A new candidate while max_candidates are remembered.
    std::uint64_t dials = 0;        ///< Connects started because of a beacon.
    std::uint64_t sent = 0;         ///< Beacons we sent (each goes out on every interface).
};

class beacon_table {
public:
    explicit beacon_table(core_state& state);

    /// Discovery on: our first beacon is due now. Until this is called the table sends and dials nothing.
    void start(discovery_settings settings, steady_time now);
    bool active() const { return active_; }

    /// A datagram that arrived on the discovery port from `source`: an IPv4 address ("192.168.1.7") or an IPv6 one
    /// with, when link-local, its interface ("fe80::1%eth0"). A dial goes to "192.168.1.7:port" or
    /// "[fe80::1%eth0]:port".
    void on_datagram(const std::string& source, std::span<const std::uint8_t> bytes, steady_time now);
    /// Sends our "leaving" beacon (once) and nothing after it.
    void leave();
    /// The interfaces or their addresses changed: our beacon goes out as soon as min_gap allows.
    void interfaces_changed(steady_time now);
    /// Called after every event: a peer we had is gone, so our beacon goes out as soon as min_gap allows.
    void peers_settled(steady_time now);

    std::optional<steady_time> next_deadline() const;
    /// Sends our beacon when due, and forgets candidates and sources that went quiet; dials the peers heard over
    /// IPv6 whose IPv4 copy did not come within ipv4_wait.
    void on_deadline(steady_time now);

    const beacon_counts& counts() const { return counts_; }
    std::size_t candidates() const { return candidates_.size(); }
    std::size_t sources() const { return sources_.size(); }

    static constexpr milliseconds interval{1000};          ///< Between our beacons, up to 32 peers.
    static constexpr milliseconds max_interval{3000};      ///< With many peers: a second more per 32 peers, up to this.
    static constexpr milliseconds min_gap{250};            ///< Between two of our beacons, changes or not.
    static constexpr milliseconds candidate_expiry{10000}; ///< A candidate not heard this long is forgotten.
    static constexpr unsigned max_per_source = 20;         ///< Beacons a second taken from one address.
    static constexpr unsigned max_per_second = 200;        ///< Beacons a second taken from all addresses.
    static constexpr unsigned max_dials_per_second = 16;   ///< Connects a second started by beacons.
    /// How long a peer first heard over IPv6 waits for its beacon's IPv4 copy before it is dialled over IPv6.
    static constexpr milliseconds ipv4_wait{50};
    static constexpr std::size_t max_sources = 256;
    static constexpr std::size_t max_candidates = 256;

private:
    struct source_window {
        steady_time window;
        unsigned count = 0;
    };
    /// True when one more beacon from `address` may be read now.
    bool admit(const std::string& address, steady_time now);
    /// Whether and how to dial the peer of beacon `b` heard from `address`.
    void consider(const std::string& address, const beacon& b, steady_time now);
    bool acceptable(const beacon& b);
    void send_own(bool leaving);
    /// Our next beacon as soon as min_gap allows.
    void changed(steady_time now);
    milliseconds current_interval() const;

    core_state& state_;
    bool active_ = false;
    bool left_ = false;
    discovery_settings settings_;
    steady_time next_send_;
    std::optional<steady_time> last_sent_;
    std::size_t peers_seen_ = 0; ///< How many peers there were at the last peers_settled().
    steady_time window_;         ///< The second the global budget counts in.
    unsigned window_count_ = 0;
    std::map<std::string, source_window> sources_;
    /// By id; "a.b.c.d:port" or "[v6%interface]:port" each. The dial budget and backoff are its own.
    candidate_table candidates_;
    /// New candidates heard over IPv6 only so far, and when they are dialled there if no IPv4 copy comes first.
    std::map<peer_id, steady_time> waiting_for_ipv4_;
    beacon_counts counts_;
};

} // namespace p2p::core
