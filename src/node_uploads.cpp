// SPDX-License-Identifier: MIT
// node_uploads.cpp - serving REQUESTs: open safely, hash (cached), OFFER, chunks within the receiver's credit.
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"
#include "p2p/node.hpp"

#include <fcntl.h>

namespace p2p {

namespace {
/// A REQUEST repeated soon after a CANCEL of the same file finds its hash still running, instead of starting over.
constexpr std::chrono::milliseconds hash_job_linger{1000};
} // namespace

void node::on_request(remote_peer& from, const request& r) {
    const upload_key key{from.id, r.transfer};
    if (auto it = uploads_.find(key); it != uploads_.end() && it->second.name() != r.name) {
        // The number names another file now: the downloader restarted and numbers from 1 again. Its old transfer
        // is over for it (no ABORT: it would end the new one), and this REQUEST is served as a new one.
        erase_upload(key);
    }
    if (auto it = uploads_.find(key); it != uploads_.end()) {
        // The same transfer asked again: its OFFER or first chunks were lost, or the receiver restarts from zero.
        auto& u = it->second;
        u.restart(r, std::chrono::steady_clock::now());
        if (u.has_offer()) {
            if (auto hash = catalog_.cached_hash(u.name(), u.stat())) {
                send(from, u.make_offer(*hash));
            }
            pump(u);
        } else {
            // Still hashing (a large file takes seconds): say so, or the receiver would give up on us.
            send(from, preparing{r.transfer, u.stat().size});
        }
        return;
    }
    if (stopping_) {
        send(from, abort_transfer{r.transfer, "the peer is shutting down"});
        return;
    }
    std::size_t from_this_peer = 0;
    for (const auto& [k, u] : uploads_) {
        from_this_peer += k.first == from.id ? 1 : 0;
    }
    if (from_this_peer >= options_.max_uploads_per_peer || uploads_.size() >= options_.max_uploads) {
        ++stats_.uploads_refused;
        send(from, abort_transfer{r.transfer, "too many transfers at once; try again later"});
        return;
    }
    auto opened = catalog_.open_for_reading(r.name);
    if (auto* reason = std::get_if<std::string>(&opened)) {
        ++stats_.uploads_refused;
        log(log_level::info, "refused ", escape_for_terminal(r.name), " to ", from.id.short_hex(), ": ", *reason);
        send(from, not_found{r.transfer, r.name, *reason});
        return;
    }
    auto& file = std::get<opened_file>(opened);
    if (r.offset > file.stat.size) {
        ++stats_.uploads_refused;
        send(from, abort_transfer{r.transfer, "offset past the end of the file"});
        return;
    }
    const auto cached = catalog_.cached_hash(r.name, file.stat);
    auto [it, inserted] =
        uploads_.try_emplace(key, from.id, r, std::move(file), options_.chunk_size, std::chrono::steady_clock::now());
    auto& u = it->second;
    if (cached) {
        start_sending(u, *cached);
        return;
    }
    wait_for_hash(u, key);
}

void node::wait_for_hash(const upload& u, const upload_key& key) {
    // Hashing a large file takes seconds: the worker does it, the loop goes on serving everyone else. Every upload
    // of the same file version waits for the same job, so a REQUEST/CANCEL loop cannot pile up hashes.
    for (auto& [job, entry] : hash_jobs_) {
        if (entry.name == u.name() && entry.stat == u.stat()) {
            entry.waiters.insert(key);
            entry.orphaned_at.reset();
            return;
        }
    }
    unique_fd copy(::fcntl(u.fd(), F_DUPFD_CLOEXEC, 0));
    const auto job = worker_.submit(io_worker::hash_job{std::move(copy), u.stat().size});
    hash_jobs_.emplace(job, hash_job_entry{u.name(), u.stat(), {key}, std::nullopt});
    ++stats_.hash_jobs;
}

void node::erase_upload(const upload_key& key) {
    const auto now = std::chrono::steady_clock::now();
    for (auto& [job, entry] : hash_jobs_) {
        if (entry.waiters.erase(key) > 0 && entry.waiters.empty()) {
            entry.orphaned_at = now; // given up after hash_job_linger unless another REQUEST wants it
        }
    }
    uploads_.erase(key);
}

std::optional<steady_time> node::hash_jobs_deadline() const {
    std::optional<steady_time> first;
    for (const auto& [job, entry] : hash_jobs_) {
        if (entry.orphaned_at && (!first || *entry.orphaned_at + hash_job_linger < *first)) {
            first = *entry.orphaned_at + hash_job_linger;
        }
    }
    return first;
}

void node::cancel_orphaned_hashes(steady_time now) {
    for (auto it = hash_jobs_.begin(); it != hash_jobs_.end();) {
        if (it->second.orphaned_at && now >= *it->second.orphaned_at + hash_job_linger) {
            worker_.cancel(it->first);
            ++stats_.jobs_cancelled;
            it = hash_jobs_.erase(it);
        } else {
            ++it;
        }
    }
}

void node::start_sending(upload& u, const digest& hash) {
    auto* to = find_peer(u.to());
    if (to == nullptr) {
        return;
    }
    send(*to, u.make_offer(hash));
    if (u.complete()) {
        // An empty file is all said by its OFFER.
        ++stats_.uploads_done;
        erase_upload(upload_key{u.to(), u.transfer()});
        return;
    }
    pump(u);
}

void node::pump(upload& u) {
    auto* to = find_peer(u.to());
    if (to == nullptr) {
        return;
    }
    const auto key = upload_key{u.to(), u.transfer()};
    while (u.can_send()) {
        std::string error;
        auto c = u.read_next(chunk_pool_, error);
        if (!c) {
            log(log_level::info, "aborting ", escape_for_terminal(u.name()), " to ", u.to().short_hex(), ": ", error);
            end_upload(key, error);
            return;
        }
        const auto offset = c->offset;
        const auto length = c->data.size();
        // The chunk's bytes move into the frame: no copy on the way out.
        if (!send(*to, std::move(*c))) {
            // Queue full: read the same bytes again on the next turn.
            u.unread(offset);
            uploads_blocked_ = true;
            return;
        }
        u.sent(offset, length, std::chrono::steady_clock::now());
        stats_.bytes_sent += length;
    }
}

void node::on_ack(remote_peer& from, const ack& a) {
    const upload_key key{from.id, a.transfer};
    auto it = uploads_.find(key);
    if (it == uploads_.end()) {
        return; // a late ACK for a finished or aborted upload
    }
    auto& u = it->second;
    const auto fast_before = u.fast_retransmits();
    if (auto problem = u.on_ack(a, std::chrono::steady_clock::now())) {
        protocol_error(&from, from.id.short_hex(), *problem);
        end_upload(key, *problem);
        return;
    }
    if (u.complete()) {
        ++stats_.uploads_done;
        erase_upload(key);
        return;
    }
    stats_.chunks_resent += u.fast_retransmits() - fast_before;
    pump(u);
}

void node::end_upload(const upload_key& key, std::optional<std::string> abort_reason) {
    if (abort_reason) {
        if (auto* to = find_peer(key.first)) {
            send(*to, abort_transfer{key.second, *abort_reason});
        }
    }
    erase_upload(key);
}

} // namespace p2p
