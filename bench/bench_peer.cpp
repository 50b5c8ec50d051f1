// SPDX-License-Identifier: MIT
// bench_peer.cpp - a minimal stand-in for `p2p-peer serve` / `p2p-peer get` with the same command line and output,
// so scripts/bench can run before (or without) the real front end: `scripts/bench --peer-bin build/bench/...`.
//
//   p2p-bench-peer serve <port> <dir> [--bind HOST] [--window N] [--chunk-size S]
//   p2p-bench-peer get <host:port> <file> --dir D [--window N] [--chunk-size S] [--json]
#include "p2p/peer.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

std::uint32_t parse_size(const std::string& text) {
    std::size_t used = 0;
    auto value = std::stoull(text, &used);
    const auto suffix = text.substr(used);
    if (suffix == "K" || suffix == "k") {
        value <<= 10;
    } else if (suffix == "M" || suffix == "m") {
        value <<= 20;
    } else if (!suffix.empty()) {
        throw std::invalid_argument("bad size " + text);
    }
    return static_cast<std::uint32_t>(value);
}

struct args {
    std::vector<std::string> positional;
    std::string bind = "127.0.0.1";
    std::string dir = ".";
    std::optional<p2p::window_setting> window;
    std::optional<std::uint32_t> chunk_size;
    bool json = false;
};

args parse(int argc, char** argv) {
    args a;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw std::invalid_argument(arg + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--bind") {
            a.bind = value();
        } else if (arg == "--dir") {
            a.dir = value();
        } else if (arg == "--window") {
            const std::string text = value();
            a.window = text == "auto" ? p2p::window_setting::sized() : p2p::window_setting::of_chunks(parse_size(text));
        } else if (arg == "--chunk-size") {
            a.chunk_size = parse_size(value());
        } else if (arg == "--json") {
            a.json = true;
        } else {
            a.positional.push_back(arg);
        }
    }
    return a;
}

int serve(const args& a) {
    if (a.positional.size() != 2) {
        throw std::invalid_argument("serve <port> <dir>");
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr); // before any thread starts, so they all inherit it

    p2p::peer_options options;
    const auto& port = a.positional[0];
    options.bind = "tcp://" + a.bind + ":" + (port == "0" ? std::string("*") : port);
    options.folder = a.positional[1];
    if (a.window) {
        options.window = *a.window;
    }
    if (a.chunk_size) {
        options.chunk_size = *a.chunk_size;
    }
    zmq::context_t context;
    p2p::peer peer(context, options);
    const auto& endpoint = peer.endpoint();
    std::cout << "Peer " << peer.id().short_hex() << " started on " << endpoint.substr(endpoint.find("//") + 2)
              << std::endl;
    int signal = 0;
    sigwait(&signals, &signal);
    peer.stop();
    return 0;
}

int get(const args& a) {
    if (a.positional.size() != 2) {
        throw std::invalid_argument("get <host:port> <file> --dir D");
    }
    p2p::peer_options options;
    options.bind = "tcp://127.0.0.1:*";
    options.folder = a.dir;
    zmq::context_t context;
    p2p::peer peer(context, options);
    const auto connected = peer.connect(a.positional[0]);
    if (!connected.ok) {
        std::cerr << "connect failed: " << connected.error << "\n";
        return 1;
    }
    p2p::download_request request;
    request.name = a.positional[1];
    request.window = a.window;
    request.chunk_size = a.chunk_size;
    const auto done = peer.download(request);
    if (!done.ok) {
        std::cerr << "download failed: " << done.error << "\n";
        return 1;
    }
    if (a.json) {
        std::printf("{\"name\":\"%s\",\"size\":%llu,\"seconds\":%.6f,\"rate\":%.1f,\"peer\":\"%s\"}\n",
                    done.name.c_str(), static_cast<unsigned long long>(done.size), done.seconds,
                    done.seconds > 0 ? static_cast<double>(done.size) / done.seconds : 0.0,
                    done.from.short_hex().c_str());
    }
    peer.stop();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        const std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "serve") {
            return serve(parse(argc, argv));
        }
        if (mode == "get") {
            return get(parse(argc, argv));
        }
        std::cerr << "usage: p2p-bench-peer serve <port> <dir> [--bind H] [--window N] [--chunk-size S]\n"
                     "       p2p-bench-peer get <host:port> <file> --dir D [--window N] [--chunk-size S] [--json]\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "p2p-bench-peer: " << e.what() << "\n";
        return 1;
    }
}
