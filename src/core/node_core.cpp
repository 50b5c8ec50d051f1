// SPDX-License-Identifier: MIT
#include "p2p/core/node_core.hpp"

#include <algorithm>
#include <utility>

namespace p2p::core {

node_core::node_core(peer_options options, peer_id self, std::string endpoint, bool secure, folder_io& disk,
                     bool watched, effects& out, steady_time now)
    : options_(std::move(options)), state_(options_, self, std::move(endpoint), secure, out),
      folder_(disk, !options_.client, watched, options_.rescan_delay, options_.settle, now), peers_(state_),
      connects_(state_), jobs_(state_), uploads_(state_, now), downloads_(state_, now), redials_(state_),
      beacons_(state_), exchange_(state_) {
    state_.folder = &folder_;
    state_.peers = &peers_;
    state_.connects = &connects_;
    state_.jobs = &jobs_;
    state_.uploads = &uploads_;
    state_.downloads = &downloads_;
    state_.redials = &redials_;
    state_.exchange = &exchange_;
}

void node_core::on_inbox(const inbox_origin& from, decode_result decoded, steady_time now) {
    ++state_.stats.messages_received;
    forget_charges();
    if (state_.finished) {
        return;
    }
    peers_.on_inbox(from, decoded, now);
    settle(now);
}

void node_core::on_link(link_id link, decode_result decoded, steady_time now) {
    ++state_.stats.messages_received;
    forget_charges();
    if (state_.finished) {
        return;
    }
    if (connects_.owns(link)) {
        connects_.on_answer(link, decoded, now);
    } else if (auto* p = peers_.find_by_link(link)) {
        peers_.on_link(*p, decoded, now);
    }
    // Anything else arrived on a connection we have already closed: it is nobody's now.
    settle(now);
}

void node_core::forget_charges() {
    // Work done by a timer or a job's result is not timed; only what the next message does is charged for it.
    state_.charge_download.reset();
    state_.charge_upload.reset();
}

void node_core::on_handled(steady_time started, steady_time now) {
    const auto spent = std::max(now - started, steady_time::duration::zero());
    if (const auto transfer = std::exchange(state_.charge_download, std::nullopt)) {
        downloads_.charge(*transfer, spent);
    }
    if (const auto key = std::exchange(state_.charge_upload, std::nullopt)) {
        uploads_.charge(*key, spent);
    }
}

void node_core::on_beacon(const std::string& source, std::span<const std::uint8_t> bytes, steady_time now) {
    if (state_.finished) {
        return;
    }
    beacons_.on_datagram(source, bytes, now);
    settle(now);
}

void node_core::on_interfaces_changed(steady_time now) {
    if (state_.finished) {
        return;
    }
    beacons_.interfaces_changed(now);
}

void node_core::on_job_done(job_result result, steady_time now) {
    if (state_.finished) {
        return;
    }
    jobs_.on_job_done(result, now);
    jobs_.plan_background_hash(); // the next settled file, if one waits
    settle(now);
}

void node_core::on_folder_changed(steady_time now) {
    folder_.on_changed(now);
}

void node_core::on_link_event(link_id link, link_event what, const std::string& detail, steady_time now) {
    if (state_.finished) {
        return;
    }
    if (connects_.owns(link)) {
        connects_.on_link_event(link, what, detail, now);
    } else if (what == link_event::dropped) {
        peers_.on_link_dropped(link, now);
    }
    settle(now);
}

void node_core::on_command(core_command cmd, steady_time now) {
    if (state_.finished) {
        return;
    }
    std::visit(
        [&](auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, command::connect>) {
                connects_.start(c, now);
            } else if constexpr (std::is_same_v<T, command::download>) {
                downloads_.start(c, now);
            } else if constexpr (std::is_same_v<T, command::cancel>) {
                downloads_.cancel(c, now);
            } else if constexpr (std::is_same_v<T, command::stop>) {
                begin_stop(c.now, now);
            }
        },
        cmd);
    settle(now);
}

std::optional<steady_time> node_core::next_deadline() const {
    std::optional<steady_time> next;
    for (auto due : {peers_.next_deadline(), connects_.next_deadline(), uploads_.next_deadline(),
                     downloads_.next_deadline(), jobs_.next_deadline(), folder_.next_deadline(),
                     redials_.next_deadline(), beacons_.next_deadline(), exchange_.next_deadline()}) {
        if (due) {
            next = next ? std::min(*next, *due) : *due;
        }
    }
    return next;
}

void node_core::on_deadline(steady_time now) {
    if (state_.finished) {
        return;
    }
    peers_.on_deadline(now);
    connects_.on_deadline(now);
    uploads_.on_deadline(now);
    downloads_.on_deadline(now);
    jobs_.on_deadline(now);
    redials_.on_deadline(now);
    beacons_.on_deadline(now);
    exchange_.on_deadline(now);
    if (folder_.on_deadline(now)) {
        peers_.send_file_lists(now);
    }
    jobs_.plan_background_hash(); // a scan may have settled files
    settle(now);
}

void node_core::begin_stop(bool at_once, steady_time now) {
    if (at_once) {
        finish_stop(now);
        return;
    }
    if (state_.stopping) {
        return;
    }
    // From now on: no new peers, connects, requests or downloads. What is in flight goes on for as long as it moves
    // (the original peer's "finish any ongoing file transfers"); one that stalls ends after the transfer timeout.
    state_.stopping = true;
    beacons_.leave();
    connects_.fail_all("the peer is shutting down", now);
    stop_pending waiting{uploads_.in_flight()};
    for (auto& t : downloads_.in_flight()) {
        waiting.transfers.push_back(std::move(t));
    }
    if (!waiting.transfers.empty()) {
        state_.out.emit(std::move(waiting));
    }
}

void node_core::finish_stop(steady_time now) {
    if (state_.finished) {
        return;
    }
    state_.stopping = true; // from here on nothing new is taken, also when the stop was immediate
    beacons_.leave();
    connects_.fail_all("the peer is shutting down", now);
    downloads_.end_all(now);
    uploads_.end_all("the peer is shutting down", now);
    peers_.say_goodbye();
    state_.finished = true;
}

void node_core::settle(steady_time now) {
    beacons_.peers_settled(now); // a peer lost: our beacon soon, so that it finds us again when it restarts
    if (state_.stopping && !state_.finished && uploads_.empty() && downloads_.empty()) {
        finish_stop(now);
    }
}

} // namespace p2p::core
