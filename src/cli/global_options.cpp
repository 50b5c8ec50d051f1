// SPDX-License-Identifier: MIT
#include "global_options.hpp"

#include "exit_code.hpp"
#include "units.hpp"

#include "web/access.hpp"

#include "p2p/log.hpp"
#include "p2p/protocol.hpp"

namespace p2p::cli {

namespace {

/// Checks a size option at parse time, so a bad value is a usage error (exit 2) with the reason.
CLI::Validator chunk_size_check() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            auto size = parse_size(value);
            if (!size || *size < protocol::min_chunk_size || *size > protocol::max_chunk_size) {
                return "must be a size from " + std::to_string(protocol::min_chunk_size) + " to 4M (like 64K, 1M)";
            }
            return {};
        },
        "");
}

CLI::Validator window_check() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            if (!parse_window(value)) {
                return "must be auto, a number of chunks from 1 to " + std::to_string(protocol::max_credit) +
                       ", or a size up to 64M (like 8M)";
            }
            return {};
        },
        "");
}

/// --max-rate: bytes per second in parse_size's binary multiples; 0 (no limit) takes no unit, since "0M" more
/// likely means a mistake than "no limit".
CLI::Validator rate_check() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            const auto rate = parse_rate(value);
            if (!rate || (*rate == 0 && value != "0")) {
                return "must be bytes per second like 500K, 2M or 1G (binary multiples: 2M is 2 MiB/s = 2097152 "
                       "bytes/s; \"/s\" optional), or 0 for no limit";
            }
            return {};
        },
        "");
}

CLI::Validator duration_check() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            auto duration = parse_duration(value);
            if (!duration || duration->count() == 0) {
                return "must be a duration like 500, 500ms, 2s or 1m";
            }
            return {};
        },
        "");
}

/// Checks --web at parse time, so a bad address is a usage error (exit 2) with the reason.
CLI::Validator web_address_check() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            try {
                web::parse_listen_address(value);
                return {};
            } catch (const std::invalid_argument& e) {
                return e.what();
            }
        },
        "");
}

} // namespace

void add_global_options(CLI::App& app, global_options& options) {
    const char* group = "Peer options (before or after the command)";
    app.add_option("--log-level", options.log_level, "Logging on stderr: debug, info, warn, error or off")
        ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
        ->type_name("LEVEL")
        ->capture_default_str()
        ->group(group);
    app.add_flag("-v,--verbose", options.verbose,
                 "The menu's \"Got file\" lines also say what each holder sent (when several did) and what limited "
                 "the rate")
        ->group(group);
    app.add_option("--bind", options.bind,
                   "Address to listen on (default 0.0.0.0 for the menu and serve, 127.0.0.1 for ls and get)")
        ->type_name("ADDR")
        ->group(group);
    app.add_option("--chunk-size", options.chunk_size, "Largest chunk asked for or sent (default 1M)")
        ->check(chunk_size_check())
        ->type_name("SIZE")
        ->group(group);
    app.add_option("--window", options.window,
                   "Credit per download: auto (default) starts as stop-and-wait and grows while the round trip limits "
                   "the rate; a number of chunks (1 is stop-and-wait) or a size (8M) fixes it")
        ->check(window_check())
        ->type_name("auto|N|SIZE")
        ->group(group);
    app.add_option("--max-rate", options.max_rate,
                   "Most bytes per second of file data this peer sends, over all uploads together, and again that it "
                   "receives, over all downloads together; binary multiples (2M is 2 MiB/s); 0 or absent: no limit")
        ->check(rate_check())
        ->type_name("RATE")
        ->group(group);
    app.add_option("--ping-interval", options.ping_interval,
                   "Silence after which a peer is pinged; ms, or with ms/s/m (default 1s)")
        ->check(duration_check())
        ->type_name("DURATION")
        ->group(group);
    app.add_option("--peer-timeout", options.peer_timeout,
                   "Silence after which a peer is removed; ms, or with ms/s/m (default 5s)")
        ->check(duration_check())
        ->type_name("DURATION")
        ->group(group);
    app.add_option("--settle", options.settle,
                   "Share a file only once it has been unchanged this many seconds; 0 shares at once (default 1)")
        ->check(CLI::Range(0.0, 3600.0))
        ->type_name("SECONDS")
        ->group(group);
    app.add_option("--capture", options.capture, "Record every message sent and received to FILE (docs/capture.md)")
        ->type_name("FILE")
        ->group(group);
    app.add_flag("--secure", options.secure,
                 "Encrypt and authenticate with CURVE; keys in <dir>/.p2p; connect to KEY@host:port")
        ->group(group);
    app.add_flag("--ephemeral", options.ephemeral,
                 "Take a new peer id at this start and keep none (the menu and serve keep theirs in <dir>/.p2p/id; "
                 "ls and get always take a new one)")
        ->group(group);
    app.add_option("--allow", options.allow, "With --secure: only the public keys listed in FILE may connect")
        ->check(CLI::ExistingFile)
        ->type_name("FILE")
        ->group(group);
    const char* discovery_group = "LAN discovery (the menu and serve)";
    auto* on = app.add_flag("--discover", options.discover,
                            "Find the peers on this LAN by UDP beacons (IPv4 broadcast, IPv6 multicast) and connect to "
                            "them (the default for "
                            "the menu and serve; ls and get never discover)")
                   ->group(discovery_group);
    app.add_flag("--no-discover", options.no_discover, "Send no beacons and connect to nobody unasked")
        ->excludes(on)
        ->group(discovery_group);
    app.add_option("--discover-port", options.discover_port,
                   "UDP port of the beacons; every peer of a LAN uses the same (default " +
                       std::to_string(protocol::default_discover_port) + ")")
        ->check(CLI::Range(1, 65535))
        ->type_name("PORT")
        ->group(discovery_group);
    app.add_option("--max-peers", options.max_peers,
                   "Most peers connected at once: HELLOs beyond are refused, and discovery and peer exchange dial no "
                   "more (default 256)")
        ->check(CLI::Range(1, 65535))
        ->type_name("N")
        ->group(discovery_group);
    const char* web_group = "Web interface (the menu and serve)";
    app.add_option("--web", options.web,
                   "Serve a web page and a JSON API on [ADDR:]PORT (default address 127.0.0.1; port 0 picks a free "
                   "one); the address to open is printed at start")
        ->check(web_address_check())
        ->type_name("[ADDR:]PORT")
        ->group(web_group);
    app.add_flag("--web-allow-remote", options.web_allow_remote,
                 "Let --web listen on an address other machines can reach (the token is then the only protection, "
                 "and travels unencrypted)")
        ->group(web_group);
}

