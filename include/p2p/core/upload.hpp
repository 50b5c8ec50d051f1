// SPDX-License-Identifier: MIT
// core/upload.hpp - the sending side of one transfer: credit, in-flight chunks, retransmission.
#pragma once

#include "p2p/core/effects.hpp"
#include "p2p/core/storage.hpp"
#include "p2p/core/time.hpp"
#include "p2p/manifest.hpp"
#include "p2p/message.hpp"
#include "p2p/retransmit_timer.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

namespace p2p::core {

/// Serves one REQUEST. The window is the receiver's credit: at most `credit` chunks past the last cumulative ACK,
/// and never more than protocol::max_window_bytes of them, whatever credit the receiver grants. A timeout goes back
/// to the first unacknowledged byte (go-back-N), so window 1 is plain stop-and-wait on the same code path.
class upload {
public:
    upload(peer_id to, const request& req, opened_file file, std::uint32_t max_chunk, steady_time now);

    peer_id to() const { return to_; }
    std::uint32_t transfer() const { return transfer_; }
    const std::string& name() const { return name_; }
    /// The file's identity when it was opened: what its hash is cached under.
    const file_stat& stat() const { return file_.stat; }
    const std::shared_ptr<file_handle>& file() const { return file_.file; }
    bool has_offer() const { return offered_; }
    /// Bytes the receiver has acknowledged.
    std::uint64_t acknowledged() const { return acked_; }
    /// The OFFER to send once the file's manifest is known.
    offer make_offer(const manifest& m);
    /// The same REQUEST again with no ACK since: the downloader repeated it before our OFFER reached it (it repeats
    /// an unanswered REQUEST), so it asks for nothing new. Only the OFFER is sent again; chunks that were lost come
    /// back through the retransmission timeout. (A downloader that asks again after ACKs restarts for real: it
    /// wants a bad piece again, and its ACKs always arrive before that REQUEST.)
    bool repeats_request(const request& req) const;
    /// A REQUEST for this transfer that is not a repeat (a bad piece asked for again, a receiver that starts over):
    /// start again from its offset.
    void restart(const request& req, steady_time now);

    /// True when credit allows another chunk now.
    bool can_send() const;
    /// The length of the chunk read_next() would read now.
    std::uint64_t next_length() const;
    /// The holder kept this upload waiting (its rate limit) until `now`: the receiver's silence meanwhile was not
    /// the receiver's doing, so the give-up timeout runs from now.
    void resumed(steady_time now) { last_progress_ = std::max(last_progress_, now); }
    /// Reads the next chunk into a buffer from `out` that becomes the payload frame (no further copy, no allocation
    /// once the pool is warm). Returns nullopt and sets error when the file changed under us or cannot be read.
    std::optional<chunk> read_next(effects& out, std::string& error);
    /// The chunk at offset could not be queued (the queue to the receiver is full): read it again later.
    void unread(std::uint64_t offset);
    /// Marks the chunk just read, [offset, offset + length), as sent.
    void sent(std::uint64_t offset, std::uint64_t length, steady_time now);

    /// Applies an ACK; returns a reason when it acknowledges bytes never sent.
    std::optional<std::string> on_ack(const ack& a, steady_time now);
    /// Everything acknowledged.
    bool complete() const { return offered_ && acked_ >= size_; }
    /// When unacknowledged chunks must be resent; nullopt when nothing is in flight.
    std::optional<steady_time> retransmit_at() const;
    /// Goes back to the first unacknowledged byte; returns false when the receiver has been silent too long.
    bool on_retransmit_timeout(steady_time now, milliseconds give_up_after);
    steady_time last_progress() const { return last_progress_; }
    /// Go-backs triggered by three duplicate ACKs so far.
    std::uint64_t fast_retransmits() const { return fast_retransmits_; }
    /// Credit in chunks the holder uses now: the receiver's, capped at protocol::max_window_bytes.
    std::uint32_t credit() const { return credit_; }

    /// Time the holder's loop spent on this upload; the node measures it, the core charges it. It adds up over
    /// the whole transfer (a restart keeps counting) and goes out in every CHUNK as holder-busy.
    void charge(std::chrono::microseconds spent);
    /// Everything charged so far.
    std::chrono::microseconds busy() const { return busy_; }

private:
    peer_id to_;
    std::uint32_t transfer_;
    std::string name_;
    opened_file file_;
    std::uint64_t size_;
    std::uint32_t chunk_size_;
    std::uint32_t credit_; ///< The receiver's credit, capped at protocol::max_window_bytes / chunk_size_.
    bool offered_ = false;
    std::chrono::microseconds busy_{0};
    std::uint64_t acked_ = 0;    ///< Every byte below is acknowledged.
    std::uint64_t next_ = 0;     ///< Next byte to send.
    std::uint64_t sent_max_ = 0; ///< End of the furthest chunk ever sent.
    std::uint64_t asked_from_;   ///< The offset of the last REQUEST served.
    bool acked_since_request_ = false;
    /// Round-trip sampling: the end offset of one chunk sent once, and when.
    std::optional<std::pair<std::uint64_t, steady_time>> probe_;
    retransmit_timer timer_;
    unsigned duplicate_acks_ = 0;
    std::uint64_t fast_retransmits_ = 0;
    steady_time last_progress_;
    steady_time last_send_;
};

} // namespace p2p::core
