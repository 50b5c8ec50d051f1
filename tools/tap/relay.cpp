// SPDX-License-Identifier: MIT
// relay.cpp - `p2p-tap relay`: a transparent relay that records every message and can add delay, loss and a rate
// limit.
//
// Peers connect to the relay as if it were the target. For each routing id that connects, the relay opens a DEALER
// to the target with the same routing id, so the target sees the real peer id, and forwards frames unchanged both
// ways. One thread, one zmq::poll loop: each direction of a session is a queue whose front message goes once its
// delay has passed and the direction's token bucket holds its size; the earliest of those times bounds the poll
// timeout, so nothing sleeps and nothing spins.
#include "tap.hpp"

#include "cli/units.hpp"

#include "p2p/capture.hpp"
#include "p2p/codec.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/log.hpp"
#include "p2p/protocol.hpp"
#include "p2p/token_bucket.hpp"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::tap {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct relay_options {
    int listen = 0;
    std::string to;
    std::string out;
    int delay_ms = 0;
    std::uint64_t rate = 0; ///< Bytes per second in each direction of each session; 0 = unlimited.
    double drop = 0.0;
    std::uint64_t seed = 1;
    std::string bind = "0.0.0.0";
    bool store_payload = false;
};

/// Messages queued per socket by libzmq in each direction (its default, written down so it is a choice).
constexpr int relay_hwm = 1000;
/// Messages the relay itself holds per direction and session (waiting for their delay or for the rate limit) before
/// it stops reading that source, so a fast sender is slowed by TCP instead of growing the relay's memory.
constexpr std::size_t max_queued = 1000;
/// Most connecting peers at once; each costs a DEALER socket and its file descriptors.
constexpr std::size_t max_sessions = 256;
/// A session with no traffic for this long is closed. Live peers ping each other every few seconds, so only
/// peers that went away without GOODBYE reach it.
constexpr auto session_idle_timeout = std::chrono::minutes(5);
/// How soon a send that found the queue full (EAGAIN) is tried again.
constexpr auto send_retry = milliseconds(5);
/// Upper bound of one poll, so that a stop signal arriving just before poll() is noticed promptly.
constexpr auto max_poll_wait = milliseconds(100);
/// Messages read from one socket before the loop looks at the others, so one busy peer cannot starve the rest.
constexpr int read_batch = 64;

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void on_stop_signal(int) {
    stop_requested = 1;
}

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    // No SA_RESTART: the signal interrupts zmq_poll (EINTR) so the loop sees the flag at once.
    action.sa_flags = 0;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

