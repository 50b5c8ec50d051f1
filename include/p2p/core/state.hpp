// SPDX-License-Identifier: MIT
// core/state.hpp - what every subsystem of the core shares: the settings, the way out, the counters, and each
// other. node_core owns one and the subsystems; each subsystem owns its own state and asks the others.
#pragma once

#include "p2p/core/effects.hpp"
#include "p2p/core/storage.hpp"
#include "p2p/core/time.hpp"
#include "p2p/event.hpp"
#include "p2p/message.hpp"
#include "p2p/options.hpp"
#include "p2p/peer_id.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace p2p::core {

class folder_view;
class peer_table;
class connect_table;
class upload_table;
class download_table;
class job_table;
class redial_table;
class exchange_table;

struct core_state {
    core_state(const peer_options& settings, peer_id id, std::string listen_endpoint, bool secure_mode,
               effects& effects_out)
        : options(settings), self(id), endpoint(std::move(listen_endpoint)), secure(secure_mode), out(effects_out) {}

    const peer_options& options;
    peer_id self;
    std::string endpoint; ///< Where we listen, as sent in HELLO.
    bool secure = false;  ///< CURVE: ids derive from keys, connects need the other peer's key.
    /// The addresses of this machine (this_machine_hosts()), as the owner last read them: a peer listening on every
    /// address of this machine is one peer whichever of them, or localhost, is dialled.
    std::vector<std::string> this_machine;
    effects& out;
    peer_stats stats;

    // The subsystems, set by node_core once they exist.
    folder_view* folder = nullptr;
    peer_table* peers = nullptr;
    connect_table* connects = nullptr;
    upload_table* uploads = nullptr;
    download_table* downloads = nullptr;
    job_table* jobs = nullptr;
    redial_table* redials = nullptr;
    exchange_table* exchange = nullptr;

    /// The transfers the input being handled worked for: the download that stored a chunk, the upload that read
    /// and sent some. node_core::on_handled charges them the time it took (the rate report's busy stages).
    std::optional<std::uint32_t> charge_download;
    std::optional<std::pair<peer_id, std::uint32_t>> charge_upload;

    bool stopping = false; ///< Asked to leave: nothing new is taken.
    bool finished = false; ///< Left: GOODBYE sent; the owner closes everything next.

    /// Our HELLO, as it is now.
    hello hello_message() const;

    /// Logs a frame we refuse, at most errors_logged_per_second lines a second (a flood of bad frames must not
    /// become a flood of log lines), and counts it.
    void log_refused(std::string_view who, std::string_view reason, steady_time now);

private:
    static constexpr unsigned errors_logged_per_second = 20;
    steady_time error_log_window_{};
    unsigned errors_logged_ = 0;
    std::uint64_t errors_not_logged_ = 0;
};

} // namespace p2p::core
