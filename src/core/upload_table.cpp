// SPDX-License-Identifier: MIT
#include "p2p/core/upload_table.hpp"

#include "p2p/core/folder_view.hpp"
#include "p2p/core/peer_table.hpp"
#include "p2p/core/rate_limit.hpp"
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"
#include "p2p/merkle.hpp"
#include "p2p/protocol.hpp"

#include <algorithm>

namespace p2p::core {

namespace {
/// What a REQUEST for a name we do not list is told, whatever stands there.
constexpr const char* not_there = "File not found";
/// A full queue is tried again after this: long enough not to spin, short next to any transfer.
constexpr milliseconds blocked_retry{2};
} // namespace

upload_table::upload_table(core_state& state, steady_time now)
    : state_(state), limit_(make_rate_bucket(state.options.max_rate,
                                             rate_chunk_size(state.options.max_rate, state.options.chunk_size), now)) {}

void upload_table::on_request(remote_peer& from, const request& r, steady_time now) {
    const upload_key key{from.id, r.transfer};
    if (auto it = uploads_.find(key); it != uploads_.end() && it->second.name() != r.name) {
        // The number names another file now: the downloader restarted and numbers from 1 again. Its old transfer
        // is over for it (no ABORT: it would end the new one), and this REQUEST is served as a new one.
        erase(key, now);
    }
    if (auto it = uploads_.find(key); it != uploads_.end()) {
        auto& u = it->second;
        if (u.repeats_request(r)) {
            // A repeat that crossed our OFFER: say the OFFER again, and let the window in flight be.
            if (auto m = state_.folder->cached_manifest(u.name(), u.stat())) {
                state_.peers->send(from, u.make_offer(*m));
            }
            return;
        }
        // The same transfer asked again after ACKs: a bad piece wanted again, or the receiver restarts.
        u.restart(r, now);
        if (u.has_offer()) {
            if (auto m = state_.folder->cached_manifest(u.name(), u.stat())) {
                state_.peers->send(from, u.make_offer(*m));
            }
            pump(u, now);
        } else {
            // Still hashing (a large file takes seconds): say so, or the receiver would give up on us.
            state_.peers->send(from, preparing{r.transfer, u.stat().size});
        }
        return;
    }
    if (state_.stopping) {
        state_.peers->send(from, abort_transfer{r.transfer, "the peer is shutting down"});
        return;
    }
    if (state_.options.client) {
        // A one-shot client's folder is where its downloads land, not something it shares.
        ++state_.stats.uploads_refused;
        state_.peers->send(from, not_found{r.transfer, r.name, "this peer shares nothing (a one-shot client)"});
        return;
    }
    std::size_t from_this_peer = 0;
    for (const auto& [k, u] : uploads_) {
        from_this_peer += k.first == from.id ? 1 : 0;
    }
    if (from_this_peer >= state_.options.max_uploads_per_peer || uploads_.size() >= state_.options.max_uploads) {
        ++state_.stats.uploads_refused;
        state_.peers->send(from, abort_transfer{r.transfer, "too many transfers at once; try again later"});
        return;
    }
    if (auto problem = file_path_problem(r.name)) {
        ++state_.stats.uploads_refused;
        state_.peers->send(from, not_found{r.transfer, r.name, *problem});
        return;
    }
    auto opened = state_.folder->disk().open_shared(r.name);
    if (auto* reason = std::get_if<std::string>(&opened)) {
        ++state_.stats.uploads_refused;
        log(log_level::info, "refused ", escape_for_terminal(r.name), " to ", from.id.short_hex(), ": ", *reason);
        // The asker learns why only for a file we list: anything else (a symlink, a FIFO, a path through a file)
        // gets the answer of a name with nothing there, so what is not shared is not even confirmed to exist.
        state_.peers->send(
            from, not_found{r.transfer, r.name, state_.folder->lists(r.name) ? *reason : std::string(not_there)});
        return;
    }
    auto& file = std::get<opened_file>(opened);
    switch (state_.folder->readiness(r.name, file.stat, now)) {
    case file_readiness::ready:
        break;
    case file_readiness::settling:
        // Changed within the settle time: it may be half written. The downloader keeps asking meanwhile, and
        // PREPARING keeps it from giving up; once the file settles, the list goes out first, then the OFFER.
        state_.peers->send(from, preparing{r.transfer, file.stat.size});
        return;
    case file_readiness::still_written:
        ++state_.stats.uploads_refused;
        log(log_level::info, "refused ", escape_for_terminal(r.name), " to ", from.id.short_hex(),
            ": still being written");
        state_.peers->send(from, not_found{r.transfer, r.name, "still being written; try again later"});
        return;
    }
    if (file.stat.size > max_file_size) {
        ++state_.stats.uploads_refused;
        state_.peers->send(from, not_found{r.transfer, r.name, "too large to serve (over 64 TiB)"});
        return;
    }
    if (r.offset > file.stat.size) {
        ++state_.stats.uploads_refused;
        state_.peers->send(from, abort_transfer{r.transfer, "offset past the end of the file"});
        return;
    }
    const auto cached = state_.folder->cached_manifest(r.name, file.stat);
    // Under a rate limit, chunks small enough that the receiver never waits long for the next one.
    const auto chunk_size = rate_chunk_size(state_.options.max_rate, state_.options.chunk_size);
    auto [it, inserted] = uploads_.try_emplace(key, from.id, r, std::move(file), chunk_size, now);
    auto& u = it->second;
    if (cached) {
        start_sending(u, *cached, now);
        return;
    }
    // Hashing a large file takes seconds: a job does it, the loop goes on serving everyone else.
    state_.jobs->wait_for_hash(u.name(), u.stat(), u.file(), key);
}

void upload_table::on_get_manifest(remote_peer& from, const get_manifest& g) {
    // Answered from any manifest of that root we know: the OFFER that named the root came from one, and a page
    // asked for after the upload ended (every chunk was acknowledged first) must still be served.
    const auto m = state_.folder->manifest_by_root(g.root);
    if (!m || g.first >= m->piece_count()) {
        state_.peers->send(from, not_found{g.transfer, "", "no manifest of that file here (it changed?)"});
        return;
    }
    const auto count = std::min<std::uint64_t>(protocol::leaves_per_page, m->piece_count() - g.first);
    const auto begin = m->leaves.begin() + static_cast<std::ptrdiff_t>(g.first);
    state_.peers->send(from, manifest_page{g.transfer, g.first,
                                           std::vector<digest>(begin, begin + static_cast<std::ptrdiff_t>(count))});
}

void upload_table::on_hash_done(const std::string& name, const file_stat& stat, const std::set<upload_key>& waiters,
                                const job_result& result, steady_time now) {
    std::shared_ptr<const manifest> hash;
    state_.stats.hash_bytes_read += result.bytes_read;
    if (result.ok) {
        auto m = std::make_shared<manifest>();
        m->size = stat.size;
        m->piece_size = piece_size_for(stat.size);
        m->leaves = result.leaves;
        if (m->leaves.size() < piece_count_for(m->size, m->piece_size)) {
            m->leaves.push_back(result.tail.final()); // the short last piece, or the one empty piece of an empty file
        }
        m->root = file_root(m->size, m->piece_size, merkle_root(m->leaves));
        hash = m;
        state_.folder->remember_manifest(name, stat, hash, now);
    }
    for (const auto& key : waiters) {
        auto it = uploads_.find(key);
        if (it == uploads_.end()) {
            continue; // the receiver went away meanwhile
        }
        auto& u = it->second;
        const auto current = u.file()->stat();
        if (!hash || !current || !(*current == u.stat())) {
            end(key, hash ? std::string("file changed while being hashed") : result.error, now);
            continue;
        }
        start_sending(u, *hash, now);
    }
}

void upload_table::start_sending(upload& u, const manifest& hash, steady_time now) {
    auto* to = state_.peers->find(u.to());
    if (to == nullptr) {
        return;
    }
    state_.peers->send(*to, u.make_offer(hash));
    if (u.complete()) {
        // An empty file is all said by its OFFER.
        ++state_.stats.uploads_done;
        erase(upload_key{u.to(), u.transfer()}, now);
        return;
    }
    pump(u, now);
}

void upload_table::pump(upload& u, steady_time now) {
    auto* to = state_.peers->find(u.to());
    if (to == nullptr) {
        return;
    }
    const auto key = upload_key{u.to(), u.transfer()};
    while (u.can_send()) {
        if (!may_send(key, u.next_length(), now)) {
            return; // in line for the rate limit's tokens
        }
        std::string error;
        auto c = u.read_next(state_.out, error);
        if (!c) {
            log(log_level::info, "aborting ", escape_for_terminal(u.name()), " to ", u.to().short_hex(), ": ", error);
            end(key, error, now);
            return;
        }
        const auto offset = c->offset;
        const auto length = c->data.size();
        // The chunk's bytes move into the frame: no copy on the way out.
        if (!state_.peers->send(*to, std::move(*c))) {
            // Queue full: read the same bytes again a little later.
            u.unread(offset);
            blocked_until_ = now + blocked_retry;
            return;
        }
        u.sent(offset, length, now);
        limit_.take(length, now);
        state_.stats.bytes_sent += length;
        state_.charge_upload = key; // the time reading and sending took is this upload's
    }
}

bool upload_table::may_send(const upload_key& key, std::uint64_t bytes, steady_time now) {
    if (limit_.unlimited()) {
        return true;
    }
    const auto it = std::find(waiting_.begin(), waiting_.end(), key);
    const bool queued = it != waiting_.end();
    if (!waiting_.empty() && it != waiting_.begin()) {
        if (!queued) {
            waiting_.push_back(key); // others were first
        }
        return false;
    }
    const auto ready = limit_.ready_at(bytes, now);
    if (ready > now) {
        if (!queued) {
            waiting_.push_back(key);
        }
        rate_wake_ = ready;
        return false;
    }
    if (queued) {
        waiting_.pop_front();
        // It waited on us, not on its receiver: the receiver's silence meanwhile does not count against it.
        if (auto u = uploads_.find(key); u != uploads_.end()) {
            u->second.resumed(now);
        }
    }
    return true;
}

bool upload_table::waiting(const upload_key& key) const {
    return std::find(waiting_.begin(), waiting_.end(), key) != waiting_.end();
}

void upload_table::serve_waiting(steady_time now) {
    rate_wake_.reset();
    // Each turn either sends (taking tokens), leaves the line, or finds the bucket empty and sets rate_wake_.
    while (!waiting_.empty() && !rate_wake_) {
        const auto key = waiting_.front();
        auto it = uploads_.find(key);
        if (it == uploads_.end() || !it->second.can_send() || state_.peers->find(key.first) == nullptr) {
            waiting_.pop_front(); // it has nothing to send now; an ACK or a timeout pumps it again
            continue;
        }
        pump(it->second, now);
        if (!rate_wake_ && !waiting_.empty() && waiting_.front() == key) {
            waiting_.pop_front(); // it did not take its turn: out of line, or this would turn forever
        }
    }
}

void upload_table::charge(const std::pair<peer_id, std::uint32_t>& key, std::chrono::nanoseconds spent) {
    if (auto it = uploads_.find(key); it != uploads_.end()) {
        it->second.charge(std::chrono::duration_cast<std::chrono::microseconds>(spent));
    }
}

void upload_table::on_ack(remote_peer& from, const ack& a, steady_time now) {
    const upload_key key{from.id, a.transfer};
    auto it = uploads_.find(key);
    if (it == uploads_.end()) {
        return; // a late ACK for a finished or aborted upload
    }
    auto& u = it->second;
    const auto fast_before = u.fast_retransmits();
    if (auto problem = u.on_ack(a, now)) {
        end(key, *problem, now);
        state_.peers->refuse(&from, from.id.short_hex(), *problem, now);
        return;
    }
    if (u.complete()) {
        ++state_.stats.uploads_done;
        erase(key, now);
        return;
    }
    state_.stats.chunks_resent += u.fast_retransmits() - fast_before;
    pump(u, now);
}

void upload_table::on_cancel(remote_peer& from, const cancel_transfer& c, steady_time now) {
    erase(upload_key{from.id, c.transfer}, now);
}

void upload_table::end(const upload_key& key, const std::optional<std::string>& abort_reason, steady_time now) {
    if (abort_reason) {
        if (auto* to = state_.peers->find(key.first)) {
            state_.peers->send(*to, abort_transfer{key.second, *abort_reason});
        }
    }
    erase(key, now);
}

void upload_table::erase(const upload_key& key, steady_time now) {
    if (auto it = std::find(waiting_.begin(), waiting_.end(), key); it != waiting_.end()) {
        waiting_.erase(it);
    }
    if (uploads_.erase(key) > 0) {
        state_.jobs->forget_waiter(key, now);
    }
}

void upload_table::on_peer_gone(peer_id id, steady_time now) {
    std::vector<upload_key> gone;
    for (const auto& [key, u] : uploads_) {
        if (key.first == id) {
            gone.push_back(key);
        }
    }
    for (const auto& key : gone) {
        erase(key, now);
    }
}

void upload_table::end_all(const std::string& reason, steady_time now) {
    std::vector<upload_key> all;
    for (const auto& [key, u] : uploads_) {
        all.push_back(key);
    }
    for (const auto& key : all) {
        end(key, reason, now);
    }
}

std::vector<pending_transfer> upload_table::in_flight() const {
    std::vector<pending_transfer> out;
    for (const auto& [key, u] : uploads_) {
        out.push_back(pending_transfer{true, key.first, u.name(), u.acknowledged(), u.stat().size});
    }
    return out;
}

std::optional<steady_time> upload_table::deadline(const upload& u) const {
    if (auto at = u.retransmit_at()) {
        return at; // chunks in flight: resend them then, unless the receiver has been silent too long
    }
    if (waiting(upload_key{u.to(), u.transfer()})) {
        return std::nullopt; // everything sent is acknowledged and the rest waits for the rate limit (rate_wake_)
    }
    if (u.has_offer()) {
        return u.last_progress() + state_.options.transfer_timeout; // all acknowledged: wait that long for more
    }
    return std::nullopt; // the file is being hashed: the job's result comes as an input
}

std::optional<steady_time> upload_table::next_deadline() const {
    std::optional<steady_time> next = blocked_until_;
    if (!waiting_.empty() && rate_wake_) {
        next = next ? std::min(*next, *rate_wake_) : *rate_wake_;
    }
    for (const auto& [key, u] : uploads_) {
        if (auto due = deadline(u)) {
            next = next ? std::min(*next, *due) : *due;
        }
    }
    return next;
}

void upload_table::on_deadline(steady_time now) {
    // Collect first, act after: ending an upload (also from inside pump) removes it from uploads_.
    std::vector<upload_key> stale, resend;
    for (auto& [key, u] : uploads_) {
        const auto due = deadline(u);
        if (!due || now < *due) {
            continue;
        }
        if (!u.retransmit_at() || !u.on_retransmit_timeout(now, state_.options.transfer_timeout)) {
            // Silent too long, or everything sent was acknowledged but the receiver never came back for more.
            stale.push_back(key);
            continue;
        }
        ++state_.stats.chunks_resent;
        log(log_level::debug, "resending ", escape_for_terminal(u.name()), " to ", u.to().short_hex(),
            " after a timeout");
        resend.push_back(key);
    }
    for (const auto& key : stale) {
        end(key, std::string("no acknowledgement for too long"), now);
    }
    if (blocked_until_ && now >= *blocked_until_) {
        blocked_until_.reset();
        for (const auto& [key, u] : uploads_) {
            resend.push_back(key);
        }
    }
    for (const auto& key : resend) {
        if (auto it = uploads_.find(key); it != uploads_.end()) {
            pump(it->second, now);
        }
    }
    if (!waiting_.empty() && rate_wake_ && now >= *rate_wake_) {
        serve_waiting(now);
    }
}

} // namespace p2p::core
