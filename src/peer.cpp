// SPDX-License-Identifier: MIT
// peer.cpp - the front end: commands down the pipe, replies and events back.
#include "p2p/peer.hpp"

#include "p2p/interrupted.hpp"

#include "p2p/node.hpp"
#include "p2p/pipe.hpp"
#include "p2p/thread_without_signals.hpp"

#include <atomic>
#include <stdexcept>

namespace p2p {

namespace {
std::string next_pipe_endpoint() {
    static std::atomic<std::uint64_t> counter{0};
    return "inproc://p2p-pipe-" + std::to_string(counter++);
}

operation_id next_operation() {
    static std::atomic<operation_id> counter{1};
    return counter++;
}

template <typename Finished>
bool finishes(const event& e, operation_id op) {
    const auto* f = std::get_if<Finished>(&e);
    return f != nullptr && f->op == op;
}
} // namespace

peer::peer(zmq::context_t& context, peer_options options) : pipe_(context, zmq::socket_type::pair) {
    const auto endpoint = next_pipe_endpoint();
    pipe_.set(zmq::sockopt::linger, 0);
    pipe_.bind(endpoint);
    thread_ = thread_without_signals(node_main, std::ref(context), std::move(options), endpoint);
    auto first = pipe::receive<node_output>(pipe_);
    const auto* reply = first ? std::get_if<node_reply>(&*first) : nullptr;
    if (reply != nullptr) {
        if (const auto* started = std::get_if<node_started>(reply)) {
            id_ = started->id;
            endpoint_ = started->endpoint;
            public_key_ = started->public_key;
            return;
        }
    }
    thread_.join();
    stopped_ = true;
    const auto* failed = reply != nullptr ? std::get_if<node_failed>(reply) : nullptr;
    throw std::runtime_error(failed != nullptr ? failed->reason : "the peer could not start");
}

peer::~peer() {
    try {
        stop_now();
    } catch (...) {
        // A destructor must not throw; stop() only fails if the node thread died, and then it is gone already.
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

template <typename Reply, typename Command>
Reply peer::call(Command command) {
    if (stopped_) {
        throw std::runtime_error("the peer has stopped");
    }
    pipe::send(pipe_, node_command{std::move(command)});
    for (;;) {
        auto out = pipe::receive<node_output>(pipe_);
        if (auto* e = std::get_if<event>(&*out)) {
            queued_.push_back(std::move(*e));
            continue;
        }
        auto& reply = std::get<node_reply>(*out);
        if (auto* value = std::get_if<Reply>(&reply)) {
            return std::move(*value);
        }
        if (std::holds_alternative<node_stopped>(reply)) {
            stopped_ = true;
            throw std::runtime_error("the peer has stopped");
        }
    }
}

template <typename Finished>
Finished peer::wait_for(operation_id op) {
    for (auto it = queued_.begin(); it != queued_.end(); ++it) {
        if (finishes<Finished>(*it, op)) {
            auto done = std::get<Finished>(std::move(*it));
            queued_.erase(it);
            return done;
        }
    }
    for (;;) {
        auto out = pipe::receive<node_output>(pipe_);
        if (auto* e = std::get_if<event>(&*out)) {
            if (finishes<Finished>(*e, op)) {
                return std::get<Finished>(std::move(*e));
            }
            queued_.push_back(std::move(*e));
        } else if (std::holds_alternative<node_stopped>(std::get<node_reply>(*out))) {
            stopped_ = true;
            throw std::runtime_error("the peer has stopped");
        }
    }
}

std::vector<file_entry> peer::local_files() {
    return call<std::vector<file_entry>>(command::list_files{});
}
std::vector<peer_info> peer::peers() {
    return call<std::vector<peer_info>>(command::list_peers{});
}
std::vector<failure_record> peer::failures() {
    return call<std::vector<failure_record>>(command::list_failures{});
}
peer_stats peer::stats() {
    return call<peer_stats>(command::get_stats{});
}

operation_id peer::start_connect(const std::string& address) {
    const auto op = next_operation();
    pipe::send(pipe_, node_command{command::connect{op, address}});
    return op;
}

connect_finished peer::connect(const std::string& address) {
    return wait_for<connect_finished>(start_connect(address));
}

operation_id peer::start_download(const download_request& request) {
    const auto op = next_operation();
    pipe::send(pipe_, node_command{command::download{op, request}});
    return op;
}

download_finished peer::download(const download_request& request) {
    return wait_for<download_finished>(start_download(request));
}

void peer::cancel(operation_id op) {
    pipe::send(pipe_, node_command{command::cancel{op}});
}

std::optional<event> peer::next_event(milliseconds timeout) {
    if (!queued_.empty()) {
        auto e = std::move(queued_.front());
        queued_.pop_front();
        return e;
    }
    if (stopped_) {
        return std::nullopt;
    }
    zmq::pollitem_t item = pollitem();
    if (poll_through_signals({&item, 1}, timeout) == 0) {
        return std::nullopt;
    }
    auto out = pipe::receive<node_output>(pipe_);
    if (auto* e = std::get_if<event>(&*out)) {
        return std::move(*e);
    }
    if (std::holds_alternative<node_stopped>(std::get<node_reply>(*out))) {
        stopped_ = true;
    }
    return std::nullopt;
}

zmq::pollitem_t peer::pollitem() {
    return zmq::pollitem_t{pipe_.handle(), 0, ZMQ_POLLIN, 0};
}

void peer::stop() {
    begin_stop();
    wait_stopped();
}

void peer::begin_stop() {
    if (!stopped_ && !stop_sent_) {
        pipe::send(pipe_, node_command{command::stop{false}});
        stop_sent_ = true;
    }
}

void peer::stop_now() {
    if (!stopped_) {
        pipe::send(pipe_, node_command{command::stop{true}});
        stop_sent_ = true;
    }
    wait_stopped();
}

void peer::wait_stopped() {
    while (!stopped_) {
        auto out = pipe::receive<node_output>(pipe_);
        if (auto* e = std::get_if<event>(&*out)) {
            queued_.push_back(std::move(*e));
        } else if (std::holds_alternative<node_stopped>(std::get<node_reply>(*out))) {
            stopped_ = true;
        }
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

} // namespace p2p
