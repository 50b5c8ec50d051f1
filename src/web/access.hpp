// SPDX-License-Identifier: MIT
// access.hpp - who may use the web interface: where it listens, the access token, and the Host and Origin checks
// that keep other web sites (cross-site requests, DNS rebinding) out. Pure functions, no I/O; docs/security.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace p2p::web {

/// Where the web interface listens, from `--web [ADDR:]PORT`.
struct listen_address {
    std::string host = "127.0.0.1"; ///< An IP literal without brackets: "127.0.0.1", "0.0.0.0", "::1".
    int port = 0;                   ///< 0: any free port.

    /// 127.0.0.0/8 or ::1: only this machine can connect.
    bool loopback() const;
    /// 0.0.0.0 or ::: every interface.
    bool wildcard() const;
};

/// Parses "PORT", "ADDR:PORT" or "[IPv6]:PORT"; ADDR is an IP address or "localhost" (127.0.0.1), PORT 0..65535.
/// Throws std::invalid_argument with a one-line reason.
listen_address parse_listen_address(std::string_view text);

/// "127.0.0.1:8080", "[::1]:8080": host and port as a URL writes them.
std::string url_authority(std::string_view host, int port);

/// A fresh access token: 32 random bytes from libsodium, as 64 lowercase hex digits.
/// Throws std::runtime_error when libsodium cannot start.
std::string new_token();

/// Compares a token given by a client with ours in constant time (sodium_memcmp), so the time a refusal takes says
/// nothing about how many leading characters were right.
bool token_matches(std::string_view given, std::string_view token);

/// The value of cookie `name` in a Cookie header ("a=1; p2p-token-8080=..."), or nullopt.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

/// Whether a request's Host header names this server, listening on `bound` at `port`: the bound address; when that is
/// loopback, also localhost, 127.0.0.1 and [::1]; when it is every interface, any IP address. Always with our port.
/// A DNS name (other than localhost) is refused: that is what a DNS rebinding attack sends.
bool host_allowed(std::string_view host_header, const listen_address& bound, int port);

/// Whether a request's Origin header (when it has one) is this page's own origin: "http://" + the Host it was sent
/// to. Browsers send Origin on cross-site requests, so this refuses other web sites' scripts and forms.
bool origin_allowed(std::string_view origin_header, std::string_view host_header);

} // namespace p2p::web
