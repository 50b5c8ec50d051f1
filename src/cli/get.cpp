// SPDX-License-Identifier: MIT
// get.cpp - `p2p-peer get host:port... <file>... [--dir D] [-o NAME] [--force] [--json [--json-progress]]`: download
// files, verified, then exit. A name that is a folder in a connected peer's list stands for every file under it. With
// several addresses, each file comes from every connected peer that lists it (the core shares the pieces out).
#include "address_operands.hpp"
#include "commands.hpp"
#include "console.hpp"
#include "download_pipeline.hpp"
#include "downloads_in_flight.hpp"
#include "event_text.hpp"
#include "exit_code.hpp"
#include "files_progress.hpp"
#include "folder_names.hpp"
#include "holder_shares.hpp"
#include "json.hpp"
#include "progress_meter.hpp"
#include "remote_session.hpp"
#include "same_content.hpp"
#include "units.hpp"
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
    std::vector<std::string> words;     ///< The positionals as given: addresses, then names (split_address_operands).
    std::vector<std::string> addresses; ///< From words, once split.
    std::vector<std::string> names;     ///< From words, once split.
    std::string folder = ".";
    std::string output; ///< -o: the name to save the one file as; empty for its own name.
    bool force = false;
    /// --continue: a file already here with the listed content is skipped, not refused (how an interrupted get of
    /// several files is finished).
    bool keep_same = false;
    bool json = false;
    bool json_progress = false; ///< --json-progress: a JSON line per progress event too (implies --json).
    bool explain = false;       ///< --explain: the rate figures stage by stage after each file.
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

/// "a, b, c".
std::string comma_list(const std::vector<std::string>& list) {
    std::string text;
    for (std::size_t i = 0; i < list.size(); ++i) {
        text += (i == 0 ? "" : ", ") + list[i];
    }
    return text;
}

