// SPDX-License-Identifier: MIT
// replay.cpp - `p2p-tap replay FILE --to host:port`: play the client side of a capture against a live peer and
// compare its answers with the recorded ones.
//
// The client is whoever sent the first HELLO of the capture (the connecting side). Its messages are sent in order,
// each only once every answer recorded before it has arrived: what the recorded peer had sent before a client
// message cannot depend on that message, so the live peer, given the same inputs, must have sent the same answers
// by then. Answers are compared one by one, in order, by type and fields; what legitimately differs between two
// runs (ids, endpoints, list versions, times) is not compared.
#include "message_fields.hpp"
#include "tap.hpp"

#include "p2p/capture.hpp"
#include "p2p/codec.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/protocol.hpp"
#include "p2p/zmq_frame.hpp"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace p2p::tap {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct replay_options {
    std::string file;
    std::string to;
    int timeout_ms = 5000;
    int max_differences = 3;
};

/// One recorded message of the conversation being replayed.
struct step {
    capture_record record;
    std::optional<message> msg; ///< Decoded, or nullopt when the recorded frame did not decode.
    std::string error;          ///< Why it did not decode.
};

/// The conversation to replay, split into what the client sent and what it got back.
struct script {
    peer_id client;         ///< Client id in the capture.
    std::vector<step> sent; ///< Client messages in order.
    /// For each client message, how many answers were recorded before it.
    std::vector<std::size_t> answers_before;
    std::vector<step> answers; ///< Answers of the recorded peer, in order.
};

/// Fields that differ between any two runs and say nothing about behaviour.
bool ignored(msg_type type, std::string_view field) {
    switch (type) {
    case msg_type::hello:
        return field != "client"; // id, endpoint and list_version are all per-run
    case msg_type::file_list:
        return field == "list_version";
    case msg_type::chunk:
        return field == "holder_busy_us"; // the holder's time spent: no two runs take the same
    default:
        return false;
    }
}

/// Answers the live peer may send or not depending on timing and the client's behaviour, not on its inputs: PING
/// when the line was quiet, GOODBYE when the recorded peer happened to shut down.
bool unsolicited(msg_type type) {
    return type == msg_type::ping || type == msg_type::goodbye;
}

/// The side of a record that belongs to the client: for a relay capture (or a capture taken by the accepting peer)
/// the client is the remote; for a capture taken by the connecting peer it is the local peer.
peer_id client_side(const capture_record& rec, capture_direction client_dir) {
    return client_dir == capture_direction::received ? rec.remote : rec.local;
}
peer_id server_side(const capture_record& rec, capture_direction client_dir) {
    return client_dir == capture_direction::received ? rec.local : rec.remote;
}

step make_step(capture_record rec) {
    step s{std::move(rec), std::nullopt, {}};
    auto decoded = decode_record(s.record);
    if (decoded) {
        s.msg = std::move(decoded.value());
    } else {
        s.error = decoded.error().what();
    }
    return s;
}

/// Reads the capture and picks out the first conversation in it.
script load_script(const std::string& file) {
    capture_reader reader(file);
    std::vector<step> steps;
    while (auto rec = reader.next()) {
        steps.push_back(make_step(std::move(*rec)));
    }
    if (reader.tail()) {
        std::cerr << "p2p-tap: capture ends early at byte " << reader.tail()->offset << " (" << reader.tail()->reason
                  << "); replaying what it holds\n";
    }

    // The connecting peer speaks first, with HELLO.
    const step* first = nullptr;
    for (const auto& s : steps) {
        if (s.msg && std::holds_alternative<hello>(*s.msg) && !s.record.dropped) {
            first = &s;
            break;
        }
    }
    if (first == nullptr) {
        throw std::runtime_error(file + " holds no HELLO: nothing to replay");
    }
    const auto client_dir = first->record.direction;
    const auto client_key = client_side(first->record, client_dir) != peer_id{} ? client_side(first->record, client_dir)
                                                                                : std::get<hello>(*first->msg).id;
    const auto belongs_to_client = [&](const step& s) {
        const auto id = client_side(s.record, client_dir);
        return id == peer_id{} || id == client_key;
    };
    peer_id server_key;
    for (const auto& s : steps) {
        if (s.record.direction != client_dir && belongs_to_client(s) && s.msg &&
            std::holds_alternative<hello>(*s.msg)) {
            server_key = server_side(s.record, client_dir);
            break;
        }
    }

    script out;
    out.client = std::get<hello>(*first->msg).id;
    bool started = false;
    for (auto& s : steps) {
        started = started || &s == first;
        const auto server = server_side(s.record, client_dir);
        if (!started || !belongs_to_client(s) ||
            (server_key != peer_id{} && server != peer_id{} && server != server_key)) {
            continue;
        }
        if (s.record.direction == client_dir) {
            // A dropped message never reached the peer; a PONG answered a PING the live peer may never send.
            if (s.record.dropped || (s.msg && std::holds_alternative<pong>(*s.msg))) {
                continue;
            }
            out.answers_before.push_back(out.answers.size());
            out.sent.push_back(std::move(s));
        } else if (!s.msg || !unsolicited(type_of(*s.msg))) {
            // Dropped answers stay: the recorded peer did send them, so the live one must too.
            out.answers.push_back(std::move(s));
        }
    }
    return out;
}

