// SPDX-License-Identifier: MIT
// tcp_forwarder.hpp - a second address of a listener for tests: it accepts on 127.0.0.1 at a port of its own and
// passes the bytes of each connection both ways to a target port, as another interface of the listener's machine
// (a second network card, a VPN) would. The peer that dials it cannot tell that the two addresses are one machine.
#pragma once

#include "loopback_socket.hpp"

#include "p2p/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace p2p::test {

class tcp_forwarder {
public:
    explicit tcp_forwarder(std::uint16_t target_port) : target_port_(target_port) {
        auto listening = bind_loopback(8);
        listener_ = std::move(listening.fd);
        port_ = listening.port;
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            throw std::runtime_error("tcp_forwarder: cannot make its stop pipe");
        }
        stop_read_.reset(fds[0]);
        stop_write_.reset(fds[1]);
        thread_ = std::thread([this] { run(); });
    }
    ~tcp_forwarder() {
        const char stop = 1;
        (void)!::write(stop_write_.get(), &stop, 1);
        thread_.join();
    }
    tcp_forwarder(const tcp_forwarder&) = delete;
    tcp_forwarder& operator=(const tcp_forwarder&) = delete;

    std::uint16_t port() const { return port_; }

private:
    struct pair {
        unique_fd ends[2]; ///< The dialler's connection, and ours to the target.
    };

    void run() {
        std::vector<pair> pairs;
        for (;;) {
            std::vector<pollfd> fds{{stop_read_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
            for (const auto& p : pairs) {
                fds.push_back({p.ends[0].get(), POLLIN, 0});
                fds.push_back({p.ends[1].get(), POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                continue; // EINTR
            }
            if (fds[0].revents != 0) {
                return;
            }
            // Only the pairs that were polled have an entry in fds: one accepted now waits for the next poll.
            const std::size_t polled = pairs.size();
            if (fds[1].revents != 0) {
                accept_one(pairs);
            }
            std::vector<bool> closed(pairs.size(), false);
            for (std::size_t i = 0; i < polled; ++i) {
                for (int side = 0; side < 2 && !closed[i]; ++side) {
                    if (fds[2 + 2 * i + side].revents != 0) {
                        closed[i] = !pass_on(pairs[i].ends[side].get(), pairs[i].ends[1 - side].get());
                    }
                }
            }
            for (std::size_t i = pairs.size(); i-- > 0;) {
                if (closed[i]) {
                    pairs.erase(pairs.begin() + static_cast<std::ptrdiff_t>(i));
                }
            }
        }
    }

    void accept_one(std::vector<pair>& pairs) {
        unique_fd dialler(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        unique_fd target(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        const sockaddr_in at = loopback_address(target_port_);
        if (dialler && target && ::connect(target.get(), reinterpret_cast<const sockaddr*>(&at), sizeof at) == 0) {
            pair p;
            p.ends[0] = std::move(dialler);
            p.ends[1] = std::move(target);
            pairs.push_back(std::move(p));
        }
    }

    /// Copies what `from` has to `to`; false when either end closed.
    static bool pass_on(int from, int to) {
        std::array<char, 65536> buffer;
        const auto got = ::read(from, buffer.data(), buffer.size());
        if (got <= 0) {
            return false;
        }
        for (ssize_t done = 0; done < got;) {
            const auto wrote = ::send(to, buffer.data() + done, static_cast<std::size_t>(got - done), MSG_NOSIGNAL);
            if (wrote <= 0) {
                return false;
            }
            done += wrote;
        }
        return true;
    }

    std::uint16_t target_port_;
    std::uint16_t port_ = 0;
    unique_fd listener_, stop_read_, stop_write_;
    std::thread thread_;
};

} // namespace p2p::test
