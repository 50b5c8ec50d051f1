// SPDX-License-Identifier: MIT
// fuzz_session.cpp - libFuzzer target for a whole session: the input is read as a sequence of multipart messages
// (session_input.hpp) from a few senders and fed, in order, into one in-process node through
// node::on_router_message, the function its poll loop calls for every ROUTER message.
//
// Every input gets a fresh node (so a crash reproduces from its input alone) bound on inproc, with three real
// DEALERs connected to it under fixed peer ids: HELLOs from them succeed (the node answers through its ROUTER),
// so later messages reach the handlers for lists, requests, offers, chunks, acks and goodbyes. The node's poll loop,
// timers and io_worker results are not driven: a REQUEST gets as far as queueing the hash of the file.
#include "p2p/interrupted.hpp"
#include "p2p/log.hpp"
#include "p2p/node.hpp"
#include "p2p/socket_setup.hpp"
#include "session_input.hpp"

#include <zmq.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

using namespace p2p;
namespace fs = std::filesystem;

namespace {

struct fixture {
    zmq::context_t context;
    fs::path folder;
    std::uint64_t counter = 0;
    bool verbose = std::getenv("P2P_FUZZ_VERBOSE") != nullptr; ///< Print what the DEALERs got back.

    fixture() {
        set_log_level(log_level::off);
        folder = fs::temp_directory_path() / ("p2p-fuzz-session-" + std::to_string(::getpid()));
        fs::remove_all(folder);
        fs::create_directories(folder);
        for (std::size_t i = 0; i < 2; ++i) {
            std::ofstream out(folder / fuzz::shared_names[i], std::ios::binary);
            out << std::string(fuzz::shared_sizes[i], static_cast<char>('a' + i));
        }
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(fs::temp_directory_path() / ("p2p-fuzz-session-" + std::to_string(::getpid())), ec);
        });
    }
};

fixture& shared() {
    static fixture f;
    return f;
}

} // namespace

/// The node's catalog watches its folder with inotify; closing an inotify descriptor waits for the kernel (10-20 ms,
/// most of a run). The folder never changes here, so the harness takes inotify away: the catalog falls back to its
/// periodic rescan, which this harness never triggers. This definition wins over libc's for the whole program.
extern "C" int inotify_init1(int) {
    errno = ENOSYS;
    return -1;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& f = shared();
    const auto n = std::to_string(f.counter++);

    // The pipe the node reports to; nobody reads it, so it must never fill (the node's sends on it block).
    zmq::socket_t pipe_in(f.context, zmq::socket_type::pair);
    zmq::socket_t pipe_out(f.context, zmq::socket_type::pair);
    for (auto* s : {&pipe_in, &pipe_out}) {
        s->set(zmq::sockopt::linger, 0);
        s->set(zmq::sockopt::sndhwm, 0);
        s->set(zmq::sockopt::rcvhwm, 0);
    }
    // libFuzzer's alarm signal (-timeout) lands on this thread, and a bind or connect it interrupts fails.
    retry_interrupted([&] { pipe_in.bind("inproc://fuzz-pipe-" + n); });
    retry_interrupted([&] { pipe_out.connect("inproc://fuzz-pipe-" + n); });

    peer_options options;
    options.bind = "inproc://fuzz-node-" + n;
    options.folder = f.folder;
    options.max_strikes = 8; // reach the "dropped after too many errors" path with short inputs
    std::optional<node> target;
    target.emplace(f.context, options, zmq::socket_ref(pipe_in));

    std::vector<zmq::socket_t> dealers;
    for (std::size_t i = 0; i < 3; ++i) {
        dealers.emplace_back(f.context, zmq::socket_type::dealer);
        configure_dealer(dealers.back(), peer_id(fuzz::sender_ids[i]));
        retry_interrupted([&] { dealers.back().connect(target->endpoint()); });
    }

    std::vector<zmq::message_t> frames;
    for (auto& r : fuzz::parse_input(std::span<const std::uint8_t>(data, size))) {
        frames.clear();
        for (const auto& bytes : r.frames) {
            frames.emplace_back(bytes.data(), bytes.size());
        }
        const std::string routing_id =
            r.garbage_routing_id ? std::string("\0bad", 4) : peer_id(fuzz::sender_ids[r.sender]).hex();
        target->on_router_message(routing_id, frames);
    }

    if (f.verbose) {
        // What each DEALER got back: shows that HELLOs were answered, so the input reached past the handshake.
        for (std::size_t i = 0; i < dealers.size(); ++i) {
            int replies = 0;
            zmq::message_t part;
            while (dealers[i].recv(part, zmq::recv_flags::dontwait)) {
                replies += part.more() ? 0 : 1;
            }
            std::fprintf(stderr, "fuzz_session: sender %zu got %d messages back\n", i, replies);
        }
    }
    target.reset();
    return 0;
}
