// SPDX-License-Identifier: MIT
// arguments.cpp - argument checks and lines shared by several commands.
#include "commands.hpp"

#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"

namespace p2p::cli {

CLI::Option* add_port_argument(CLI::App& app, int& port) {
    return app.add_option("port", port, "Port to listen on; 0 picks a free one (the line printed at start has it)")
        ->check(CLI::Range(0, 65535));
}

CLI::Validator host_port_check() {
    return CLI::Validator(
        [](std::string& value) {
            try {
                // In secure mode the address carries the other peer's key: KEY@host:port.
                const auto endpoint = to_endpoint(split_keyed_address(value).address);
                // Another process is reached over tcp, at a real port: not inproc, not "any port".
                if (!endpoint.starts_with("tcp://") || endpoint_port(endpoint) == "*") {
                    return std::string("expected host:port");
                }
                return std::string();
            } catch (const std::invalid_argument& e) {
                return std::string(e.what());
            }
        },
        "");
}

std::string started_line(const peer& p) {
    return "Peer " + p.id().short_hex() + " started on " + display_address(p.endpoint());
}

std::string key_line(const peer& p) {
    if (p.public_key().empty()) {
        return {};
    }
    return "Public key: " + p.public_key() + " (others connect to " + p.public_key() + "@" +
           display_address(p.endpoint()) + ")";
}

} // namespace p2p::cli
