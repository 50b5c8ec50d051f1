// SPDX-License-Identifier: MIT
// endpoint.hpp - turning what users type ("localhost:5001") into ZeroMQ endpoints and back.
#pragma once

#include <string>
#include <string_view>

namespace p2p {

/// "host:port" -> "tcp://host:port"; "tcp://..." and "inproc://..." pass through.
/// Throws std::invalid_argument with a one-line reason ("port must be a number from 1 to 65535").
std::string to_endpoint(std::string_view address);

/// "tcp://host:port" -> "host:port"; other endpoints unchanged. For showing to users.
std::string display_address(std::string_view endpoint);

/// True for "tcp://0.0.0.0:p", "tcp://*:p", "tcp://[::]:p": bound on every interface, so the host says nothing.
bool is_wildcard_endpoint(std::string_view endpoint);

/// The port of a tcp endpoint, or "" if there is none.
std::string endpoint_port(std::string_view endpoint);

/// The host of a tcp endpoint as written ("example.org", "10.0.0.1", "[::1]"), or "" if there is none.
std::string endpoint_host(std::string_view endpoint);

/// "localhost", 127.x.y.z or [::1] (a host as endpoint_host writes it): a host that names the machine of whoever
/// dials it.
bool is_loopback_host(std::string_view host);

/// True for what another peer may be told to dial (PEERS): "tcp://host:port" with a port of 1..65535 on a host of
/// letters, digits, '.' and '-' (or an IPv6 address in brackets) that is not "every interface", or "inproc://name".
bool is_dialable_endpoint(std::string_view endpoint);
} // namespace p2p
