// SPDX-License-Identifier: MIT
#include "p2p/endpoint.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <utility>

namespace p2p {

namespace {
constexpr std::string_view tcp_prefix = "tcp://";
constexpr std::string_view inproc_prefix = "inproc://";
} // namespace

std::string to_endpoint(std::string_view address) {
    if (address.starts_with(inproc_prefix)) {
        if (address.size() == inproc_prefix.size()) {
            throw std::invalid_argument("inproc endpoint needs a name");
        }
        return std::string(address);
    }
    if (address.starts_with(tcp_prefix)) {
        address.remove_prefix(tcp_prefix.size());
    }
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        throw std::invalid_argument("expected host:port");
    }
    auto host = address.substr(0, colon);
    auto port = address.substr(colon + 1);
    for (char c : host) {
        if (c <= ' ' || c > '~') {
            throw std::invalid_argument("host contains a space or control character");
        }
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port == "*") {
        return "tcp://" + std::string(address);
    }
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
        throw std::invalid_argument("port must be a number from 1 to 65535");
    }
    return "tcp://" + std::string(host) + ":" + std::string(port);
}

std::string display_address(std::string_view endpoint) {
    if (endpoint.starts_with(tcp_prefix)) {
        endpoint.remove_prefix(tcp_prefix.size());
    }
    return std::string(endpoint);
}

bool is_wildcard_endpoint(std::string_view endpoint) {
    return endpoint.starts_with("tcp://0.0.0.0:") || endpoint.starts_with("tcp://*:") ||
           endpoint.starts_with("tcp://[::]:");
}

namespace {

/// "tcp://host:port" -> {host, port} as written; nullopt for another scheme or a tcp endpoint without a port.
std::optional<std::pair<std::string_view, std::string_view>> tcp_host_and_port(std::string_view endpoint) {
    if (!endpoint.starts_with(tcp_prefix)) {
        return std::nullopt;
    }
    const auto colon = endpoint.rfind(':');
    if (colon == std::string_view::npos || colon < tcp_prefix.size()) {
        return std::nullopt;
    }
    return std::pair{endpoint.substr(tcp_prefix.size(), colon - tcp_prefix.size()), endpoint.substr(colon + 1)};
}

} // namespace

std::string endpoint_port(std::string_view endpoint) {
    const auto parts = tcp_host_and_port(endpoint);
    return parts ? std::string(parts->second) : "";
}

std::string endpoint_host(std::string_view endpoint) {
    const auto parts = tcp_host_and_port(endpoint);
    return parts ? std::string(parts->first) : "";
}

bool is_loopback_host(std::string_view host) {
    return host == "localhost" || host.starts_with("127.") || host == "[::1]";
}

namespace {

/// A host of letters, digits, '.' and '-', or an IPv6 address in brackets.
bool is_plain_host(std::string_view host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        return std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
        });
    }
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
    });
}

} // namespace

bool is_dialable_endpoint(std::string_view endpoint) {
    if (endpoint.starts_with("inproc://")) {
        return endpoint.size() > 9 &&
               std::all_of(endpoint.begin(), endpoint.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    }
    if (!endpoint.starts_with("tcp://")) {
        return false;
    }
    const auto rest = endpoint.substr(6);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || !is_plain_host(rest.substr(0, colon))) {
        return false;
    }
    const auto port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    const auto number = std::stoul(std::string(port));
    return number >= 1 && number <= 65535 && !is_wildcard_endpoint(endpoint);
}

} // namespace p2p
