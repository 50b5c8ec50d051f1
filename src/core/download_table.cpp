// SPDX-License-Identifier: MIT
#include "p2p/core/download_table.hpp"

#include "p2p/core/check.hpp"
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
    for (auto& [id, d] : downloads_) {
        for (auto& [transfer, l] : d.lanes()) {
            if (!l.ack_held) {
                continue;
            }
            if (auto* holder = state_.peers->find(l.holder)) {
                state_.peers->send(*holder, d.make_ack(l, now));
                l.last_progress = now; // the holder could send nothing while we held its ACK: its silence starts now
            }
        }
    }
}

download* download_table::find(std::uint32_t id) {
    auto it = downloads_.find(id);
    return it == downloads_.end() ? nullptr : &it->second;
}

std::pair<download*, download_lane*> download_table::find_lane(std::uint32_t transfer, peer_id from) {
    auto owner = lane_owner_.find(transfer);
    if (owner == lane_owner_.end()) {
        return {nullptr, nullptr};
    }
    auto* d = find(owner->second);
    auto* l = d == nullptr ? nullptr : d->lane(transfer);
    if (l == nullptr || l->holder != from) {
        return {nullptr, nullptr};
    }
    return {d, l};
}

milliseconds download_table::request_repeat_interval() const {
    return std::clamp(std::chrono::duration_cast<milliseconds>(state_.options.transfer_timeout / 4), milliseconds(20),
                      milliseconds(500));
}

