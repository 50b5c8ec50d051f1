// SPDX-License-Identifier: MIT
#include "menu.hpp"

#include "commands.hpp"
#include "download_pipeline.hpp"
#include "downloads_in_flight.hpp"
#include "event_output.hpp"
#include "event_text.hpp"
#include "exit_code.hpp"
#include "files_progress.hpp"
#include "folder_names.hpp"
#include "holder_shares.hpp"
#include "progress_meter.hpp"
#include "shutdown.hpp"
#include "wait.hpp"
#include "web_option.hpp"

#include "p2p/digest.hpp"
#include "p2p/file_name.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <iostream>
#include <optional>
#include <utility>
#include <vector>

namespace p2p::cli {

namespace {

constexpr std::string_view banner = "---------- P2P File Sharing System ----------";
constexpr std::string_view rule = "--------------------------------------------";
/// What choose_between_different_files returns when there is nothing to choose (not a possible peer id).
constexpr std::string_view no_choice_needed = "*";

/// Choices and prompts are typed by people: spaces around them mean nothing.
std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

std::string local_time(std::chrono::system_clock::time_point when) {
    const auto t = std::chrono::system_clock::to_time_t(when);
    std::tm local{};
    localtime_r(&t, &local);
    std::array<char, 32> out{};
    std::strftime(out.data(), out.size(), "%Y-%m-%d %H:%M:%S", &local);
    return out.data();
}

} // namespace

menu::menu(peer& p, stop_signal& stop, console& screen, line_reader& input, web::server* web, bool verbose)
    : peer_(p), stop_(stop), screen_(screen), input_(input), web_(web), verbose_(verbose) {}

std::string menu::download_line(const download_finished& done) const {
    auto line = describe_download(done);
    if (verbose_ && done.ok) {
        if (const auto from = from_holders_text(done.holders); !from.empty()) {
            line += "; " + from;
        }
    }
    if (verbose_ && done.ok && done.limit.measured) {
        line += "; " + describe_limit(done);
    }
    return line;
}

int menu::run() {
    show_choices(true);
    for (;;) {
        const auto answer = ask("Enter choice: ");
        if (!answer) {
            break;
        }
        const auto choice = trimmed(*answer);
        bool keep_going = true;
        if (choice == "1") {
            list_local_files();
        } else if (choice == "2") {
            list_peers();
        } else if (choice == "3") {
            keep_going = request_file();
        } else if (choice == "4") {
            keep_going = connect_to_peer();
        } else if (choice == "5") {
            break;
        } else if (choice == "6") {
            show_failures();
        } else {
            screen_.line("Invalid choice");
        }
        if (!keep_going) {
            break;
        }
        show_choices(false);
    }
    screen_.end_prompt();
    const bool failed = peer_.stopped();
    event_output out(screen_, false);
    shut_down(peer_, stop_, out, bridge());
    return failed ? exit_failure : exit_ok;
}

std::optional<std::string> menu::ask(std::string_view prompt) {
    screen_.prompt(prompt);
    for (;;) {
        if (input_.editing()) {
            screen_.typed(input_.typed()); // typed ahead, or just now
        }
        if (auto line = input_.next_line()) {
            screen_.answered(*line);
            return line;
        }
        if (input_.finished()) {
            return std::nullopt;
        }
        switch (wait_for_activity(peer_, stop_, &input_, std::chrono::milliseconds(1000), bridge())) {
        case wake::stop:
            return std::nullopt;
        case wake::event:
            if (auto e = take_event(peer_, bridge())) {
                show_event(*e);
            }
            if (peer_.stopped()) {
                return std::nullopt; // the node ended on an internal error (logged): leave, do not wait forever
            }
            break;
        case wake::input:
            input_.fill();
            break;
        case wake::idle:
            break;
        }
    }
}

void menu::show_choices(bool first) {
    if (first) {
        screen_.line(banner);
        screen_.line(started_line(peer_));
        if (const auto reach = reachable_line(peer_); !reach.empty()) {
            screen_.line(reach);
        }
        if (const auto keys = key_line(peer_); !keys.empty()) {
            screen_.line(keys);
        }
        if (web_ != nullptr) {
            screen_.line(web_line(web_->url()));
        }
    } else {
        screen_.line("");
        screen_.line(banner);
    }
    screen_.line("1. List local files");
    screen_.line("2. List peers and files");
    screen_.line("3. Request file");
    screen_.line("4. Connect to peer");
    screen_.line("5. Exit");
    screen_.line("6. Show failed connections");
    screen_.line(rule);
    screen_.line("");
}

void menu::list_local_files() {
    const auto files = peer_.local_files();
    screen_.line("Your shared files:");
    if (files.empty()) {
        screen_.line("  No files available");
    }
    for (const auto& f : files) {
        // Our own names are escaped too: anyone who can write to the folder can choose them.
        screen_.line("  " + escape_for_terminal(f.name) + " (" + std::to_string(f.size) + " bytes)");
    }
    if (const auto skipped = peer_.stats().entries_skipped; skipped > 0) {
        screen_.line("  " + std::to_string(skipped) + (skipped == 1 ? " entry" : " entries") +
                     " skipped (not regular files, or names that cannot be sent); --log-level info names them");
    }
}

void menu::list_peers() {
    const auto peers = peer_.peers();
    screen_.line("Connected peers and their files:");
    if (peers.empty()) {
        screen_.line("  No peers connected");
    }
    for (const auto& p : peers) {
        screen_.line("  Peer " + p.id.short_hex() + " at " + escape_for_terminal(p.address) + ":");
        if (p.files.empty()) {
            screen_.line("    No files shared");
        }
        for (const auto& f : p.files) {
            screen_.line("    - " + escape_for_terminal(f.name) + " (" + std::to_string(f.size) + " bytes)");
        }
    }
}

bool menu::request_file() {
    const auto name = ask("Enter file name to download: ");
    if (!name) {
        return false;
    }
    if (name->empty()) {
        screen_.line("Error: File name must not be empty");
        return true;
    }
    auto from = ask("Enter peer ID, leave empty for all: ");
    if (!from) {
        return false;
    }
    // A folder of theirs ("top" when they list "top/a.txt"): every file under it.
    std::vector<file_entry> listed;
    for (const auto& p : peer_.peers()) {
        if (p.id.hex().starts_with(trimmed(*from))) {
            listed.insert(listed.end(), p.files.begin(), p.files.end());
        }
    }
    if (const auto under = files_under(listed, *name); !under.empty()) {
        return request_folder(*name, trimmed(*from), under);
    }
    if (trimmed(*from).empty()) {
        // "All" means any copy of one file; different files under one name are the user's choice, not ours.
        if (const auto chosen = choose_between_different_files(*name); !chosen) {
            return false;
        } else if (*chosen == no_choice_needed) {
            // any holder will do
        } else if (chosen->empty()) {
            screen_.line("Not downloaded: no peer chosen");
            return true;
        } else {
            from = *chosen;
        }
    }
    progress_meter meter(screen_, true);
    progress_ = &meter;
    const auto op = peer_.start_download(download_request{*name, trimmed(*from), std::nullopt, std::nullopt});
    progress_op_ = op;
    std::uint64_t size = 0; // from the progress events: a cancel can come before the offer that tells it
    const auto [done, cancelled] = await_download(
        peer_, stop_, op,
        [this, &size, op](const event& e) {
            if (const auto* progress = std::get_if<download_progress>(&e); progress != nullptr && progress->op == op) {
                size = progress->size;
            }
            show_event(e);
        },
        bridge());
    meter.finish();
    progress_ = nullptr;
    if (!done) {
        return false; // a second Ctrl-C: leave
    }
    // Ctrl-C during a download cancels it and nothing else; one that completed first is reported as completed.
    if (cancelled && !done->ok && done->code == download_errc::cancelled) {
        screen_.line(describe_cancelled(*done, done->size > 0 ? done->size : size, "choose 3 again to resume"));
        return true;
    }
    screen_.line(download_line(*done));
    return true;
}

bool menu::request_folder(const std::string& name, const std::string& from, const std::vector<file_entry>& files) {
    screen_.line("Folder " + escape_for_terminal(name) + ": " + std::to_string(files.size()) + " files");
    // Several files in flight, as `get` has (download_pipeline.hpp says why): one at a time, each small file waited
    // a round trip. The lines still come in the folder's order.
    std::vector<std::uint64_t> sizes;
    for (const auto& f : files) {
        sizes.push_back(f.size);
    }
    download_pipeline pipeline(sizes, max_downloads_in_flight, max_bytes_in_flight);
    std::vector<std::optional<download_finished>> outcomes(files.size());
    downloads_in_flight in_flight;
    const auto start_more = [&] {
        while (const auto i = pipeline.start_next()) {
            const auto op = peer_.start_download(download_request{files[*i].name, from, std::nullopt, std::nullopt});
            in_flight.started(op, *i);
        }
    };
    // One meter for all the files, as get has: the bytes of those in flight and of those that arrived.
    progress_meter meter(screen_, true);
    files_progress progress(std::move(sizes));
    const auto set_progress = [&](std::size_t i, std::uint64_t bytes, std::uint64_t size) {
        progress.set(i, bytes, size);
        meter.update_files(pipeline.finished(), files.size(), progress.bytes_in(), progress.total());
    };
    std::size_t got = 0;
    std::optional<std::size_t> first_cancelled;
    const auto report = [&](const std::vector<std::size_t>& taken) {
        if (!taken.empty()) {
            meter.finish(); // the bar is drawn again at the next progress
        }
        for (const auto i : taken) {
            const auto& done = *outcomes[i];
            if (!done.ok && done.code == download_errc::cancelled) {
                first_cancelled = first_cancelled.value_or(i); // said once, at the end
                continue;
            }
            screen_.line(download_line(done));
            got += done.ok ? 1 : 0;
        }
    };
    start_more();
    const auto wait = await_downloads(
        peer_, stop_, in_flight.running(),
        [&](download_finished& done, bool cancelled) {
            const auto i = in_flight.finished(done.op);
            pipeline.finish(i);
            outcomes[i] = std::move(done);
            // A file that did not arrive leaves the meter's total.
            const auto arrived = outcomes[i]->ok ? outcomes[i]->size : 0;
            if (cancelled) {
                pipeline.stop();
            } else {
                start_more();
            }
            report(pipeline.take_ready());
            set_progress(i, arrived, arrived);
            return !pipeline.idle();
        },
        [&](const event& e) {
            const auto* told = std::get_if<download_progress>(&e);
            if (told == nullptr) {
                show_event(e);
            } else if (const auto i = in_flight.file_of(told->op)) {
                set_progress(*i, told->bytes, told->size);
            }
        },
        bridge());
    meter.finish();
    if (wait.abandoned) {
        return false; // a second Ctrl-C: leave
    }
    // After a Ctrl-C nothing fills the gaps: every file that completed is said, in order, then where it stopped.
    report(pipeline.take_finished());
    if (first_cancelled) {
        const auto& done = *outcomes[*first_cancelled];
        screen_.line(describe_cancelled(done, done.size > 0 ? done.size : progress.size_of(*first_cancelled),
                                        "choose 3 again to resume") +
                     "; got " + std::to_string(got) + " of " + std::to_string(files.size()) + " files of folder " +
                     escape_for_terminal(name));
        return true;
    }
    if (pipeline.first_not_taken() < files.size()) {
        // The Ctrl-C came as the files in flight completed: the rest never started.
        screen_.line("Interrupted before " + escape_for_terminal(files[pipeline.first_not_taken()].name) + "; got " +
                     std::to_string(got) + " of " + std::to_string(files.size()) + " files of folder " +
                     escape_for_terminal(name) + "; choose 3 again to fetch the rest");
        return true;
    }
    screen_.line("Got " + std::to_string(got) + " of " + std::to_string(files.size()) + " files of folder " +
                 escape_for_terminal(name));
    return true;
}

std::optional<std::string> menu::choose_between_different_files(const std::string& name) {
    std::vector<std::pair<peer_info, file_entry>> holders;
    for (const auto& p : peer_.peers()) {
        for (const auto& f : p.files) {
            if (f.name == name) {
                holders.emplace_back(p, f);
            }
        }
    }
    // Two copies are different files when their sizes differ, or their roots do (a root not known yet, before
    // its holder hashed the file, differs from nothing: the core checks the OFFER's root anyway).
    const auto different = [](const file_entry& a, const file_entry& b) {
        return a.size != b.size || (a.root && b.root && *a.root != *b.root);
    };
    const auto same_size_elsewhere = [&](const file_entry& f) {
        return std::count_if(holders.begin(), holders.end(),
                             [&](const auto& other) { return other.second.size == f.size; }) > 1;
    };
    bool any_different = false;
    for (const auto& [p, f] : holders) {
        any_different = any_different || different(f, holders.front().second);
    }
    if (!any_different) {
        return std::string(no_choice_needed); // one file, wherever it is: any holder will do
    }
    screen_.line("Different files are named " + escape_for_terminal(name) + ":");
    for (const auto& [p, f] : holders) {
        auto line = "  Peer " + p.id.short_hex() + " at " + escape_for_terminal(p.address) + ": " +
                    std::to_string(f.size) + " bytes";
        if (same_size_elsewhere(f)) {
            // The size alone does not tell them apart: the start of the root does (`p2p-peer hash` prints it all).
            line += f.root ? ", content " + to_hex(*f.root).substr(0, 16) : ", not hashed yet";
        }
        screen_.line(line);
    }
    const auto answer = ask("Enter peer ID to download from, leave empty to cancel: ");
    if (!answer) {
        return std::nullopt;
    }
    return trimmed(*answer);
}

bool menu::connect_to_peer() {
    const auto host_answer = ask("Enter peer host: ");
    if (!host_answer) {
        return false;
    }
    const auto port_answer = ask("Enter peer port: ");
    if (!port_answer) {
        return false;
    }
    const auto host = trimmed(*host_answer);
    const auto port_text = trimmed(*port_answer);
    if (host.empty() || host.find_first_of(" \t/") != std::string::npos) {
        screen_.line("Error: Host must be a name or an address, without spaces");
        return true;
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size()) {
        screen_.line("Error: Port must be a number");
        return true;
    }
    if (port == 0 || port > 65535) {
        screen_.line("Error: Port must be a number from 1 to 65535");
        return true;
    }
    std::string key_prefix;
    if (!peer_.public_key().empty()) {
        // Secure mode: CURVE needs the other peer's public key before the first byte.
        const auto key_answer = ask("Enter peer public key: ");
        if (!key_answer) {
            return false;
        }
        key_prefix = trimmed(*key_answer) + "@";
    }
    const auto op = peer_.start_connect(key_prefix + host + ":" + std::to_string(port));
    const auto done = await_operation<connect_finished>(
        peer_, stop_, op, [this](const event& e) { show_event(e); }, bridge());
    if (!done) {
        return false;
    }
    screen_.line(describe_connect(*done));
    return true;
}

void menu::show_failures() {
    const auto failures = peer_.failures();
    screen_.line("Failed connections:");
    if (failures.empty()) {
        screen_.line("  No failed connections");
    }
    for (const auto& f : failures) {
        screen_.line("  " + escape_for_terminal(f.address) + ": " + std::to_string(f.count) +
                     (f.count == 1 ? " failure" : " failures") + ", last at " + local_time(f.last_time) + ": " +
                     escape_for_terminal(f.last_error));
        if (f.retrying) {
            const auto seconds = (f.next_retry.count() + 999) / 1000;
            screen_.line(
                "    reconnecting to peer " + f.retry_id.short_hex() + ": " + std::to_string(f.attempts) +
                (f.attempts == 1 ? " attempt" : " attempts") +
                (f.next_retry.count() == 0 ? ", one under way" : ", next retry in " + std::to_string(seconds) + " s"));
        }
    }
}

void menu::show_event(const event& e) {
    if (const auto* progress = std::get_if<download_progress>(&e)) {
        if (progress_ != nullptr && progress->op == progress_op_) {
            progress_->update(*progress);
        }
        return;
    }
    if (auto text = describe(e)) {
        screen_.line(*text);
    }
}

int run_menu(const menu_arguments& arguments, const global_options& globals) {
    if (arguments.port.empty()) {
        throw usage_error("expected <port> <dir> (the menu) or a command (serve, ls, get, hash); see --help");
    }
    const auto& text = arguments.port;
    if (std::string_view("0123456789+-").find(text.front()) == std::string_view::npos) {
        throw usage_error("unknown command '" + escape_for_terminal(text) +
                          "' (commands: serve, ls, get, hash; or <port> <dir> for the menu); see --help");
    }
    int port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535) {
        throw usage_error("port must be a number from 0 to 65535, not '" + escape_for_terminal(text) + "'");
    }
    if (arguments.folder.empty()) {
        throw usage_error("expected <port> <dir> (the menu) or a command (serve, ls, get, hash); see --help");
    }
    auto options = make_peer_options(globals, arguments.folder, port, "0.0.0.0");
    const auto web_at = web_address(globals);
    stop_signal stop;
    zmq::context_t context;
    const auto started = start_peer(context, std::move(options));
    peer& p = *started;
    // Declared after the peer, so it stops first.
    const auto web = start_web(web_at, p);
    const bool out_is_tty = ::isatty(STDOUT_FILENO) == 1;
    const bool in_is_tty = ::isatty(STDIN_FILENO) == 1;
    console screen(std::cout, out_is_tty, !in_is_tty);
    // On a terminal the reader edits the line itself, so that an event line cannot erase what is being typed.
    line_reader input(STDIN_FILENO, in_is_tty && out_is_tty);
    screen.set_input_editing(input.editing());
    return menu(p, stop, screen, input, web.get(), globals.verbose).run();
}

void add_menu_arguments(CLI::App& app, menu_arguments& arguments) {
    app.add_option("port", arguments.port, "Port to listen on; 0 picks a free one (the line printed at start has it)");
    app.add_option("dir", arguments.folder, "Shared folder; created if missing (downloads land here too)");
}

} // namespace p2p::cli