/// splitmix64: turns (seed, session, direction) into independent, well-mixed seeds.
std::uint64_t mix_seed(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// The loss model of one direction of one session. std::mt19937_64's output is fixed by the standard and the
/// double is built from its bits by hand (distributions differ between standard libraries), so a seed gives the same
/// decisions on every platform for the same sequence of CHUNK/ACK frames.
class drop_model {
public:
    drop_model(double probability, std::uint64_t seed) : probability_(probability), rng_(seed) {}
    bool drop_next() {
        if (probability_ <= 0.0) {
            return false;
        }
        const double draw = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
        return draw < probability_;
    }

private:
    double probability_;
    std::mt19937_64 rng_;
};

/// A message held until its delay has passed, the rate limit lets it through and its destination takes it.
struct pending {
    steady::time_point due;
    std::vector<zmq::message_t> frames; ///< Body and payload, without the routing id.
    std::uint64_t bytes = 0;            ///< The sum of the frames' sizes: what the rate limit counts.
};

/// One direction of a session: its queue, loss model and rate limit.
///
/// The delay comes before the rate limit: a message reaches the bucket when its delay has passed. In a first-in
/// first-out queue with the same delay for every message the two orders deliver at the same times, so this is a link
/// whose bottleneck is RATE and whose propagation delay is DELAY.
struct lane {
    std::deque<pending> queue;
    drop_model drops;
    token_bucket bucket;
    steady::time_point blocked_until{}; ///< After EAGAIN, when to try again.
};

/// One connecting peer and the DEALER that speaks for it to the target.
struct session {
    std::string routing_id;
    zmq::socket_t dealer;
    peer_id client; ///< The connecting peer: the capture's "remote".
    peer_id target; ///< The target, once its HELLO came back: the capture's "local".
    lane to_target;
    lane to_client;
    steady::time_point last_activity;
};

/// Decodes frames without consuming them: the payload is seen through a non-owning view, so the frames can still be
/// forwarded unchanged afterwards.
decode_result peek(const std::vector<zmq::message_t>& frames) {
    if (frames.empty() || frames.size() > 2) {
        return decode_error{frames.empty() ? decode_errc::no_frames : decode_errc::too_many_frames, ""};
    }
    const std::span<const std::byte> body(static_cast<const std::byte*>(frames[0].data()), frames[0].size());
    if (frames.size() == 1) {
        return decode(body, nullptr);
    }
    zmq::message_t view(const_cast<void*>(frames[1].data()), frames[1].size(), nullptr, nullptr);
    return decode(body, &view);
}

/// Only transfer traffic is dropped: losing HELLO or FILE_LIST would stop a session from forming at all, which tests
/// nothing useful about retransmission.
bool droppable(decode_result& decoded) {
    if (!decoded) {
        return false;
    }
    const auto type = type_of(decoded.value());
    return type == msg_type::chunk || type == msg_type::ack;
}

std::string bind_endpoint(const relay_options& opts) {
    const std::string port = opts.listen == 0 ? "*" : std::to_string(opts.listen);
    const bool v6 = opts.bind.find(':') != std::string::npos;
    return "tcp://" + (v6 ? "[" + opts.bind + "]" : opts.bind) + ":" + port;
}

/// The relay: the ROUTER peers connect to, and one session per connecting routing id.
class relay {
public:
    relay(zmq::context_t& context, const relay_options& opts)
        : opts_(opts), target_(to_endpoint(opts.to)), delay_(opts.delay_ms),
          capture_(opts.out, opts.store_payload ? capture_payload::bytes : capture_payload::length_only),
          context_(context), router_(context, zmq::socket_type::router) {
        configure_common(router_);
        // A send to a client that went away fails (EHOSTUNREACH) instead of vanishing silently.
        router_.set(zmq::sockopt::router_mandatory, 1);
        if (opts.bind.find(':') != std::string::npos) {
            router_.set(zmq::sockopt::ipv6, 1);
        }
        try {
            router_.bind(bind_endpoint(opts));
        } catch (const zmq::error_t& e) {
            throw std::runtime_error("cannot listen on " + bind_endpoint(opts) + ": " + e.what());
        }
        endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    }

    const std::string& endpoint() const { return endpoint_; }
    const std::string& target() const { return target_; }

    /// Runs until SIGINT or SIGTERM.
    void run() {
        std::vector<zmq::pollitem_t> items;
        std::vector<session*> polled;
        while (stop_requested == 0) {
            const auto now = steady::now();
            items.clear();
            polled.clear();
            items.push_back({router_.handle(), 0, router_paused() ? short{0} : short{ZMQ_POLLIN}, 0});
            for (auto& [id, s] : sessions_) {
                if (s->to_client.queue.size() < max_queued) {
                    items.push_back({s->dealer.handle(), 0, ZMQ_POLLIN, 0});
                    polled.push_back(s.get());
                }
            }
            try {
                zmq::poll(items, poll_wait(now));
            } catch (const zmq::error_t& e) {
                if (e.num() != EINTR) {
                    throw;
                }
                continue;
            }
            if ((items[0].revents & ZMQ_POLLIN) != 0) {
                read_clients();
            }
            for (std::size_t i = 0; i < polled.size(); ++i) {
                if ((items[i + 1].revents & ZMQ_POLLIN) != 0) {
                    read_target(*polled[i]);
                }
            }
            flush(steady::now());
            close_idle_sessions(steady::now());
        }
    }

    /// One line for the end: what went through.
    std::string summary() const {
        return "relay stopped: " + std::to_string(forwarded_) + " messages forwarded, " + std::to_string(dropped_) +
               " dropped on purpose, " + std::to_string(undeliverable_) + " undeliverable, " +
               std::to_string(sessions_seen_) + " sessions; capture " + opts_.out;
    }

    std::uint64_t failed_records() const { return capture_.failed_records(); }

private:
    static void configure_common(zmq::socket_t& socket) {
        socket.set(zmq::sockopt::linger, 0);
        socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(protocol::max_frame_bytes));
        socket.set(zmq::sockopt::sndhwm, relay_hwm);
        socket.set(zmq::sockopt::rcvhwm, relay_hwm);
        socket.set(zmq::sockopt::sndtimeo, 0);
    }

    bool router_paused() const {
        return std::any_of(sessions_.begin(), sessions_.end(),
                           [](const auto& entry) { return entry.second->to_target.queue.size() >= max_queued; });
    }

    /// When a lane's front message may go: its delay passed, a blocked send may be retried, and the bucket holds it.
    static steady::time_point ready_at(lane& l, steady::time_point now) {
        const auto& front = l.queue.front();
        if (front.due > now) {
            return front.due; // not at the bucket yet: ask it then
        }
        return std::max(l.blocked_until, l.bucket.ready_at(front.bytes, now));
    }

    /// Time until the earliest queued message may go, rounded up to whole milliseconds so the loop never wakes just
    /// before it and spins.
    milliseconds poll_wait(steady::time_point now) {
        auto wake = now + max_poll_wait;
        for (auto& [id, s] : sessions_) {
            for (lane* l : {&s->to_target, &s->to_client}) {
                if (!l->queue.empty()) {
                    wake = std::min(wake, ready_at(*l, now));
                }
            }
        }
        if (wake <= now) {
            return milliseconds(0);
        }
        return std::chrono::ceil<milliseconds>(wake - now);
    }

    /// Reads every multipart message; false when none is waiting. EINTR reads as "none".
    static bool receive(zmq::socket_t& socket, std::vector<zmq::message_t>& frames) {
        frames.clear();
        try {
            return zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait).has_value();
        } catch (const zmq::error_t& e) {
            if (e.num() == EINTR) {
                return false;
            }
            throw;
        }
    }

    void read_clients() {
        std::vector<zmq::message_t> frames;
        for (int i = 0; i < read_batch && !router_paused() && receive(router_, frames); ++i) {
            if (frames.size() < 2) {
                continue; // a routing id with nothing after it: nothing to forward
            }
            std::string routing_id(frames[0].to_string());
            frames.erase(frames.begin());
            session* s = find_or_open(routing_id);
            if (s == nullptr) {
                ++undeliverable_;
                continue;
            }
            auto decoded = peek(frames);
            if (decoded && s->client == peer_id{}) {
                if (const auto* h = std::get_if<hello>(&decoded.value())) {
                    s->client = h->id; // routing id was not a peer id; HELLO says who it is
                }
            }
            accept(*s, s->to_target, capture_direction::received, std::move(frames), decoded);
        }
    }

    void read_target(session& s) {
        std::vector<zmq::message_t> frames;
        for (int i = 0; i < read_batch && s.to_client.queue.size() < max_queued && receive(s.dealer, frames); ++i) {
            if (frames.empty()) {
                continue;
            }
            auto decoded = peek(frames);
            if (decoded && s.target == peer_id{}) {
                if (const auto* h = std::get_if<hello>(&decoded.value())) {
                    s.target = h->id;
                }
            }
            accept(s, s.to_client, capture_direction::sent, std::move(frames), decoded);
        }
    }

    /// Records one message (direction as seen by the target) and queues it, unless the loss model drops it.
    void accept(session& s, lane& l, capture_direction direction, std::vector<zmq::message_t> frames,
                decode_result& decoded) {
        const auto now = steady::now();
        s.last_activity = now;
        const bool drop = droppable(decoded) && l.drops.drop_next();
        capture_.record(direction, s.target, s.client, frames[0], frames.size() > 1 ? &frames[1] : nullptr, drop);
        if (drop) {
            ++dropped_;
            return;
        }
        std::uint64_t bytes = 0;
        for (const auto& frame : frames) {
            bytes += frame.size();
        }
        l.queue.push_back(pending{now + delay_, std::move(frames), bytes});
    }

    session* find_or_open(const std::string& routing_id) {
        if (auto it = sessions_.find(routing_id); it != sessions_.end()) {
            return it->second.get();
        }
        if (sessions_.size() >= max_sessions) {
            log(log_level::warn, "relay: ", max_sessions, " sessions open; ignoring a new peer");
            return nullptr;
        }
        const auto index = sessions_seen_++;
        const auto now = steady::now();
        auto s = std::make_unique<session>(session{
            routing_id,
            zmq::socket_t(context_, zmq::socket_type::dealer),
            peer_id::from_hex(routing_id).value_or(peer_id{}),
            peer_id{},
            lane{{},
                 drop_model(opts_.drop, mix_seed(opts_.seed ^ mix_seed(2 * index))),
                 token_bucket(opts_.rate, now),
                 {}},
            lane{{},
                 drop_model(opts_.drop, mix_seed(opts_.seed ^ mix_seed(2 * index + 1))),
                 token_bucket(opts_.rate, now),
                 {}},
            now,
        });
        configure_common(s->dealer);
        // libzmq reserves routing ids that begin with a zero byte for the ids it makes up itself; a client that set
        // none gets one of those, and then the target makes up its own for us too.
        if (!routing_id.empty() && routing_id[0] != '\0') {
            s->dealer.set(zmq::sockopt::routing_id, routing_id);
        }
        s->dealer.connect(target_);
        log(log_level::info, "relay: session ", s->client.hex(), " opened to ", target_);
        return sessions_.emplace(routing_id, std::move(s)).first->second.get();
    }

    void flush(steady::time_point now) {
        // No structured binding here: clang 14 (the fuzz build) cannot capture one in a lambda.
        for (auto& entry : sessions_) {
            auto& s = *entry.second;
            flush_lane(s, s.to_target, now, [&](pending& p) {
                return zmq::send_multipart(s.dealer, p.frames, zmq::send_flags::dontwait).has_value();
            });
            flush_lane(s, s.to_client, now, [&](pending& p) { return send_to_client(s, p); });
        }
    }

    /// Sends due messages in order; stops at the first that must wait for the rate limit or that the destination
    /// cannot take now (EAGAIN).
    template <typename Send>
    void flush_lane(session& s, lane& l, steady::time_point now, Send send) {
        while (!l.queue.empty() && ready_at(l, now) <= now) {
            bool sent = false;
            try {
                sent = send(l.queue.front());
            } catch (const zmq::error_t& e) {
                // EHOSTUNREACH: the client is gone (ROUTER_MANDATORY). Nobody to deliver to; count and move on.
                log(log_level::info, "relay: cannot deliver to ", s.client.hex(), ": ", e.what());
                ++undeliverable_;
                l.queue.pop_front();
                continue;
            }
            if (!sent) {
                l.blocked_until = now + send_retry;
                return;
            }
            ++forwarded_;
            l.bucket.take(l.queue.front().bytes, now);
            l.queue.pop_front();
        }
    }

    bool send_to_client(session& s, pending& p) {
        zmq::message_t id(s.routing_id.data(), s.routing_id.size());
        if (!router_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            return false;
        }
        // Once the routing id frame is taken, libzmq takes the rest of the message whole.
        for (std::size_t i = 0; i < p.frames.size(); ++i) {
            const auto more = i + 1 < p.frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            (void)router_.send(p.frames[i], more | zmq::send_flags::dontwait);
        }
        return true;
    }

    void close_idle_sessions(steady::time_point now) {
        std::erase_if(sessions_, [&](const auto& entry) {
            const auto& s = *entry.second;
            return s.to_target.queue.empty() && s.to_client.queue.empty() &&
                   now - s.last_activity > session_idle_timeout;
        });
    }

    relay_options opts_;
    std::string target_;
    milliseconds delay_;
    capture_writer capture_;
    zmq::context_t& context_;
    zmq::socket_t router_;
    std::string endpoint_;
    std::map<std::string, std::unique_ptr<session>> sessions_;
    std::uint64_t sessions_seen_ = 0;
    std::uint64_t forwarded_ = 0;
    std::uint64_t dropped_ = 0;
    std::uint64_t undeliverable_ = 0;
};

