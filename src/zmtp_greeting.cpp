// SPDX-License-Identifier: MIT
#include "p2p/zmtp_greeting.hpp"

#include "p2p/unique_fd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace p2p {

namespace {

// ZMTP 3 greeting (RFC 23): signature (0xff, 8 bytes of padding, 0x7f), major, minor, mechanism (20 bytes, NUL
// padded), as-server, filler: 64 bytes.
constexpr std::size_t signature_size = 10;
constexpr std::size_t mechanism_offset = 12;
constexpr std::size_t mechanism_size = 20;
constexpr std::size_t greeting_size = 64;
constexpr std::uint8_t major_version = 3;

greeting_answer failed(const std::string& why) {
    return greeting_answer{"", why};
}

/// A send or recv, again when a signal cut it short.
template <typename Call>
ssize_t again_if_interrupted(Call&& call) {
    ssize_t n = 0;
    do {
        n = call();
    } while (n < 0 && errno == EINTR);
    return n;
}

} // namespace

greeting_answer read_greeting_mechanism(const std::string& numeric_host, const std::string& port,
                                        std::chrono::milliseconds timeout) {
    ::sockaddr_storage address{};
    ::socklen_t length = 0;
    int port_number = 0;
    try {
        port_number = std::stoi(port);
    } catch (const std::exception&) {
        return failed("not a port: " + port);
    }
    if (auto* v4 = reinterpret_cast<::sockaddr_in*>(&address);
        ::inet_pton(AF_INET, numeric_host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(port_number));
        length = sizeof(::sockaddr_in);
    } else if (auto* v6 = reinterpret_cast<::sockaddr_in6*>(&address);
               ::inet_pton(AF_INET6, numeric_host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port_number));
        length = sizeof(::sockaddr_in6);
    } else {
        return failed("not a numeric address: " + numeric_host);
    }
    unique_fd fd(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return failed(std::string("socket: ") + std::strerror(errno));
    }
    const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    const ::timeval limit{static_cast<time_t>(usec / 1000000), static_cast<suseconds_t>(usec % 1000000)};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (::connect(fd.get(), reinterpret_cast<const ::sockaddr*>(&address), length) != 0) {
        return failed(std::string("connect: ") + std::strerror(errno));
    }
    std::array<std::uint8_t, signature_size + 1> ours{};
    ours[0] = 0xff;
    ours[signature_size - 1] = 0x7f;
    ours[signature_size] = major_version;
    if (again_if_interrupted([&] { return ::send(fd.get(), ours.data(), ours.size(), MSG_NOSIGNAL); }) !=
        static_cast<ssize_t>(ours.size())) {
        return failed(std::string("send: ") + std::strerror(errno));
    }
    std::array<std::uint8_t, greeting_size> theirs{};
    std::size_t got = 0;
    while (got < mechanism_offset + mechanism_size) {
        const auto n =
            again_if_interrupted([&] { return ::recv(fd.get(), theirs.data() + got, theirs.size() - got, 0); });
        if (n <= 0) {
            return failed(n == 0 ? "closed before its greeting was complete"
                                 : std::string("recv: ") + std::strerror(errno));
        }
        got += static_cast<std::size_t>(n);
    }
    if (theirs[0] != 0xff || (theirs[signature_size - 1] & 0x01) == 0 || theirs[signature_size] < major_version) {
        return failed("not a ZMTP 3 greeting");
    }
    const auto* field = reinterpret_cast<const char*>(theirs.data() + mechanism_offset);
    return greeting_answer{std::string(field, ::strnlen(field, mechanism_size)), ""};
}

} // namespace p2p
