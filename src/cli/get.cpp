// SPDX-License-Identifier: MIT
// get.cpp - `p2p-peer get host:port <file> [--dir D] [--json]`: download one file, verified, then exit; or, when
// <file> is a folder in the other peer's list, every file under it.
#include "commands.hpp"
#include "console.hpp"
#include "event_text.hpp"
#include "exit_code.hpp"
#include "folder_names.hpp"
#include "json.hpp"
#include "progress_meter.hpp"
#include "remote_session.hpp"
#include "wait.hpp"
#include "web_option.hpp"

#include "p2p/file_name.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include <iostream>
#include <memory>
#include <stdexcept>

namespace p2p::cli {

namespace {

/// The files the connected peer lists (its whole list: the connect waits for it).
std::vector<file_entry> listed_by(remote_session& session) {
    for (const auto& p : session.local().peers()) {
        if (p.id == session.remote().id) {
            return p.files;
        }
    }
    return {};
}

struct get_arguments {
    std::string address;
    std::string name;
    std::string folder = ".";
    bool json = false;
};

/// Fetches every file of a folder in the other peer's list, one after the other, each into the same relative path:
/// one line per file as it ends, then a summary. A file that fails (it exists here already...) is said and the rest
/// go on; Ctrl-C cancels the current one (its partial file stays for a resume) and stops.
int get_folder(const get_arguments& arguments, remote_session& session, const std::vector<file_entry>& files,
               std::string& code) {
    const auto started = std::chrono::steady_clock::now();
    std::size_t got = 0;
    std::uint64_t bytes = 0;
    std::vector<std::string> failed;
    json results = json::array();
    bool interrupted = false;
    for (const auto& f : files) {
        const auto op = session.local().start_download(
            download_request{f.name, session.remote().id.hex(), std::nullopt, std::nullopt});
        const auto [done, cancelled] = await_download(session.local(), session.stop(), op, [](const event&) {});
        if (!done || (cancelled && !done->ok && done->code == download_errc::cancelled)) {
            interrupted = true;
            break;
        }
        if (done->ok) {
            ++got;
            bytes += done->size;
            results.push_back(download_result_json(*done));
        } else {
            failed.push_back(f.name);
            auto failure = error_json(describe_download(*done), download_code_name(done->code));
            failure["name"] = f.name;
            results.push_back(std::move(failure));
        }
        if (!arguments.json) {
            std::cout << describe_download(*done) << '\n' << std::flush;
        }
        if (cancelled) {
            interrupted = true; // it completed just before the signal: said above, then stop
            break;
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto folder = escape_for_terminal(arguments.name);
    char took[32];
    std::snprintf(took, sizeof took, "%.1f", seconds);
    const auto summary = "Got " + std::to_string(got) + " of " + std::to_string(files.size()) + " files of folder " +
                         folder + " from peer " + session.remote().id.short_hex() + " (" + std::to_string(bytes) +
                         " bytes in " + took + " s)";
    if (arguments.json) {
        std::cout << dump(results) << '\n' << std::flush;
    } else {
        std::cout << summary << '\n' << std::flush;
    }
    if (interrupted) {
        code = "cancelled";
        throw interrupted_error(summary + "; interrupted, run the same command to fetch the rest");
    }
    if (!failed.empty()) {
        code = "failed";
        throw std::runtime_error(std::to_string(failed.size()) + " of " + std::to_string(files.size()) +
                                 " files of folder " + folder +
                                 " failed, the first: " + escape_for_terminal(failed.front()));
    }
    return exit_ok;
}

/// Downloads; `code` says what a failure is (for --json) before each step that can throw.
int get_file(const get_arguments& arguments, const global_options& globals, std::string& code) {
    code = "usage";
    refuse_web(globals, "get");
    code = "failed";
    if (auto problem = file_path_problem(arguments.name)) {
        code = download_code_name(download_errc::bad_name);
        throw std::runtime_error("invalid file name: " + *problem);
    }
    // Before connecting: an existing file is refused whatever the other peer says, so say it at once. A folder
    // here may be where a folder of theirs goes: that is known once their list is.
    std::error_code ec;
    const auto here = std::filesystem::symlink_status(std::filesystem::path(arguments.folder) / arguments.name, ec);
    if (std::filesystem::exists(here) && !std::filesystem::is_directory(here)) {
        code = download_code_name(download_errc::exists);
        throw std::runtime_error("File " + escape_for_terminal(arguments.name) + " already exists in " +
                                 escape_for_terminal(arguments.folder) + "; not overwritten");
    }
    code = "connect";
    remote_session session(globals, arguments.folder, arguments.address);
    if (const auto under = files_under(listed_by(session), arguments.name); !under.empty()) {
        return get_folder(arguments, session, under, code);
    }
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
    sub->add_option("file", arguments->name,
                    "File name as the other peer lists it, or a folder of its list: every file under it")
        ->required();
    sub->add_option("--dir", arguments->folder, "Folder to download into; created if missing")
        ->capture_default_str()
        ->type_name("DIR");
    sub->add_flag("--json", arguments->json,
                  "Print a JSON object: name, size, seconds, rate (bytes/s), peer; or on failure error, code");
    return {sub, [arguments, &globals] { return run_get(*arguments, globals); }, "one peer address and one file name"};
}

} // namespace p2p::cli
