// SPDX-License-Identifier: MIT
// wait.hpp - one zmq::poll over the peer's events, standard input and the stop signal; no extra threads.
#pragma once

#include "line_reader.hpp"
#include "stop_signal.hpp"

#include "p2p/peer.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <variant>

namespace p2p::cli {

/// What ended a wait.
enum class wake {
    stop,  ///< SIGINT or SIGTERM.
    event, ///< peer.next_event() has something.
    input, ///< Standard input is readable (or at its end).
    idle,  ///< The timeout passed.
};

/// Waits up to timeout for a stop signal, a peer event, or input (when input is not null), in that priority.
wake wait_for_activity(peer& p, const stop_signal& stop, const line_reader* input, std::chrono::milliseconds timeout);

/// Waits for the Finished event (connect_finished, download_finished) of operation op. Every other event goes to
/// on_event meanwhile. nullopt when a stop signal came first.
template <typename Finished>
std::optional<Finished> await_operation(peer& p, const stop_signal& stop, operation_id op,
                                        const std::function<void(const event&)>& on_event) {
    for (;;) {
        const auto woke = wait_for_activity(p, stop, nullptr, std::chrono::milliseconds(1000));
        if (woke == wake::stop) {
            return std::nullopt;
        }
        if (woke != wake::event) {
            continue;
        }
        auto e = p.next_event(std::chrono::milliseconds(0));
        if (!e) {
            continue;
        }
        if (auto* done = std::get_if<Finished>(&*e); done != nullptr && done->op == op) {
            return std::move(*done);
        }
        on_event(*e);
    }
}

} // namespace p2p::cli
