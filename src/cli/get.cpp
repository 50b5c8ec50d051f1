// SPDX-License-Identifier: MIT
// get.cpp - `p2p-peer get host:port <file>... [--dir D] [-o NAME] [--force] [--json]`: download files, verified,
// then exit. A name that is a folder in the other peer's list stands for every file under it.
#include "commands.hpp"
#include "console.hpp"
#include "download_pipeline.hpp"
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

#include <filesystem>
#include <system_error>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

namespace p2p::cli {

namespace {

/// How get ends when a second stop signal came before the downloads' cancels were confirmed.
constexpr const char* second_signal = "interrupted (a second stop signal)";

struct get_arguments {
    std::string address;
    std::vector<std::string> names;
    std::string folder = ".";
    std::string output; ///< -o: the name to save the one file as; empty for its own name.
    bool force = false;
    bool json = false;
    bool explain = false; ///< --explain: the rate figures stage by stage after each file.
};

/// One file to fetch: the name the other peer lists, and the name it gets in the download folder.
struct wanted_file {
    std::string name;
    std::string save_as;
};

/// A failure that has a code for --json (download_code_name, "connect", "cancelled"...) besides its line.
struct coded_error : std::runtime_error {
    coded_error(const std::string& what, std::string_view word) : std::runtime_error(what), code(word) {}
    std::string code;
};

/// The files to fetch, in the order given. Everything here is decided from the command line alone, before any
/// connection: a usage error (exit 2) for -o that cannot be, a failure (exit 1) for a name that cannot be sent.
/// (A folder name is expanded into its files once the other peer's list is known: expand_folders.)
std::vector<wanted_file> plan_files(const get_arguments& arguments) {
    if (!arguments.output.empty() && arguments.names.size() > 1) {
        throw usage_error("-o/--output names one file; get was given " + std::to_string(arguments.names.size()) +
                          " names");
    }
    if (!arguments.output.empty()) {
        // The name is used in the download folder as it is: one file name, never a path out of it.
        if (arguments.output.find('/') != std::string::npos) {
            throw usage_error("-o/--output takes a file name, not a path: '" + escape_for_terminal(arguments.output) +
                              "'");
        }
        if (auto problem = file_name_problem(arguments.output)) {
            throw usage_error("-o/--output: invalid file name '" + escape_for_terminal(arguments.output) +
                              "': " + *problem);
        }
    }
    std::vector<wanted_file> files;
    std::set<std::string> seen;
    for (const auto& name : arguments.names) {
        if (auto problem = file_path_problem(name)) {
            throw coded_error("invalid file name: " + *problem, download_code_name(download_errc::bad_name));
        }
        if (!seen.insert(name).second) {
            throw usage_error("'" + escape_for_terminal(name) + "' is named twice");
        }
        files.push_back(wanted_file{name, arguments.output.empty() ? name : arguments.output});
    }
    return files;
}

/// Before connecting: a file that is there already is refused whatever the other peer says, so say it at once, for
/// each one. With --force a regular file there is replaced (after the download is verified); anything else is not.
void refuse_existing(const std::vector<wanted_file>& files, const get_arguments& arguments) {
    std::vector<std::string> taken;
    std::vector<std::string> not_files;
    for (const auto& f : files) {
        std::error_code ec;
        const auto status = std::filesystem::symlink_status(std::filesystem::path(arguments.folder) / f.save_as, ec);
        if (!std::filesystem::exists(status) || (f.save_as == f.name && std::filesystem::is_directory(status))) {
            continue; // a folder here may be where a folder of theirs goes: known once their list is
        }
        if (!arguments.force) {
            taken.push_back(escape_for_terminal(f.save_as));
        } else if (!std::filesystem::is_regular_file(status)) {
            not_files.push_back(escape_for_terminal(f.save_as));
        }
    }
    const auto names = [](const std::vector<std::string>& list) {
        std::string text;
        for (std::size_t i = 0; i < list.size(); ++i) {
            text += (i == 0 ? "" : ", ") + list[i];
        }
        return text;
    };
    const auto exists = download_code_name(download_errc::exists);
    const auto folder = escape_for_terminal(arguments.folder);
    if (taken.size() == 1) {
        throw coded_error("File " + taken.front() + " already exists in " + folder + "; not overwritten (--force " +
                              "replaces it)",
                          exists);
    }
    if (taken.size() > 1) {
        throw coded_error("Files " + names(taken) + " already exist in " + folder + "; none downloaded (--force " +
                              "replaces them)",
                          exists);
    }
    if (!not_files.empty()) {
        throw coded_error(names(not_files) + " in " + folder + " is not a regular file; --force replaces only files",
                          exists);
    }
}

/// How one file went: its download_finished when it arrived, else the reason and its code.
struct file_outcome {
    std::optional<download_finished> done;
    std::string error;
    std::string code;
    /// A stop signal cancelled it: it is not reported as a failure, the command ends with it (error says where).
    bool stopped = false;
};

/// What a download_finished means for its file; `size` is the file's size if known from elsewhere (a cancel can come
/// before the offer that tells it), `cancelled` whether a stop signal cancelled the downloads.
file_outcome outcome_of(const download_finished& done, std::uint64_t size, bool cancelled) {
    // A download that completed before the signal was handled is reported as completed.
    if (cancelled && !done.ok && done.code == download_errc::cancelled) {
        return {std::nullopt,
                describe_cancelled(done, done.size > 0 ? done.size : size, "run the same command to resume"),
                "cancelled", true};
    }
    if (!done.ok) {
        return {std::nullopt, describe_download(done), std::string(download_code_name(done.code)), false};
    }
    return {done, {}, {}, false};
}

/// Progress goes to stderr: stdout carries the results, for scripts. A bar on a terminal, else a line every 2 s.
console progress_screen() {
    return console(std::cerr, ::isatty(STDERR_FILENO) == 1, false);
}

operation_id start_fetch(remote_session& session, const wanted_file& file, bool replace) {
    download_request request{file.name, session.remote().id.hex(), std::nullopt, std::nullopt};
    request.save_as = file.save_as;
    request.replace = replace;
    return session.local().start_download(request);
}

/// Fetches one file over the session. A failure of this file is returned; a stop signal ends the whole command
/// (throws coded_error "cancelled"), as one download that arrived before the signal is still reported.
file_outcome fetch(remote_session& session, const wanted_file& file, bool replace) {
    auto bar_screen = progress_screen();
    progress_meter meter(bar_screen, true);
    const auto op = start_fetch(session, file, replace);
    std::uint64_t size = 0; // from the progress events: a cancel can come before the offer that tells it
    const auto [done, cancelled] = await_download(session.local(), session.stop(), op, [&](const event& e) {
        if (const auto* progress = std::get_if<download_progress>(&e)) {
            size = progress->size;
            meter.update(*progress);
        }
    });
    meter.finish();
    if (!done) {
        throw coded_error(second_signal, "cancelled");
    }
    auto outcome = outcome_of(*done, size, cancelled);
    if (outcome.stopped) {
        throw coded_error(outcome.error, "cancelled");
    }
    return outcome;
}

/// Prints what became of one file: on stdout when it arrived, on stderr when not (--json: on stdout either way).
void report(const wanted_file& file, const file_outcome& outcome, bool several, const get_arguments& arguments) {
    const bool json_output = arguments.json;
    if (json_output) {
        std::cout << dump(outcome.done ? get_file_json(*outcome.done, file.save_as)
                                       : get_failed_json(file.name, file.save_as, outcome.error, outcome.code))
                  << '\n';
    }
    if (outcome.done && !json_output) {
        std::cout << describe_download(*outcome.done);
        if (file.save_as != file.name) {
            std::cout << ", saved as " << escape_for_terminal(file.save_as);
        }
        std::cout << '\n';
        // What bounded the rate: for one file always, for the files of a folder when asked (one line each would
        // bury the list).
        if (arguments.explain) {
            for (const auto& line : explain_lines(*outcome.done)) {
                std::cout << "  " << line << '\n';
            }
        } else if (!several && outcome.done->limit.measured) {
            std::cout << "  " << describe_limit(*outcome.done) << '\n';
        }
    }
    if (!outcome.done) {
        // One file of several names itself: the reasons ("Peer error: File not found") often do not.
        std::cerr << "p2p-peer: " << (several ? escape_for_terminal(file.name) + ": " : "") << outcome.error << '\n';
    }
    std::cout.flush();
}

/// Fetches several files over the session, up to max_downloads_in_flight at once, and reports each (report) as
/// soon as the files before it are: in the order given. Returns the names that did not arrive, in that order. The
/// first stop signal cancels the downloads in flight and starts no more; what completed is reported, then the
/// command ends (coded_error "cancelled") at the first file that did not: cancelled, or never started.
std::vector<std::string> fetch_all(remote_session& session, const std::vector<wanted_file>& files,
                                   const std::vector<file_entry>& listed, const get_arguments& arguments) {
    auto bar_screen = progress_screen();
    progress_meter meter(bar_screen, true);
    download_pipeline pipeline(files.size(), max_downloads_in_flight);
    std::vector<file_outcome> outcomes(files.size());
    std::map<operation_id, std::size_t> index_of; // the file of each download in flight
    std::set<operation_id> running;
    // For the one meter of all the files: each file's size (listed, then as its download tells) and bytes in.
    std::map<std::string, std::uint64_t> listed_size;
    for (const auto& entry : listed) {
        listed_size[entry.name] = entry.size;
    }
    std::vector<std::uint64_t> sizes(files.size(), 0);
    std::vector<std::uint64_t> held(files.size(), 0);
    std::uint64_t total = 0; // of the files that arrived or may still
    std::uint64_t bytes_in = 0;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const auto found = listed_size.find(files[i].name);
        sizes[i] = found == listed_size.end() ? 0 : found->second;
        total += sizes[i];
    }
    const auto show_progress = [&] {
        meter.update_files(pipeline.finished(), files.size(), bytes_in, std::max(total, bytes_in));
    };
    const auto set_progress = [&](std::size_t i, std::uint64_t bytes, std::uint64_t size) {
        total = total - sizes[i] + size;
        bytes_in = bytes_in - held[i] + bytes;
        sizes[i] = size;
        held[i] = bytes;
    };

