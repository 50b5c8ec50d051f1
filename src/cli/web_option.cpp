// SPDX-License-Identifier: MIT
// web_option.cpp - --web and --web-allow-remote.
#include "web_option.hpp"

#include "exit_code.hpp"

#include <iostream>

namespace p2p::cli {

std::optional<web::listen_address> web_address(const global_options& globals) {
    if (!globals.web) {
        if (globals.web_allow_remote) {
            throw usage_error("--web-allow-remote needs --web");
        }
        return std::nullopt;
    }
    // Validated at parse time already: this cannot throw.
    auto address = web::parse_listen_address(*globals.web);
    if (!address.loopback() && !globals.web_allow_remote) {
        throw usage_error("--web " + *globals.web +
                          " would let other machines reach this peer's web interface; add --web-allow-remote if "
                          "that is what you want (docs/security.md), or use 127.0.0.1");
    }
    return address;
}

std::unique_ptr<web::server> start_web(const std::optional<web::listen_address>& address, peer& p) {
    if (!address) {
        return nullptr;
    }
    auto server = std::make_unique<web::server>(*address);
    server->bridge().attach(p, web::clock::now());
    if (!address->loopback()) {
        std::cerr << "p2p-peer: warning: the web interface listens on "
                  << web::url_authority(address->host, server->port())
                  << ", beyond this machine: whoever has its address and token controls this peer, and both travel "
                     "unencrypted\n";
    }
    return server;
}

void refuse_web(const global_options& globals, const char* command) {
    if (globals.web || globals.web_allow_remote) {
        throw usage_error(std::string("--web works with the menu and serve, not with ") + command);
    }
}

} // namespace p2p::cli
