// SPDX-License-Identifier: MIT
// socket_setup.hpp - the limits every peer socket gets before bind or connect; each says why where it is set.
#pragma once

#include "p2p/curve_keys.hpp"
#include "p2p/peer_id.hpp"

#include <zmq.hpp>

namespace p2p {

/// Messages queued per connection in each direction. Legitimate traffic stays far below: a sender never has more
/// than its credit (<= max_window chunks per transfer) in flight. Worst case held for one hostile connection is
/// this times protocol::max_frame_bytes.
inline constexpr int peer_hwm = 256;
/// How long a closing socket may still flush GOODBYE.
inline constexpr int goodbye_linger_ms = 200;

/// The inbox: bounded frames and queues, ROUTER_MANDATORY so a send to a vanished peer fails instead of vanishing,
/// LINGER 0 so closing never waits on a dead peer, a 5 s handshake limit against half-open connections.
void configure_router(zmq::socket_t& router);

/// One outgoing connection: routing id = our id (16 hex digits), the same limits, fast reconnect with backoff.
void configure_dealer(zmq::socket_t& dealer, peer_id self);

/// Secure mode, before bind: CURVE server with our secret key; `zap_domain` selects the allowlist in the ZAP handler.
void make_curve_server(zmq::socket_t& router, const curve_keypair& keys, const std::string& zap_domain);
/// Secure mode, before connect: CURVE client with our keypair, talking only to the holder of `server_key`.
void make_curve_client(zmq::socket_t& dealer, const curve_keypair& keys, const std::string& server_key);

} // namespace p2p
