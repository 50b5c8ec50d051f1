// SPDX-License-Identifier: MIT
// The socket-and-monitor pair every outgoing connection of a node is: what it reports, and that closing it never
// stalls the other connections of the process.
#include "support.hpp"

#include "p2p/watched_socket.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <vector>

using namespace p2p;
using namespace std::chrono_literals;

namespace {

constexpr int watched_events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_DELAYED | ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;

zmq::socket_t fast_retrying_dealer(zmq::context_t& ctx) {
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::reconnect_ivl, 1);
    dealer.set(zmq::sockopt::reconnect_ivl_max, 1);
    return dealer;
}

/// Waits up to `deadline` for an event of `kind` on `w`.
bool saw_event(watched_socket& w, std::uint16_t kind, std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        zmq::pollitem_t item{w.monitor().handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, 50ms);
        while (auto e = w.next_event()) {
            if (e->kind == kind) {
                return true;
            }
        }
    }
    return false;
}

/// True when a fresh DEALER-ROUTER pair of `ctx` still gets a message through within `deadline`.
bool context_still_works(zmq::context_t& ctx, std::chrono::milliseconds deadline) {
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::rcvtimeo, static_cast<int>(deadline.count()));
    router.bind("tcp://127.0.0.1:*");
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(router.get(zmq::sockopt::last_endpoint));
    dealer.send(zmq::str_buffer("ping"), zmq::send_flags::dontwait);
    zmq::message_t routing_id;
    return router.recv(routing_id).has_value();
}

} // namespace

TEST_CASE("a watched socket reports its connection and the drop", "[watched_socket][net]") {
    zmq::context_t ctx;
    auto router = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
    router->set(zmq::sockopt::linger, 0);
    router->bind("tcp://127.0.0.1:*");
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    watched_socket w(ctx, std::move(dealer), watched_events);
    w.socket().connect(router->get(zmq::sockopt::last_endpoint));
    CHECK(saw_event(w, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 5000ms));
    router.reset();
    CHECK(saw_event(w, ZMQ_EVENT_DISCONNECTED, 5000ms));
}

TEST_CASE("a watched socket reports a refused connect as a retry", "[watched_socket][net]") {
    zmq::context_t ctx;
    test::refused_port refusing;
    watched_socket w(ctx, fast_retrying_dealer(ctx), watched_events);
    w.socket().connect(refusing.endpoint());
    CHECK(saw_event(w, ZMQ_EVENT_CONNECT_RETRIED, 5000ms));
}

TEST_CASE("defect: closing a watched socket while it reports events stalls every connection of the context",
          "[defect][watched_socket][net]") {
    // Each socket retries 64 refused ports every millisecond, so an event is due at almost any moment it is closed.
    // Closed in the wrong order (the monitor's reading end first), one such event blocked libzmq's I/O thread and
    // nothing of the context moved again.
    zmq::context_t ctx;
    std::vector<test::refused_port> refused(64);
    for (int round = 0; round < 200; ++round) {
        watched_socket w(ctx, fast_retrying_dealer(ctx), watched_events);
        for (const auto& port : refused) {
            w.socket().connect(port.endpoint());
        }
        INFO("round " << round);
        REQUIRE(saw_event(w, ZMQ_EVENT_CONNECT_RETRIED, 5000ms));
    }
    CHECK(context_still_works(ctx, 5000ms));
}
