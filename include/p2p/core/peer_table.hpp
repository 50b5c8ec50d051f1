// SPDX-License-Identifier: MIT
// core/peer_table.hpp - the peers we know: HELLO on our inbox, file lists, liveness (PING, eviction), leaving,
// refused frames and the failure records. Every message from a known peer comes in here and goes on to the
// subsystem it is for.
#pragma once

#include "p2p/core/remote_peer.hpp"
#include "p2p/core/state.hpp"
#include "p2p/decode_result.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::core {

/// An address we could not reach or had to evict, for menu choice 6 (the shell turns `last` into a wall-clock time).
struct failure_entry {
    std::string address;
    std::size_t count = 0;
    std::string last_error;
    steady_time last;
};

/// Where an inbox message came from, as the transport tells it.
struct inbox_origin {
    std::string_view routing_id;    ///< The sender's claimed id, 16 hex digits, or a probe's (probe_routing_id.hpp).
    std::optional<std::string> key; ///< Secure mode: the key the connection authenticated with (ZAP User-Id).
    std::string_view connection_address; ///< The connection's source host, for a peer listening on 0.0.0.0.
};

class peer_table {
public:
    explicit peer_table(core_state& state);

    remote_peer* find(peer_id id);
    remote_peer* find_by_link(link_id link);
    std::map<peer_id, remote_peer>& all() { return peers_; }
    const std::map<peer_id, remote_peer>& all() const { return peers_; }

    /// Queues a message for a peer over the way it is reached; false when its queue is full or it is gone.
    bool send(remote_peer& to, message msg);

    /// A message on our inbox (or one that did not decode).
    void on_inbox(const inbox_origin& from, decode_result& decoded, steady_time now);
    /// A message on our connection to a known peer (or one that did not decode).
    void on_link(remote_peer& from, decode_result& decoded, steady_time now);

    /// A HELLO answered our connect to `address` (with `key`, secure mode): the peer is reached over `link` from now
    /// on.
    remote_peer& add_outbound(peer_id id, std::string address, std::optional<std::string> key, link_id link,
                              std::optional<operation_id> op, bool client, steady_time now);

    /// The user connected to `p` (a PEERS dial may have reached it first): it is a peer the user named, also when
    /// it is lost and reached again.
    void mark_named(remote_peer& p);

    /// A frame we do not take: logged (bounded) and counted; from a known peer also a strike, and too many drop it.
    void refuse(remote_peer* from, std::string_view who, const std::string& reason, steady_time now);
    /// Remembers a failed connect for menu choice 6: at most max_failures addresses, the oldest forgotten first (a
    /// LAN can name any number of addresses that never answer).
    void record_failure(const std::string& address, const std::string& error, steady_time now);
    static constexpr std::size_t max_failures = 256;
    /// Forgets a peer: its connection closes, its uploads end, its downloads fail over, the front end is told.
    /// Unless it said GOODBYE, the addresses we reached it at are dialled again (redial_table).
    void remove(peer_id id, peer_left::reason why, std::string detail, steady_time now);
    /// Our connection to a peer dropped (the transport says so): it is removed at once, not after the timeout.
    void on_link_dropped(link_id link, steady_time now);

    /// Sends our whole list (after HELLO, and whenever the folder changes); when the peer's queue is full, all of it
    /// goes again a little later.
    void send_file_list(remote_peer& to, steady_time now);
    void send_file_lists(steady_time now);

    /// Peers whose first list is complete, in the order they joined; one-shot clients are none of them.
    std::vector<peer_info> joined() const;
    /// The same, ids only (cheap).
    std::vector<peer_id> joined_ids() const;
    std::vector<failure_entry> failures() const;

    /// PINGs and evictions.
    std::optional<steady_time> next_deadline() const;
    void on_deadline(steady_time now);

    /// Leaving: GOODBYE to every peer, then forget them all.
    void say_goodbye();

private:
    void on_hello(const inbox_origin& from, const hello& h, steady_time now);
    /// A message on a probe connection of `prober`: its HELLO is answered with ours, and nothing else is done.
    void on_probe(const inbox_origin& from, peer_id prober, decode_result& decoded, steady_time now);
    void on_file_list(remote_peer& from, file_list& page, steady_time now);
    /// Hands a message of a known peer to the subsystem it is for.
    void dispatch(remote_peer& from, message& msg, steady_time now);

    /// The entry of a peer that came back under its id (a new HELLO on our inbox) goes without a word: the front end
    /// hears "joined" again once its new list is complete.
    void replace(peer_id id, steady_time now);

    core_state& state_;
    std::map<peer_id, remote_peer> peers_;
    std::map<std::string, failure_entry> failures_;
    /// Peers the user connected to. Kept when one is lost: reached again by a redial (no connect of the user's
    /// then), it is still one the user named, never a holder `get` was only led to (remote_peer::introduced).
    std::set<peer_id> named_;
    std::uint64_t next_join_order_ = 1;
};

} // namespace p2p::core
