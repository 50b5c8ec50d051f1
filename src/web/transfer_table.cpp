// SPDX-License-Identifier: MIT
// transfer_table.cpp - downloads, their rate and their time left.
#include "web/transfer_table.hpp"

#include "json.hpp"

#include "p2p/rate_figures.hpp"

#include <algorithm>

namespace p2p::web {

namespace {

double seconds_between(clock::time_point from, clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

} // namespace

transfer_table::transfer_table(std::size_t finished_kept) : finished_kept_(finished_kept) {}

transfer& transfer_table::entry(operation_id op, clock::time_point now) {
    auto [it, added] = transfers_.try_emplace(op);
    if (added) {
        it->second.op = op;
        it->second.first_seen = now;
        it->second.last_change = now;
    }
    return it->second;
}

void transfer_table::started(operation_id op, std::string name, std::string requested_from, clock::time_point now) {
    auto& t = entry(op, now);
    t.name = std::move(name);
    t.requested_from = std::move(requested_from);
}

std::optional<operation_id> transfer_table::on_event(const event& e, clock::time_point now) {
    if (const auto* progress = std::get_if<download_progress>(&e)) {
        auto& t = entry(progress->op, now);
        if (t.status == transfer::state::done || t.status == transfer::state::failed) {
            return std::nullopt; // a late report after the outcome changes nothing
        }
        t.name = progress->name;
        t.from = progress->from;
        t.bytes = progress->bytes;
        t.size = progress->size;
        t.status = transfer::state::running;
        t.last_change = now;
        t.samples.push_back({now, progress->bytes});
        // Reports older than the window are never the rate's base again; the margin keeps the deque short anyway.
        while (t.samples.size() > 2 && now - t.samples.front().time > 2 * rate_window) {
            t.samples.pop_front();
        }
        return t.op;
    }
    if (const auto* done = std::get_if<download_finished>(&e)) {
        auto& t = entry(done->op, now);
        t.name = done->name;
        if (done->from.value() != 0) {
            t.from = done->from;
        }
        t.status = done->ok ? transfer::state::done : transfer::state::failed;
        t.code = cli::download_code_name(done->code);
        t.error = done->error;
        t.seconds = done->seconds;
        if (done->ok) {
            t.size = done->size;
            t.bytes = done->size;
            t.final_rate = static_cast<double>(done->bytes_received) / std::max(done->seconds, 1e-6);
            if (done->limit.measured) {
                t.limit_by = rate_limit_name(done->limit.by);
                t.limit_text = done->limit.text;
            }
        }
        t.samples.clear();
        t.last_change = now;
        const auto op = t.op;
        forget_old_finished();
        return op;
    }
    return std::nullopt;
}

void transfer_table::forget_old_finished() {
    std::size_t finished = 0;
    for (const auto& [op, t] : transfers_) {
        finished += (t.status == transfer::state::done || t.status == transfer::state::failed) ? 1 : 0;
    }
    for (auto it = transfers_.begin(); it != transfers_.end() && finished > finished_kept_;) {
        if (it->second.status == transfer::state::done || it->second.status == transfer::state::failed) {
            it = transfers_.erase(it);
            --finished;
        } else {
            ++it;
        }
    }
}

const transfer* transfer_table::find(operation_id op) const {
    const auto it = transfers_.find(op);
    return it == transfers_.end() ? nullptr : &it->second;
}

std::vector<const transfer*> transfer_table::all() const {
    std::vector<const transfer*> out;
    out.reserve(transfers_.size());
    for (const auto& [op, t] : transfers_) {
        out.push_back(&t);
    }
    return out;
}

const transfer* transfer_table::running(const std::string& name) const {
    for (const auto& [op, t] : transfers_) {
        if (t.name == name && (t.status == transfer::state::starting || t.status == transfer::state::running)) {
            return &t;
        }
    }
    return nullptr;
}

double transfer_table::rate(const transfer& t, clock::time_point now) {
    if (t.status == transfer::state::done) {
        return t.final_rate;
    }
    if (t.status != transfer::state::running || t.samples.size() < 2) {
        return 0;
    }
    // The oldest report inside the window is the base. Dividing by the time up to `now` (not up to the last report)
    // makes the rate fall towards 0 when reports stop, which is what a stalled transfer should show.
    const auto since = now - rate_window;
    const auto base = std::find_if(t.samples.begin(), t.samples.end(), [&](const auto& s) { return s.time >= since; });
    if (base == t.samples.end() || std::next(base) == t.samples.end()) {
        return 0;
    }
    const auto elapsed = seconds_between(base->time, now);
    const auto& last = t.samples.back();
    return elapsed > 0 && last.bytes > base->bytes ? static_cast<double>(last.bytes - base->bytes) / elapsed : 0;
}

std::optional<double> transfer_table::eta(const transfer& t, clock::time_point now) {
    const auto r = rate(t, now);
    if (t.status != transfer::state::running || r <= 0 || t.size < t.bytes) {
        return std::nullopt;
    }
    return static_cast<double>(t.size - t.bytes) / r;
}

const char* state_name(transfer::state s) {
    switch (s) {
    case transfer::state::starting:
        return "starting";
    case transfer::state::running:
        return "running";
    case transfer::state::done:
        return "done";
    case transfer::state::failed:
        return "failed";
    }
    return "starting";
}

} // namespace p2p::web
