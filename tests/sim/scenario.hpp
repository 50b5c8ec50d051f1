// SPDX-License-Identifier: MIT
// scenario.hpp - one simulated run from one seed: peers sharing files, connecting, downloading, and faults (crashes
// and restarts, graceful stops, cancels and retries, connection cuts, partitions that heal, full disks, read errors,
// files changed while served), then a quiet time in which every download must end.
#pragma once

#include "world.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace p2p::sim {

struct scenario_settings {
    int peers = 16;
    int files = 8;                                ///< Distinct file names in the swarm.
    std::size_t max_file_bytes = 256 * 1024;      ///< Files are 0 to this many bytes.
    clock_time busy = std::chrono::seconds(20);   ///< Downloads and faults happen during this time...
    clock_time settle = std::chrono::seconds(40); ///< ...and every download must end within this after it.
    bool faults = true;                           ///< Off: the same traffic on a perfect world.
    int downloads_per_peer = 2;                   ///< Downloads started, on average, per peer.
    bool trace = false;                           ///< Keep a trace of every step.
};

struct run_result {
    std::uint64_t seed = 0;
    std::optional<violation> found;
    std::uint64_t events = 0;
    std::uint64_t downloads_ok = 0;
    std::uint64_t downloads_failed = 0;
    clock_time simulated{};
    std::deque<trace_entry> trace;
};

/// Builds the scenario of `seed` and runs it to the end, or to the first violation.
run_result run_scenario(std::uint64_t seed, const scenario_settings& settings);

} // namespace p2p::sim
