// SPDX-License-Identifier: MIT
#include "p2p/host_lookup.hpp"

#include "p2p/thread_without_signals.hpp"
#include "p2p/zmtp_greeting.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace p2p {

struct host_lookup::shared {
    std::mutex mutex;
    std::vector<answer> answers;
    unique_fd notify;
};

namespace {

/// How long reading a greeting may wait for each step (connect, send, the greeting itself): a ZeroMQ socket sends
/// its greeting at once.
constexpr std::chrono::milliseconds greeting_timeout{2000};

std::string unbracketed(const std::string& host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        return host.substr(1, host.size() - 2);
    }
    return host;
}

host_lookup::answer resolve(std::uint64_t tag, const std::string& host) {
    host_lookup::answer out;
    out.tag = tag;
    ::addrinfo hints{};
    // IPv4 only, as libzmq resolves for a socket without ZMQ_IPV6 (the peer's sockets have none): where "localhost"
    // is also ::1, an IPv6 answer first would send the connect where nothing of ours listens.
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    ::addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(unbracketed(host).c_str(), nullptr, &hints, &found);
    if (rc != 0 || found == nullptr) {
        out.error = rc != 0 ? ::gai_strerror(rc) : "no address";
        return out;
    }
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<const ::sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof text);
    out.address = text;
    ::freeaddrinfo(found);
    return out;
}

} // namespace

host_lookup::host_lookup() : shared_(std::make_shared<shared>()) {
    shared_->notify = unique_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!shared_->notify) {
        throw std::system_error(errno, std::generic_category(), "eventfd");
    }
}

host_lookup::~host_lookup() = default;

int host_lookup::notify_fd() const {
    return shared_->notify.get();
}

void host_lookup::start(std::uint64_t tag, std::string host) {
    run_detached([tag, host = std::move(host)] { return resolve(tag, host); });
}

void host_lookup::start_greeting(std::uint64_t tag, std::string numeric_host, std::string port) {
    run_detached([tag, host = std::move(numeric_host), port = std::move(port)] {
        auto greeting = read_greeting_mechanism(unbracketed(host), port, greeting_timeout);
        answer out;
        out.tag = tag;
        out.greeting = true;
        out.mechanism = std::move(greeting.mechanism);
        out.error = std::move(greeting.error);
        return out;
    });
}

void host_lookup::run_detached(std::function<answer()> work) {
    // Detached, holding the shared state: the thread may outlive this object (getaddrinfo cannot be cancelled), and
    // then writes to state nobody reads any more.
    thread_without_signals([state = shared_, work = std::move(work)] {
        auto result = work();
        std::lock_guard lock(state->mutex);
        state->answers.push_back(std::move(result));
        const std::uint64_t one = 1;
        [[maybe_unused]] auto written = ::write(state->notify.get(), &one, sizeof one);
    }).detach();
}

std::vector<host_lookup::answer> host_lookup::take() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto got = ::read(shared_->notify.get(), &count, sizeof count);
    std::lock_guard lock(shared_->mutex);
    return std::exchange(shared_->answers, {});
}

bool host_lookup::is_numeric(const std::string& host) {
    // A link-local IPv6 address names its interface ("fe80::1%eth0"); libzmq reads that itself.
    auto bare = unbracketed(host);
    bare = bare.substr(0, bare.find('%'));
    unsigned char buffer[sizeof(::in6_addr)];
    return ::inet_pton(AF_INET, bare.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, bare.c_str(), buffer) == 1;
}

} // namespace p2p
