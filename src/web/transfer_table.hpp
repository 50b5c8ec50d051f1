// SPDX-License-Identifier: MIT
// transfer_table.hpp - the downloads the web interface shows: progress, rate and time left, from the peer's events.
//
// Pure state: every change and every view takes `now`, so tests step time instead of waiting for it.
#pragma once

#include "p2p/event.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace p2p::web {

using clock = std::chrono::steady_clock;

/// One download, as far as the events tell.
struct transfer {
    enum class state { starting, running, done, failed };
    operation_id op = 0;
    std::string name;
    std::string requested_from; ///< As asked: a peer id prefix, or empty for any peer that has it.
    peer_id from;               ///< The peer sending it (the last progress or the outcome); zero until known.
    state status = state::starting;
    std::uint64_t bytes = 0;      ///< Held so far (a resumed prefix included).
    std::uint64_t size = 0;       ///< The whole file; 0 until the first progress.
    std::string code;             ///< When finished: download_code_name ("none", "cancelled", "exists"...).
    std::string error;            ///< When failed: the one-line reason.
    double seconds = 0;           ///< When finished: how long the peer says it took.
    double final_rate = 0;        ///< When done: bytes per second over the network, from the outcome.
    std::string limit_by;         ///< When done and measured: what bounded the rate (rate_limit_name), else empty.
    std::string limit_text;       ///< ...and its line with the evidence, as `get` prints it.
    clock::time_point first_seen; ///< When it started, or when its first event came (a download the menu started).
    clock::time_point last_change;

    /// One progress report: when, and how many bytes were held then.
    struct sample {
        clock::time_point time;
        std::uint64_t bytes;
    };
    std::deque<sample> samples; ///< The last few seconds of progress, for the rate.
};

class transfer_table {
public:
    /// How far back the rate looks: long enough to smooth the 200 ms progress steps, short enough to show a stall.
    static constexpr auto rate_window = std::chrono::seconds(3);

    /// Keeps at most this many finished downloads (the oldest go first); running ones are always kept.
    explicit transfer_table(std::size_t finished_kept = 32);

    /// A download this interface started: shown at once, before its first progress event.
    void started(operation_id op, std::string name, std::string requested_from, clock::time_point now);
    /// download_progress and download_finished update their transfer (one the menu started is added); other events
    /// change nothing. Returns the op of the transfer that changed.
    std::optional<operation_id> on_event(const event& e, clock::time_point now);

    const transfer* find(operation_id op) const;
    /// Every transfer, oldest first.
    std::vector<const transfer*> all() const;
    /// A transfer with this name that has not finished, if any.
    const transfer* running(const std::string& name) const;

    /// Bytes per second at `now`: over the last rate_window for a running transfer (0 once it stalls for that long),
    /// the whole transfer's rate once it is done.
    static double rate(const transfer& t, clock::time_point now);
    /// Seconds left at the current rate; nullopt when unknown (no rate yet, or not running).
    static std::optional<double> eta(const transfer& t, clock::time_point now);

private:
    transfer& entry(operation_id op, clock::time_point now);
    void forget_old_finished();

    std::size_t finished_kept_;
    std::map<operation_id, transfer> transfers_; ///< By op; ops grow, so this is also the order they started in.
};

/// "starting", "running", "done", "failed".
const char* state_name(transfer::state s);

} // namespace p2p::web
