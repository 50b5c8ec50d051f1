// SPDX-License-Identifier: MIT
#include "p2p/core/download_table.hpp"

#include "p2p/core/folder_view.hpp"
#include "p2p/core/job_table.hpp"
#include "p2p/core/peer_table.hpp"
#include "p2p/core/rate_limit.hpp"
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"
#include "p2p/manifest.hpp"
#include "p2p/protocol.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace p2p::core {

namespace {

constexpr milliseconds progress_interval{200};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

} // namespace

download_table::download_table(core_state& state, steady_time now)
    : state_(state), limit_(make_rate_bucket(state.options.max_rate,
                                             rate_chunk_size(state.options.max_rate, state.options.chunk_size), now)) {}

bool download_table::may_ack(std::uint64_t bytes, steady_time now) {
    if (limit_.unlimited()) {
        return true;
    }
    limit_.charge(bytes, now);
    const auto paid = limit_.ready_at(0, now);
    if (paid <= now) {
        return true;
    }
    release_at_ = paid;
    return false;
}

void download_table::release_held(steady_time now) {
    for (auto& [transfer, d] : downloads_) {
        if (!d.holds_ack()) {
            continue;
        }
        if (auto* source = state_.peers->find(d.source)) {
            state_.peers->send(*source, d.release_ack(now));
            d.last_progress = now; // the source could send nothing while we held its ACK: its silence starts now
        }
    }
}

download* download_table::find(std::uint32_t transfer) {
    auto it = downloads_.find(transfer);
    return it == downloads_.end() ? nullptr : &it->second;
}

milliseconds download_table::request_repeat_interval() const {
    return std::clamp(std::chrono::duration_cast<milliseconds>(state_.options.transfer_timeout / 4), milliseconds(20),
                      milliseconds(500));
}

