// SPDX-License-Identifier: MIT
// p2p_sim: runs the peer's core in a simulated world, seed after seed, and stops at the first invariant that does
// not hold, printing the seed that replays it exactly and what led to it.
//
//   p2p_sim --seeds 10000 --peers 16      ten thousand runs of a 16-peer scenario with faults
//   p2p_sim --seconds 20                   as many seeds as fit in 20 s (wall clock)
//   p2p_sim --hours 1                      the long run
//   p2p_sim --seed 1234 --trace            one run, replayed exactly, with every step printed
#include "scenario.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

using namespace p2p::sim;

int main(int argc, char** argv) {
    CLI::App app{"p2p_sim: the peer's core in a simulated world, driven by one seed per run"};
    std::optional<std::uint64_t> seed;
    std::uint64_t first = 1;
    std::uint64_t seeds = 100;
    double seconds = 0;
    double hours = 0;
    scenario_settings settings;
    bool no_faults = false;
    app.add_option("--seed", seed, "Run this one seed (a failure's seed replays it exactly)");
    app.add_option("--first", first, "First seed of a series")->capture_default_str();
    app.add_option("--seeds", seeds, "Seeds to run")->capture_default_str();
    app.add_option("--seconds", seconds, "Run seeds for this long (wall clock) instead of a count");
    app.add_option("--hours", hours, "Run seeds for this many hours (the long run)");
    app.add_option("--peers", settings.peers, "Peers in the scenario")
        ->capture_default_str()
        ->check(CLI::Range(2, 5000));
    app.add_option("--files", settings.files, "Distinct files in the swarm")->capture_default_str();
    app.add_option("--downloads", settings.downloads_per_peer, "Downloads started per peer")->capture_default_str();
    app.add_flag("--no-faults", no_faults, "The same traffic on a perfect world");
    double busy_seconds = 20;
    app.add_option("--busy", busy_seconds, "Simulated seconds of downloads and faults (then the quiet time)")
        ->capture_default_str()
        ->check(CLI::Range(2.0, 86400.0));
    app.add_flag("--trace", settings.trace, "Print every step of a failing (or --seed) run");
    CLI11_PARSE(app, argc, argv);
    settings.faults = !no_faults;
    settings.busy = std::chrono::duration_cast<clock_time>(std::chrono::duration<double>(busy_seconds));
    if (hours > 0) {
        seconds = hours * 3600;
    }

    const auto started = std::chrono::steady_clock::now();
    const auto wall = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    std::uint64_t runs = 0, events = 0, ok = 0, failed = 0;
    double simulated = 0;
    for (std::uint64_t s = seed.value_or(first);; ++s) {
        if (seed ? runs == 1 : (seconds > 0 ? wall() >= seconds : runs == seeds)) {
            break;
        }
        auto result = run_scenario(s, settings);
        ++runs;
        events += result.events;
        ok += result.downloads_ok;
        failed += result.downloads_failed;
        simulated += std::chrono::duration<double>(result.simulated).count();
        if (result.found || (seed && settings.trace)) {
            for (const auto& t : result.trace) {
                std::printf("%10.6f %s\n", std::chrono::duration<double>(t.at).count(), t.text.c_str());
            }
        }
        if (result.found) {
            std::printf(
                "VIOLATION at seed %llu after %llu seeds: %s\n  %s\n  replay: %s --seed %llu --peers %d --trace\n",
                static_cast<unsigned long long>(s), static_cast<unsigned long long>(runs),
                result.found->invariant.c_str(), result.found->detail.c_str(), argv[0],
                static_cast<unsigned long long>(s), settings.peers);
            return 1;
        }
    }
    const double took = wall();
    std::printf("%llu seeds of %d peers%s: no violation. %.1f seeds/s, %.0f events/s, %.0f s simulated in %.2f s "
                "(%.0fx), downloads %llu ok, %llu failed\n",
                static_cast<unsigned long long>(runs), settings.peers, settings.faults ? " with faults" : "",
                static_cast<double>(runs) / took, static_cast<double>(events) / took, simulated, took, simulated / took,
                static_cast<unsigned long long>(ok), static_cast<unsigned long long>(failed));
    return 0;
}