std::vector<remote_peer*> download_table::sources_for(download& d) {
    std::vector<remote_peer*> out;
    for (auto& [id, p] : state_.peers->all()) {
        if (d.tried.contains(id) || d.resting.contains(id) || !p.has_list || p.client || d.lane_of(id) != nullptr) {
            continue;
        }
        const auto* entry = p.find_file(d.name());
        if (entry == nullptr) {
            continue;
        }
        if (d.offered() && (entry->size != d.size() || (entry->root && *entry->root != d.root()))) {
            continue; // another version: its pieces would not fit ours
        }
        if (!d.offered() && d.expected_root && entry->root && *entry->root != *d.expected_root) {
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
    for (const auto& [id, d] : downloads_) {
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
    const auto id = next_transfer_++;
    auto [it, inserted] =
        downloads_.try_emplace(id, cmd.op, id, req.name, local_name, req.replace, window, chunk_size, now);
    auto& d = it->second;
    d.limit_rate(state_.options.max_rate);
    d.from = req.from;
    if (source == nullptr) {
        auto candidates = sources_for(d);
        if (candidates.empty()) {
            downloads_.erase(it);
            return refuse(download_errc::no_source, "No peer has " + req.name);
        }
        // Holders of the same name with other content hold another file: the user chooses which one. A one-shot
        // client chooses among the holders it was given; one it was only led to (PEERS) brings pieces when it has
        // the same content and is left alone otherwise, so a stranger's file of that name never blocks a `get`.
        auto deciding = candidates;
        if (state_.options.client) {
            std::erase_if(deciding, [](const remote_peer* p) { return p->introduced; });
            if (deciding.empty()) {
                deciding.push_back(candidates.front());
            }
        }
        const auto* chosen = deciding.front()->find_file(req.name);
        std::string versions;
        for (const auto* p : deciding) {
            const auto* entry = p->find_file(req.name);
            if (entry->root && chosen->root && *entry->root != *chosen->root) {
                versions += ", peer " + p->id.short_hex() + " (" + std::to_string(entry->size) + " bytes)";
            }
        }
        if (!versions.empty()) {
            downloads_.erase(it);
            return refuse(download_errc::no_source,
                          escape_for_terminal(req.name) + " has different content at different peers: peer " +
                              deciding.front()->id.short_hex() + " (" + std::to_string(chosen->size) + " bytes)" +
                              versions + "; choose one by its peer id");
        }
        source = deciding.front();
    }
    if (const auto* listed = source->find_file(req.name)) {
        d.expected_size = listed->size;
        d.expected_root = listed->root;
    }
    lane_owner_[id] = id;
    auto& first = d.add_lane(source->id, id, next_join_++, now);
    // Resume: a partial file of the same name and size from an earlier run. Its bytes are hashed in a job, then
    // the REQUEST asks only for the rest; the OFFER's root tells whether they are still the right bytes.
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
            state_.jobs->start_resume_hash(id, std::move(*file), journal_file ? *journal_file : nullptr, *partial);
            return;
        }
    }
    d.assign(first, now);
    state_.peers->send(*source, d.ask(first, now));
}

void download_table::cancel(const command::cancel& cmd, steady_time now) {
    for (auto& [id, d] : downloads_) {
        if (d.op() == cmd.op) {
            // The partial file stays (hidden) so that the same download later resumes it.
            fail(d, download_errc::cancelled, "cancelled", source_state::serving, now);
            return;
        }
    }
}

void download_table::on_resume_hashed(std::uint32_t id, const partial_download& partial, const job_result& result,
                                      steady_time now) {
    auto* d = find(id);
    if (d == nullptr || d->current_phase() != download::phase::preparing) {
        return;
    }
    d->resume_from(partial, result, now);
    // The one lane waits for this: it asks from where the hashed bytes end.
    P2P_ASSERT(d->lanes().size() == 1);
    auto& l = d->lanes().begin()->second;
    auto* holder = state_.peers->find(l.holder);
    if (holder == nullptr) {
        drop_lane(*d, l, "peer " + l.holder.short_hex() + " left", download_errc::source_left, source_state::ended,
                  now);
        return;
    }
    d->assign(l, now);
    state_.peers->send(*holder, d->ask(l, now));
}

bool download_table::open_lane(download& d, remote_peer& holder, std::uint32_t transfer, steady_time now) {
    auto& l = d.add_lane(holder.id, transfer, next_join_++, now);
    if (d.current_phase() == download::phase::preparing) {
        // The partial file is still being hashed: the REQUEST goes when the hash is done, from where the partial
        // ends. Asking now would start from byte 0 and the hash result would then skip the bytes in between.
        lane_owner_[transfer] = d.id();
        return true;
    }
    if (!d.assign(l, now)) {
        d.remove_lane(transfer);
        return false;
    }
    lane_owner_[transfer] = d.id();
    state_.peers->send(holder, d.ask(l, now));
    return true;
}

void download_table::add_lanes(download& d, steady_time now) {
    if (!d.from.empty() || state_.stopping || d.current_phase() != download::phase::receiving ||
        d.size() <= d.piece_size()) {
        return; // one holder asked for by its id; or one piece: nothing to share out
    }
    for (auto* holder : sources_for(d)) {
        if (d.lanes().size() >= max_lanes || !open_lane(d, *holder, next_transfer_, now)) {
            return;
        }
        log(log_level::debug, escape_for_terminal(d.name()), ": peer ", holder->id.short_hex(), " joins as holder ",
            d.lanes().size());
        ++next_transfer_;
    }
}

void download_table::on_file_list(remote_peer& from, steady_time now) {
    if (from.client) {
        return;
    }
    std::vector<std::uint32_t> ids;
    for (const auto& [id, d] : downloads_) {
        if (d.current_phase() == download::phase::receiving) {
            ids.push_back(id);
        }
    }
    for (const auto id : ids) {
        if (auto* d = find(id); d != nullptr && from.find_file(d->name()) != nullptr) {
            add_lanes(*d, now);
        }
    }
}

void download_table::on_preparing(remote_peer& from, const preparing& p, steady_time now) {
    auto [d, l] = find_lane(p.transfer, from.id);
    if (d == nullptr || l->offered) {
        return;
    }
    // The holder is alive and hashing: that is progress, so neither the transfer timeout nor a failover fires.
    l->last_progress = now;
    log(log_level::debug, "peer ", from.id.short_hex(), " is hashing ", escape_for_terminal(d->name()), " (", p.size,
        " bytes)");
}

void download_table::on_offer(remote_peer& from, const offer& o, steady_time now) {
    auto [d, l] = find_lane(o.transfer, from.id);
    if (d == nullptr) {
        if (o.transfer >= next_transfer_) {
            state_.peers->refuse(&from, from.id.short_hex(), "OFFER for a transfer never requested", now);
        }
        return;
    }
    if (l->offered || d->current_phase() == download::phase::preparing ||
        d->current_phase() == download::phase::finishing) {
        return; // a second OFFER for a REQUEST we sent twice
    }
    if (const auto* listed = from.find_file(d->name()); listed != nullptr && listed->size != o.size) {
        // The holder serves another version than the one it lists (or lies): its bytes are not what was chosen.
        drop_lane(*d, *l,
                  "peer " + from.id.short_hex() + " offered " + std::to_string(o.size) + " bytes of " +
                      escape_for_terminal(d->name()) + " but lists " + std::to_string(listed->size),
                  download_errc::aborted, source_state::serving, now);
        return;
    }
    const bool first = !d->offered();
    bool restarted = false;
    if (auto problem = d->accept_offer(*l, o, state_.folder->disk(), restarted)) {
        if (problem->whose == download::offer_problem::kind::source) {
            drop_lane(*d, *l, "peer " + from.id.short_hex() + " " + problem->text, download_errc::aborted,
                      source_state::serving, now);
        } else {
            fail(*d, download_errc::io, problem->text, source_state::serving, now);
        }
        return;
    }
    l->last_progress = now;
    if (restarted) {
        // Our partial bytes were of another version: everything again, from zero.
        log(log_level::info, "partial ", escape_for_terminal(d->name()), " is of another version; starting over");
        state_.peers->send(from, d->ask(*l, now));
        return;
    }
    // The leaves come while the chunks do; pieces complete before their leaf are checked when it arrives.
    ask_manifest(*d);
    const auto id = d->id();
    check_pieces(*d, now); // an empty file, or a resume that already holds every byte, may be done now
    if (first) {
        if (auto* still = find(id); still != nullptr) {
            add_lanes(*still, now); // the size and pieces are known: every other holder can take its share
        }
    }
}

void download_table::ask_manifest(download& d) {
    if (!d.needs_manifest() || d.manifest_lane() != 0) {
        return;
    }
    for (auto& [transfer, l] : d.lanes()) {
        if (!l.offered) {
            continue;
        }
        if (auto* holder = state_.peers->find(l.holder)) {
            d.set_manifest_lane(transfer);
            state_.peers->send(*holder, d.next_manifest_request());
            return;
        }
    }
}

void download_table::on_manifest(remote_peer& from, const manifest_page& page, steady_time now) {
    auto [d, l] = find_lane(page.transfer, from.id);
    if (d == nullptr || !d->offered() || d->manifest_lane() != page.transfer) {
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
        l->last_progress = now;
        state_.peers->send(from, d->next_manifest_request());
        return;
    case download::page_result::bad:
        drop_lane(*d, *l, "peer " + from.id.short_hex() + " " + error + " for " + escape_for_terminal(d->name()),
                  download_errc::integrity, source_state::serving, now);
        return;
    case download::page_result::complete:
        l->last_progress = now;
        if (d->current_phase() == download::phase::receiving) {
            const auto id = d->id();
            check_pieces(*d, now);
            // A lane that had brought its range and stayed only for the leaves ends now.
            if (auto* still = find(id); still != nullptr && still->current_phase() == download::phase::receiving) {
                if (auto* kept = still->lane(page.transfer); kept != nullptr && kept->range_done()) {
                    next_range(*still, *kept, now);
                }
            }
        }
        return;
    }
}

void download_table::check_pieces(download& d, steady_time now) {
    std::vector<std::uint32_t> again;
    const auto bad = d.check_pieces(again);
    const auto name = escape_for_terminal(d.name());
    std::vector<peer_id> liars;
    for (const auto& piece : bad) {
        if (piece.from == peer_id{}) {
            log(log_level::info, "piece ", piece.index, " of the partial ", name, " is damaged; fetching it again");
            continue;
        }
        ++state_.stats.bad_pieces;
        // Once may be a flipped bit on the way; twice is a holder that serves other bytes than it describes.
        if (++d.bad_pieces[piece.from] == 2) {
            liars.push_back(piece.from);
        } else {
            log(log_level::info, "piece ", piece.index, " of ", name, " from peer ", piece.from.short_hex(),
                " does not match its leaf; asking for it again");
        }
    }
    for (const auto transfer : again) {
        auto* l = d.lane(transfer);
        if (l == nullptr || std::find(liars.begin(), liars.end(), l->holder) != liars.end()) {
            continue;
        }
        if (auto* holder = state_.peers->find(l->holder)) {
            state_.peers->send(*holder, d.ask(*l, now));
        }
    }
    const auto id = d.id();
    for (const auto liar : liars) {
        auto* still = find(id);
        auto* l = still == nullptr ? nullptr : still->lane_of(liar);
        if (l == nullptr) {
            continue;
        }
        if (still->lanes().size() == 1 && sources_for(*still).empty()) {
            // The download fails: nothing the liar sent is kept for a resume.
            still->remove_partial(state_.folder->disk());
        }
        drop_lane(*still, *l,
                  "peer " + liar.short_hex() + " sent 2 pieces of " + name +
                      " that do not match its manifest; it is dropped for this file",
                  download_errc::integrity, source_state::serving, now);
    }
    auto* still = find(id);
    if (still == nullptr) {
        return;
    }
    if (still->current_phase() == download::phase::finishing) {
        begin_finishing(*still);
    } else if (still->current_phase() == download::phase::receiving) {
        journal_pieces(*still);
        // Pieces given back to the pool with no lane to take them: another holder, if one has the file.
        if (still->lanes().empty()) {
            fail_over(*still, "no holder is left", download_errc::source_left, now);
        }
    }
}

void download_table::on_chunk(remote_peer& from, chunk& c, steady_time now) {
    auto [d, l] = find_lane(c.transfer, from.id);
    if (auto closed = closed_lanes_.find(c.transfer); d == nullptr && closed != closed_lanes_.end()) {
        if (auto* owner = find(closed->second.first); owner != nullptr && closed->second.second == from.id) {
            owner->bytes_received += c.data.size();
            owner->wasted += c.data.size();
            return;
        }
    }
    if (d == nullptr || d->current_phase() != download::phase::receiving) {
        // Late chunks of a finished, failed-over or restarted transfer are normal; chunks we never asked for are not.
        if (c.transfer >= next_transfer_) {
            state_.peers->refuse(&from, from.id.short_hex(), "CHUNK for a transfer never requested", now);
        }
        return;
    }
    if (!l->offered || l->range_done()) {
        // Sent before the holder had our REQUEST for another range, or past the range it was given: not kept, and
        // not answered (an ACK would ask for more of what is now another lane's).
        d->bytes_received += c.data.size();
        d->wasted += c.data.size();
        return;
    }
    std::string error;
    switch (d->check(*l, c, error)) {
    case download::chunk_result::accepted: {
        // A range that ends before the file does is followed by a REQUEST for another range, or a CANCEL; the
        // last chunk of the file is acknowledged like any (the holder's upload ends on that ACK).
        const bool ends_range = c.offset + c.data.size() >= *l->end && *l->end < d->size();
        if (ends_range) {
            // What goes next is a REQUEST for another range, or a CANCEL: no ACK. (The bytes are charged all the
            // same; the debt stays for what comes next.)
            may_ack(c.data.size(), now);
            d->delivered_without_ack(*l, c, now);
        } else if (may_ack(c.data.size(), now) || c.last) {
            // ACK before writing: the holder reads and sends the next chunk while we write and hash this one, so
            // even stop-and-wait keeps both ends busy. Should the write fail, the CANCEL below ends the transfer
            // anyway. Under a rate limit the ACK waits until the bytes are paid for; not the last chunk's, though:
            // nothing more can come for it, and the holder ends its upload on it.
            state_.peers->send(from, d->make_ack_after(*l, c, now));
        } else {
            d->hold_ack_after(*l, c, now);
        }
        state_.charge_download = l->transfer; // the time writing and hashing it takes is this lane's
        if (!l->first_byte) {
            l->first_byte = now;
        }
        if (!d->store(*l, c, error)) {
            d->remove_partial(state_.folder->disk());
            fail(*d, download_errc::io, error, source_state::serving, now);
            return;
        }
        state_.stats.bytes_received += c.data.size();
        l->last_progress = now;
        l->arrived(c.data.size(), now);
        const auto id = d->id();
        const auto transfer = l->transfer;
        check_pieces(*d, now);
        // A second bad piece may have ended the download (it is gone then), or the lane.
        d = find(id);
        if (d == nullptr || d->current_phase() != download::phase::receiving) {
            return;
        }
        if (auto* lane = d->lane(transfer); lane != nullptr && lane->offered && lane->range_done()) {
            next_range(*d, *lane, now);
        }
        if (now - d->last_progress_event >= progress_interval) {
            d->last_progress_event = now;
            state_.out.emit(download_progress{d->op(), d->name(), from.id, d->held(), d->size(), d->shares()});
        }
        return;
    }
    case download::chunk_result::duplicate:
    case download::chunk_result::out_of_order:
        log(log_level::debug, "chunk at ", c.offset, " while expecting ", l->next, ": ACK again");
        d->bytes_received += c.data.size();
        d->wasted += c.data.size();
        // Tell the holder again where we are; it resends from there (go-back-N). The bytes came all the same: under
        // a rate limit they are paid for first, and an ACK held already will say it.
        if (!may_ack(c.data.size(), now) || l->ack_held) {
            l->ack_held = true;
            return;
        }
        state_.peers->send(from, d->make_ack(*l, now));
        return;
    case download::chunk_result::rejected:
        d->remove_partial(state_.folder->disk());
        fail(*d, download_errc::integrity, error, source_state::serving, now);
        return;
    }
}

void download_table::next_range(download& d, download_lane& l, steady_time now) {
    std::optional<std::uint32_t> cut;
    if (d.assign(l, now) || (cut = d.take_tail(l, now))) {
        if (auto* holder = state_.peers->find(l.holder)) {
            state_.peers->send(*holder, d.ask(l, now));
        }
        if (auto* slow = cut ? d.lane(*cut) : nullptr) {
            log(log_level::debug, escape_for_terminal(d.name()), ": the last pieces of peer ", slow->holder.short_hex(),
                " go to peer ", l.holder.short_hex(), ", which brings them sooner");
            // It leaves (CANCEL) rather than taking part of them back at once by the far-end rule; should the taker
            // stall, its range goes to the pool and add_lanes brings the slow holder back for it. (take_tail never
            // cuts short the lane the leaves are still to come on.)
            close_lane(d, *slow, source_state::serving, "");
        }
        return;
    }
    if (d.awaits_leaves_on(l)) {
        return; // it stays for the leaves; it ends once they are in (on_manifest)
    }
    close_lane(d, l, source_state::serving, "");
}

void download_table::charge(std::uint32_t transfer, std::chrono::nanoseconds spent) {
    if (auto owner = lane_owner_.find(transfer); owner != lane_owner_.end()) {
        if (auto* d = find(owner->second)) {
            if (auto* l = d->lane(transfer)) {
                l->window.worked(spent);
            }
        }
    }
}

void download_table::on_refused(remote_peer& from, std::uint32_t transfer, std::string reason, download_errc code,
                                steady_time now) {
    auto [d, l] = find_lane(transfer, from.id);
    if (d == nullptr || d->current_phase() == download::phase::finishing) {
        return;
    }
    drop_lane(*d, *l, std::move(reason), code, source_state::ended, now);
}

void download_table::on_peer_gone(peer_id id, bool said_goodbye, steady_time now) {
    std::vector<std::uint32_t> affected;
    for (auto& [download_id, d] : downloads_) {
        // A download that is finishing has every byte: its holders leaving changes nothing.
        if (d.lane_of(id) != nullptr && d.current_phase() != download::phase::finishing) {
            affected.push_back(download_id);
        }
    }
    for (auto download_id : affected) {
        auto* d = find(download_id);
        auto* l = d == nullptr ? nullptr : d->lane_of(id);
        if (l != nullptr) {
            drop_lane(*d, *l,
                      said_goodbye ? "peer " + id.short_hex() + " left"
                                   : "peer " + id.short_hex() + " is not reachable",
                      download_errc::source_left, source_state::ended, now);
        }
    }
}

void download_table::close_lane(download& d, download_lane& l, source_state state, const std::string& reason) {
    // One CANCEL per lane we leave, and only when its holder may still be sending: a holder that refused, aborted
    // or left needs none, and neither does one not asked yet (preparing).
    if (state == source_state::serving && d.current_phase() != download::phase::preparing) {
        if (auto* holder = state_.peers->find(l.holder)) {
            state_.peers->send(*holder,
                               cancel_transfer{l.transfer, clip_utf8(reason.empty() ? std::string("done") : reason,
                                                                     protocol::max_reason_bytes)});
        }
    }
    const auto transfer = l.transfer;
    lane_owner_.erase(transfer);
    closed_lanes_[transfer] = {d.id(), l.holder};
    d.remove_lane(transfer);
}

void download_table::drop_lane(download& d, download_lane& l, std::string reason, download_errc code,
                               source_state state, steady_time now) {
    if (d.current_phase() == download::phase::finishing) {
        return; // every byte is in: no holder is needed any more, whatever it says
    }
    const auto holder = l.holder;
    d.tried.insert(holder);
    close_lane(d, l, state, reason);
    if (d.lanes().empty()) {
        fail_over(d, std::move(reason), code, now);
        return;
    }
    ask_manifest(d); // when the leaves were asked of it, another lane goes on with them
    log(log_level::info, escape_for_terminal(d.name()), ": ", escape_for_terminal(reason), "; going on with ",
        d.lanes().size(), d.lanes().size() == 1 ? " holder" : " holders");
    // Its range is in the pool: the first lane that runs out takes it; an idle holder joins for it now.
    add_lanes(d, now);
}

void download_table::fail_over(download& d, std::string reason, download_errc code, steady_time now) {
    if (d.from.empty() && !state_.stopping) {
        for (auto* holder : sources_for(d)) {
            const auto transfer = next_transfer_++;
            if (open_lane(d, *holder, transfer, now)) {
                log(log_level::info, escape_for_terminal(d.name()), ": ", escape_for_terminal(reason),
                    "; continuing with peer ", holder->id.short_hex());
                add_lanes(d, now);
                return;
            }
        }
        if (d.tried.size() > 1) {
            reason += "; no other peer has the file";
        }
    }
    fail(d, code, std::move(reason), source_state::ended, now);
}

void download_table::forget_closed_lanes(std::uint32_t id) {
    std::erase_if(closed_lanes_, [&](const auto& entry) { return entry.second.first == id; });
}

download_finished download_table::outcome(const download& d, bool ok, download_errc code, std::string error,
                                          steady_time now) const {
    const auto seconds = std::chrono::duration<double>(now - d.started).count();
    const auto figures = d.figures();
    peer_id from = d.last_from;
    if (from == peer_id{} && !d.lanes().empty()) {
        from = d.lanes().begin()->second.holder;
    }
    return download_finished{
        d.op(),         d.name(), ok,          code,    std::move(error),    from,       d.size(), d.bytes_received,
        d.resumed_from, seconds,  d.rechecked, figures, name_limit(figures), d.shares(), d.wasted};
}

void download_table::fail(download& d, download_errc code, std::string error, source_state state, steady_time now) {
    std::vector<std::uint32_t> transfers;
    for (const auto& [transfer, l] : d.lanes()) {
        transfers.push_back(transfer);
    }
    auto done = outcome(d, false, code, error, now);
    for (const auto transfer : transfers) {
        if (auto* l = d.lane(transfer)) {
            close_lane(d, *l, state, error);
        }
    }
    state_.jobs->forget_download(d.id());
    forget_closed_lanes(d.id());
    downloads_.erase(d.id());
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
        state_.jobs->start_journal(d.id(), std::move(*work));
    }
}