std::vector<remote_peer*> download_table::sources_for(const download& d) {
    std::vector<remote_peer*> out;
    for (auto& [id, p] : state_.peers->all()) {
        if (d.tried.contains(id) || !p.has_list || p.client) {
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

void download_table::start(const command::download& cmd, steady_time now) {
    const auto& req = cmd.request;
    download_finished failed{cmd.op, req.name, false, download_errc::none, "", peer_id{}, 0, 0, 0, 0, 0, {}, {}, {}, 0};
    const auto refuse = [&](download_errc code, std::string error) {
        failed.code = code;
        failed.error = std::move(error);
        state_.out.emit(failed);
    };
    if (state_.stopping) {
        return refuse(download_errc::cancelled, "the peer is shutting down");
    }
    if (auto problem = file_path_problem(req.name)) {
        return refuse(download_errc::bad_name, "invalid file name: " + *problem);
    }
    // Everything on our disk goes by the name it is saved as: the existing file, the partial file, the final rename.
    const auto& local_name = req.save_as.empty() ? req.name : req.save_as;
    if (auto problem = file_path_problem(local_name)) {
        return refuse(download_errc::bad_name, "invalid name to save as: " + *problem);
    }
    auto& disk = state_.folder->disk();
    if (!req.replace && disk.exists(local_name)) {
        return refuse(download_errc::exists, "File " + local_name + " already exists in " +
                                                 state_.options.folder.string() + "; not overwritten");
    }
    for (const auto& [transfer, d] : downloads_) {
        if (d.local_name() == local_name) {
            return refuse(download_errc::exists, "already downloading " + local_name);
        }
    }
    remote_peer* source = nullptr;
    if (!req.from.empty()) {
        const auto prefix = lower(req.from);
        std::vector<remote_peer*> matches;
        for (auto& [id, p] : state_.peers->all()) {
            if (p.has_list && !p.client && id.hex().starts_with(prefix)) {
                matches.push_back(&p);
            }
        }
        if (matches.empty()) {
            return refuse(download_errc::no_source, "No peer with id " + req.from);
        }
        if (matches.size() > 1) {
            return refuse(download_errc::no_source, "Peer id " + req.from + " is ambiguous; give more digits");
        }
        source = matches.front();
    }
    const auto window = req.window.value_or(state_.options.window);
    // Under a rate limit, chunks small enough that an ACK is never held long.
    const auto chunk_size = rate_chunk_size(
        state_.options.max_rate, std::clamp<std::uint32_t>(req.chunk_size.value_or(state_.options.chunk_size),
                                                           protocol::min_chunk_size, protocol::max_chunk_size));
    const auto transfer = next_transfer_++;
    auto [it, inserted] =
        downloads_.try_emplace(transfer, cmd.op, transfer, req.name, local_name, req.replace, window, chunk_size, now);
    auto& d = it->second;
    d.limit_rate(state_.options.max_rate);
    d.from = req.from;
    if (source == nullptr) {
        auto candidates = sources_for(d);
        if (candidates.empty()) {
            downloads_.erase(it);
            return refuse(download_errc::no_source, "No peer has " + req.name);
        }
        source = candidates.front();
    }
    d.source = source->id;
    if (const auto* listed = source->find_file(req.name)) {
        d.expected_size = listed->size;
    }
    // Resume: a partial file of the same name and size from an earlier run. Its bytes are hashed in a job, then
    // the REQUEST asks only for the rest; the OFFER's hash tells whether they are still the right bytes.
    if (auto partial = disk.find_partial(local_name);
        partial && partial->length > 0 && partial->length <= partial->size && partial->size <= max_file_size &&
        (!d.expected_size || *d.expected_size == partial->size)) {
        auto opened = disk.open_partial(local_name, true);
        if (auto* file = std::get_if<std::shared_ptr<file_handle>>(&opened)) {
            d.begin_preparing();
            d.resumed_from = partial->length;
            // The journal vouches for its first pieces: only the bytes after them are read again.
            auto journal = disk.open_journal(local_name, true);
            auto* journal_file = std::get_if<std::shared_ptr<file_handle>>(&journal);
            state_.jobs->start_resume_hash(transfer, std::move(*file), journal_file ? *journal_file : nullptr,
                                           *partial);
            return;
        }
    }
    request_from(d, *source, now);
}

void download_table::cancel(const command::cancel& cmd, steady_time now) {
    for (auto& [transfer, d] : downloads_) {
        if (d.op() == cmd.op) {
            // The partial file stays (hidden) so that the same download later resumes it.
            fail(d, download_errc::cancelled, "cancelled", source_state::serving, now);
            return;
        }
    }
}

void download_table::request_from(download& d, remote_peer& source, steady_time now) {
    d.source = source.id;
    if (d.current_phase() == download::phase::preparing) {
        // The partial file is still being hashed: the REQUEST goes when the hash is done, from where the partial
        // ends. Asking now would start from byte 0 and the hash result would then skip the bytes in between.
        return;
    }
    state_.peers->send(source, d.ask(now));
}

void download_table::on_resume_hashed(std::uint32_t transfer, const partial_download& partial, const job_result& result,
                                      steady_time now) {
    auto* d = find(transfer);
    if (d == nullptr || d->current_phase() != download::phase::preparing) {
        return;
    }
    d->resume_from(partial, result, now);
    auto* source = state_.peers->find(d->source);
    if (source == nullptr) {
        fail_over(*d, "peer " + d->source.short_hex() + " left", download_errc::source_left, source_state::ended, now);
        return;
    }
    request_from(*d, *source, now);
}

void download_table::on_preparing(remote_peer& from, const preparing& p, steady_time now) {
    auto* d = find(p.transfer);
    if (d == nullptr || d->source != from.id || d->current_phase() != download::phase::requesting) {
        return;
    }
    // The source is alive and hashing: that is progress, so neither the transfer timeout nor a failover fires.
    d->last_progress = now;
    log(log_level::debug, "peer ", from.id.short_hex(), " is hashing ", escape_for_terminal(d->name()), " (", p.size,
        " bytes)");
}

void download_table::on_offer(remote_peer& from, const offer& o, steady_time now) {
    auto* d = find(o.transfer);
    if (d == nullptr || d->source != from.id) {
        if (o.transfer >= next_transfer_) {
            state_.peers->refuse(&from, from.id.short_hex(), "OFFER for a transfer never requested", now);
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
                  download_errc::aborted, source_state::serving, now);
        return;
    }
    bool restarted = false;
    if (auto problem = d->accept_offer(o, state_.folder->disk(), restarted)) {
        if (problem->whose == download::offer_problem::kind::source) {
            fail_over(*d, "peer " + from.id.short_hex() + " " + problem->text, download_errc::aborted,
                      source_state::serving, now);
        } else {
            fail(*d, download_errc::io, problem->text, source_state::serving, now);
        }
        return;
    }
    d->last_progress = now;
    if (restarted) {
        // Our partial bytes were of another version: everything again, from zero.
        log(log_level::info, "partial ", escape_for_terminal(d->name()), " is of another version; starting over");
        request_from(*d, from, now);
        return;
    }
    if (d->needs_manifest()) {
        // The leaves come while the chunks do; pieces complete before their leaf are checked when it arrives.
        state_.peers->send(from, d->next_manifest_request());
    }
    check_pieces(*d, from, now); // an empty file, or a resume that already holds every byte, may be done now
}

void download_table::on_manifest(remote_peer& from, const manifest_page& page, steady_time now) {
    auto* d = find(page.transfer);
    if (d == nullptr || d->source != from.id || !d->offered()) {
        if (page.transfer >= next_transfer_) {
            state_.peers->refuse(&from, from.id.short_hex(), "MANIFEST for a transfer never requested", now);
        }
        return;
    }
    std::string error;
    switch (d->add_manifest_page(page, error)) {
    case download::page_result::ignored:
        return;
    case download::page_result::more:
        d->last_progress = now;
        state_.peers->send(from, d->next_manifest_request());
        return;
    case download::page_result::bad:
        fail_over(*d, "peer " + from.id.short_hex() + " " + error + " for " + escape_for_terminal(d->name()),
                  download_errc::integrity, source_state::serving, now);
        return;
    case download::page_result::complete:
        d->last_progress = now;
        if (d->current_phase() == download::phase::receiving) {
            check_pieces(*d, from, now);
        }
        return;
    }
}

void download_table::check_pieces(download& d, remote_peer& from, steady_time now) {
    const auto bad = d.check_pieces();
    if (!bad) {
        if (d.current_phase() == download::phase::finishing) {
            begin_finishing(d);
        } else {
            journal_pieces(d);
        }
        return;
    }
    const auto name = escape_for_terminal(d.name());
    if (bad->from_source) {
        ++state_.stats.bad_pieces;
        // Once may be a flipped bit on the way; twice is a holder that serves other bytes than it describes.
        if (++d.bad_pieces[from.id] >= 2) {
            bool other_source = false;
            if (d.from.empty()) {
                for (const auto* p : sources_for(d)) {
                    other_source = other_source || p->id != from.id;
                }
            }
            if (!other_source) {
                // The download fails: nothing the liar sent is kept for a resume.
                d.remove_partial(state_.folder->disk());
            }
            fail_over(d,
                      "peer " + from.id.short_hex() + " sent 2 pieces of " + name +
                          " that do not match its manifest; it is dropped for this file",
                      download_errc::integrity, source_state::serving, now);
            return;
        }
        log(log_level::info, "piece ", bad->index, " of ", name, " from peer ", from.id.short_hex(),
            " does not match its leaf; asking for it again");
    } else {
        log(log_level::info, "piece ", bad->index, " of the partial ", name, " is damaged; fetching it again");
    }
    state_.peers->send(from, d.ask(now));
}

void download_table::on_chunk(remote_peer& from, chunk& c, steady_time now) {
    auto* d = find(c.transfer);
    if (d == nullptr || d->source != from.id || d->current_phase() != download::phase::receiving) {
        // Late chunks of a finished, failed-over or restarted transfer are normal; chunks we never asked for are not.
        if (c.transfer >= next_transfer_) {
            state_.peers->refuse(&from, from.id.short_hex(), "CHUNK for a transfer never requested", now);
        }
        return;
    }
    std::string error;
    switch (d->check(c, error)) {
    case download::chunk_result::accepted: {
        // ACK before writing: the sender reads and sends the next chunk while we write and hash this one, so even
        // stop-and-wait keeps both ends busy. Should the write fail, the CANCEL below ends the transfer anyway.
        // Under a rate limit the ACK waits until the bytes are paid for; not the last chunk's, though: nothing
        // more can come for it, and the holder ends its upload on it (the debt stays for what comes next).
        if (may_ack(c.data.size(), now) || c.last) {
            state_.peers->send(from, d->make_ack_after(c, now));
        } else {
            d->hold_ack_after(c, now);
        }
        state_.charge_download = d->transfer(); // the time writing and hashing it takes is this download's
        if (!d->store(c, error)) {
            d->remove_partial(state_.folder->disk());
            fail(*d, download_errc::io, error, source_state::serving, now);
            return;
        }
        state_.stats.bytes_received += c.data.size();
        d->last_progress = now;
        const auto transfer = d->transfer();
        check_pieces(*d, from, now);
        // A second bad piece may have ended the download (it is gone then), or a bad one was asked for again.
        d = find(transfer);
        if (d == nullptr || d->current_phase() != download::phase::receiving) {
            return;
        }
        if (now - d->last_progress_event >= progress_interval) {
            d->last_progress_event = now;
            state_.out.emit(download_progress{d->op(), d->name(), from.id, d->next_offset(), d->size(), {}});
        }
        return;
    }
    case download::chunk_result::duplicate:
    case download::chunk_result::out_of_order:
        log(log_level::debug, "chunk at ", c.offset, " while expecting ", d->next_offset(), ": ACK again");
        // Tell the sender again where we are; it resends from there (go-back-N). The bytes came all the same: under
        // a rate limit they are paid for first, and an ACK held already will say it.
        if (!may_ack(c.data.size(), now) || d->holds_ack()) {
            d->hold_ack();
            return;
        }
        state_.peers->send(from, d->make_ack(now));
        return;
    case download::chunk_result::rejected:
        d->remove_partial(state_.folder->disk());
        fail(*d, download_errc::integrity, error, source_state::serving, now);
        return;
    }
}

void download_table::charge(std::uint32_t transfer, std::chrono::nanoseconds spent) {
    if (auto* d = find(transfer)) {
        d->window().worked(spent);
    }
}

void download_table::on_refused(remote_peer& from, std::uint32_t transfer, std::string reason, download_errc code,
                                steady_time now) {
    auto* d = find(transfer);
    if (d == nullptr || d->source != from.id) {
        return;
    }
    fail_over(*d, std::move(reason), code, source_state::ended, now);
}

void download_table::on_peer_gone(peer_id id, bool said_goodbye, steady_time now) {
    std::vector<std::uint32_t> affected;
    for (auto& [transfer, d] : downloads_) {
        // A download that is finishing has every byte: its source leaving changes nothing.
        if (d.source == id && d.current_phase() != download::phase::finishing) {
            affected.push_back(transfer);
        }
    }
    for (auto transfer : affected) {
        if (auto* d = find(transfer)) {
            fail_over(
                *d, said_goodbye ? "peer " + id.short_hex() + " left" : "peer " + id.short_hex() + " is not reachable",
                download_errc::source_left, source_state::ended, now);
        }
    }
}

void download_table::release_source(download& d, source_state state, const std::string& reason) {
    // One CANCEL per source we leave, and only to one that may still be sending: a source that refused, aborted
    // or left needs none, and neither does one whose every byte we have, nor one not asked yet (preparing).
    if (state == source_state::ended || d.current_phase() == download::phase::finishing ||
        d.current_phase() == download::phase::preparing) {
        return;
    }
    if (auto* source = state_.peers->find(d.source)) {
        state_.peers->send(*source, cancel_transfer{d.transfer(), clip_utf8(reason, protocol::max_reason_bytes)});
    }
}

void download_table::fail_over(download& d, std::string reason, download_errc code, source_state state,
                               steady_time now) {
    if (d.current_phase() == download::phase::finishing) {
        return; // every byte is in: no source is needed any more, whatever it says
    }
    release_source(d, state, reason);
    d.tried.insert(d.source);
    if (d.from.empty() && !state_.stopping) {
        auto candidates = sources_for(d);
        if (!candidates.empty()) {
            log(log_level::info, escape_for_terminal(d.name()), ": ", escape_for_terminal(reason),
                "; continuing from byte ", d.next_offset(), " with peer ", candidates.front()->id.short_hex());
            request_from(d, *candidates.front(), now);
            return;
        }
        if (d.tried.size() > 1) {
            reason += "; no other peer has the file";
        }
    }
    fail(d, code, std::move(reason), source_state::ended, now);
}

void download_table::fail(download& d, download_errc code, std::string error, source_state state, steady_time now) {
    const auto seconds = std::chrono::duration<double>(now - d.started).count();
    release_source(d, state, error);
    state_.jobs->forget_download(d.transfer());
    const auto figures = d.window().figures();
    download_finished done{
        d.op(),         d.name(), false,       code,    std::move(error),    d.source, d.size(), d.bytes_received,
        d.resumed_from, seconds,  d.rechecked, figures, name_limit(figures), {},       0};
    downloads_.erase(d.transfer());
    state_.out.emit(std::move(done));
}

void download_table::journal_pieces(download& d) {
    if (auto problem = d.record_checked_pieces()) {
        log(log_level::debug, "journal of ", escape_for_terminal(d.name()), " not written (", *problem,
            "); a resume will re-read its partial file");
    }
    const auto min_pieces =
        std::max<std::uint64_t>(1, journal_batch(d.size()) / std::max<std::uint32_t>(d.piece_size(), 1));
    if (auto work = d.next_journal_write(min_pieces)) {
        state_.jobs->start_journal(d.transfer(), std::move(*work));
    }
}

void download_table::on_journaled(std::uint32_t transfer, std::uint64_t durable, const job_result& result) {
    auto* d = find(transfer);
    if (d == nullptr) {
        return;
    }
    if (!result.ok) {
        log(log_level::debug, "journal of ", escape_for_terminal(d->name()), " not written (", result.error,
            "); a resume will re-read its partial file");
    }
    d->journal_written(durable, result.ok);
    journal_pieces(*d); // pieces checked meanwhile
}

void download_table::begin_finishing(download& d) {
    // The sync of a large file can take seconds: a job does it, then on_synced renames.
    sync_waiting_.push_back(d.transfer());
    start_sync_batch();
}

void download_table::start_sync_batch() {
    if (sync_running_) {
        return; // the downloads wait for the next batch, started when this one is back
    }
    std::vector<std::uint32_t> transfers;
    std::vector<std::shared_ptr<file_handle>> files;
    for (const auto transfer : sync_waiting_) {
        if (auto* d = find(transfer); d != nullptr && d->current_phase() == download::phase::finishing) {
            transfers.push_back(transfer);
            files.push_back(d->file());
        }
    }
    sync_waiting_.clear();
    if (transfers.empty()) {
        return;
    }
    sync_running_ = true;
    state_.jobs->start_sync(std::move(transfers), std::move(files));
}

void download_table::on_synced(const std::vector<std::uint32_t>& transfers, const job_result& result, steady_time now) {
    sync_running_ = false;
    std::vector<download_finished> placed;
    std::set<std::string> folders;
    for (const auto transfer : transfers) {
        auto* d = find(transfer);
        if (d == nullptr || d->current_phase() != download::phase::finishing) {
            continue;
        }
        const auto name = d->local_name();
        if (auto done = place(*d, result, now)) {
            placed.push_back(std::move(*done));
            downloads_.erase(transfer);
            // One folder sync makes every rename in it durable: once per folder of the batch.
            const auto slash = name.rfind('/');
            if (folders.insert(slash == std::string::npos ? std::string() : name.substr(0, slash)).second) {
                state_.folder->disk().sync_folder_of(name);
            }
        }
    }
    // Reported only now: a download said to be done is durable under its name.
    for (auto& done : placed) {
        state_.out.emit(std::move(done));
    }
    start_sync_batch();
}

std::optional<download_finished> download_table::place(download& d, const job_result& result, steady_time now) {
    auto& disk = state_.folder->disk();
    if (!result.ok) {
        d.remove_partial(disk);
        fail(d, download_errc::io, result.error, source_state::ended, now);
        return std::nullopt;
    }
    auto code = download_errc::none;
    if (auto problem = d.finish(disk, code)) {
        fail(d, code, *problem, source_state::ended, now);
        return std::nullopt;
    }
    state_.folder->landed(d.local_name(), d.checked_manifest(), now); // list the new file to everyone now
    const auto seconds = std::chrono::duration<double>(now - d.started).count();
    const auto figures = d.window().figures();
    return download_finished{
        d.op(),  d.name(),    true,    download_errc::none, "", d.source, d.size(), d.bytes_received, d.resumed_from,
        seconds, d.rechecked, figures, name_limit(figures), {}, 0};
}

void download_table::end_all(steady_time now) {
    std::vector<std::uint32_t> all;
    for (const auto& [transfer, d] : downloads_) {
        all.push_back(transfer);
    }
    for (auto transfer : all) {
        if (auto* d = find(transfer)) {
            // The partial file stays (hidden) so that the next start can resume it.
            fail(*d, download_errc::cancelled, "cancelled: the peer is shutting down", source_state::serving, now);
        }
    }
}

std::vector<pending_transfer> download_table::in_flight() const {
    std::vector<pending_transfer> out;
    for (const auto& [transfer, d] : downloads_) {
        out.push_back(pending_transfer{false, d.source, d.name(), d.next_offset(), d.size()});
    }
    return out;
}

std::optional<steady_time> download_table::deadline(const download& d) const {
    // Preparing and finishing wait for a job, not for a peer: no timer of ours runs then. The wake-up and the
    // handler both ask this one function, so they cannot disagree (they once did, and the loop spun).
    switch (d.current_phase()) {
    case download::phase::preparing:
    case download::phase::finishing:
        return std::nullopt;
    case download::phase::requesting:
        return std::min(d.last_progress + state_.options.transfer_timeout, d.last_request + request_repeat_interval());
    case download::phase::receiving:
        if (d.holds_ack()) {
            return std::nullopt; // the source waits for us (release_at_), not we for it
        }
        return d.last_progress + state_.options.transfer_timeout;
    }
    return std::nullopt;
}

std::optional<steady_time> download_table::next_deadline() const {
    std::optional<steady_time> next = release_at_;
    for (const auto& [transfer, d] : downloads_) {
        if (auto due = deadline(d)) {
            next = next ? std::min(*next, *due) : *due;
        }
    }
    return next;
}

void download_table::on_deadline(steady_time now) {
    if (release_at_ && now >= *release_at_) {
        release_at_.reset();
        if (const auto paid = limit_.ready_at(0, now); paid > now) {
            release_at_ = paid; // (not before the debt is paid: a later charge moved it)
        } else {
            release_held(now);
        }
    }
    // Resend unanswered REQUESTs; fail over when a source stalls.
    std::vector<std::uint32_t> stalled;
    for (auto& [transfer, d] : downloads_) {
        const auto due = deadline(d);
        if (!due || now < *due) {
            continue;
        }
        if (now - d.last_progress >= state_.options.transfer_timeout) {
            stalled.push_back(transfer);
        } else if (d.current_phase() == download::phase::requesting &&
                   now - d.last_request >= request_repeat_interval()) {
            if (auto* source = state_.peers->find(d.source)) {
                // The same REQUEST again (ask() keeps the offset); the timeout still runs from the last progress.
                const auto progress = d.last_progress;
                state_.peers->send(*source, d.ask(now));
                d.last_progress = progress;
            }
        }
    }
    for (auto transfer : stalled) {
        if (auto* d = find(transfer)) {
            const auto seconds = std::chrono::duration<double>(state_.options.transfer_timeout).count();
            fail_over(*d,
                      "peer " + d->source.short_hex() + " stopped answering (nothing for " +
                          std::to_string(seconds).substr(0, 4) + " s)",
                      download_errc::stalled, source_state::serving, now);
        }
    }
}

} // namespace p2p::core
