// SPDX-License-Identifier: MIT
// global_options.hpp - the options every p2p-peer command shares, and how they become p2p::peer_options.
#pragma once

#include "p2p/options.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace p2p::cli {

/// What the global options hold after parsing. Unset optionals keep the peer_options defaults.
struct global_options {
    std::string log_level = "warn";
    bool verbose = false;                     ///< -v/--verbose: the menu's "Got file" lines say what limited the rate.
    std::optional<std::string> bind;          ///< Host or interface to listen on; each command has its own default.
    std::optional<std::string> chunk_size;    ///< As typed ("1M"); validated by parse_size at parse time.
    std::optional<std::string> window;        ///< --window auto|CHUNKS|SIZE: credit per download.
    std::optional<std::string> max_rate;      ///< --max-rate RATE: as typed ("2M"); validated by parse_rate.
    std::optional<std::string> ping_interval; ///< As typed ("500ms"); validated by parse_duration.
    std::optional<std::string> peer_timeout;  ///< As typed ("5s").
    std::optional<double> settle;             ///< --settle SECONDS: a file is shared once unchanged this long.
    std::filesystem::path capture;            ///< Record every message to this file (docs/capture.md).
    bool secure = false;                      ///< CURVE on every socket (docs/security.md).
    bool ephemeral = false;                   ///< A fresh id at every start instead of <dir>/.p2p/id.
    std::filesystem::path allow;              ///< With --secure: only these public keys get in.
    bool discover = false;                    ///< --discover (the default for the menu and serve).
    bool no_discover = false;                 ///< --no-discover.
    std::uint16_t discover_port = protocol::default_discover_port; ///< --discover-port: UDP port of LAN beacons.
    std::optional<std::size_t> max_peers; ///< --max-peers: most peers at once (HELLOs beyond, dials beyond).
    std::optional<std::string> web;       ///< --web [ADDR:]PORT: the web interface (menu and serve only).
    bool web_allow_remote = false;        ///< --web-allow-remote: let --web listen beyond loopback.
};

/// Adds --log-level, --bind, --chunk-size, --window, --max-rate, --ping-interval, --peer-timeout, --settle, --capture,
/// --secure,
/// --ephemeral, --allow, --discover, --no-discover, --discover-port, --max-peers, --web and --web-allow-remote to app.
void add_global_options(CLI::App& app, global_options& options);

/// Applies --log-level. Call once after parsing.
void apply_log_level(const global_options& options);

/// peer_options for a peer sharing `folder` and listening on `port` (0: any free port) of --bind, or of
/// default_host when --bind was not given. Throws usage_error when the options contradict each other.
peer_options make_peer_options(const global_options& options, const std::filesystem::path& folder, int port,
                               const std::string& default_host);

} // namespace p2p::cli
