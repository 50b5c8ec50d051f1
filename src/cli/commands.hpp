// SPDX-License-Identifier: MIT
// commands.hpp - what p2p-peer can do, one file each (as CLI11's examples/subcom_in_files): the menu (menu.cpp),
// serve (serve.cpp), ls (ls.cpp), get (get.cpp) and hash (hash.cpp).
#pragma once

#include "global_options.hpp"

#include "p2p/peer.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

namespace p2p::cli {

/// A subcommand added to the app, and what runs it once the command line is parsed.
struct subcommand {
    CLI::App* app;
    std::function<int()> run; ///< Returns the exit code; throws usage_error or std::exception on failure.
    std::string takes;        ///< Its positional arguments in words ("one peer address and one file name").
};

/// `serve <port> <dir> [--connect host:port]...`: share a folder without the menu until SIGINT or SIGTERM.
subcommand setup_serve(CLI::App& app, const global_options& globals);
/// `ls host:port [--json]`: print another peer's files.
subcommand setup_ls(CLI::App& app, const global_options& globals);
/// `get host:port... <file>... [--dir D] [--json]`: download files from other peers (each from all that list it).
subcommand setup_get(CLI::App& app, const global_options& globals);
/// `hash FILE... [--json]`: print each file's id (docs/manifest.md); needs no network and no peer.
subcommand setup_hash(CLI::App& app, const global_options& globals);

/// The positional arguments of the menu, `p2p-peer <port> <dir>`. Kept as typed: a word where the port goes is an
/// unknown command, and after a command these catch its extra arguments (global options fall through to the app).
struct menu_arguments {
    std::string port;   ///< Empty until given.
    std::string folder; ///< The shared folder.
};
/// Throws usage_error for what the menu's positionals caught after `command` was parsed: arguments it does not take.
void refuse_extra_arguments(const menu_arguments& caught, const subcommand& command);
/// Adds <port> <dir> to the top-level app (optional there, since a subcommand may be given instead).
void add_menu_arguments(CLI::App& app, menu_arguments& arguments);
/// Runs the interactive menu; the exit code. Throws usage_error when <port> <dir> are missing.
int run_menu(const menu_arguments& arguments, const global_options& globals);

/// Adds the <port> positional: a number from 0 (any free port) to 65535.
CLI::Option* add_port_argument(CLI::App& app, int& port);
/// Checks a "host:port" argument with p2p::to_endpoint, so a bad address is a usage error (exit 2).
CLI::Validator host_port_check();
/// Adds the global options' help to the end of sub's --help: they are accepted after the command too.
void show_global_options(CLI::App& sub, const CLI::App& app);
/// Starts a peer on options.folder. When the start fails (it cannot listen...) and the folder did not exist
/// before, the folder is removed again: a failed start leaves nothing behind.
std::unique_ptr<peer> start_peer(zmq::context_t& context, peer_options options);
/// "Peer <id> started on <host>:<port>": the first line a peer prints; scripts read the port from it. For a peer
/// listening on every interface the host is one another machine can use (loopback only when there is no other).
std::string started_line(const peer& p);
/// Secure mode: `Public key: KEY (others connect to KEY@host:port)`, the key in hex (shell-safe); empty otherwise.
std::string key_line(const peer& p);
/// "Reachable at A:P, B:P, 127.0.0.1:P" for a peer listening on every interface with more than one address (loopback
/// last); empty otherwise.
std::string reachable_line(const peer& p);

} // namespace p2p::cli
