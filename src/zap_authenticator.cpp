// SPDX-License-Identifier: MIT
#include "p2p/zap_authenticator.hpp"

#include "p2p/interrupted.hpp"
#include "p2p/thread_without_signals.hpp"

#include "p2p/log.hpp"

#include <chrono>
#include <stdexcept>
#include <vector>

namespace p2p {

namespace {

constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";

/// Handlers alive, by context. A weak reference, so the handler goes when its last peer does.
std::mutex registry_mutex;
std::map<void*, std::weak_ptr<zap_authenticator>> registry;

std::string next_stop_endpoint() {
    static std::atomic<std::uint64_t> counter{0};
    return "inproc://p2p-zap-stop-" + std::to_string(counter++);
}

} // namespace

std::shared_ptr<zap_authenticator> zap_authenticator::of(zmq::context_t& context) {
    std::lock_guard lock(registry_mutex);
    auto& slot = registry[context.handle()];
    if (auto alive = slot.lock()) {
        return alive;
    }
    auto created = std::make_shared<zap_authenticator>(context);
    slot = created;
    return created;
}

zap_authenticator::zap_authenticator(zmq::context_t& context)
    : context_(context), handler_(context, zmq::socket_type::rep), stop_sender_(context, zmq::socket_type::pair),
      stop_receiver_(context, zmq::socket_type::pair) {
    handler_.set(zmq::sockopt::linger, 0);
    // A handler of this context that is going away may still hold the endpoint for a moment.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        try {
            handler_.bind(zap_endpoint);
            break;
        } catch (const zmq::error_t& e) {
            if (e.num() != EADDRINUSE || std::chrono::steady_clock::now() > give_up) {
                throw std::runtime_error(std::string("cannot start the ZAP handler: ") + e.what());
            }
            std::this_thread::yield();
        }
    }
    const auto stop = next_stop_endpoint();
    stop_receiver_.bind(stop);
    stop_sender_.connect(stop);
    thread_ = thread_without_signals([this] { run(); });
}

zap_authenticator::~zap_authenticator() {
    stop_sender_.send(zmq::str_buffer("stop"), zmq::send_flags::none);
    thread_.join();
    // Unbind before waiting for the registry: a new handler for this context may be retrying its bind under that lock.
    handler_.close();
    std::lock_guard lock(registry_mutex);
    if (auto it = registry.find(context_.handle()); it != registry.end() && it->second.expired()) {
        registry.erase(it);
    }
}

void zap_authenticator::set_policy(const std::string& domain, std::optional<std::set<std::string>> allowed) {
    std::lock_guard lock(mutex_);
    policies_[domain] = std::move(allowed);
}

void zap_authenticator::remove_policy(const std::string& domain) {
    std::lock_guard lock(mutex_);
    policies_.erase(domain);
}

bool zap_authenticator::allows(const std::string& domain, const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = policies_.find(domain);
    if (it == policies_.end()) {
        return false; // fail closed
    }
    return !it->second || it->second->contains(key);
}

void zap_authenticator::run() {
    for (;;) {
        zmq::pollitem_t items[] = {{handler_.handle(), 0, ZMQ_POLLIN, 0}, {stop_receiver_.handle(), 0, ZMQ_POLLIN, 0}};
        poll_through_signals(items, std::chrono::milliseconds(-1));
        if (items[1].revents != 0) {
            break;
        }
        std::vector<zmq::message_t> request;
        for (;;) {
            zmq::message_t part;
            if (!handler_.recv(part, zmq::recv_flags::dontwait)) {
                break;
            }
            const bool more = part.more();
            request.push_back(std::move(part));
            if (!more) {
                break;
            }
        }
        // RFC 27: version, request id, domain, address, identity, mechanism, credentials... libzmq always sends
        // that, but any socket of the context can connect here. A REP socket must answer every request before it
        // can read the next one, so a malformed one is refused (400), never left unanswered.
        if (request.size() < 6) {
            ++refused_;
            log(log_level::warn, "refused a malformed ZAP request (", request.size(), " frames)");
            reply(request.size() > 1 ? request[1].to_string() : std::string(), false, "malformed ZAP request", "");
            continue;
        }
        const std::string domain = request[2].to_string();
        const std::string mechanism = request[5].to_string();
        std::string key;
        bool ok = false;
        if (mechanism == "CURVE" && request.size() == 7 && request[6].size() == 32) {
            char z85[41] = {};
            zmq_z85_encode(z85, static_cast<const std::uint8_t*>(request[6].data()), 32);
            key = z85;
            ok = allows(domain, key);
        }
        if (!ok) {
            ++refused_;
            log(log_level::warn, "refused a ", mechanism, " connection from ", request[3].to_string(),
                key.empty() ? std::string() : " with key " + key, ": not on the allowlist");
        }
        reply(request[1].to_string(), ok, ok ? "OK" : "key not allowed", ok ? key : std::string());
    }
}

void zap_authenticator::reply(const std::string& request_id, bool ok, const std::string& text,
                              const std::string& user_id) {
    handler_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
    handler_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    handler_.send(zmq::buffer(std::string(ok ? "200" : "400")), zmq::send_flags::sndmore);
    handler_.send(zmq::buffer(text), zmq::send_flags::sndmore);
    handler_.send(zmq::buffer(user_id), zmq::send_flags::sndmore);
    handler_.send(zmq::message_t(), zmq::send_flags::none);
}

} // namespace p2p
