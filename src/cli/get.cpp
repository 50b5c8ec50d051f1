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

#include "p2p/file_name.hpp"

#include <unistd.h>

#include <filesystem>
#include <system_error>

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

/// Downloads; `code` says what a failure is (for --json) before each step that can throw.
int get_file(const get_arguments& arguments, const global_options& globals, std::string& code) {
    code = "usage";
    refuse_web(globals, "get");
    code = "failed";
    if (auto problem = file_name_problem(arguments.name)) {
        code = download_code_name(download_errc::bad_name);
        throw std::runtime_error("invalid file name: " + *problem);
    }
    // Before connecting: an existing file is refused whatever the other peer says, so say it at once.
    std::error_code ec;
    if (std::filesystem::exists(
            std::filesystem::symlink_status(std::filesystem::path(arguments.folder) / arguments.name, ec))) {
        code = download_code_name(download_errc::exists);
        throw std::runtime_error("File " + escape_for_terminal(arguments.name) + " already exists in " +
                                 escape_for_terminal(arguments.folder) + "; not overwritten");
    }
    code = "connect";
    remote_session session(globals, arguments.folder, arguments.address);
    // Progress goes to stderr: stdout carries the result, for scripts. A bar on a terminal, else a line every 2 s.
    console bar_screen(std::cerr, ::isatty(STDERR_FILENO) == 1, false);
    progress_meter meter(bar_screen, true);
    const auto op = session.local().start_download(
        download_request{arguments.name, session.remote().id.hex(), std::nullopt, std::nullopt});
    std::uint64_t size = 0; // from the progress events: a cancel can come before the offer that tells it
    const auto [done, cancelled] = await_download(session.local(), session.stop(), op, [&](const event& e) {
        if (const auto* progress = std::get_if<download_progress>(&e)) {
            size = progress->size;
            meter.update(*progress);
        }
    });
    meter.finish();
    code = "cancelled";
    if (!done) {
        throw interrupted_error("interrupted (a second stop signal)");
    }
    // A download that completed before the signal was handled is reported as completed.
    if (cancelled && !done->ok && done->code == download_errc::cancelled) {
        throw interrupted_error(
            describe_cancelled(*done, done->size > 0 ? done->size : size, "run the same command to resume"));
    }
    if (!done->ok) {
        code = download_code_name(done->code);
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

int run_get(const get_arguments& arguments, const global_options& globals) {
    std::string code = "failed";
    try {
        return get_file(arguments, globals, code);
    } catch (const std::exception& e) {
        // With --json a script reads stdout only: the failure is there too, as an object (stderr still has the line).
        if (arguments.json) {
            std::cout << dump(error_json(e.what(), code)) << '\n' << std::flush;
        }
        throw;
    }
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
    sub->add_flag("--json", arguments->json,
                  "Print a JSON object: name, size, seconds, rate (bytes/s), peer; or on failure error, code");
    return {sub, [arguments, &globals] { return run_get(*arguments, globals); }, "one peer address and one file name"};
}

} // namespace p2p::cli
