// SPDX-License-Identifier: MIT
// server.hpp - the web interface: an HTTP server (cpp-httplib) inside the peer that serves the page and the JSON API
// (docs/api.md) and checks every request (docs/security.md). It never touches the peer: it talks to the bridge.
#pragma once

#include "web/access.hpp"
#include "web/bridge.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
struct Request;
struct Response;
} // namespace httplib

namespace p2p::web {

class server {
public:
    /// Listens on `address` (port 0: any free port) and serves on threads of its own until destroyed. Throws
    /// std::runtime_error with one line when it cannot listen there.
    explicit server(const listen_address& address, bridge_limits limits = {});
    /// Ends the event streams, stops listening and joins every HTTP thread.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// What the loop thread drives (bridge::attach, on_event, run...).
    web::bridge& bridge() { return bridge_; }
    /// The port it listens on (the real one when 0 was asked for).
    int port() const { return port_; }
    /// "http://127.0.0.1:8080/?token=...": the address to open, token included (as Jupyter prints it).
    std::string url() const;
    /// The same without the token.
    std::string base_url() const;

private:
    /// Answers one request, on an HTTP thread: the Host, Origin and token checks, then the route.
    void handle(const httplib::Request& request, httplib::Response& response);
    /// The request's token, from the X-P2P-Token header, our cookie or (GET only) ?token=; empty when none.
    std::string given_token(const httplib::Request& request) const;
    void serve_page(const httplib::Request& request, httplib::Response& response, std::string_view path);
    void serve_events(httplib::Response& response);
    /// Waits, at most `deadline`, until every event stream has written its end (the bridge is closed by then).
    void wait_streams_ended(std::chrono::milliseconds deadline);
    void route_get(const httplib::Request& request, httplib::Response& response);
    void route_post(const httplib::Request& request, httplib::Response& response);

    web::bridge bridge_;      ///< Declared first, destroyed last: the HTTP threads use it until they are joined.
    listen_address address_;  ///< Where it listens, as asked (port 0 included).
    std::string token_;       ///< The access token: 64 hex digits, new at each start.
    std::string cookie_name_; ///< "p2p-token-<port>": cookies ignore ports, so two peers on one host need two names.
    int port_ = 0;            ///< The port it listens on.
    std::unique_ptr<httplib::Server> http_; ///< Behind a pointer, so that only server.cpp includes httplib.h.
    std::thread thread_; ///< Runs cpp-httplib's accept loop, which hands connections to its thread pool.

    // Event streams whose response is still being written, counted so that stopping can let them finish first:
    // cpp-httplib stops calling a stream's writer once the server stops, which would cut it before its end.
    std::mutex streams_mutex_;
    std::condition_variable streams_ended_;
    std::size_t open_streams_ = 0;
};

} // namespace p2p::web
