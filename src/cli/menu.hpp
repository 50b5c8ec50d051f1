// SPDX-License-Identifier: MIT
// menu.hpp - the interactive menu of the original peer, word for word, on a p2p::peer.
//
// One thread: each prompt waits in one zmq::poll over standard input, the peer's events, the stop signal and (with
// --web) the web interface's requests, so events print and web requests run while a prompt waits, and Ctrl-C is the
// same as choice 5 - except during a download, where it cancels the download (the next Ctrl-C then leaves).
#pragma once

#include "console.hpp"
#include "line_reader.hpp"
#include "progress_meter.hpp"
#include "stop_signal.hpp"

#include "web/server.hpp"

#include "p2p/peer.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::cli {

class menu {
public:
    /// `web` is the web interface when --web was given, else null.
    /// `verbose`: each "Got file" line says what limited the download's rate.
    menu(peer& p, stop_signal& stop, console& screen, line_reader& input, web::server* web = nullptr,
         bool verbose = false);

    /// Shows the choices and runs them until 5, end of input or a stop signal; then shuts the peer down.
    /// Returns the exit code.
    int run();

private:
    /// Prompts and waits for one line, printing events meanwhile; nullopt at end of input or on a stop signal.
    std::optional<std::string> ask(std::string_view prompt);
    void show_choices(bool first);
    void list_local_files();
    void list_peers();
    /// Choice 3. The first stop signal during the download cancels it; returns false when a second one came.
    bool request_file();
    /// Choice 3 with a folder of the other peers' lists: every file under it, several in flight, said in order. The
    /// first stop signal cancels those in flight and starts no more; returns false when a second one came.
    bool request_folder(const std::string& name, const std::string& from, const std::vector<file_entry>& files);
    /// Choice 3 with no peer given: when peers list different files (sizes differ) under `name`, lists them and asks
    /// which peer to take it from: the answer ("" when the user chose none), "*" when there was nothing to choose,
    /// nullopt on a stop signal or end of input.
    std::optional<std::string> choose_between_different_files(const std::string& name);
    /// Choice 4. Returns false when a stop signal ended the wait.
    bool connect_to_peer();
    void show_failures();
    void show_event(const event& e);
    /// The "Got file" line (or why not), with what limited the rate when verbose.
    std::string download_line(const download_finished& done) const;
    web::bridge* bridge() { return web_ != nullptr ? &web_->bridge() : nullptr; }

    peer& peer_;
    stop_signal& stop_;
    console& screen_;
    line_reader& input_;
    web::server* web_;
    bool verbose_;
    progress_meter* progress_ = nullptr; ///< The download being shown, while there is one...
    operation_id progress_op_ = 0;       ///< ...and its op: downloads started from the web page are not drawn.
};

} // namespace p2p::cli
