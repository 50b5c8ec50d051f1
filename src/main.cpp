// SPDX-License-Identifier: MIT
// p2p-peer: the command-line peer. Parses argv and runs the menu or one command (src/cli/); errors end here as one
// line on stderr and an exit code (docs/usage.md).
#include "commands.hpp"
#include "exit_code.hpp"
#include "global_options.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    using namespace p2p::cli;
    CLI::App app{"p2p-peer: share the files of a folder with other peers (docs/usage.md)", "p2p-peer"};
    app.set_version_flag("--version", std::string("p2p-peer ") + P2P_VERSION);
    // Global options are accepted after the command too ("p2p-peer serve 0 dir --bind 127.0.0.1").
    app.fallthrough();
    app.require_subcommand(0, 1);
    app.footer("Without a command, p2p-peer <port> <dir> starts the menu of the original peer.\n"
               "Exit codes: 0 ok, 1 runtime failure, 2 usage error, 130 interrupted (Ctrl-C).");
    global_options globals;
    add_global_options(app, globals);
    menu_arguments menu;
    add_menu_arguments(app, menu);
    const subcommand commands[] = {setup_serve(app, globals), setup_ls(app, globals), setup_get(app, globals),
                                   setup_hash(app, globals)};
    for (const auto& command : commands) {
        show_global_options(*command.app, app);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version are ParseErrors with exit code 0; every real parse error is a usage error (2),
        // whatever CLI11's own code for it is.
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    try {
        apply_log_level(globals);
        for (const auto& command : commands) {
            if (command.app->parsed()) {
                refuse_extra_arguments(menu, command);
                return command.run();
            }
        }
        return run_menu(menu, globals);
    } catch (const interrupted_error& e) {
        std::cerr << "p2p-peer: " << e.what() << "\n";
        return exit_interrupted;
    } catch (const usage_error& e) {
        std::cerr << "p2p-peer: " << e.what() << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "p2p-peer: " << e.what() << "\n";
        return exit_failure;
    }
}
