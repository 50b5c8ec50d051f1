// SPDX-License-Identifier: MIT
#include "wait.hpp"

#include <cerrno>
#include <vector>

namespace p2p::cli {

wake wait_for_activity(peer& p, const stop_signal& stop, const line_reader* input, std::chrono::milliseconds timeout,
                       web::bridge* web) {
    if (stop.requested()) {
        return wake::stop;
    }
    if (web != nullptr) {
        // Before the early return below too: a burst of events must not keep web requests waiting.
        web->run(p, web::clock::now());
    }
    // Events already read off the pipe (while the peer waited for a reply) do not make it readable again.
    if (p.has_queued_events()) {
        return wake::event;
    }
    std::vector<zmq::pollitem_t> items{stop.pollitem(), p.pollitem()};
    if (input != nullptr) {
        items.push_back(input->pollitem());
    }
    if (web != nullptr) {
        items.push_back(web->pollitem());
    }
    try {
        zmq::poll(items, timeout);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) {
            throw;
        }
        // A signal interrupted the poll; the handler has written to the signal pipe, which the next check sees.
        return stop.requested() ? wake::stop : wake::idle;
    }
    if ((items[0].revents & ZMQ_POLLIN) != 0 || stop.requested()) {
        return wake::stop;
    }
    if ((items[1].revents & ZMQ_POLLIN) != 0) {
        return wake::event;
    }
    if (input != nullptr && (items[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) != 0) {
        return wake::input;
    }
    if (web != nullptr && (items.back().revents & ZMQ_POLLIN) != 0) {
        web->run(p, web::clock::now());
    }
    return wake::idle;
}

downloads_wait await_downloads(peer& p, stop_signal& stop, const std::set<operation_id>& running,
                               const std::function<bool(download_finished&, bool cancelled)>& on_finished,
                               const std::function<void(const event&)>& on_event, web::bridge* web) {
    downloads_wait out;
    for (;;) {
        const auto woke = wait_for_activity(p, stop, nullptr, std::chrono::milliseconds(1000), web);
        if (woke == wake::stop) {
            if (out.cancelled) {
                out.abandoned = true; // the second one: do not wait any longer
                return out;
            }
            out.cancelled = true;
            stop.clear();
            for (const auto op : running) {
                p.cancel(op);
            }
            continue;
        }
        if (woke != wake::event) {
            continue;
        }
        auto e = take_event(p, web);
        if (!e) {
            continue;
        }
        if (auto* done = std::get_if<download_finished>(&*e); done != nullptr && running.count(done->op) != 0) {
            if (!on_finished(*done, out.cancelled)) {
                return out;
            }
            continue;
        }
        on_event(*e);
    }
}

download_outcome await_download(peer& p, stop_signal& stop, operation_id op,
                                const std::function<void(const event&)>& on_event, web::bridge* web) {
    download_outcome out;
    const std::set<operation_id> running{op};
    out.cancelled = await_downloads(
                        p, stop, running,
                        [&out](download_finished& done, bool) {
                            out.done = std::move(done);
                            return false;
                        },
                        on_event, web)
                        .cancelled;
    return out;
}

std::optional<event> take_event(peer& p, web::bridge* web) {
    auto e = p.next_event(std::chrono::milliseconds(0));
    if (e && web != nullptr) {
        web->on_event(p, *e, web::clock::now());
    }
    return e;
}

} // namespace p2p::cli
