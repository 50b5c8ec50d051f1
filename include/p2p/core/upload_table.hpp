// SPDX-License-Identifier: MIT
// core/upload_table.hpp - serving REQUESTs: open safely, hash (cached, shared), OFFER, chunks within the receiver's
// credit and the rate limit (--max-rate), retransmission, and giving up on a receiver that went quiet.
#pragma once

#include "p2p/core/job_table.hpp"
#include "p2p/core/remote_peer.hpp"
#include "p2p/core/state.hpp"
#include "p2p/core/upload.hpp"
#include "p2p/token_bucket.hpp"

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace p2p::core {

class upload_table {
public:
    upload_table(core_state& state, steady_time now);

    void on_request(remote_peer& from, const request& r, steady_time now);
    void on_ack(remote_peer& from, const ack& a, steady_time now);
    /// The holder's loop spent `spent` reading and sending this upload's chunks (CHUNK's holder-busy reports it).
    void charge(const std::pair<peer_id, std::uint32_t>& key, std::chrono::nanoseconds spent);
    void on_cancel(remote_peer& from, const cancel_transfer& c, steady_time now);
    /// A page of the leaves of a manifest we offered.
    void on_get_manifest(remote_peer& from, const get_manifest& g);
    /// The hash that `waiters` waited for is done (or failed).
    void on_hash_done(const std::string& name, const file_stat& stat, const std::set<upload_key>& waiters,
                      const job_result& result, steady_time now);
    /// The peer is gone: its uploads end without a word.
    void on_peer_gone(peer_id id, steady_time now);
    /// We are leaving now: every upload ends with ABORT.
    void end_all(const std::string& reason, steady_time now);

    bool empty() const { return uploads_.empty(); }
    std::vector<pending_transfer> in_flight() const;

    std::optional<steady_time> next_deadline() const;
    void on_deadline(steady_time now);

private:
    void start_sending(upload& u, const manifest& m, steady_time now);
    void pump(upload& u, steady_time now);
    /// With a rate limit: whether the upload `key` may send a chunk of `bytes` now (it is first in line and the
    /// bucket holds the bytes; the caller takes them once the chunk is sent). Otherwise it waits in line, and
    /// rate_wake_ says when the first in line will have its tokens.
    bool may_send(const upload_key& key, std::uint64_t bytes, steady_time now);
    /// The rate limit's tokens came: uploads in line send, first first, one chunk per turn, until the bucket is empty.
    void serve_waiting(steady_time now);
    bool waiting(const upload_key& key) const;
    /// Ends an upload, telling the receiver why with ABORT when there is a reason.
    void end(const upload_key& key, const std::optional<std::string>& abort_reason, steady_time now);
    /// Removes an upload and its claim on a hash job.
    void erase(const upload_key& key, steady_time now);
    /// When the upload next needs the loop (resend, give up), or nullopt while it waits for its hash.
    std::optional<steady_time> deadline(const upload& u) const;

    core_state& state_;
    std::map<upload_key, upload> uploads_;
    /// A send found a queue full: pump every upload again then.
    std::optional<steady_time> blocked_until_;
    /// --max-rate: the chunk payload all uploads send together; unlimited without it.
    token_bucket limit_;
    /// Uploads that have credit and wait for the limit's tokens, first first: each takes one chunk per turn, so one
    /// receiver that ACKs fast cannot take the whole rate.
    std::deque<upload_key> waiting_;
    /// When the first in line will have its tokens.
    std::optional<steady_time> rate_wake_;
};

} // namespace p2p::core
