// SPDX-License-Identifier: MIT
#include "p2p/core/upload.hpp"

#include "p2p/protocol.hpp"

#include <algorithm>

namespace p2p::core {

namespace {
/// The receiver's credit, held to what fits in protocol::max_window_bytes at this chunk size: memory in flight
/// for one transfer is bounded in bytes, so 64 KiB chunks may have 1024 in flight where 1 MiB ones have 64.
std::uint32_t capped(std::uint32_t credit, std::uint32_t chunk_size) {
    return std::clamp<std::uint32_t>(credit, 1, protocol::max_window_chunks(chunk_size));
}
} // namespace

upload::upload(peer_id to, const request& req, opened_file file, std::uint32_t max_chunk, steady_time now)
    : to_(to), transfer_(req.transfer), name_(req.name), file_(std::move(file)), size_(file_.stat.size),
      chunk_size_(std::min(req.chunk_size, max_chunk)), credit_(capped(req.credit, chunk_size_)),
      acked_(std::min(req.offset, size_)), next_(acked_), sent_max_(acked_), asked_from_(acked_), last_progress_(now),
      last_send_(now) {}

bool upload::repeats_request(const request& req) const {
    return offered_ && !acked_since_request_ && std::min(req.offset, size_) == asked_from_;
}

offer upload::make_offer(const manifest& m) {
    offered_ = true;
    return offer{transfer_, size_, m.root, m.piece_size, chunk_size_};
}

void upload::restart(const request& req, steady_time now) {
    credit_ = capped(req.credit, chunk_size_);
    acked_ = next_ = asked_from_ = std::min(req.offset, size_);
    acked_since_request_ = false;
    sent_max_ = std::max(sent_max_, acked_);
    probe_.reset();
    last_progress_ = now;
}

bool upload::can_send() const {
    if (!offered_ || next_ >= size_) {
        return false;
    }
    const std::uint64_t in_flight = (next_ - acked_ + chunk_size_ - 1) / chunk_size_;
    return in_flight < credit_;
}

std::uint64_t upload::next_length() const {
    return std::min<std::uint64_t>(chunk_size_, size_ - std::min(next_, size_));
}

std::optional<chunk> upload::read_next(effects& out, std::string& error) {
    // A file that changes while it is sent must not be delivered as a mix of two versions. The receiver's hash
    // check would catch it at the end; checking here stops it at the first chunk after the change.
    const auto now_stat = file_.file->stat();
    if (!now_stat) {
        error = "cannot stat the file";
        return std::nullopt;
    }
    if (!(*now_stat == file_.stat)) {
        error = "file changed while being sent";
        return std::nullopt;
    }
    const auto length = static_cast<std::size_t>(next_length());
    chunk c;
    c.transfer = transfer_;
    c.offset = next_;
    c.data = out.buffer(length);
    if (auto problem = file_.file->read_at(c.data.data(), length, next_)) {
        error = *problem;
        return std::nullopt;
    }
    c.last = next_ + length == size_;
    c.holder_busy_us = static_cast<std::uint64_t>(busy_.count());
    next_ += length;
    return c;
}

void upload::charge(std::chrono::microseconds spent) {
    // A clock that went backwards charges nothing: holder-busy never decreases. It saturates rather than wraps.
    if (spent.count() <= 0) {
        return;
    }
    const auto room = std::chrono::microseconds::max() - busy_;
    busy_ += std::min(spent, room);
}

void upload::unread(std::uint64_t offset) {
    next_ = offset;
}

void upload::sent(std::uint64_t offset, std::uint64_t length, steady_time now) {
    const std::uint64_t end = offset + length;
    // Karn: time only chunks sent for the first time, or a resend's ACK would be taken for the original's.
    if (!probe_ && offset >= sent_max_) {
        probe_ = std::pair{end, now};
    }
    sent_max_ = std::max(sent_max_, end);
    if (acked_ == offset) {
        last_send_ = now; // the retransmission clock runs from the oldest unacknowledged chunk
    }
}

std::optional<std::string> upload::on_ack(const ack& a, steady_time now) {
    // After a go-back the receiver may still acknowledge what was sent before it, but never more than was sent.
    if (a.next_offset > sent_max_) {
        return "ACK for bytes never sent";
    }
    credit_ = capped(a.credit, chunk_size_);
    acked_since_request_ = true;
    if (a.next_offset <= acked_) {
        // A duplicate: the receiver got a chunk past a missing one. Three of them mean a loss, not reordering
        // (ZeroMQ never reorders): go back at once instead of waiting for the timeout (TCP's fast retransmit).
        if (a.next_offset == acked_ && next_ > acked_ && ++duplicate_acks_ == 3) {
            next_ = acked_;
            probe_.reset();
            last_send_ = now;
            ++fast_retransmits_;
        }
        return std::nullopt;
    }
    duplicate_acks_ = 0;
    timer_.on_progress();
    acked_ = a.next_offset;
    next_ = std::max(next_, acked_);
    last_progress_ = now;
    last_send_ = now;
    if (probe_ && acked_ >= probe_->first) {
        timer_.sample(std::chrono::duration_cast<retransmit_timer::duration>(now - probe_->second));
        probe_.reset();
    }
    return std::nullopt;
}

std::optional<steady_time> upload::retransmit_at() const {
    if (!offered_ || acked_ >= next_) {
        return std::nullopt;
    }
    return last_send_ + timer_.timeout();
}

bool upload::on_retransmit_timeout(steady_time now, milliseconds give_up_after) {
    if (now - last_progress_ > give_up_after) {
        return false;
    }
    timer_.back_off();
    next_ = acked_;
    probe_.reset();
    last_send_ = now;
    return true;
}

} // namespace p2p::core
