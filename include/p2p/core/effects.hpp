// SPDX-License-Identifier: MIT
// core/effects.hpp - what the core makes happen: the one way out of it.
//
// The core decides; whoever owns it carries out. The real node (node.hpp) sends on sockets, runs jobs on its
// worker and passes events to its front end; the simulation moves messages through its network and runs jobs when
// its clock says; a unit test records every call as a list of actions and checks them. Sends answer at once
// whether the message could be queued, because the core needs that before its next decision (a full queue to a
// peer pauses that upload; a file list that did not go is sent again).
#pragma once

#include "p2p/core/jobs.hpp"
#include "p2p/event.hpp"
#include "p2p/message.hpp"
#include "p2p/payload.hpp"
#include "p2p/peer_id.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace p2p::core {

/// One outgoing connection (a DEALER in the real node), numbered by the core; 0 means none: a peer that connected to
/// us is reached through our inbox (the ROUTER), addressed by its id.
using link_id = std::uint64_t;

/// What the transport reports about one of our connections while it is being set up or used (the real node: its
/// socket monitor). The core decides what each means.
enum class link_event {
    connected,          ///< A TCP connection is up; the ZeroMQ handshake follows.
    handshake_done,     ///< The ZeroMQ handshake succeeded: a ZeroMQ socket answers there.
    refused,            ///< The connection was refused at once: nothing listens there.
    unresolved,         ///< The host name does not resolve (detail: the resolver's reason).
    unreachable,        ///< The connection could not even be tried (detail: why).
    mechanism_mismatch, ///< One side uses CURVE (--secure), the other does not.
    auth_refused,       ///< The other side refused our key (not on its allowlist).
    handshake_failed,   ///< The handshake failed otherwise: a wrong server key, or not ZeroMQ at all.
    dropped,            ///< The connection closed.
};

class effects {
public:
    virtual ~effects() = default;

    /// Queues `msg` for peer `to`: over connection `via` when it is not 0, else through our inbox. False when it
    /// cannot be queued now (the queue to that peer is full, or the peer is gone); then nothing was sent.
    virtual bool send(peer_id to, link_id via, message msg) = 0;
    /// Opens connection `link` to `endpoint`; with `server_key`, encrypted and only to the holder of that key.
    /// Returns why not when it cannot even be tried (an endpoint the transport refuses).
    virtual std::optional<std::string> dial(link_id link, const std::string& endpoint,
                                            const std::optional<std::string>& server_key) = 0;
    /// Opens connection `link` to `endpoint` as `dial` does, but as a probe: under routing id
    /// probe_routing_id(self, link) rather than our id (probe_routing_id.hpp says why). Returns why not when it cannot
    /// be tried; an owner that cannot make probes (by default, a test's recorder) says so, and the connect goes on
    /// without one.
    virtual std::optional<std::string> dial_probe(link_id link, const std::string& endpoint,
                                                  const std::optional<std::string>& server_key) {
        (void)link, (void)endpoint, (void)server_key;
        return "probes are not supported here";
    }
    /// Queues `msg` through our inbox to the probe connection with routing id `probe`; false when it cannot.
    virtual bool send_to_probe(std::string_view probe, message msg) {
        (void)probe, (void)msg;
        return false;
    }
    /// Closes connection `link`; whatever is still queued on it is dropped.
    virtual void hang_up(link_id link) = 0;
    /// Starts slow file work; its result comes back through node_core::on_job_done with the same id.
    virtual void start_job(job_id id, job work) = 0;
    /// Gives a job up: its result, if one still comes, is ignored.
    virtual void cancel_job(job_id id) = 0;
    /// Tells the front end (menu, program, test) what happened.
    virtual void emit(event e) = 0;
    /// A buffer of `size` bytes to read file bytes into before they are sent (the real node reuses them).
    virtual payload buffer(std::size_t size) = 0;
    /// Broadcasts a discovery beacon (beacon.hpp) on every interface. Only an owner on a real LAN (the node) has
    /// interfaces; the others ignore it, or record it in a test.
    virtual void send_beacon(std::span<const std::uint8_t> datagram) { (void)datagram; }
};

} // namespace p2p::core
