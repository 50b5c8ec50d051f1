// SPDX-License-Identifier: MIT
// web_option.hpp - `--web [ADDR:]PORT` for the menu and serve: the web interface beside the peer (docs/usage.md).
#pragma once

#include "global_options.hpp"

#include "web/server.hpp"

#include "p2p/peer.hpp"

#include <memory>
#include <optional>
#include <string>

namespace p2p::cli {

/// Where --web asks to listen; nullopt without --web. Call before the peer starts, so a refusal binds nothing.
/// Throws usage_error for an address beyond loopback without --web-allow-remote, or for --web-allow-remote alone.
std::optional<web::listen_address> web_address(const global_options& globals);

/// Starts the web interface on `address` and attaches it to the peer; nullptr without an address. Warns on stderr
/// when it listens beyond loopback. Throws std::runtime_error when it cannot listen.
std::unique_ptr<web::server> start_web(const std::optional<web::listen_address>& address, peer& p);

/// Throws usage_error when --web or --web-allow-remote was given to a command that has no web interface.
void refuse_web(const global_options& globals, const char* command);

} // namespace p2p::cli
