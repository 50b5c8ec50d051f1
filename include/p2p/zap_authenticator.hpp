// SPDX-License-Identifier: MIT
// zap_authenticator.hpp - the ZAP handler (RFC 27) that decides which CURVE keys may connect to a secure peer.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace p2p {

/// libzmq asks the socket bound at inproc://zeromq.zap.01 of a context before it lets a CURVE client in. Without
/// one, every key is accepted: so a secure peer never binds before this handler is running, and the handler fails
/// closed (a domain it has no policy for is refused).
///
/// There can be one handler per context, and several peers may share a context (the tests do): each peer's ROUTER
/// gets its own ZAP domain, and the handler keeps one policy per domain. The answer names the client's key as
/// User-Id, which the peer reads off the HELLO frame to check that the id claimed is the id of that key.
class zap_authenticator {
public:
    /// The handler of this context, started on first use and stopped when its last user lets go.
    static std::shared_ptr<zap_authenticator> of(zmq::context_t& context);

    /// Clients of sockets with ZAP domain `domain` get in with a key in `allowed`, or with any key when nullopt.
    void set_policy(const std::string& domain, std::optional<std::set<std::string>> allowed);
    void remove_policy(const std::string& domain);

    /// Refusals so far, for tests and stats.
    std::uint64_t refused() const { return refused_.load(); }

    explicit zap_authenticator(zmq::context_t& context);
    ~zap_authenticator();
    zap_authenticator(const zap_authenticator&) = delete;
    zap_authenticator& operator=(const zap_authenticator&) = delete;

private:
    void run();
    bool allows(const std::string& domain, const std::string& key);
    /// The RFC 27 reply: "1.0", request id, status (200 or 400), status text, user id, empty metadata.
    void reply(const std::string& request_id, bool ok, const std::string& text, const std::string& user_id);

    zmq::context_t& context_;
    zmq::socket_t handler_;
    zmq::socket_t stop_sender_;
    zmq::socket_t stop_receiver_;
    std::mutex mutex_;
    std::map<std::string, std::optional<std::set<std::string>>> policies_;
    std::atomic<std::uint64_t> refused_{0};
    std::thread thread_;
};

} // namespace p2p
