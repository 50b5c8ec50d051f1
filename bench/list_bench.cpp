// SPDX-License-Identifier: MIT
// list_bench.cpp - small files: how long a peer takes to list a folder of many files and send that list to a peer
// that connects, and how long a 1 KiB download takes end to end (REQUEST to a renamed, fsynced file).
//
//   p2p-bench-list <work-dir> [--files N] [--requests N]
// Prints one JSON object. The folder of N files is created once and reused when it is already complete.
#include "p2p/peer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

void make_files(const std::filesystem::path& dir, std::size_t count, std::size_t bytes, const std::string& prefix) {
    std::filesystem::create_directories(dir);
    std::size_t present = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) {
        ++present;
    }
    if (present == count) {
        return;
    }
    const std::string data(bytes, 'x');
    char name[64];
    for (std::size_t i = 0; i < count; ++i) {
        std::snprintf(name, sizeof name, "%s%06zu", prefix.c_str(), i);
        const int fd = ::open((dir / name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
            throw std::runtime_error("cannot write " + (dir / name).string());
        }
        ::close(fd);
    }
}

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

} // namespace

int main(int argc, char** argv) try {
    if (argc < 2) {
        std::cerr << "usage: p2p-bench-list <work-dir> [--files N] [--requests N]\n";
        return 2;
    }
    const std::filesystem::path work = argv[1];
    std::size_t files = 100000;
    std::size_t requests = 1000;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--files" && i + 1 < argc) {
            files = std::stoul(argv[++i]);
        } else if (arg == "--requests" && i + 1 < argc) {
            requests = std::stoul(argv[++i]);
        }
    }
    zmq::context_t context;

    // 1. A folder of many files: scan it (the peer constructor returns once the folder is listed), then a second peer
    //    connects and waits for HELLO and the complete FILE_LIST, all pages.
    const auto many = work / "many";
    make_files(many, files, 0, "f");
    double scan_seconds = 0;
    double send_seconds = 0;
    std::size_t received = 0;
    {
        p2p::peer_options a_options;
        a_options.folder = many;
        a_options.bind = "tcp://127.0.0.1:*";
        const auto t0 = clock_type::now();
        p2p::peer a(context, a_options);
        scan_seconds = seconds_since(t0);

        p2p::peer_options b_options;
        b_options.folder = work / "empty";
        b_options.bind = "tcp://127.0.0.1:*";
        p2p::peer b(context, b_options);
        const auto t1 = clock_type::now();
        const auto connected = b.connect(a.endpoint());
        send_seconds = seconds_since(t1);
        if (!connected.ok) {
            throw std::runtime_error("connect: " + connected.error);
        }
        for (const auto& info : b.peers()) {
            received = std::max(received, info.files.size());
        }
    }

    // 2. 1 KiB requests: each a whole download of a different 1 KiB file (a peer never overwrites).
    const auto small = work / "small";
    std::filesystem::remove_all(work / "fetched");
    make_files(small, requests, 1024, "k");
    std::vector<double> latencies;
    {
        p2p::peer_options a_options;
        a_options.folder = small;
        a_options.bind = "tcp://127.0.0.1:*";
        p2p::peer a(context, a_options);
        p2p::peer_options b_options;
        b_options.folder = work / "fetched";
        b_options.bind = "tcp://127.0.0.1:*";
        p2p::peer b(context, b_options);
        if (!b.connect(a.endpoint()).ok) {
            throw std::runtime_error("connect failed");
        }
        char name[64];
        for (std::size_t i = 0; i < requests; ++i) {
            std::snprintf(name, sizeof name, "k%06zu", i);
            p2p::download_request request;
            request.name = name;
            const auto t0 = clock_type::now();
            const auto done = b.download(request);
            latencies.push_back(seconds_since(t0) * 1000.0);
            if (!done.ok) {
                throw std::runtime_error("download " + std::string(name) + ": " + done.error);
            }
            while (b.next_event(std::chrono::milliseconds(0))) {
            }
        }
    }
    std::filesystem::remove_all(work / "fetched");

    std::printf("{\"files\":%zu,\"files_received\":%zu,\"scan_seconds\":%.4f,\"list_send_seconds\":%.4f,"
                "\"list_total_seconds\":%.4f,\"requests\":%zu,\"latency_ms_p50\":%.3f,\"latency_ms_p99\":%.3f,"
                "\"latency_ms_max\":%.3f}\n",
                files, received, scan_seconds, send_seconds, scan_seconds + send_seconds, requests,
                percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 1.0));
    return received == files ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "p2p-bench-list: " << e.what() << "\n";
    return 1;
}
