// SPDX-License-Identifier: MIT
// socket_setup.hpp - the limits every peer socket gets before bind or connect; each says why where it is set.
#pragma once

#include "p2p/curve_keys.hpp"
#include "p2p/peer_id.hpp"

#include <zmq.hpp>

#include <string>

namespace p2p {

/// Messages queued per connection in each direction. A holder never has more than protocol::max_window_bytes
/// (64 MiB) of one transfer in flight, which is at most 256 messages at chunks of 256 KiB and more (64 at the
/// default 1 MiB). With smaller chunks the byte window is more messages than this (1024 at 64 KiB): the queue can
/// fill before the window does, and the upload reads the refused chunk again a little later (upload::unread), so
/// the queue paces it and nothing is lost. The limit is in messages, not bytes, because ZeroMQ counts messages: the
/// worst case held for one hostile connection is this times protocol::max_frame_bytes (about 1 GiB), so it is not
/// raised to fit the smallest chunks.
inline constexpr int peer_hwm = 256;
/// How long a closing socket may still flush GOODBYE.
inline constexpr int goodbye_linger_ms = 200;

/// The inbox: bounded frames and queues, ROUTER_MANDATORY so a send to a vanished peer fails instead of vanishing,
/// LINGER 0 so closing never waits on a dead peer, a 5 s handshake limit against half-open connections.
void configure_router(zmq::socket_t& router);

/// One outgoing connection: routing id = our id (16 hex digits), the same limits, fast reconnect with backoff.
void configure_dealer(zmq::socket_t& dealer, peer_id self);
/// The same under another routing id (a probe's, probe_routing_id.hpp).
void configure_dealer(zmq::socket_t& dealer, const std::string& routing_id);

/// Secure mode, before bind: CURVE server with our secret key; `zap_domain` selects the allowlist in the ZAP handler.
void make_curve_server(zmq::socket_t& router, const curve_keypair& keys, const std::string& zap_domain);
/// Secure mode, before connect: CURVE client with our keypair, talking only to the holder of `server_key`.
void make_curve_client(zmq::socket_t& dealer, const curve_keypair& keys, const std::string& server_key);

} // namespace p2p
