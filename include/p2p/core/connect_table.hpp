// SPDX-License-Identifier: MIT
// core/connect_table.hpp - connects under way: a connection opened, our HELLO queued on it, waiting for the answer.
#pragma once

#include "p2p/core/commands.hpp"
#include "p2p/core/remote_peer.hpp"
#include "p2p/core/state.hpp"
#include "p2p/decode_result.hpp"

#include <optional>
#include <string>
#include <vector>

namespace p2p::core {

class connect_table {
public:
    explicit connect_table(core_state& state);

    /// Opens a connection and queues HELLO on it; connect_finished follows (at once when the address is bad).
    void start(const command::connect& cmd, steady_time now);
    /// The same for an address the redial table dials again: nobody waits for it, so no connect_finished; the
    /// outcome goes back to the redial table, and a peer that answers joins as if it had connected to us.
    void redial(const std::string& dial_address, steady_time now);
    /// True when `link` belongs to a connect still waiting for its answer (its connection or its probe).
    bool owns(link_id link) const;
    /// True when a connect to `address` ("host:port", as shown) is waiting for its answer.
    bool dialling(const std::string& address) const;
    /// Connects waiting for their answer.
    std::size_t pending_count() const { return pending_.size(); }
    /// The first message on a pending connection: HELLO makes a peer of it, anything else fails the connect. On a
    /// probe: HELLO from a peer we reach by a connection of our own already ends the connect at once as "already
    /// connected"; anything else only closes the probe.
    void on_answer(link_id link, decode_result& decoded, steady_time now);
    /// What the transport says about a pending connect's connection. A refused connection, a host that does not
    /// resolve and a security mismatch end a connect the user waits for at once; a key refused or a handshake that
    /// failed otherwise is told at the deadline unless a later try gets through (libzmq tries again, and a loaded
    /// handler can fail one handshake). A redial waits for its deadline (a peer that is starting up is found within
    /// the same try).
    void on_link_event(link_id link, link_event what, const std::string& detail, steady_time now);
    /// Fails every pending connect (we are leaving).
    void fail_all(const std::string& reason, steady_time now);

    std::optional<steady_time> next_deadline() const;
    void on_deadline(steady_time now);

private:
    struct pending {
        std::optional<operation_id> op;     ///< The front end's connect; none for a redial.
        std::string dial;                   ///< As given: "host:port", or "KEY@host:port" in secure mode.
        std::string address;                ///< As shown, "host:port".
        std::string endpoint;               ///< As dialled, "tcp://host:port".
        link_id link = 0;                   ///< The connection, until the connect ends.
        link_id probe = 0;                  ///< Its probe (probe_routing_id.hpp) until that answers, if one is open.
        bool probed = false;                ///< A probe was opened (and may have closed since).
        std::optional<peer_id> expected_id; ///< Secure mode: the id that belongs to the key we connect with...
        std::optional<std::string> key;     ///< ...and that key (Z85), which the handshake proves.
        steady_time started;
        steady_time deadline;
        bool tcp_up = false; ///< A TCP connection was made (something listens there).
        bool zmq_up = false; ///< The ZeroMQ handshake succeeded (a ZeroMQ socket answers there).
        bool closed = false; ///< The other end closed the connection before answering.
        std::string refusal; ///< Why the last handshake failed, told if no later try gets through.
    };
    /// Why a connect that reached its deadline failed, from what the transport reported meanwhile.
    std::string timeout_reason(const pending& c) const;
    /// Both kinds of connect: `op` is none for a redial.
    void open(std::optional<operation_id> op, const std::string& dial, steady_time now);
    /// Whether we reach some peer by a connection of our own: its ROUTER holds our routing id, so a second connection
    /// of ours to it (at another of its addresses) would be dropped unheard.
    bool has_own_connection() const;
    /// Opens a probe beside connect `c`, when the owner can.
    void open_probe(pending& c);
    /// This peer has just reached a peer by a connection of its own: the user's connects still waiting that asked no
    /// probe ask one now. They were started while it reached nobody, all at once (`get ADDR1 ADDR2`), and where two
    /// addresses are one peer its ROUTER keeps the first connection and drops the other unheard.
    void probe_waiting();
    void close_probe(pending& c);
    void on_probe_answer(std::vector<pending>::iterator it, decode_result& decoded, steady_time now);
    /// Ends connect `c`, whose answer came from `known`, a peer we have already: its connection closes, and whoever
    /// waits is told `text` ("already connected ...").
    void finish_known(const pending& c, const remote_peer& known, std::string text, steady_time now);
    /// Tells whoever waits for a connect how it ended.
    void finished(const pending& c, connect_finished outcome, steady_time now);
    /// Ends a connect that did not make a peer: the connection closes, the front end is told.
    void fail(pending& c, std::string error, steady_time now, bool already_connected = false);

    core_state& state_;
    std::vector<pending> pending_;
    link_id next_link_ = 1;
};

} // namespace p2p::core
