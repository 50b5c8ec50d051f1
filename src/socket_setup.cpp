// SPDX-License-Identifier: MIT
#include "p2p/socket_setup.hpp"

#include "p2p/protocol.hpp"

namespace p2p {

namespace {
void configure_common(zmq::socket_t& socket) {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(protocol::max_frame_bytes));
    socket.set(zmq::sockopt::sndhwm, peer_hwm);
    socket.set(zmq::sockopt::rcvhwm, peer_hwm);
    socket.set(zmq::sockopt::handshake_ivl, 5000);
    socket.set(zmq::sockopt::tcp_keepalive, 1);
    socket.set(zmq::sockopt::tcp_keepalive_idle, 60);
    // Sends never block the loop: every send is DONTWAIT and its failure handled.
    socket.set(zmq::sockopt::sndtimeo, 0);
}
} // namespace

void configure_router(zmq::socket_t& router) {
    configure_common(router);
    router.set(zmq::sockopt::router_mandatory, 1);
    // A routing id is not an identity: a second connection claiming a known id is refused, not handed over.
    router.set(zmq::sockopt::router_handover, 0);
}

void configure_dealer(zmq::socket_t& dealer, peer_id self) {
    configure_common(dealer);
    dealer.set(zmq::sockopt::routing_id, self.hex());
    dealer.set(zmq::sockopt::reconnect_ivl, 100);
    dealer.set(zmq::sockopt::reconnect_ivl_max, 2000);
}

} // namespace p2p
