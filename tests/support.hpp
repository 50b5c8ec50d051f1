// SPDX-License-Identifier: MIT
// support.hpp - fixtures shared by the tests: temporary folders, transports, and waiting on conditions.
#pragma once

#include "loopback_socket.hpp"

#include "p2p/codec.hpp"
#include "p2p/manifest.hpp"
#include "p2p/peer.hpp"
#include "p2p/unique_fd.hpp"

#include <zmq.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>

namespace p2p::test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// A fresh folder under the system temp dir, removed with everything in it at the end of the test.
class temp_dir {
public:
    temp_dir() {
        static std::atomic<int> counter{0};
        path_ =
            fs::temp_directory_path() / ("p2p-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

/// Transports a network test runs on, with the same body (TEMPLATE_TEST_CASE).
struct inproc {
    static std::string bind() {
        static std::atomic<int> counter{0};
        return "inproc://test-peer-" + std::to_string(counter++);
    }
};
struct tcp {
    static std::string bind() { return "tcp://127.0.0.1:*"; }
};

/// Options with intervals short enough for tests, binding on transport T.
template <typename T>
peer_options options_in(const fs::path& folder) {
    peer_options o;
    o.bind = T::bind();
    o.folder = folder;
    o.ping_interval = 100ms;
    o.peer_timeout = 1000ms;
    o.connect_timeout = 1500ms;
    o.transfer_timeout = 2000ms;
    o.rescan_delay = 50ms;
    return o;
}

/// Events a test read off a peer while it waited for something else, kept for a later wait_event: a wait never
/// loses an event another wait needs. Keyed by the peer's id too, since a later test may reuse the address.
inline std::deque<event>& events_read(const peer& p) {
    static std::map<std::pair<const peer*, peer_id>, std::deque<event>> kept;
    return kept[{&p, p.id()}];
}

/// A loopback TCP port that refuses every connection for as long as this object lives: a socket bound to it that
/// does not listen. (A ZeroMQ socket bound and closed again is no such port: libzmq closes its listener later, on
/// its own thread, so a connect right after the close can still be accepted.)
class refused_port {
public:
    refused_port() : socket_(bind_loopback(std::nullopt)) {}
    std::uint16_t port() const { return socket_.port; }
    std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(socket_.port); }

private:
    loopback_socket socket_;
};

/// Waits until pred() holds or the deadline passes. Between checks it waits for the peer's next event (which wakes
/// it early; the event is kept for wait_event), or 20 ms for conditions no event announces (a counter).
template <typename Pred>
bool eventually(peer& p, Pred pred, std::chrono::milliseconds deadline = 5000ms) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        if (auto e = p.next_event(20ms)) {
            events_read(p).push_back(std::move(*e));
        }
    }
    return true;
}

/// Waits for an event of type E matching pred, also among the events earlier waits read; the others are kept.
template <typename E, typename Pred>
std::optional<E> wait_event(peer& p, Pred pred, std::chrono::milliseconds deadline = 5000ms) {
    auto& kept = events_read(p);
    for (auto it = kept.begin(); it != kept.end(); ++it) {
        if (auto* match = std::get_if<E>(&*it); match && pred(*match)) {
            E found = std::move(*match);
            kept.erase(it);
            return found;
        }
    }
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= until) {
            return std::nullopt;
        }
        auto e = p.next_event(std::chrono::duration_cast<std::chrono::milliseconds>(until - now));
        if (!e) {
            continue;
        }
        if (auto* match = std::get_if<E>(&*e); match && pred(*match)) {
            return *match;
        }
        kept.push_back(std::move(*e));
    }
}

inline std::string random_bytes(std::size_t n, unsigned seed = 1) {
    std::mt19937_64 rng(seed);
    std::string out(n, '\0');
    for (auto& c : out) {
        c = static_cast<char>(rng());
    }
    return out;
}

inline void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Bytes whose every 8-byte word differs from the others (a counter from `seed`), so a block of zeros or a block
/// from elsewhere in the file shows wherever it lands; much faster to make than random bytes for large files.
inline std::string patterned_bytes(std::size_t n, std::uint64_t seed = 1) {
    std::string out(n, '\0');
    std::uint64_t word = seed * 0x9e3779b97f4a7c15ull;
    for (std::size_t i = 0; i < n; i += sizeof word, ++word) {
        std::memcpy(out.data() + i, &word, std::min(sizeof word, n - i));
    }
    return out;
}

inline std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A list as a user reads it in choice 2: names and sizes. (Roots come in once the holder has hashed a file, so a
/// list seen right after a connect may have them or not.)
inline std::vector<std::pair<std::string, std::uint64_t>> names_and_sizes(const std::vector<file_entry>& files) {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    for (const auto& f : files) {
        out.emplace_back(f.name, f.size);
    }
    return out;
}
using listing = std::vector<std::pair<std::string, std::uint64_t>>;

/// The file id of bytes in memory (what `p2p-peer hash` prints for them).
inline digest root_of_bytes(const std::string& bytes) {
    const read_at_function read = [&](void* into, std::size_t size, std::uint64_t offset) -> ssize_t {
        const auto n = std::min<std::uint64_t>(size, bytes.size() - offset);
        std::memcpy(into, bytes.data() + offset, n);
        return static_cast<ssize_t>(n);
    };
    return build_manifest(read, bytes.size())->root;
}

inline bool file_holds(const fs::path& path, const std::string& bytes) {
    return read_file(path) == bytes;
}

/// Names of every entry in a folder, hidden ones included.
inline std::vector<std::string> folder_entries(const fs::path& folder) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(folder)) {
        out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Sends one message on a raw socket (a test peer that is not a p2p::peer).
inline void send_raw(zmq::socket_t& socket, message msg) {
    auto encoded = encode(std::move(msg));
    socket.send(encoded.body, encoded.payload ? zmq::send_flags::sndmore : zmq::send_flags::none);
    if (encoded.payload) {
        socket.send(*encoded.payload, zmq::send_flags::none);
    }
}

/// Receives one message on a raw DEALER, or nullopt after the timeout.
inline std::optional<message> recv_raw(zmq::socket_t& socket, std::chrono::milliseconds timeout = 3000ms) {
    socket.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    std::vector<zmq::message_t> frames;
    zmq::message_t first;
    if (!socket.recv(first)) {
        return std::nullopt;
    }
    bool more = first.more();
    frames.push_back(std::move(first));
    while (more) {
        zmq::message_t part;
        (void)socket.recv(part);
        more = part.more();
        frames.push_back(std::move(part));
    }
    auto decoded = decode(frames);
    if (!decoded) {
        return std::nullopt;
    }
    return std::move(decoded.value());
}

} // namespace p2p::test