int run_relay(const relay_options& opts) {
    install_stop_handlers();
    zmq::context_t context;
    relay r(context, opts);
    std::cout << "relay listening on " << r.endpoint() << std::endl;
    std::cout << "relay forwarding to " << r.target() << ", capture " << opts.out;
    if (opts.delay_ms > 0) {
        std::cout << ", delay " << opts.delay_ms << " ms each way";
    }
    if (opts.rate > 0) {
        std::cout << ", rate " << cli::format_rate(static_cast<double>(opts.rate)) << " each way";
    }
    if (opts.drop > 0) {
        std::cout << ", dropping " << opts.drop << " of CHUNK/ACK frames (seed " << opts.seed << ")";
    }
    std::cout << std::endl;
    r.run();
    std::cout << r.summary() << std::endl;
    if (r.failed_records() > 0) {
        throw std::runtime_error("capture " + opts.out + " is incomplete: " + std::to_string(r.failed_records()) +
                                 " records could not be written");
    }
    return exit_ok;
}

} // namespace

subcommand setup_relay(CLI::App& app) {
    auto opts = std::make_shared<relay_options>();
    auto* sub = app.add_subcommand(
        "relay", "Forward peer traffic to a target, recording it (and adding delay, loss or a rate limit)");
    sub->add_option("--listen", opts->listen, "Port to listen on; 0 picks a free one")
        ->required()
        ->check(CLI::Range(0, 65535));
    sub->add_option("--to", opts->to, "Target peer, host:port")->required()->check(host_port());
    sub->add_option("--out", opts->out, "Capture file to write (replaced if it exists)")->required();
    sub->add_option("--delay", opts->delay_ms, "Hold every message this many milliseconds, each way")
        ->check(CLI::Range(0, 600000));
    sub->add_option_function<std::string>(
           "--rate", [opts](const std::string& text) { opts->rate = cli::parse_rate(text).value_or(0); },
           "Most bytes per second, each way of each session: 500K, 4M, 1G (binary); 0 (default) is no limit")
        ->check(CLI::Validator(
            [](std::string& text) -> std::string {
                return cli::parse_rate(text) ? std::string() : "must be bytes per second like 65536, 500K, 4M or 1G";
            },
            "RATE"));
    sub->add_option("--drop", opts->drop, "Fraction of CHUNK and ACK frames to drop, 0..1")
        ->check(CLI::Range(0.0, 1.0));
    sub->add_option("--seed", opts->seed, "Seed of the drop decisions (same seed, same drops)");
    sub->add_option("--bind", opts->bind, "Address to listen on")->capture_default_str();
    sub->add_flag("--payload", opts->store_payload,
                  "Store CHUNK payload bytes in the capture too (only needed to replay uploads)");
    return {sub, [opts] {
                return run_relay(*opts);
            }};
}

} // namespace p2p::tap
