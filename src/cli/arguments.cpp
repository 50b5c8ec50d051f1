// SPDX-License-Identifier: MIT
// arguments.cpp - argument checks and lines shared by several commands.
#include "address_operands.hpp"
#include "commands.hpp"
#include "exit_code.hpp"

#include "p2p/file_name.hpp"

#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/interface_addresses.hpp"

#include <filesystem>
#include <system_error>

namespace p2p::cli {

CLI::Option* add_port_argument(CLI::App& app, int& port) {
    return app.add_option("port", port, "Port to listen on; 0 picks a free one (the line printed at start has it)")
        ->check(CLI::Range(0, 65535));
}

CLI::Validator host_port_check() {
    return CLI::Validator([](std::string& value) { return address_problem(value); }, "");
}

void show_global_options(CLI::App& sub, const CLI::App& app) {
    sub.footer([&app] {
        CLI::Formatter formatter;
        std::string text = "Options of every command (before or after it):\n";
        for (const auto* option : app.get_options()) {
            if (!option->get_group().empty() && option->nonpositional() && option != app.get_help_ptr() &&
                option != app.get_version_ptr()) {
                text += formatter.make_option(option, false);
            }
        }
        return text;
    });
}

void refuse_extra_arguments(const menu_arguments& caught, const subcommand& command) {
    const auto& extra = caught.port.empty() ? caught.folder : caught.port;
    if (!extra.empty()) {
        throw usage_error(command.app->get_name() + " takes " + command.takes + ", not also '" +
                          escape_for_terminal(extra) + "'");
    }
}

std::unique_ptr<peer> start_peer(zmq::context_t& context, peer_options options) {
    std::error_code ec;
    const bool existed = std::filesystem::exists(options.folder, ec) || ec;
    const auto folder = options.folder;
    try {
        return std::make_unique<peer>(context, std::move(options));
    } catch (...) {
        if (!existed) {
            // Made by this failed start a moment ago: whatever is in it is ours too.
            std::filesystem::remove_all(folder, ec);
        }
        throw;
    }
}

std::string started_line(const peer& p) {
    // The original's words, with an address another machine can use rather than 0.0.0.0.
    return "Peer " + p.id().short_hex() + " started on " + reachable_addresses(p.endpoint()).front();
}

std::string reachable_line(const peer& p) {
    const auto addresses = reachable_addresses(p.endpoint());
    if (addresses.size() < 2) {
        return {};
    }
    std::string line = "Reachable at";
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        line += (i == 0 ? " " : ", ") + addresses[i];
    }
    return line;
}

std::string key_line(const peer& p) {
    if (p.public_key().empty()) {
        return {};
    }
    const auto key = key_text(p.public_key());
    return "Public key: " + key + " (others connect to " + key + "@" + reachable_addresses(p.endpoint()).front() + ")";
}

} // namespace p2p::cli
