// SPDX-License-Identifier: MIT
// discovery.hpp - peers that find each other: many peers start within a second with no address typed, and the run
// measures how long until their links settle (tests/sim/README.md, "Discovery") and what it cost in messages.
//
// Two ways to meet: on one LAN with discovery on (beacons), or with no LAN, each peer connecting once to a peer
// started before it (a tree), so that only what peers tell each other (peer exchange) can add links.
#pragma once

#include "world.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p2p::sim {

struct discovery_run {
    int peers = 200;
    std::size_t max_peers = 16; ///< The degree cap: the core's --max-peers.
    bool lan = true;            ///< Beacons on one LAN; false: one explicit connect each (a tree), no beacons.
    double loss = 0;            ///< Of each beacon at each receiver.
    clock_time stagger = std::chrono::seconds(1);   ///< Peers start at random times within this.
    clock_time deadline = std::chrono::seconds(60); ///< Not converged by then: the run says so.
    clock_time steady = std::chrono::seconds(10);   ///< Measured after convergence (or after the deadline).
    bool trace = false;
};

struct discovery_result {
    std::uint64_t seed = 0;
    std::optional<violation> found;
    std::optional<clock_time> converged; ///< When the links settled (see converged_now()).
    clock_time measured{};               ///< Simulated time of the first phase: to convergence, or to the deadline.
    traffic first;                       ///< What went over the network in that phase...
    traffic steady;                      ///< ...and in the steady time after it.
    std::size_t peak_degree = 0;         ///< The most joined peers any peer had at any sample.
    std::vector<int> degrees;            ///< At the end: how many peers have 0, 1, 2... links.
    int components = 0;                  ///< Of the graph of links, at the end.
    std::uint64_t rate_limited = 0;      ///< Beacons the cores dropped for their rate limits, over the run.
    std::uint64_t beacon_dials = 0;      ///< Connects the cores started because of a beacon, over the run.
    std::uint64_t events = 0;
    std::deque<trace_entry> trace;
};

/// Runs the discovery scenario of `seed` to convergence (or the deadline) and the steady time after it.
discovery_result run_discovery(std::uint64_t seed, const discovery_run& settings);

} // namespace p2p::sim