void download_table::on_journaled(std::uint32_t id, std::uint64_t durable, const job_result& result) {
    auto* d = find(id);
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
    // Every piece is in: the lanes end. A holder whose range ran to the file's end ended its upload on the last
    // chunk; the others may wait for an ACK that will not come.
    std::vector<std::uint32_t> transfers;
    for (const auto& [transfer, l] : d.lanes()) {
        transfers.push_back(transfer);
    }
    for (const auto transfer : transfers) {
        if (auto* l = d.lane(transfer)) {
            const bool ended = l->end && *l->end == d.size() && l->range_done();
            close_lane(d, *l, ended ? source_state::ended : source_state::serving, "done");
        }
    }
    // The sync of a large file can take seconds: a job does it, then on_synced renames.
    sync_waiting_.push_back(d.id());
    start_sync_batch();
}

void download_table::start_sync_batch() {
    if (sync_running_) {
        return; // the downloads wait for the next batch, started when this one is back
    }
    std::vector<std::uint32_t> ids;
    std::vector<std::shared_ptr<file_handle>> files;
    for (const auto id : sync_waiting_) {
        if (auto* d = find(id); d != nullptr && d->current_phase() == download::phase::finishing) {
            ids.push_back(id);
            files.push_back(d->file());
        }
    }
    sync_waiting_.clear();
    if (ids.empty()) {
        return;
    }
    sync_running_ = true;
    state_.jobs->start_sync(std::move(ids), std::move(files));
}

