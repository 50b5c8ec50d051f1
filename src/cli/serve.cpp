// SPDX-License-Identifier: MIT
// serve.cpp - `p2p-peer serve <port> <dir> [--connect host:port]... [--json]`: a peer without the menu, for scripts,
// services and tests. Prints the start line first, then one line per event, until SIGINT or SIGTERM.
#include "commands.hpp"
#include "console.hpp"
#include "event_output.hpp"
#include "exit_code.hpp"
#include "shutdown.hpp"
#include "stop_signal.hpp"
#include "wait.hpp"
#include "web_option.hpp"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace p2p::cli {

namespace {

struct serve_arguments {
    int port = -1;
    std::string folder;
    std::vector<std::string> connect;
    bool json = false;
};

int run_serve(const serve_arguments& arguments, const global_options& globals) {
    auto options = make_peer_options(globals, arguments.folder, arguments.port, "0.0.0.0");
    const auto web_at = web_address(globals);
    stop_signal stop;
    zmq::context_t context;
    const auto started = start_peer(context, std::move(options));
    peer& p = *started;
    // Not a terminal session: no prompt, no bar, every line flushed as it is printed (scripts wait for them).
    console screen(std::cout, false, false);
    event_output out(screen, arguments.json);
    out.started(p);
    // Declared after the peer, so it stops first: its threads never touch the peer, but its bridge reads it.
    const auto web = start_web(web_at, p);
    auto* bridge = web ? &web->bridge() : nullptr;
    if (web) {
        out.web(web->url());
    }
    // Connects run in the background: a peer that is down must not keep this one from serving.
    for (const auto& address : arguments.connect) {
        p.start_connect(address);
    }
    while (wait_for_activity(p, stop, nullptr, std::chrono::milliseconds(1000), bridge) != wake::stop) {
        if (auto e = take_event(p, bridge)) {
            out.event(*e);
        }
        if (p.stopped()) {
            std::cerr << "p2p-peer: the peer stopped on an internal error (see the log above)\n";
            return exit_failure;
        }
    }
    shut_down(p, stop, out, bridge);
    return exit_ok;
}

} // namespace

subcommand setup_serve(CLI::App& app, const global_options& globals) {
    auto* sub = app.add_subcommand("serve", "Share a folder without the menu; runs until Ctrl-C or SIGTERM");
    auto arguments = std::make_shared<serve_arguments>();
    add_port_argument(*sub, arguments->port)->required();
    sub->add_option("dir", arguments->folder, "Shared folder; created if missing")->required();
    sub->add_option("--connect", arguments->connect, "Connect to this peer at start (repeatable)")
        ->check(host_port_check())
        ->type_name("HOST:PORT");
    sub->add_flag("--json", arguments->json,
                  "Print one JSON object per line: start, every event (progress too), stop (docs/api.md)");
    return {sub, [arguments, &globals] { return run_serve(*arguments, globals); }, "one port and one folder"};
}

} // namespace p2p::cli
