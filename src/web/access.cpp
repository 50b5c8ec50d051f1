// SPDX-License-Identifier: MIT
// access.cpp - listen address parsing, tokens and the Host and Origin checks.
#include "web/access.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>

namespace p2p::web {

namespace {

bool is_ipv4(const std::string& host) {
    in_addr a{};
    return ::inet_pton(AF_INET, host.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& host) {
    in6_addr a{};
    return ::inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

std::optional<int> parse_port(std::string_view text) {
    int port = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535) {
        return std::nullopt;
    }
    return port;
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
    return out;
}

/// A Host header or the authority of an Origin split into host (brackets removed, lowercased) and port (80 when
/// absent, the http default). nullopt when it does not parse.
struct authority {
    std::string host;
    int port = 80;
    bool ip = false; ///< The host is an IP literal.
};

std::optional<authority> parse_authority(std::string_view text) {
    authority out;
    std::optional<std::string_view> port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = lowercase(text.substr(1, close - 1));
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (!rest.starts_with(':')) {
                return std::nullopt;
            }
            port_text = rest.substr(1);
        }
        if (!is_ipv6(out.host)) {
            return std::nullopt;
        }
        out.ip = true;
    } else {
        const auto colon = text.find(':');
        out.host = lowercase(text.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = text.substr(colon + 1);
        }
        if (out.host.empty()) {
            return std::nullopt;
        }
        out.ip = is_ipv4(out.host);
    }
    if (port_text) {
        const auto port = parse_port(*port_text);
        if (!port) {
            return std::nullopt;
        }
        out.port = *port;
    }
    return out;
}

} // namespace

bool listen_address::loopback() const {
    if (is_ipv4(host)) {
        return host.starts_with("127.");
    }
    in6_addr a{};
    return ::inet_pton(AF_INET6, host.c_str(), &a) == 1 && IN6_IS_ADDR_LOOPBACK(&a);
}

bool listen_address::wildcard() const {
    in6_addr a6{};
    return host == "0.0.0.0" || (::inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6));
}

listen_address parse_listen_address(std::string_view text) {
    listen_address out;
    std::string_view port_text = text;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) {
            throw std::invalid_argument("expected [IPv6]:PORT, got '" + std::string(text) + "'");
        }
        out.host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
        if (!is_ipv6(out.host)) {
            throw std::invalid_argument("'" + out.host + "' is not an IPv6 address");
        }
    } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        out.host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
        if (out.host == "localhost") {
            out.host = "127.0.0.1";
        }
        if (!is_ipv4(out.host)) {
            throw std::invalid_argument("expected an IP address before the port, got '" + out.host +
                                        "' (use 127.0.0.1, 0.0.0.0, [::1]...)");
        }
    }
    const auto port = parse_port(port_text);
    if (!port) {
        throw std::invalid_argument("expected [ADDR:]PORT with PORT from 0 to 65535, got '" + std::string(text) + "'");
    }
    out.port = *port;
    return out;
}

std::string url_authority(std::string_view host, int port) {
    const bool v6 = host.find(':') != std::string_view::npos;
    return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

std::string new_token() {
    if (::sodium_init() < 0) {
        throw std::runtime_error("libsodium could not start");
    }
    std::array<unsigned char, 32> bytes{};
    ::randombytes_buf(bytes.data(), bytes.size());
    std::array<char, 2 * 32 + 1> hex{};
    ::sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
    return hex.data();
}

bool token_matches(std::string_view given, std::string_view token) {
    // The length is not secret (always 64); comparing it first keeps sodium_memcmp within both buffers.
    return !token.empty() && given.size() == token.size() &&
           ::sodium_memcmp(given.data(), token.data(), token.size()) == 0;
}

std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name) {
    while (!cookie_header.empty()) {
        const auto end = cookie_header.find(';');
        auto pair = cookie_header.substr(0, end);
        cookie_header = end == std::string_view::npos ? std::string_view{} : cookie_header.substr(end + 1);
        while (pair.starts_with(' ')) {
            pair.remove_prefix(1);
        }
        const auto equals = pair.find('=');
        if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
            return std::string(pair.substr(equals + 1));
        }
    }
    return std::nullopt;
}

bool host_allowed(std::string_view host_header, const listen_address& bound, int port) {
    const auto given = parse_authority(host_header);
    if (!given || given->port != port) {
        return false;
    }
    if (given->host == lowercase(bound.host)) {
        return true;
    }
    if (bound.loopback()) {
        return given->host == "localhost" || given->host == "127.0.0.1" || given->host == "::1";
    }
    if (bound.wildcard()) {
        return given->ip || given->host == "localhost";
    }
    return false;
}

bool origin_allowed(std::string_view origin_header, std::string_view host_header) {
    if (origin_header.empty()) {
        return true; // same-origin GETs and tools like curl send none
    }
    constexpr std::string_view scheme = "http://";
    if (!lowercase(origin_header).starts_with(scheme)) {
        return false; // "null" (sandboxed frames, file: pages), https: and every other scheme
    }
    const auto origin = parse_authority(origin_header.substr(scheme.size()));
    const auto host = parse_authority(host_header);
    return origin && host && origin->host == host->host && origin->port == host->port;
}

} // namespace p2p::web