std::string describe(const message& msg) {
    const auto fields = fields_text(fields_of(msg));
    return std::string(to_string(type_of(msg))) + (fields.empty() ? "" : " " + fields);
}

std::string describe(const step& s) {
    return s.msg ? describe(*s.msg) : "MALFORMED " + s.error;
}

/// The differing fields of two answers, one line each; empty when they agree.
std::vector<std::string> compare(const step& recorded, const decode_result& live_result, const message* live) {
    if (!recorded.msg || live == nullptr) {
        if (!recorded.msg && live == nullptr) {
            return {}; // both undecodable: the peer refuses the same way
        }
        return {"recorded " + describe(recorded) + ", live " +
                (live != nullptr ? describe(*live) : "MALFORMED " + live_result.error().what())};
    }
    const auto type = type_of(*recorded.msg);
    if (type != type_of(*live)) {
        return {"recorded " + describe(*recorded.msg) + ", live " + describe(*live)};
    }
    std::vector<std::string> out;
    const auto want = fields_of(*recorded.msg);
    const auto got = fields_of(*live);
    for (std::size_t i = 0; i < want.size() && i < got.size(); ++i) {
        if (!ignored(type, want[i].name) && want[i].value != got[i].value) {
            out.push_back(std::string(to_string(type)) + "." + std::string(want[i].name) + ": recorded " +
                          value_text(want[i].value) + ", live " + value_text(got[i].value));
        }
    }
    return out;
}

/// Drives the replay: one DEALER to the live peer, the script, and the comparison so far.
class replayer {
public:
    replayer(zmq::context_t& context, const replay_options& opts, script s)
        : opts_(opts), script_(std::move(s)), self_(peer_id::random()), dealer_(context, zmq::socket_type::dealer),
          listener_(context, zmq::socket_type::router) {
        for (auto* socket : {&dealer_, &listener_}) {
            socket->set(zmq::sockopt::linger, 0);
            socket->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(protocol::max_frame_bytes));
        }
        // HELLO must name a listen endpoint that works; the live peer answers on this connection, so nothing is
        // expected to arrive here, but a peer that checks or dials the endpoint finds a real socket.
        listener_.bind("tcp://127.0.0.1:*");
        endpoint_ = listener_.get(zmq::sockopt::last_endpoint);
        dealer_.set(zmq::sockopt::routing_id, self_.hex());
        dealer_.set(zmq::sockopt::sndtimeo, opts.timeout_ms);
        dealer_.connect(to_endpoint(opts.to));
    }

    /// Runs the script; returns the exit code.
    int run() {
        std::cout << "replay: client " << script_.client.short_hex() << " of the capture, " << script_.sent.size()
                  << " messages, " << script_.answers.size() << " answers; live peer " << opts_.to << ", as "
                  << self_.short_hex() << std::endl;
        std::size_t sent = 0;
        for (std::size_t i = 0; i < script_.sent.size() && !stopped_; ++i) {
            if (!await_answers(script_.answers_before[i])) {
                break;
            }
            send(script_.sent[i]);
            ++sent;
        }
        if (!stopped_) {
            await_answers(script_.answers.size());
        }
        std::cout << "replay: " << sent << " messages sent, " << compared_ << " answers compared, " << differences_
                  << (differences_ == 1 ? " difference" : " differences")
                  << (stopped_ && differences_ >= static_cast<std::size_t>(opts_.max_differences) ? " (stopped)" : "")
                  << std::endl;
        return differences_ == 0 ? exit_ok : exit_failure;
    }

