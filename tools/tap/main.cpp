// SPDX-License-Identifier: MIT
// p2p-tap: record, decode, replay and disturb p2p peer traffic. Parses argv and runs one subcommand.
#include "tap.hpp"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    using namespace p2p::tap;
    CLI::App app{"p2p-tap: record, decode and replay p2p peer traffic (docs/capture.md)", "p2p-tap"};
    app.require_subcommand(1);
    const subcommand commands[] = {setup_relay(app), setup_dump(app), setup_replay(app)};
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help is a ParseError with exit code 0; every real parse error is a usage error (2), whatever CLI11's own
        // code for it is.
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_usage;
    }
    try {
        for (const auto& command : commands) {
            if (command.app->parsed()) {
                return command.run();
            }
        }
    } catch (const usage_error& e) {
        std::cerr << "p2p-tap: " << e.what() << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "p2p-tap: " << e.what() << "\n";
        return exit_failure;
    }
    return exit_usage;
}
