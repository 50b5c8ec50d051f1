// SPDX-License-Identifier: MIT
// get.cpp - `p2p-peer get host:port <file> [--dir D] [--json]`: download one file, verified, then exit.
#include "commands.hpp"
#include "console.hpp"
#include "event_text.hpp"
#include "exit_code.hpp"
#include "json.hpp"
#include "progress_meter.hpp"
#include "remote_session.hpp"
#include "wait.hpp"
#include "web_option.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <stdexcept>

namespace p2p::cli {

namespace {

struct get_arguments {
    std::string address;
    std::string name;
    std::string folder = ".";
    bool json = false;
};

int run_get(const get_arguments& arguments, const global_options& globals) {
    refuse_web(globals, "get");
    remote_session session(globals, arguments.folder, arguments.address);
    // The bar goes to stderr, and only on a terminal: stdout carries the result, for scripts.
    console bar_screen(std::cerr, ::isatty(STDERR_FILENO) == 1, false);
    progress_meter meter(bar_screen, false);
    const auto op = session.local().start_download(
        download_request{arguments.name, session.remote().id.hex(), std::nullopt, std::nullopt});
    const auto done = await_operation<download_finished>(session.local(), session.stop(), op, [&](const event& e) {
        if (const auto* progress = std::get_if<download_progress>(&e)) {
            meter.update(*progress);
        }
    });
    meter.finish();
    if (!done) {
        throw std::runtime_error("interrupted");
    }
    if (!done->ok) {
        throw std::runtime_error(describe_download(*done));
    }
    if (arguments.json) {
        std::cout << dump(download_result_json(*done)) << '\n';
    } else {
        std::cout << describe_download(*done) << '\n';
    }
    std::cout.flush();
    return exit_ok;
}

} // namespace

subcommand setup_get(CLI::App& app, const global_options& globals) {
    auto* sub = app.add_subcommand("get", "Download one file from another peer, verify it, and exit");
    auto arguments = std::make_shared<get_arguments>();
    sub->add_option("address", arguments->address, "The other peer")
        ->check(host_port_check())
        ->type_name("HOST:PORT")
        ->required();
    sub->add_option("file", arguments->name, "File name as the other peer lists it")->required();
    sub->add_option("--dir", arguments->folder, "Folder to download into; created if missing")
        ->capture_default_str()
        ->type_name("DIR");
    sub->add_flag("--json", arguments->json, "Print a JSON object: name, size, seconds, rate (bytes/s), peer");
    return {sub, [arguments, &globals] {
                return run_get(*arguments, globals);
            }};
}

} // namespace p2p::cli
