// SPDX-License-Identifier: MIT
// p2p_sim: runs the peer's core in a simulated world, seed after seed, and stops at the first invariant that does
// not hold, printing the seed that replays it exactly and what led to it.
//
//   p2p_sim --seeds 10000 --peers 16      ten thousand runs of a 16-peer scenario with faults
//   p2p_sim --seconds 20                   as many seeds as fit in 20 s (wall clock)
//   p2p_sim --hours 1                      the long run
//   p2p_sim --seed 1234 --trace            one run, replayed exactly, with every step printed
//   p2p_sim --discovery --peers 200 --max-peers 16 --seeds 3
//                                          peers that find each other on a LAN: convergence time and messages
//   p2p_sim --exchange-only --peers 200    the same with no LAN, one connect each (a tree): peer exchange only
#include "discovery.hpp"
#include "scenario.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <malloc.h>

using namespace p2p::sim;

namespace {

double seconds_of(clock_time t) {
    return std::chrono::duration<double>(t).count();
}

/// "beacons sent 1.00, heard 199.0, messages 3.10 (HELLO 0.08, ...)": per peer per simulated second.
std::string rates(const traffic& t, int peers, clock_time over) {
    const double per = 1.0 / (peers * std::max(seconds_of(over), 1e-9));
    char line[160];
    std::snprintf(line, sizeof line, "beacons sent %.2f, heard %.1f; messages %.2f (", t.beacons_sent * per,
                  t.beacons_heard * per, t.messages_total() * per);
    std::string out = line;
    bool first = true;
    for (const auto& [type, n] : t.messages) {
        if (n == 0) {
            continue;
        }
        std::snprintf(line, sizeof line, "%s%s %.3f", first ? "" : ", ", type.c_str(), n * per);
        out += line;
        first = false;
    }
    return out + ")";
}

/// The discovery runs (tests/sim/README.md, "Discovery"): one line per seed, then a summary. A LAN run that does not
/// converge by the deadline fails; the exchange-only run reports it and passes (peer exchange is what it measures).
int run_discoveries(const discovery_run& settings, std::uint64_t first, std::uint64_t seeds, const char* program) {
    int not_converged = 0;
    double sum = 0, worst = 0;
    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t s = first; s < first + seeds; ++s) {
        const auto seed_started = std::chrono::steady_clock::now();
        auto r = run_discovery(s, settings);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - seed_started).count();
        if (r.found) {
            for (const auto& t : r.trace) {
                std::printf("%10.6f %s\n", seconds_of(t.at), t.text.c_str());
            }
            std::printf("VIOLATION at seed %llu: %s\n  %s\n  replay: %s --%s --seed %llu --peers %d "
                        "--max-peers %zu --trace\n",
                        static_cast<unsigned long long>(s), r.found->invariant.c_str(), r.found->detail.c_str(),
                        program, settings.lan ? "discovery" : "exchange-only", static_cast<unsigned long long>(s),
                        settings.peers, settings.max_peers);
            return 1;
        }
        std::string degrees;
        for (std::size_t d = 0; d < r.degrees.size(); ++d) {
            if (r.degrees[d] > 0) {
                degrees += (degrees.empty() ? "" : " ") + std::to_string(d) + ":" + std::to_string(r.degrees[d]);
            }
        }
        if (r.converged) {
            std::printf("seed %llu: converged in %.2f s", static_cast<unsigned long long>(s), seconds_of(*r.converged));
            sum += seconds_of(*r.converged);
            worst = std::max(worst, seconds_of(*r.converged));
        } else {
            ++not_converged;
            std::printf("seed %llu: did not converge in %.0f s", static_cast<unsigned long long>(s),
                        seconds_of(r.measured));
        }
        std::printf(" (%d peers, max-peers %zu%s), %.2f s wall, %llu events\n", settings.peers, settings.max_peers,
                    settings.lan ? ", one LAN" : ", a tree of connects", wall,
                    static_cast<unsigned long long>(r.events));
        std::printf("  per peer per second %s: %s\n", r.converged ? "until converged" : "until the deadline",
                    rates(r.first, settings.peers, r.measured).c_str());
        std::printf("  per peer per second in the %.0f s after: %s\n", seconds_of(settings.steady),
                    rates(r.steady, settings.peers, settings.steady).c_str());
        std::printf("  peak degree %zu; links per peer at the end (degree:peers) %s; %d component%s; beacon dials "
                    "%llu, beacons rate-limited %llu\n",
                    r.peak_degree, degrees.c_str(), r.components, r.components == 1 ? "" : "s",
                    static_cast<unsigned long long>(r.beacon_dials), static_cast<unsigned long long>(r.rate_limited));
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto converged = static_cast<double>(seeds) - not_converged;
    std::printf("%llu seeds: %d did not converge; convergence mean %.2f s, worst %.2f s; %.2f s wall per seed\n",
                static_cast<unsigned long long>(seeds), not_converged, converged > 0 ? sum / converged : 0.0, worst,
                wall / static_cast<double>(seeds));
    return settings.lan && not_converged > 0 ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
    // The simulated peers allocate and free buffers of a file's, a piece's or a chunk's size millions of times. With
    // glibc's defaults each one above 128 KiB is a fresh mapping whose pages fault in, and the heap's top goes back to
    // the kernel only to fault in again: a third of the run's CPU time (60 seeds: 3.4 s, 2.1 s with these; the
    // process peaks at 17 MiB either way). Under the sanitizers their allocator ignores this.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
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
    discovery_run discovery;
    bool lan = false, tree = false;
    double deadline_seconds = 60, steady_seconds = 10;
    app.add_flag("--discovery", lan, "Peers on one LAN find each other by beacons (no address typed)");
    app.add_flag("--exchange-only", tree,
                 "No LAN: each peer connects to one started before it; only peer exchange can add links");
    app.add_option("--max-peers", discovery.max_peers, "The degree cap of --discovery and --exchange-only")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    app.add_option("--loss", discovery.loss, "Beacon loss rate on the LAN")->check(CLI::Range(0.0, 1.0));
    app.add_option("--deadline", deadline_seconds, "Simulated seconds to converge in")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 3600.0));
    app.add_option("--steady", steady_seconds, "Simulated seconds measured after convergence")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 3600.0));
    CLI11_PARSE(app, argc, argv);
    if (lan || tree) {
        if (lan && tree) {
            std::fprintf(stderr, "--discovery and --exchange-only are two runs: give one\n");
            return 2;
        }
        discovery.lan = lan;
        discovery.peers = app.count("--peers") > 0 ? settings.peers : 200;
        discovery.trace = settings.trace;
        discovery.deadline = std::chrono::duration_cast<clock_time>(std::chrono::duration<double>(deadline_seconds));
        discovery.steady = std::chrono::duration_cast<clock_time>(std::chrono::duration<double>(steady_seconds));
        // 200 peers take a while each: one seed unless more are asked for.
        return run_discoveries(discovery, seed.value_or(first), seed ? 1 : (app.count("--seeds") > 0 ? seeds : 1),
                               argv[0]);
    }
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
