// SPDX-License-Identifier: MIT
// serve.cpp - `p2p-peer serve <port> <dir> [--connect host:port]...`: a peer without the menu, for scripts,
// services and tests. Prints the start line first, then one line per event, until SIGINT or SIGTERM.
#include "commands.hpp"
#include "console.hpp"
#include "event_text.hpp"
#include "exit_code.hpp"
#include "shutdown.hpp"
#include "stop_signal.hpp"
#include "wait.hpp"

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
};

int run_serve(const serve_arguments& arguments, const global_options& globals) {
    auto options = make_peer_options(globals, arguments.folder, arguments.port, "0.0.0.0");
    stop_signal stop;
    zmq::context_t context;
    peer p(context, std::move(options));
    // Not a terminal session: no prompt, no bar, every line flushed as it is printed (scripts wait for them).
    console screen(std::cout, false, false);
    screen.line(started_line(p));
    if (const auto keys = key_line(p); !keys.empty()) {
        screen.line(keys);
    }
    // Connects run in the background: a peer that is down must not keep this one from serving.
    for (const auto& address : arguments.connect) {
        p.start_connect(address);
    }
    while (wait_for_activity(p, stop, nullptr, std::chrono::milliseconds(1000)) != wake::stop) {
        if (auto e = p.next_event(std::chrono::milliseconds(0))) {
            if (auto text = describe(*e)) {
                screen.line(*text);
            }
        }
        if (p.stopped()) {
            std::cerr << "p2p-peer: the peer stopped on an internal error (see the log above)\n";
            return exit_failure;
        }
    }
    shut_down(p, stop, screen);
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
    return {sub, [arguments, &globals] {
                return run_serve(*arguments, globals);
            }};
}

} // namespace p2p::cli
