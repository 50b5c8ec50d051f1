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
    configure_dealer(dealer, self.hex());
}

void configure_dealer(zmq::socket_t& dealer, const std::string& routing_id) {
    configure_common(dealer);
    dealer.set(zmq::sockopt::routing_id, routing_id);
    dealer.set(zmq::sockopt::reconnect_ivl, 100);
    dealer.set(zmq::sockopt::reconnect_ivl_max, 2000);
}

void make_curve_server(zmq::socket_t& router, const curve_keypair& keys, const std::string& zap_domain) {
    router.set(zmq::sockopt::curve_server, 1);
    router.set(zmq::sockopt::curve_secretkey, keys.secret_key);
    // With a domain set, libzmq asks the ZAP handler about every client; the handler refuses unknown domains.
    router.set(zmq::sockopt::zap_domain, zap_domain);
}

void make_curve_client(zmq::socket_t& dealer, const curve_keypair& keys, const std::string& server_key) {
    dealer.set(zmq::sockopt::curve_serverkey, server_key);
    dealer.set(zmq::sockopt::curve_publickey, keys.public_key);
    dealer.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

} // namespace p2p