    std::vector<std::string> failed;
    const auto report_taken = [&](const std::vector<std::size_t>& taken) {
        if (taken.empty()) {
            return;
        }
        meter.finish(); // the bar is drawn again at the next progress
        for (const auto i : taken) {
            if (outcomes[i].stopped) {
                continue; // the end of the command names it
            }
            report(files[i], outcomes[i], true, arguments);
            if (!outcomes[i].done) {
                failed.push_back(files[i].name);
            }
        }
    };
    const auto start_more = [&] {
        while (const auto i = pipeline.start_next()) {
            const auto op = start_fetch(session, files[*i], arguments.force);
            index_of[op] = *i;
            running.insert(op);
        }
    };

    start_more();
    const auto wait = await_downloads(
        session.local(), session.stop(), running,
        [&](download_finished& done, bool cancelled) {
            const auto i = index_of.at(done.op);
            index_of.erase(done.op);
            running.erase(done.op);
            pipeline.finish(i);
            outcomes[i] = outcome_of(done, sizes[i], cancelled);
            // The meter counts the bytes of the files that arrived; one that did not leaves the total.
            set_progress(i, outcomes[i].done ? done.size : 0, outcomes[i].done ? done.size : 0);
            if (cancelled) {
                pipeline.stop();
            } else {
                start_more();
            }
            report_taken(pipeline.take_ready());
            show_progress();
            return !pipeline.idle();
        },
        [&](const event& e) {
            if (const auto* progress = std::get_if<download_progress>(&e)) {
                if (const auto found = index_of.find(progress->op); found != index_of.end()) {
                    set_progress(found->second, progress->bytes, progress->size);
                    show_progress();
                }
            }
        });
    meter.finish();
    if (!wait.cancelled) {
        return failed;
    }
    // Nothing will fill the gaps now: every file that completed is reported, in order.
    report_taken(pipeline.take_finished());
    if (wait.abandoned) {
        throw coded_error(second_signal, "cancelled");
    }
    const std::size_t end = pipeline.first_not_taken(); // the first file not started
    for (std::size_t i = 0; i < end; ++i) {
        if (outcomes[i].stopped) {
            throw coded_error(outcomes[i].error, "cancelled");
        }
    }
    if (end < files.size()) {
        throw coded_error("interrupted before " + escape_for_terminal(files[end].name), "cancelled");
    }
    return failed; // the signal came as the last files completed
}

/// `Got 3 of 3 files`, or `Got 2 of 3 files; failed: missing.txt`.
std::string summary_line(std::size_t requested, const std::vector<std::string>& failed) {
    std::string line =
        "Got " + std::to_string(requested - failed.size()) + " of " + std::to_string(requested) + " files";
    for (std::size_t i = 0; i < failed.size(); ++i) {
        line += (i == 0 ? "; failed: " : ", ") + escape_for_terminal(failed[i]);
    }
    return line;
}

/// The files the connected peer lists (its whole list: the connect waits for it).
std::vector<file_entry> listed_by(remote_session& session) {
    for (const auto& p : session.local().peers()) {
        if (p.id == session.remote().id) {
            return p.files;
        }
    }
    return {};
}

/// Each name that is a folder in the other peer's list becomes the files under it, into the same relative paths;
/// the rest stay as they are. -o names one file, never a folder.
std::vector<wanted_file> expand_folders(const std::vector<wanted_file>& files, const std::vector<file_entry>& listed,
                                        const get_arguments& arguments) {
    std::vector<wanted_file> out;
    for (const auto& f : files) {
        const auto under = files_under(listed, f.name);
        if (under.empty()) {
            out.push_back(f);
            continue;
        }
        if (!arguments.output.empty()) {
            throw usage_error("-o/--output names one file; '" + escape_for_terminal(f.name) + "' is a folder of " +
                              std::to_string(under.size()) + " files");
        }
        for (const auto& entry : under) {
            out.push_back(wanted_file{entry.name, entry.name});
        }
    }
    return out;
}

/// Downloads the files over one connection, several at once when there are several. Exit 0 when every file arrived, 1
/// when any did not (each named).
int get_files(const get_arguments& arguments, const global_options& globals) {
    refuse_web(globals, "get");
    const auto asked = plan_files(arguments);
    refuse_existing(asked, arguments);
    std::optional<remote_session> session;
    try {
        session.emplace(globals, arguments.folder, arguments.address);
    } catch (const interrupted_error&) {
        throw;
    } catch (const std::exception& e) {
        throw coded_error(e.what(), "connect");
    }
    const auto listed = listed_by(*session);
    const auto files = expand_folders(asked, listed, arguments);
    if (files.size() != asked.size()) {
        refuse_existing(files, arguments); // the files of a folder, now that they are known
    }
    const bool several = files.size() > 1;
    std::vector<std::string> failed;
    if (several) {
        failed = fetch_all(*session, files, listed, arguments);
    } else {
        const auto outcome = fetch(*session, files.front(), arguments.force);
        report(files.front(), outcome, false, arguments);
        if (!outcome.done) {
            failed.push_back(files.front().name);
        }
    }
    if (several) {
        std::cout << (arguments.json ? dump(get_summary_json(files.size(), files.size() - failed.size(), failed))
                                     : summary_line(files.size(), failed))
                  << '\n'
                  << std::flush;
    }
    return failed.empty() ? exit_ok : exit_failure;
}

int run_get(const get_arguments& arguments, const global_options& globals) {
    try {
        return get_files(arguments, globals);
    } catch (const coded_error& e) {
        // With --json a script reads stdout only: the failure is there too, as an object (stderr still has the line).
        if (arguments.json) {
            std::cout << dump(error_json(e.what(), e.code)) << '\n' << std::flush;
        }
        if (e.code == "cancelled") {
            throw interrupted_error(e.what());
        }
        throw;
    } catch (const usage_error& e) {
        if (arguments.json) {
            std::cout << dump(error_json(e.what(), "usage")) << '\n' << std::flush;
        }
        throw;
    } catch (const interrupted_error& e) {
        if (arguments.json) {
            std::cout << dump(error_json(e.what(), "cancelled")) << '\n' << std::flush;
        }
        throw;
    } catch (const std::exception& e) {
        if (arguments.json) {
            std::cout << dump(error_json(e.what(), "failed")) << '\n' << std::flush;
        }
        throw;
    }
}

} // namespace

