// SPDX-License-Identifier: MIT
// node_downloads.cpp - downloading: choosing a source, resume, in-order writes with ACKs, failover, atomic finish.
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"
#include "p2p/node.hpp"
#include "p2p/pipe.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cctype>

namespace p2p {

namespace {
constexpr std::chrono::milliseconds progress_interval{200};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}
} // namespace

download* node::find_download(std::uint32_t transfer) {
    auto it = downloads_.find(transfer);
    return it == downloads_.end() ? nullptr : &it->second;
}

std::vector<remote_peer*> node::sources_for(const download& d) {
    std::vector<remote_peer*> out;
    for (auto& [id, p] : peers_) {
        if (d.tried.contains(id) || !p.has_list) {
            continue;
        }
        const auto* entry = p.find_file(d.name());
        if (entry == nullptr || (d.offered() && entry->size != d.size())) {
            continue;
        }
        out.push_back(&p);
    }
    std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->join_order < b->join_order; });
    return out;
}

void node::start_download(const command::download& cmd) {
    const auto& req = cmd.request;
    download_finished failed{cmd.op, req.name, false, download_errc::none, "", peer_id{}, 0, 0, 0, 0};
    const auto fail = [&](download_errc code, std::string error) {
        failed.code = code;
        failed.error = std::move(error);
        output(node_output{event{failed}});
    };
    if (stopping_) {
        return fail(download_errc::cancelled, "the peer is shutting down");
    }
    if (auto problem = file_name_problem(req.name)) {
        return fail(download_errc::bad_name, "invalid file name: " + *problem);
    }
    if (catalog_.exists(req.name)) {
        return fail(download_errc::exists,
                    "File " + req.name + " already exists in " + catalog_.folder().string() + "; not overwritten");
    }
    for (const auto& [transfer, d] : downloads_) {
        if (d.name() == req.name) {
            return fail(download_errc::exists, "already downloading " + req.name);
        }
    }
    remote_peer* source = nullptr;
    if (!req.from.empty()) {
        const auto prefix = lower(req.from);
        std::vector<remote_peer*> matches;
        for (auto& [id, p] : peers_) {
            if (p.has_list && id.hex().starts_with(prefix)) {
                matches.push_back(&p);
            }
        }
        if (matches.empty()) {
            return fail(download_errc::no_source, "No peer with id " + req.from);
        }
        if (matches.size() > 1) {
            return fail(download_errc::no_source, "Peer id " + req.from + " is ambiguous; give more digits");
        }
        source = matches.front();
    }
    const auto window = std::clamp<std::uint32_t>(req.window.value_or(options_.window), 1, protocol::max_window);
    const auto chunk_size = std::clamp<std::uint32_t>(req.chunk_size.value_or(options_.chunk_size),
                                                      protocol::min_chunk_size, protocol::max_chunk_size);
    const auto now = std::chrono::steady_clock::now();
    const auto transfer = next_transfer_++;
    auto [it, inserted] = downloads_.try_emplace(transfer, cmd.op, transfer, req.name, window, chunk_size, now);
    auto& d = it->second;
    d.from = req.from;
    if (source == nullptr) {
        auto candidates = sources_for(d);
        if (candidates.empty()) {
            downloads_.erase(it);
            return fail(download_errc::no_source, "No peer has " + req.name);
        }
        source = candidates.front();
    }
    d.source = source->id;
    if (const auto* listed = source->find_file(req.name)) {
        d.expected_size = listed->size;
    }
    // Resume: a partial file of the same name and size from an earlier run. Its bytes are hashed in the worker,
    // then the REQUEST asks only for the rest; the OFFER's hash tells whether they are still the right bytes.
    if (auto partial = find_partial(catalog_.dir_fd(), req.name);
        partial && partial->length > 0 && (!d.expected_size || *d.expected_size == partial->size)) {
        unique_fd fd(
            ::openat(catalog_.dir_fd(), partial_file_name(req.name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (fd) {
            d.set_phase(download::phase::preparing);
            d.resumed_from = partial->length;
            resume_jobs_[worker_.submit(io_worker::hash_job{std::move(fd), partial->length})] = transfer;
            partial_by_transfer_[transfer] = *partial;
            return;
        }
    }
    request_from(d, *source);
}

void node::cancel_download(const command::cancel& cmd) {
    for (auto& [transfer, d] : downloads_) {
        if (d.op() == cmd.op) {
            // The partial file stays (hidden) so that the same download later resumes it.
            fail_download(d, download_errc::cancelled, "cancelled");
            return;
        }
    }
}

void node::request_from(download& d, remote_peer& source) {
    const auto now = std::chrono::steady_clock::now();
    d.source = source.id;
    if (d.current_phase() == download::phase::preparing) {
        // The partial file is still being hashed: the REQUEST goes when the hash is done, from where the partial
        // ends. Asking now would start from byte 0 and the hash result would then skip the bytes in between.
        return;
    }
    d.set_phase(download::phase::requesting);
    d.last_request = d.last_progress = now;
    send(source, d.make_request());
}

void node::on_preparing(remote_peer& from, const preparing& p) {
    auto* d = find_download(p.transfer);
    if (d == nullptr || d->source != from.id || d->current_phase() != download::phase::requesting) {
        return;
    }
    // The source is alive and hashing: that is progress, so neither the transfer timeout nor a failover fires.
    d->last_progress = std::chrono::steady_clock::now();
    log(log_level::debug, "peer ", from.id.short_hex(), " is hashing ", escape_for_terminal(d->name()), " (", p.size,
        " bytes)");
}

void node::on_offer(remote_peer& from, const offer& o) {
    auto* d = find_download(o.transfer);
    if (d == nullptr || d->source != from.id) {
        if (o.transfer >= next_transfer_) {
            protocol_error(&from, from.id.short_hex(), "OFFER for a transfer never requested");
        }
        return;
    }
    if (d->current_phase() != download::phase::requesting) {
        return; // a second OFFER for a REQUEST we sent twice
    }
    if (const auto* listed = from.find_file(d->name()); listed != nullptr && listed->size != o.size) {
        // The holder serves another version than the one it lists (or lies): its bytes are not what was chosen.
        fail_over(*d,
                  "peer " + from.id.short_hex() + " offered " + std::to_string(o.size) + " bytes of " +
                      escape_for_terminal(d->name()) + " but lists " + std::to_string(listed->size),
                  download_errc::aborted, source_state::serving);
        return;
    }
    bool restarted = false;
    if (auto problem = d->accept_offer(o, catalog_.dir_fd(), restarted)) {
        if (problem->whose == download::offer_problem::kind::source) {
            fail_over(*d, "peer " + from.id.short_hex() + " " + problem->text, download_errc::aborted,
                      source_state::serving);
        } else {
            fail_download(*d, download_errc::io, problem->text);
        }
        return;
    }
    d->last_progress = std::chrono::steady_clock::now();
    if (restarted) {
        // Our partial bytes were of another version: everything again, from zero.
        log(log_level::info, "partial ", escape_for_terminal(d->name()), " is of another version; starting over");
        request_from(*d, from);
    }
    d->set_phase(download::phase::receiving);
    if (d->all_written()) {
        complete_download(*d);
    }
}

void node::on_chunk(remote_peer& from, chunk& c) {
    auto* d = find_download(c.transfer);
    if (d == nullptr || d->source != from.id || d->current_phase() != download::phase::receiving) {
        // Late chunks of a finished, failed-over or restarted transfer are normal; chunks we never asked for are not.
        if (c.transfer >= next_transfer_) {
            protocol_error(&from, from.id.short_hex(), "CHUNK for a transfer never requested");
        }
        return;
    }
    std::string error;
    switch (d->check(c, error)) {
    case download::chunk_result::accepted: {
        // ACK before writing: the sender reads and sends the next chunk while we write and hash this one, so even
        // stop-and-wait keeps both ends busy. Should the write fail, the ABORT below ends the transfer anyway.
        send(from, d->make_ack_after(c));
        if (!d->store(c, error)) {
            d->remove_partial(catalog_.dir_fd());
            fail_download(*d, download_errc::io, error);
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        stats_.bytes_received += c.data.size();
        d->last_progress = now;
        if (d->all_written()) {
            complete_download(*d);
            return;
        }
        if (now - d->last_progress_event >= progress_interval) {
            d->last_progress_event = now;
            output(node_output{event{download_progress{d->op(), d->name(), from.id, d->next_offset(), d->size()}}});
        }
        return;
    }
    case download::chunk_result::duplicate:
    case download::chunk_result::out_of_order:
        log(log_level::debug, "chunk at ", c.offset, " while expecting ", d->next_offset(), ": ACK again");
        // Tell the sender again where we are; it resends from there (go-back-N).
        send(from, d->make_ack());
        return;
    case download::chunk_result::rejected:
        d->remove_partial(catalog_.dir_fd());
        fail_download(*d, download_errc::integrity, error);
        return;
    }
}

void node::on_transfer_refused(remote_peer& from, std::uint32_t transfer, std::string reason, download_errc code) {
    auto* d = find_download(transfer);
    if (d == nullptr || d->source != from.id) {
        return;
    }
    fail_over(*d, std::move(reason), code, source_state::ended);
}

void node::release_source(download& d, source_state state, const std::string& reason) {
    // One CANCEL per source we leave, and only to one that may still be sending: a source that refused, aborted
    // or left needs none, and neither does one whose every byte we have.
    if (state == source_state::ended || d.current_phase() == download::phase::finishing ||
        d.current_phase() == download::phase::preparing) {
        return; // nothing asked yet while preparing
    }
    if (auto* source = find_peer(d.source)) {
        send(*source, cancel_transfer{d.transfer(), clip_utf8(reason, protocol::max_reason_bytes)});
    }
}

void node::fail_over(download& d, std::string reason, download_errc code, source_state state) {
    release_source(d, state, reason);
    d.tried.insert(d.source);
    if (d.from.empty() && !stopping_) {
        auto candidates = sources_for(d);
        if (!candidates.empty()) {
            log(log_level::info, escape_for_terminal(d.name()), ": ", escape_for_terminal(reason),
                "; continuing from byte ", d.next_offset(), " with peer ", candidates.front()->id.short_hex());
            request_from(d, *candidates.front());
            return;
        }
        if (d.tried.size() > 1) {
            reason += "; no other peer has the file";
        }
    }
    fail_download(d, code, std::move(reason), source_state::ended);
}

void node::fail_download(download& d, download_errc code, std::string error, source_state state) {
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - d.started).count();
    release_source(d, state, error);
    download_finished done{d.op(),   d.name(),         false,          code,   std::move(error), d.source,
                           d.size(), d.bytes_received, d.resumed_from, seconds};
    partial_by_transfer_.erase(d.transfer());
    downloads_.erase(d.transfer());
    output(node_output{event{std::move(done)}});
}

void node::complete_download(download& d) {
    // The fsync of a large file can take seconds: the worker does it, then on_worker_results renames.
    d.set_phase(download::phase::finishing);
    fsync_jobs_[worker_.submit(io_worker::fsync_job{d.dup_fd()})] = d.transfer();
}

void node::on_worker_results() {
    for (auto& result : worker_.take_results()) {
        if (auto it = hash_jobs_.find(result.job); it != hash_jobs_.end()) {
            auto entry = std::move(it->second);
            hash_jobs_.erase(it);
            std::optional<digest> hash;
            if (result.ok) {
                hash = result.state->final();
            }
            for (const auto& key : entry.waiters) {
                auto up = uploads_.find(key);
                if (up == uploads_.end()) {
                    continue; // the receiver went away meanwhile
                }
                auto& u = up->second;
                struct ::stat st {};
                if (!hash || ::fstat(u.fd(), &st) != 0 || !(file_stat::of(st) == u.stat())) {
                    end_upload(key, hash ? std::string("file changed while being hashed") : result.error);
                    continue;
                }
                catalog_.remember_hash(u.name(), u.stat(), *hash);
                start_sending(u, *hash);
            }
        } else if (auto rj = resume_jobs_.find(result.job); rj != resume_jobs_.end()) {
            const auto transfer = rj->second;
            resume_jobs_.erase(rj);
            auto* d = find_download(transfer);
            if (d == nullptr || d->current_phase() != download::phase::preparing) {
                continue;
            }
            auto partial = partial_by_transfer_[transfer];
            partial_by_transfer_.erase(transfer);
            if (result.ok) {
                d->resume_from(partial, *result.state);
            } else {
                d->resumed_from = 0; // unreadable partial: start from zero, it will be replaced
            }
            d->set_phase(download::phase::requesting);
            auto* source = find_peer(d->source);
            if (source == nullptr) {
                fail_over(*d, "peer " + d->source.short_hex() + " left", download_errc::source_left,
                          source_state::ended);
                continue;
            }
            request_from(*d, *source);
        } else if (auto fj = fsync_jobs_.find(result.job); fj != fsync_jobs_.end()) {
            const auto transfer = fj->second;
            fsync_jobs_.erase(fj);
            auto* d = find_download(transfer);
            if (d == nullptr) {
                continue;
            }
            if (!result.ok) {
                d->remove_partial(catalog_.dir_fd());
                fail_download(*d, download_errc::io, result.error);
                continue;
            }
            auto code = download_errc::none;
            if (auto problem = d->finish(catalog_.dir_fd(), code)) {
                fail_download(*d, code, *problem);
                continue;
            }
            const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - d->started).count();
            download_finished done{
                d->op(),           d->name(),       true,   download_errc::none, "", d->source, d->size(),
                d->bytes_received, d->resumed_from, seconds};
            downloads_.erase(transfer);
            output(node_output{event{std::move(done)}});
            rescan_at_ = std::chrono::steady_clock::now(); // list the new file to everyone now
        }
    }
}

} // namespace p2p
