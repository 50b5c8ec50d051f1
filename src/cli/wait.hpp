// SPDX-License-Identifier: MIT
// wait.hpp - one zmq::poll over the peer's events, standard input, the stop signal and, with --web, the web
// interface's requests; no extra threads touch the peer.
#pragma once

#include "line_reader.hpp"
#include "stop_signal.hpp"

#include "web/bridge.hpp"

#include "p2p/peer.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <variant>

namespace p2p::cli {

/// What ended a wait.
enum class wake {
    stop,  ///< SIGINT or SIGTERM.
    event, ///< peer.next_event() has something.
    input, ///< Standard input is readable (or at its end).
    idle,  ///< The timeout passed.
};

/// Waits up to timeout for a stop signal, a peer event, or input (when input is not null), in that priority. With a
/// web bridge, the web interface's requests are run meanwhile (on this thread: the one that owns the peer), and the
/// wait ends as idle after them.
wake wait_for_activity(peer& p, const stop_signal& stop, const line_reader* input, std::chrono::milliseconds timeout,
                       web::bridge* web = nullptr);

/// The next event after wake::event, handed to the web bridge too when there is one; nullopt when none was there.
std::optional<event> take_event(peer& p, web::bridge* web);

/// Waits for the Finished event (connect_finished, download_finished) of operation op. Every other event goes to
/// on_event meanwhile. nullopt when a stop signal came first.
template <typename Finished>
std::optional<Finished> await_operation(peer& p, const stop_signal& stop, operation_id op,
                                        const std::function<void(const event&)>& on_event, web::bridge* web = nullptr) {
    for (;;) {
        const auto woke = wait_for_activity(p, stop, nullptr, std::chrono::milliseconds(1000), web);
        if (woke == wake::stop) {
            return std::nullopt;
        }
        if (woke != wake::event) {
            continue;
        }
        auto e = take_event(p, web);
        if (!e) {
            continue;
        }
        if (auto* done = std::get_if<Finished>(&*e); done != nullptr && done->op == op) {
            return std::move(*done);
        }
        on_event(*e);
    }
}

/// How a download that Ctrl-C may cancel ended.
struct download_outcome {
    /// Its download_finished; nullopt when a second stop signal came before the cancel was confirmed.
    std::optional<download_finished> done;
    /// A stop signal cancelled it. done then says whether it had completed first (ok) or was cancelled.
    bool cancelled = false;
};

/// How a wait for downloads that Ctrl-C may cancel ended.
struct downloads_wait {
    /// A stop signal cancelled the downloads in flight then (some may have completed first).
    bool cancelled = false;
    /// A second stop signal came: the wait ended without waiting for the cancels to be confirmed.
    bool abandoned = false;
};

/// Waits while the downloads in `running` (the caller's set: its on_finished erases what finished and may add the
/// downloads it starts next) go on. Each download_finished of one of them goes to on_finished, with whether a stop
/// signal came; the wait ends when on_finished returns false. Every other event goes to on_event. The first stop
/// signal cancels every download in running (peer::cancel: their partial files stay for a resume) and is then
/// forgotten, so that a second one, which ends the wait at once, can be told apart.
downloads_wait await_downloads(peer& p, stop_signal& stop, const std::set<operation_id>& running,
                               const std::function<bool(download_finished&, bool cancelled)>& on_finished,
                               const std::function<void(const event&)>& on_event, web::bridge* web = nullptr);

/// Waits for the download_finished of download op, as await_operation. The first stop signal cancels the download
/// (peer::cancel: its partial file stays for a resume) and is then forgotten, so that a second one can be told apart;
/// the wait goes on for the download_finished, which the node sends at once.
download_outcome await_download(peer& p, stop_signal& stop, operation_id op,
                                const std::function<void(const event&)>& on_event, web::bridge* web = nullptr);

} // namespace p2p::cli