private:
    /// Receives live answers until `count` have been compared; each must come within the timeout of the one before.
    bool await_answers(std::size_t count) {
        auto deadline = steady::now() + milliseconds(opts_.timeout_ms);
        while (compared_ < count && !stopped_) {
            const auto now = steady::now();
            if (now >= deadline) {
                difference(compared_, {"recorded " + describe(script_.answers[compared_]) + ", live: nothing within " +
                                       std::to_string(opts_.timeout_ms) + " ms"});
                stopped_ = true; // the conversations have parted; waiting longer only repeats this
                return false;
            }
            zmq::pollitem_t item{dealer_.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, std::chrono::ceil<milliseconds>(deadline - now));
            if ((item.revents & ZMQ_POLLIN) != 0 && receive()) {
                deadline = steady::now() + milliseconds(opts_.timeout_ms);
            }
        }
        return !stopped_;
    }

    /// Reads one live message; true when it was an answer to compare (not a PING or GOODBYE).
    bool receive() {
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(dealer_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
            return false;
        }
        auto live = decode(std::span(frames));
        message* msg = live ? &live.value() : nullptr;
        if (msg != nullptr && unsolicited(type_of(*msg))) {
            if (std::holds_alternative<ping>(*msg)) {
                send_message(pong{}); // stay alive in the live peer's eyes
            }
            return false;
        }
        if (auto* c = msg != nullptr ? std::get_if<chunk>(msg) : nullptr) {
            auto& next = received_[c->transfer];
            if (c->offset == next) {
                next += c->data.size();
            }
        }
        if (compared_ >= script_.answers.size()) {
            difference(compared_, {"live " + (msg != nullptr ? describe(*msg) : "MALFORMED " + live.error().what()) +
                                   " was not in the recording"});
            ++compared_;
            return true;
        }
        if (auto diffs = compare(script_.answers[compared_], live, msg); !diffs.empty()) {
            difference(compared_, diffs);
        }
        ++compared_;
        return true;
    }

    void difference(std::size_t answer, const std::vector<std::string>& lines) {
        ++differences_;
        std::cout << "difference " << differences_ << ", answer " << answer + 1 << " of " << script_.answers.size()
                  << ":\n";
        for (const auto& line : lines) {
            std::cout << "  " << line << "\n";
        }
        if (differences_ >= static_cast<std::size_t>(opts_.max_differences)) {
            stopped_ = true;
        }
    }

    /// Sends one recorded client message, rewritten where the new run requires it.
    void send(const step& s) {
        if (!s.msg) {
            // Undecodable on record: send the same bytes, the live peer should refuse them the same way.
            std::vector<zmq::message_t> frames;
            frames.emplace_back(s.record.body.data(), s.record.body.size());
            if (s.record.has_payload) {
                frames.push_back(payload_of(s.record));
            }
            send_frames(frames);
            return;
        }
        message msg = copy_of(s);
        if (auto* h = std::get_if<hello>(&msg)) {
            h->id = self_;
            h->endpoint = endpoint_;
        } else if (auto* a = std::get_if<ack>(&msg)) {
            // Never acknowledge bytes the live peer has not sent us: that is not what the client did.
            if (auto it = received_.find(a->transfer); it != received_.end() && a->next_offset > it->second) {
                a->next_offset = it->second;
            }
        }
        send_message(std::move(msg));
    }

    /// A sendable copy of a recorded message; a CHUNK gets its recorded bytes, or zeros when only the length is known.
    message copy_of(const step& s) {
        return std::visit(
            [&](const auto& m) -> message {
                if constexpr (std::is_same_v<std::decay_t<decltype(m)>, chunk>) {
                    return chunk{m.transfer, m.offset, m.last, m.holder_busy_us, to_payload(payload_of(s.record))};
                } else {
                    return m;
                }
            },
            *s.msg);
    }

    /// The payload frame to send for a recorded client CHUNK.
    zmq::message_t payload_of(const capture_record& rec) {
        if (rec.payload_stored) {
            return zmq::message_t(rec.payload.data(), rec.payload.size());
        }
        if (!warned_payload_) {
            std::cerr << "p2p-tap: the capture holds CHUNK lengths only; sending zeros (record with "
                         "`relay --payload` to replay uploads)\n";
            warned_payload_ = true;
        }
        zmq::message_t zeros(static_cast<std::size_t>(rec.payload_size));
        std::memset(zeros.data(), 0, zeros.size());
        return zeros;
    }

    void send_message(message msg) {
        auto encoded = encode(std::move(msg));
        std::vector<zmq::message_t> frames;
        frames.push_back(std::move(encoded.body));
        if (encoded.payload) {
            frames.push_back(std::move(*encoded.payload));
        }
        send_frames(frames);
    }

    void send_frames(std::vector<zmq::message_t>& frames) {
        if (!zmq::send_multipart(dealer_, frames)) {
            throw std::runtime_error("cannot send to " + opts_.to + ": not connected within " +
                                     std::to_string(opts_.timeout_ms) + " ms");
        }
    }

    replay_options opts_;
    script script_;
    peer_id self_;
    zmq::socket_t dealer_;
    zmq::socket_t listener_;
    std::string endpoint_;
    std::map<std::uint32_t, std::uint64_t> received_; ///< Per transfer: bytes received in order from the live peer.
    std::size_t compared_ = 0;
    std::size_t differences_ = 0;
    bool stopped_ = false;
    bool warned_payload_ = false;
};

int run_replay(const replay_options& opts) {
    auto s = load_script(opts.file);
    zmq::context_t context;
    replayer r(context, opts, std::move(s));
    return r.run();
}

} // namespace

subcommand setup_replay(CLI::App& app) {
    auto opts = std::make_shared<replay_options>();
    auto* sub = app.add_subcommand("replay", "Play the client side of a capture against a live peer and compare");
    sub->add_option("file", opts->file, "Capture file")->required();
    sub->add_option("--to", opts->to, "Live peer, host:port")->required()->check(host_port());
    sub->add_option("--timeout", opts->timeout_ms, "Milliseconds to wait for each answer")
        ->capture_default_str()
        ->check(CLI::Range(1, 600000));
    sub->add_option("--max-differences", opts->max_differences, "Stop after this many differing answers")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000000));
    return {sub, [opts] {
                return run_replay(*opts);
            }};
}

} // namespace p2p::tap