subcommand setup_get(CLI::App& app, const global_options& globals) {
    auto* sub = app.add_subcommand("get", "Download files from another peer, verify each, and exit");
    auto arguments = std::make_shared<get_arguments>();
    sub->add_option("address", arguments->address, "The other peer")
        ->check(host_port_check())
        ->type_name("HOST:PORT")
        ->required();
    sub->add_option("file", arguments->names,
                    "File names as the other peer lists them; a folder name fetches every file under it. Several "
                    "files are fetched up to " +
                        std::to_string(max_downloads_in_flight) + " at once and reported in the order given")
        ->required()
        ->type_name("FILE");
    sub->add_option("--dir", arguments->folder, "Folder to download into; created if missing")
        ->capture_default_str()
        ->type_name("DIR");
    sub->add_option("-o,--output", arguments->output, "Save the one file given under this name in the folder")
        ->type_name("NAME");
    sub->add_flag("--force", arguments->force,
                  "Replace files that exist already, each only once its download is verified");
    sub->add_flag("--explain", arguments->explain,
                  "After each file, the rate figures stage by stage (holder, this peer, round trip, window) and what "
                  "limited it");
    sub->add_flag(
        "--json", arguments->json,
        "Print a JSON object per file (name, saved_as, ok, size, seconds, rate, peer, resumed_from, rechecked, "
        "limit, window, stages; or error, code) and, for several names, a summary (requested, got, failed)");
    return {sub, [arguments, &globals] { return run_get(*arguments, globals); },
            "one peer address and one or more names"};
}

} // namespace p2p::cli