void apply_log_level(const global_options& options) {
    set_log_level(parse_log_level(options.log_level));
}

peer_options make_peer_options(const global_options& options, const std::filesystem::path& folder, int port,
                               const std::string& default_host) {
    peer_options out;
    const auto host = options.bind.value_or(default_host);
    if (host.empty() || host.find_first_of(" \t:/") != std::string::npos) {
        throw usage_error("--bind: expected an IPv4 address or interface name, got '" + host + "'");
    }
    // "*" rather than "0": it is libzmq's documented spelling for "any free port".
    out.bind = "tcp://" + host + ":" + (port == 0 ? std::string("*") : std::to_string(port));
    out.folder = folder;
    out.capture = options.capture;
    if (!options.allow.empty() && !options.secure) {
        throw usage_error("--allow needs --secure");
    }
    out.secure = options.secure;
    out.keep_id = !options.ephemeral;
    out.allow = options.allow;
    out.discover = !options.no_discover;
    out.discover_port = options.discover_port;
    if (options.max_peers) {
        out.max_peers = *options.max_peers;
    }
    if (options.chunk_size) {
        out.chunk_size = static_cast<std::uint32_t>(*parse_size(*options.chunk_size));
    }
    if (options.window) {
        out.window = *parse_window(*options.window);
    }
    if (options.max_rate) {
        out.max_rate = *parse_rate(*options.max_rate);
    }
    if (options.ping_interval) {
        out.ping_interval = *parse_duration(*options.ping_interval);
    }
    if (options.peer_timeout) {
        out.peer_timeout = *parse_duration(*options.peer_timeout);
    }
    if (options.settle) {
        out.settle = milliseconds(static_cast<std::int64_t>(*options.settle * 1000.0 + 0.5));
    }
    if (out.peer_timeout <= out.ping_interval) {
        throw usage_error("--peer-timeout (" + std::to_string(out.peer_timeout.count()) +
                          " ms) must be longer than --ping-interval (" + std::to_string(out.ping_interval.count()) +
                          " ms)");
    }
    return out;
}

} // namespace p2p::cli
