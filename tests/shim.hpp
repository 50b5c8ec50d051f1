// SPDX-License-Identifier: MIT
// shim.hpp - a test relay between one downloader and one holder that can drop, delay or hold messages.
//
// The downloader connects to the shim as if it were the holder; for each of its connections (its peer connection,
// and a probe beside it) the shim opens a DEALER to the holder with that connection's routing id, so the holder sees
// the real peer. It runs in its own thread with its own poll loop.
#pragma once

#include "p2p/codec.hpp"
#include "p2p/socket_setup.hpp"

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace p2p::test {

class shim {
public:
    struct settings {
        int drop_every_chunk = 0;                 ///< Drop every k-th CHUNK (holder -> downloader); 0 = none.
        int drop_every_ack = 0;                   ///< Drop every k-th ACK (downloader -> holder); 0 = none.
        std::chrono::microseconds chunk_delay{0}; ///< Hold each CHUNK (either way) this long before forwarding.
    };

    shim(zmq::context_t& ctx, std::string bind, std::string target, settings s)
        : ctx_(ctx), settings_(s), front_(ctx, zmq::socket_type::router), target_(std::move(target)) {
        front_.set(zmq::sockopt::linger, 0);
        front_.bind(bind);
        endpoint_ = front_.get(zmq::sockopt::last_endpoint);
        thread_ = std::thread([this] { run(); });
    }
    ~shim() {
        stop_ = true;
        thread_.join();
    }
    const std::string& endpoint() const { return endpoint_; }
    /// While held, nothing is forwarded in either direction (a stalled link).
    void hold(bool on) { held_ = on; }
    int chunks_dropped() const { return chunks_dropped_; }
    int acks_dropped() const { return acks_dropped_; }

private:
    using frames = std::vector<zmq::message_t>;

    static bool read(zmq::socket_t& s, frames& out) {
        out.clear();
        zmq::message_t part;
        if (!s.recv(part, zmq::recv_flags::dontwait)) {
            return false;
        }
        bool more = part.more();
        out.push_back(std::move(part));
        while (more) {
            zmq::message_t next;
            (void)s.recv(next);
            more = next.more();
            out.push_back(std::move(next));
        }
        return true;
    }

    static std::optional<msg_type> type_of_body(const zmq::message_t& body) {
        // [version, type, ...]: fixarray header, version 1, then the type code, all single bytes.
        if (body.size() < 3) {
            return std::nullopt;
        }
        return static_cast<msg_type>(static_cast<const std::uint8_t*>(body.data())[2]);
    }

    /// Never blocks: a message the other side cannot take now (queue full, or a peer that is gone) is dropped, as
    /// on a congested link. A blocking send here once hung the test when the target stopped mid-transfer.
    static void write(zmq::socket_t& s, frames& f) {
        for (std::size_t i = 0; i < f.size(); ++i) {
            const auto more = i + 1 < f.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            if (!s.send(f[i], more | zmq::send_flags::dontwait)) {
                return; // only the first part can fail: ZeroMQ takes a multipart message whole or not at all
            }
        }
    }

    /// One connection of the downloader, passed on to the holder under the same routing id.
    struct link {
        zmq::socket_t back;
        std::deque<std::pair<std::chrono::steady_clock::time_point, frames>> to_front;
        std::deque<std::pair<std::chrono::steady_clock::time_point, frames>> to_back;
    };

    void run() {
        // One DEALER to the holder for each routing id the downloader connects under: its peer connection, and the
        // probe it opens beside it (protocol 9) when it reaches another peer already. Each keeps its own order.
        std::map<std::string, link> links;
        int chunk_count = 0;
        int ack_count = 0;
        frames f;
        while (!stop_) {
            std::vector<zmq::pollitem_t> items{{front_.handle(), 0, ZMQ_POLLIN, 0}};
            for (auto& entry : links) {
                items.push_back({entry.second.back.handle(), 0, ZMQ_POLLIN, 0});
            }
            zmq::poll(items, std::chrono::milliseconds(1));
            const auto now = std::chrono::steady_clock::now();
            if (held_) {
                continue;
            }
            for (auto& [routing_id, l] : links) {
                while (!l.to_front.empty() && l.to_front.front().first <= now) {
                    frames out;
                    out.push_back(zmq::message_t(routing_id.data(), routing_id.size()));
                    for (auto& m : l.to_front.front().second) {
                        out.push_back(std::move(m));
                    }
                    write(front_, out);
                    l.to_front.pop_front();
                }
                while (!l.to_back.empty() && l.to_back.front().first <= now) {
                    write(l.back, l.to_back.front().second);
                    l.to_back.pop_front();
                }
            }
            while (read(front_, f)) {
                const auto routing_id = f[0].to_string();
                auto found = links.find(routing_id);
                if (found == links.end()) {
                    zmq::socket_t back(ctx_, zmq::socket_type::dealer);
                    back.set(zmq::sockopt::linger, 0);
                    back.set(zmq::sockopt::routing_id, routing_id);
                    back.connect(target_);
                    found = links.emplace(routing_id, link{std::move(back), {}, {}}).first;
                }
                auto& l = found->second;
                frames body(std::make_move_iterator(f.begin() + 1), std::make_move_iterator(f.end()));
                if (type_of_body(body[0]) == msg_type::ack && settings_.drop_every_ack > 0 &&
                    ++ack_count % settings_.drop_every_ack == 0) {
                    ++acks_dropped_;
                    continue;
                }
                if (type_of_body(body[0]) == msg_type::chunk || !l.to_back.empty()) {
                    // Chunks the downloader side sends (it holds a file the other side downloads) are delayed too;
                    // anything behind a delayed chunk waits its turn, so nothing overtakes it.
                    l.to_back.emplace_back(now + (type_of_body(body[0]) == msg_type::chunk
                                                      ? settings_.chunk_delay
                                                      : std::chrono::microseconds(0)),
                                           std::move(body));
                    continue;
                }
                write(l.back, body);
            }
            for (auto& entry : links) {
                auto& l = entry.second;
                while (read(l.back, f)) {
                    if (type_of_body(f[0]) == msg_type::chunk) {
                        if (settings_.drop_every_chunk > 0 && ++chunk_count % settings_.drop_every_chunk == 0) {
                            ++chunks_dropped_;
                            continue;
                        }
                        l.to_front.emplace_back(now + settings_.chunk_delay, std::move(f));
                    } else {
                        l.to_front.emplace_back(now, std::move(f));
                    }
                    f = frames();
                }
            }
        }
    }

    zmq::context_t& ctx_;
    settings settings_;
    zmq::socket_t front_;
    std::string target_;
    std::string endpoint_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> held_{false};
    std::atomic<int> chunks_dropped_{0};
    std::atomic<int> acks_dropped_{0};
};

} // namespace p2p::test
