// SPDX-License-Identifier: MIT
// mesh_bench.cpp - N peers in one process, fully connected over tcp loopback: how long until every peer knows every
// other peer and its file list, and how much CPU the mesh burns when nothing happens.
//
//   p2p-bench-mesh <work-dir> [--peers N] [--idle SECONDS] [--inproc] [--io-threads N]
// Prints one JSON object: peers, connections, start_seconds, converge_seconds, idle_seconds, idle_cpu_percent_total,
// idle_cpu_percent_per_peer.
#include "p2p/peer.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto tv = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return tv(usage.ru_utime) + tv(usage.ru_stime);
}

} // namespace

int main(int argc, char** argv) try {
    if (argc < 2) {
        std::cerr << "usage: p2p-bench-mesh <work-dir> [--peers N] [--idle SECONDS] [--inproc] [--io-threads N]\n";
        return 2;
    }
    const std::filesystem::path work = argv[1];
    std::size_t count = 64;
    double idle = 10;
    bool inproc = false;
    int io_threads = 1;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--peers" && i + 1 < argc) {
            count = std::stoul(argv[++i]);
        } else if (arg == "--idle" && i + 1 < argc) {
            idle = std::stod(argv[++i]);
        } else if (arg == "--io-threads" && i + 1 < argc) {
            io_threads = std::stoi(argv[++i]);
        } else if (arg == "--inproc") {
            inproc = true;
        }
    }

    zmq::context_t context(io_threads);
    // Every peer of the mesh lives in this one context: a ROUTER, its pipe and a DEALER per outbound link each. The
    // context's default limit (1023 sockets) would stop the 64-peer mesh at EMFILE; a p2p-peer process has one peer.
    context.set(zmq::ctxopt::max_sockets, 16384);
    std::vector<std::unique_ptr<p2p::peer>> peers;
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < count; ++i) {
        const auto folder = work / ("peer" + std::to_string(i));
        std::filesystem::create_directories(folder);
        std::ofstream(folder / ("file" + std::to_string(i) + ".dat")) << "peer " << i << "\n";
        p2p::peer_options options;
        options.folder = folder;
        options.bind = inproc ? "inproc://mesh" + std::to_string(i) : "tcp://127.0.0.1:*";
        peers.push_back(std::make_unique<p2p::peer>(context, options));
    }
    const double start_seconds = seconds_since(start);

    // Peer i connects to every peer before it: one connection per pair, no simultaneous-connect races.
    const auto connect_start = clock_type::now();
    std::size_t connections = 0;
    for (std::size_t i = 1; i < count; ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            peers[i]->start_connect(peers[j]->endpoint());
            ++connections;
        }
    }
    double converge_seconds = -1;
    while (seconds_since(connect_start) < 60) {
        bool converged = true;
        for (auto& p : peers) {
            while (p->next_event(std::chrono::milliseconds(0))) {
            }
            const auto known = p->peers();
            std::size_t complete = 0;
            for (const auto& info : known) {
                complete += info.files.size() == 1 ? 1 : 0;
            }
            if (complete != count - 1) {
                converged = false;
                break;
            }
        }
        if (converged) {
            converge_seconds = seconds_since(connect_start);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    // Idle: let the last events settle, then measure the whole process's CPU while the mesh only pings.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    for (auto& p : peers) {
        while (p->next_event(std::chrono::milliseconds(0))) {
        }
    }
    const double cpu_before = cpu_seconds();
    const auto idle_start = clock_type::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(idle));
    const double idle_wall = seconds_since(idle_start);
    const double idle_cpu = cpu_seconds() - cpu_before;
    std::size_t still_known = 0;
    for (auto& p : peers) {
        still_known += p->peers().size();
    }

    const double total_percent = 100.0 * idle_cpu / idle_wall;
    std::printf("{\"peers\":%zu,\"transport\":\"%s\",\"connections\":%zu,\"start_seconds\":%.4f,"
                "\"converge_seconds\":%.4f,\"idle_seconds\":%.2f,\"idle_cpu_percent_total\":%.3f,"
                "\"idle_cpu_percent_per_peer\":%.4f,\"links_after_idle\":%zu}\n",
                count, inproc ? "inproc" : "tcp", connections, start_seconds, converge_seconds, idle_wall,
                total_percent, total_percent / static_cast<double>(count), still_known);
    std::fflush(stdout);
    for (auto& p : peers) {
        p->stop();
    }
    return converge_seconds < 0 ? 1 : 0;
} catch (const std::exception& e) {
    std::cerr << "p2p-bench-mesh: " << e.what() << "\n";
    return 1;
}