/// Before connecting: a file that is there already is refused whatever the other peer says, so say it at once, for
/// each one. With --force a regular file there is replaced (after the download is verified); anything else is not.
/// With --continue a regular file there waits for the list (`listed` false): the same content is skipped, another is
/// refused once the list says so (`listed` true).
void refuse_existing(const std::vector<wanted_file>& files, const get_arguments& arguments, bool listed) {
    std::vector<std::string> taken;
    std::vector<std::string> not_files;
    for (const auto& f : files) {
        std::error_code ec;
        const auto status = std::filesystem::symlink_status(std::filesystem::path(arguments.folder) / f.save_as, ec);
        if (!std::filesystem::exists(status) || (f.save_as == f.name && std::filesystem::is_directory(status))) {
            continue; // a folder here may be where a folder of theirs goes: known once their list is
        }
        if (arguments.keep_same && !listed && std::filesystem::is_regular_file(status)) {
            continue; // its content is compared with the list's once the list is known (already_here)
        }
        if (!arguments.force) {
            taken.push_back(escape_for_terminal(f.save_as));
        } else if (!std::filesystem::is_regular_file(status)) {
            not_files.push_back(escape_for_terminal(f.save_as));
        }
    }
    const auto exists = download_code_name(download_errc::exists);
    const auto folder = escape_for_terminal(arguments.folder);
    if (taken.size() == 1) {
        throw coded_error("File " + taken.front() + " already exists in " + folder + "; not overwritten (--force " +
                              "replaces it)",
                          exists);
    }
    if (taken.size() > 1) {
        throw coded_error("Files " + comma_list(taken) + " already exist in " + folder + "; none downloaded (--force " +
                              "replaces them)",
                          exists);
    }
    if (!not_files.empty()) {
        throw coded_error(
            comma_list(not_files) + " in " + folder + " is not a regular file; --force replaces only files", exists);
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

/// What to do after a stop signal: one file resumes by the same command; of several, those that arrived would be
/// refused as existing, unless --continue skips them.
std::string_view resume_hint(bool several) {
    return several ? "run the same command with --continue to finish" : "run the same command to resume";
}

/// What a download_finished means for its file; `size` is the file's size if known from elsewhere (a cancel can come
/// before the offer that tells it), `cancelled` whether a stop signal cancelled the downloads, `several` whether it is
/// one of several files.
file_outcome outcome_of(const download_finished& done, std::uint64_t size, bool cancelled, bool several) {
    // A download that completed before the signal was handled is reported as completed.
    if (cancelled && !done.ok && done.code == download_errc::cancelled) {
        return {std::nullopt,
                describe_cancelled(done, done.size > 0 ? done.size : size, std::string(resume_hint(several))),
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

/// No holder is named: the core takes the pieces from every connected peer that lists the file, the addresses given
/// and the holders they led to (which never decide what the name is, core::remote_peer::introduced). One address
/// whose peer does not list the file (`listed` false) is named, so that its own answer ("not found", or why it
/// will not serve it) is what the user reads.
operation_id start_fetch(remote_session& session, const wanted_file& file, bool replace, bool listed) {
    const bool one_source = session.connected().size() == 1 && session.failures().empty();
    download_request request{file.name, one_source && !listed ? session.remote().id.hex() : std::string(), std::nullopt,
                             std::nullopt};
    request.save_as = file.save_as;
    request.replace = replace;
    return session.local().start_download(request);
}

/// --json-progress: one line on stdout for a progress event of one of get's downloads.
void print_progress(const download_progress& progress, const get_arguments& arguments) {
    if (arguments.json_progress) {
        std::cout << dump(get_progress_json(progress)) << '\n' << std::flush;
    }
}

/// Fetches one file over the session. A failure of this file is returned; a stop signal ends the whole command
/// (throws coded_error "cancelled"), as one download that arrived before the signal is still reported.
file_outcome fetch(remote_session& session, const wanted_file& file, const get_arguments& arguments, bool listed) {
    auto bar_screen = progress_screen();
    progress_meter meter(bar_screen, true);
    const auto op = start_fetch(session, file, arguments.force, listed);
    std::uint64_t size = 0; // from the progress events: a cancel can come before the offer that tells it
    const auto [done, cancelled] = await_download(session.local(), session.stop(), op, [&](const event& e) {
        if (const auto* progress = std::get_if<download_progress>(&e); progress != nullptr && progress->op == op) {
            size = progress->size;
            meter.update(*progress);
            print_progress(*progress, arguments);
        }
    });
    meter.finish();
    if (!done) {
        throw coded_error(second_signal, "cancelled");
    }
    auto outcome = outcome_of(*done, size, cancelled, false);
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
        if (const auto from = from_holders_text(outcome.done->holders); !from.empty()) {
            std::cout << "; " << from;
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

/// The listed entries by name (the first holder's, as listed_by keeps them).
using listed_index = std::map<std::string_view, const file_entry*>;
listed_index index_by_name(const std::vector<file_entry>& listed) {
    listed_index index;
    for (const auto& entry : listed) {
        index.emplace(entry.name, &entry);
    }
    return index;
}

/// Fetches several files over the session, up to max_downloads_in_flight (and max_bytes_in_flight) at once, and reports
/// each (report) as soon as the files before it are: in the order given. Returns the names that did not arrive, in that
/// order. The first stop signal cancels the downloads in flight and starts no more; what completed is reported, then
/// the command ends (coded_error "cancelled") at the first file that did not: cancelled, or never started.
std::vector<std::string> fetch_all(remote_session& session, const std::vector<wanted_file>& files,
                                   const listed_index& listed, const get_arguments& arguments,
                                   std::uint64_t byte_budget) {
    auto bar_screen = progress_screen();
    progress_meter meter(bar_screen, true);
    std::vector<file_outcome> outcomes(files.size());
    downloads_in_flight in_flight;
    // What each holder sent of each file, as its last progress (or its end) said: the meter shows their sum, kept
    // as each file's shares change (summing every file at each progress event was quadratic in the files).
    std::vector<std::vector<holder_share>> shares(files.size());
    std::vector<holder_share> all_shares;
    const auto set_shares = [&](std::size_t i, std::vector<holder_share> now_shares) {
        subtract_holder_shares(all_shares, shares[i]);
        add_holder_shares(all_shares, now_shares);
        shares[i] = std::move(now_shares);
    };
    std::vector<std::uint64_t> sizes(files.size(), 0); // as listed
    for (std::size_t i = 0; i < files.size(); ++i) {
        const auto found = listed.find(files[i].name);
        sizes[i] = found == listed.end() ? 0 : found->second->size;
    }
    download_pipeline pipeline(sizes, max_downloads_in_flight, byte_budget);
    files_progress progress(std::move(sizes)); // for the one meter of all the files
    const auto show_progress = [&] {
        meter.update_files(pipeline.finished(), files.size(), progress.bytes_in(), progress.total(), all_shares);
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
            const auto op = start_fetch(session, files[*i], arguments.force, listed.contains(files[*i].name));
            in_flight.started(op, *i);
        }
    };

    start_more();
    const auto wait = await_downloads(
        session.local(), session.stop(), in_flight.running(),
        [&](download_finished& done, bool cancelled) {
            const auto i = in_flight.finished(done.op);
            pipeline.finish(i);
            outcomes[i] = outcome_of(done, progress.size_of(i), cancelled, true);
            // The meter counts the bytes of the files that arrived; one that did not leaves the total.
            progress.set(i, outcomes[i].done ? done.size : 0, outcomes[i].done ? done.size : 0);
            set_shares(i, outcomes[i].done ? done.holders : std::vector<holder_share>{});
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
            if (const auto* told = std::get_if<download_progress>(&e)) {
                if (const auto i = in_flight.file_of(told->op)) {
                    progress.set(*i, told->bytes, told->size);
                    set_shares(*i, told->holders);
                    show_progress();
                    print_progress(*told, arguments);
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
        throw coded_error("interrupted before " + escape_for_terminal(files[end].name) + "; " +
                              std::string(resume_hint(true)),
                          "cancelled");
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

/// The files the connected peers list (their whole lists: the connect waits for them), each name once, in the order
/// of the addresses: a folder's files are the union of what each holder has of it.
std::vector<file_entry> listed_by(remote_session& session) {
    const auto peers = session.local().peers();
    std::vector<file_entry> files;
    std::set<std::string> seen;
    for (const auto& connected : session.connected()) {
        for (const auto& p : peers) {
            if (p.id != connected.id) {
                continue;
            }
            for (const auto& f : p.files) {
                if (seen.insert(f.name).second) {
                    files.push_back(f);
                }
            }
        }
    }
    return files;
}

/// Each name that is a folder in the connected peers' lists becomes the files under it, into the same relative paths;
/// the rest stay as they are. A file named both itself and through a folder (`get H photos/a.jpg photos`) is
/// fetched once, where it first comes. -o names one file, never a folder.
std::vector<wanted_file> expand_folders(const std::vector<wanted_file>& files, const std::vector<file_entry>& listed,
                                        const get_arguments& arguments) {
    std::vector<wanted_file> out;
    std::set<std::string> taken;
    const auto add = [&](wanted_file f) {
        if (taken.insert(f.save_as).second) {
            out.push_back(std::move(f));
        }
    };
    for (const auto& f : files) {
        const auto under = files_under(listed, f.name);
        if (under.empty()) {
            add(f);
            continue;
        }
        if (!arguments.output.empty()) {
            throw usage_error("-o/--output names one file; '" + escape_for_terminal(f.name) + "' is a folder of " +
                              std::to_string(under.size()) + " files");
        }
        for (const auto& entry : under) {
            add(wanted_file{entry.name, entry.name});
        }
    }
    return out;
}

/// --continue: the files already in the folder with the content a holder lists (hashed here), those there that
/// cannot be compared yet (the holder lists no root for them: it hashes a file once it has settled, or when asked for
/// it), and the rest.
struct already_here_split {
    std::vector<wanted_file> here;
    std::vector<wanted_file> not_hashed;
    std::vector<wanted_file> to_fetch;
};
already_here_split sort_out_already_here(const std::vector<wanted_file>& files, const listed_index& listed,
                                         const get_arguments& arguments, stop_signal& stop) {
    already_here_split out;
    // Hashing a large file takes seconds: a bar (or a line every few seconds) says so, and Ctrl-C stops it.
    auto bar_screen = progress_screen();
    progress_meter meter(bar_screen, true);
    for (const auto& f : files) {
        const auto it = listed.find(f.name);
        if (!arguments.keep_same || arguments.force || it == listed.end()) {
            out.to_fetch.push_back(f);
            continue;
        }
        const auto path = std::filesystem::path(arguments.folder) / f.save_as;
        if (it->second->root) {
            const auto size = it->second->size;
            const bool same = has_listed_content(path, *it->second, [&](std::uint64_t done) {
                if (stop.requested()) {
                    throw interrupted_error("interrupted while checking " + escape_for_terminal(f.save_as));
                }
                meter.update_check(f.save_as, done, size);
            });
            meter.finish();
            (same ? out.here : out.to_fetch).push_back(f);
        } else {
            std::error_code ec;
            (std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec)) ? out.not_hashed
                                                                                         : out.to_fetch)
                .push_back(f);
        }
    }
    return out;
}

/// Files here that --continue cannot compare are refused like those with other content, saying why.
void refuse_not_hashed_yet(const std::vector<wanted_file>& files, const get_arguments& arguments) {
    if (files.empty()) {
        return;
    }
    std::vector<std::string> first;
    for (std::size_t i = 0; i < files.size() && i < 10; ++i) {
        first.push_back(escape_for_terminal(files[i].save_as));
    }
    auto names = comma_list(first);
    if (files.size() > 10) {
        names += " and " + std::to_string(files.size() - 10) + " more";
    }
    throw coded_error(names + (files.size() == 1 ? " is" : " are") + " already in " +
                          escape_for_terminal(arguments.folder) +
                          ", and the other peer has not hashed its copy yet, so --continue cannot tell whether it is "
                          "the same; try again in a moment (--force replaces)",
                      download_code_name(download_errc::exists));
}

/// `Already have photos/a.jpg (same content)`, or its --json object, for each file --continue skipped.
void report_already_here(const std::vector<wanted_file>& here, const listed_index& listed,
                         const get_arguments& arguments) {
    for (const auto& f : here) {
        const auto it = listed.find(f.name);
        const auto size = it == listed.end() ? 0 : it->second->size;
        if (arguments.json) {
            std::cout << dump(get_already_here_json(f.name, f.save_as, size)) << '\n';
        } else {
            std::cout << "Already have " << escape_for_terminal(f.save_as) << " (same content)\n";
        }
    }
    std::cout.flush();
}

/// Downloads the files over the connections, several at once when there are several. Exit 0 when every file arrived,
/// 1 when any did not (each named). An address that cannot be reached is a warning while another one is.
int get_files(const get_arguments& arguments, const global_options& globals) {
    refuse_web(globals, "get");
    const auto asked = plan_files(arguments);
    refuse_existing(asked, arguments, false);
    std::optional<remote_session> session;
    try {
        session.emplace(globals, arguments.folder, arguments.addresses, true);
    } catch (const interrupted_error&) {
        throw;
    } catch (const std::exception& e) {
        throw coded_error(e.what(), "connect");
    }
    for (const auto& failure : session->failures()) {
        std::cerr << "p2p-peer: warning: " << failure << "; going on with the others\n" << std::flush;
    }
    const auto listed = listed_by(*session);
    const auto all = expand_folders(asked, listed, arguments);
    const auto by_name = index_by_name(listed);
    const auto [here, not_hashed, files] = sort_out_already_here(all, by_name, arguments, session->stop());
    refuse_not_hashed_yet(not_hashed, arguments);
    if (all.size() != asked.size() || arguments.keep_same) {
        refuse_existing(files, arguments, true); // a folder's files, now that they are known; those --continue kept
    }
    const bool several = all.size() > 1;
    report_already_here(here, by_name, arguments);
    std::vector<std::string> failed;
    if (files.size() > 1) {
        // Under --max-rate, about a second's worth at once: files still complete one after another (and an
        // interrupted run leaves few partial ones) rather than 64 crawling together.
        const auto rate = globals.max_rate ? parse_rate(*globals.max_rate) : std::nullopt;
        failed = fetch_all(*session, files, by_name, arguments,
                           rate ? std::min<std::uint64_t>(max_bytes_in_flight, *rate) : max_bytes_in_flight);
    } else if (!files.empty()) {
        const auto outcome = fetch(*session, files.front(), arguments, by_name.contains(files.front().name));
        report(files.front(), outcome, several, arguments);
        if (!outcome.done) {
            failed.push_back(files.front().name);
        }
    }
    if (several) {
        std::cout << (arguments.json ? dump(get_summary_json(all.size(), all.size() - failed.size(), failed))
                                     : summary_line(all.size(), failed))
                  << '\n'
                  << std::flush;
    }
    return failed.empty() ? exit_ok : exit_failure;
}

int run_get(get_arguments arguments, const global_options& globals) {
    arguments.json = arguments.json || arguments.json_progress;
    try {
        auto operands = split_address_operands(arguments.words);
        arguments.addresses = std::move(operands.addresses);
        arguments.names = std::move(operands.names);
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
    auto* sub = app.add_subcommand(
        "get", "Download files from other peers, verify each, and exit: get HOST:PORT... FILE... (addresses first)");
    auto arguments = std::make_shared<get_arguments>();
    // One list: CLI11 cannot tell where the addresses end (split_address_operands does, in run_get).
    sub->add_option("address_and_file", arguments->words,
                    "One or more peer addresses (HOST:PORT), then file names as they list them; a folder name fetches "
                    "every file under it. With several addresses each file comes from every peer that lists it (the "
                    "same name with other content at two of them is refused: give only the address you want); one "
                    "that cannot be reached is a warning while another is. Several files are fetched up to " +
                        std::to_string(max_downloads_in_flight) + " (and " + std::to_string(max_bytes_in_flight >> 20) +
                        " MiB) at once and reported in the order given")
        ->type_name("HOST:PORT... FILE");
    sub->add_option("--dir", arguments->folder, "Folder to download into; created if missing")
        ->capture_default_str()
        ->type_name("DIR");
    sub->add_option("-o,--output", arguments->output, "Save the one file given under this name in the folder")
        ->type_name("NAME");
    sub->add_flag("--continue", arguments->keep_same,
                  "Skip the files already here with the content the other peer lists (each hashed to tell), instead "
                  "of refusing them: how an interrupted get of several files is finished");
    sub->add_flag("--force", arguments->force,
                  "Replace files that exist already, each only once its download is verified");
    sub->add_flag("--explain", arguments->explain,
                  "After each file, the rate figures stage by stage (holder, this peer, round trip, window) and what "
                  "limited it");
    sub->add_flag(
        "--json", arguments->json,
        "Print a JSON object per file (name, saved_as, ok, size, seconds, rate, peer, resumed_from, rechecked, "
        "holders, wasted, limit, window, stages; or error, code) and, for several names, a summary (requested, got, "
        "failed)");
    sub->add_flag("--json-progress", arguments->json_progress,
                  "With --json (implied): also a line {\"event\":\"progress\", name, bytes, size, holders} for each "
                  "progress report of a download, about 5 a second per file");
    return {sub, [arguments, &globals] { return run_get(*arguments, globals); },
            "peer addresses and one or more names"};
}

} // namespace p2p::cli