void download_table::on_synced(const std::vector<std::uint32_t>& ids, const job_result& result, steady_time now) {
    sync_running_ = false;
    std::vector<download_finished> placed;
    std::set<std::string> folders;
    for (const auto id : ids) {
        auto* d = find(id);
        if (d == nullptr || d->current_phase() != download::phase::finishing) {
            continue;
        }
        const auto name = d->local_name();
        if (auto done = place(*d, result, now)) {
            placed.push_back(std::move(*done));
            forget_closed_lanes(id);
            downloads_.erase(id);
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
    return outcome(d, true, download_errc::none, "", now);
}

void download_table::end_all(steady_time now) {
    std::vector<std::uint32_t> all;
    for (const auto& [id, d] : downloads_) {
        all.push_back(id);
    }
    for (auto id : all) {
        if (auto* d = find(id)) {
            // The partial file stays (hidden) so that the next start can resume it.
            fail(*d, download_errc::cancelled, "cancelled: the peer is shutting down", source_state::serving, now);
        }
    }
}

std::vector<pending_transfer> download_table::in_flight() const {
    std::vector<pending_transfer> out;
    for (const auto& [id, d] : downloads_) {
        const auto holder = d.lanes().empty() ? d.last_from : d.lanes().begin()->second.holder;
        out.push_back(pending_transfer{false, holder, d.name(), d.held(), d.size()});
    }
    return out;
}

milliseconds download_table::silence_limit(const download_lane& l) const {
    // Four of its chunk times and round trips is long enough to tell a holder that stalls from one that is slow.
    auto limit = min_lane_silence;
    const auto rate = l.rate(l.last_progress);
    if (rate > 0) {
        limit = std::max(
            limit, std::chrono::duration_cast<milliseconds>(std::chrono::duration<double>(4.0 * l.chunk_size / rate)));
    }
    limit = std::max(limit, std::chrono::duration_cast<milliseconds>(
                                std::chrono::duration<double>(4.0 * l.window.figures().min_rtt)));
    return limit;
}

steady_time download_table::stalled_at(const download& d, const download_lane& l) const {
    const auto timeout = l.last_progress + state_.options.transfer_timeout;
    // Silent while the other lanes went on bringing bytes for the silence limit: the holder stalls. When no other
    // lane brought anything since either, it may be this peer that stood still (a loaded machine): the transfer
    // timeout then, as for one lane.
    const auto silent_from = l.last_progress + silence_limit(l);
    for (const auto& [transfer, other] : d.lanes()) {
        if (&other != &l && other.offered && other.last_progress >= silent_from) {
            return std::min(timeout, silent_from);
        }
    }
    return timeout;
}

std::optional<steady_time> download_table::deadline(const download& d, const download_lane& l) const {
    // Preparing and finishing wait for a job, not for a peer: no timer of ours runs then. The wake-up and the
    // handler both ask this one function, so they cannot disagree (they once did, and the loop spun).
    switch (d.current_phase()) {
    case download::phase::preparing:
    case download::phase::finishing:
        return std::nullopt;
    case download::phase::requesting:
    case download::phase::receiving:
        if (!l.offered) {
            return std::min(l.last_progress + state_.options.transfer_timeout,
                            l.last_request + request_repeat_interval());
        }
        if (l.ack_held) {
            return std::nullopt; // the holder waits for us (release_at_), not we for it
        }
        return stalled_at(d, l);
    }
    return std::nullopt;
}

std::optional<steady_time> download_table::next_deadline() const {
    std::optional<steady_time> next = release_at_;
    const auto earliest = [&](steady_time due) {
        next = next ? std::min(*next, due) : due;
    };
    for (const auto& [id, d] : downloads_) {
        for (const auto& [transfer, l] : d.lanes()) {
            if (auto due = deadline(d, l)) {
                earliest(*due);
            }
        }
        for (const auto& [holder, until] : d.resting) {
            earliest(until);
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
    // Resend unanswered REQUESTs; give up on holders that stall.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> stalled;
    std::vector<std::uint32_t> rested;
    for (auto& [id, d] : downloads_) {
        if (std::erase_if(d.resting, [&](const auto& entry) { return entry.second <= now; }) > 0) {
            rested.push_back(id);
        }
        for (auto& [transfer, l] : d.lanes()) {
            const auto due = deadline(d, l);
            if (!due || now < *due) {
                continue;
            }
            if (l.offered || now - l.last_progress >= state_.options.transfer_timeout) {
                stalled.emplace_back(id, transfer);
            } else if (now - l.last_request >= request_repeat_interval()) {
                if (auto* holder = state_.peers->find(l.holder)) {
                    // The same REQUEST again (ask() keeps the offset); the timeout still runs from the last progress.
                    const auto progress = l.last_progress;
                    state_.peers->send(*holder, d.ask(l, now));
                    l.last_progress = progress;
                }
            }
        }
    }
    for (const auto& [id, transfer] : stalled) {
        auto* d = find(id);
        auto* l = d == nullptr ? nullptr : d->lane(transfer);
        // Asked again: a lane dropped before this one may have changed what counts as stalled.
        if (l == nullptr || (l->offered && now < stalled_at(*d, *l))) {
            continue;
        }
        const auto holder = l->holder;
        const bool timed_out = now - l->last_progress >= state_.options.transfer_timeout;
        const auto seconds = std::chrono::duration<double>(now - l->last_progress).count();
        drop_lane(*d, *l,
                  "peer " + holder.short_hex() + " stopped answering (nothing for " +
                      std::to_string(seconds).substr(0, 4) + " s)",
                  download_errc::stalled, source_state::serving, now);
        if (auto* still = find(id); still != nullptr && !timed_out) {
            // Silent while others were not: it may be slow for a while rather than gone. It may join again once
            // it has rested for a transfer timeout.
            still->tried.erase(holder);
            still->resting[holder] = now + state_.options.transfer_timeout;
        }
    }
    for (const auto id : rested) {
        if (auto* d = find(id)) {
            add_lanes(*d, now);
        }
    }
}

} // namespace p2p::core
