// SPDX-License-Identifier: MIT
// bridge.cpp - commands in, snapshot and events out, between the HTTP threads and the loop thread.
#include "web/bridge.hpp"

#include "event_text.hpp"

#include "p2p/endpoint.hpp"
#include "p2p/file_name.hpp"
#include "p2p/interface_addresses.hpp"
#include "p2p/log.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace p2p::web {

namespace {

bool lists(const peer_info& p, const std::string& name) {
    return std::any_of(p.files.begin(), p.files.end(), [&](const file_entry& f) { return f.name == name; });
}

bool is_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string seconds_text(std::chrono::milliseconds d) {
    return std::to_string(d.count() / 1000) + " s";
}

} // namespace

reply error_reply(int status, std::string message, error_code code) {
    return {status, json{{"error", std::move(message)}, {"code", static_cast<int>(code)}}};
}

// ---- subscriber ----

void subscriber::push(message m) {
    {
        std::lock_guard lock(mutex_);
        if (closed_ || dropped_) {
            return;
        }
        if (queue_.size() >= capacity_) {
            // It has not read the last `capacity_` events: it fell behind, and holding more would make the peer pay
            // for a slow reader. It reconnects and reads the state again instead.
            dropped_ = true;
            queue_.clear();
        } else {
            queue_.push_back(std::move(m));
        }
    }
    ready_.notify_one();
}

void subscriber::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    ready_.notify_one();
}

subscriber::status subscriber::wait(std::vector<message>& out, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return !queue_.empty() || closed_ || dropped_; });
    if (dropped_) {
        return status::ended;
    }
    if (!queue_.empty()) {
        std::move(queue_.begin(), queue_.end(), std::back_inserter(out));
        queue_.clear();
        return status::messages;
    }
    return closed_ ? status::ended : status::timeout;
}

bool subscriber::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

// ---- bridge: construction ----

bridge::bridge(bridge_limits limits)
    : limits_(limits), wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), transfers_(limits.finished_transfers) {
    if (!wake_) {
        throw std::runtime_error(std::string("cannot create the web interface's eventfd: ") + std::strerror(errno));
    }
}

bridge::~bridge() {
    close();
}

// ---- bridge: HTTP threads ----

reply bridge::call(command c) {
    auto j = std::make_shared<job>();
    j->what = std::move(c);
    auto answer = j->answer.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || closed_) {
            return error_reply(503, "the peer is stopping", error_code::failure);
        }
        queue_.push_back(j);
    }
    const std::uint64_t one = 1;
    // The eventfd counter cannot overflow here (it would take 2^64 - 1 writes): the write does not fail.
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
    if (answer.wait_for(limits_.queue_deadline) != std::future_status::ready) {
        if (!j->taken.exchange(true)) {
            // The loop never took it, and now never will: no command runs after its caller was told it failed.
            return error_reply(503, "the peer did not take the request within " + seconds_text(limits_.queue_deadline),
                               error_code::failure);
        }
        if (answer.wait_for(limits_.answer_deadline) != std::future_status::ready) {
            return error_reply(503, "no outcome within " + seconds_text(limits_.answer_deadline), error_code::failure);
        }
    }
    try {
        return answer.get();
    } catch (const std::future_error&) {
        return error_reply(503, "the peer is stopping", error_code::failure);
    }
}

json bridge::self() const {
    std::lock_guard lock(mutex_);
    return self_;
}

json bridge::files() const {
    std::lock_guard lock(mutex_);
    return cli::files_json(files_);
}

json bridge::peers() const {
    std::lock_guard lock(mutex_);
    auto out = json::array();
    for (const auto& p : peers_) {
        out.push_back(cli::peer_json(p));
    }
    return out;
}

json bridge::failures() const {
    std::lock_guard lock(mutex_);
    auto out = json::array();
    for (const auto& f : failures_) {
        out.push_back(cli::failure_json(f));
    }
    return out;
}

json bridge::transfers(clock::time_point now) const {
    std::lock_guard lock(mutex_);
    auto out = json::array();
    for (const auto* t : transfers_.all()) {
        out.push_back(transfer_json_locked(*t, now));
    }
    return out;
}

std::optional<json> bridge::transfer_view(operation_id op, clock::time_point now) const {
    std::lock_guard lock(mutex_);
    const auto* t = transfers_.find(op);
    if (t == nullptr) {
        return std::nullopt;
    }
    return transfer_json_locked(*t, now);
}

json bridge::transfer_json_locked(const transfer& t, clock::time_point now, bool as_event) const {
    auto holders = json::array();
    for (const auto& p : peers_) {
        if (lists(p, t.name)) {
            holders.push_back(p.id.hex());
        }
    }
    const auto rate = transfer_table::rate(t, now);
    const auto eta = transfer_table::eta(t, now);
    const bool finished = t.status == transfer::state::done || t.status == transfer::state::failed;
    const auto elapsed = finished ? t.seconds : std::chrono::duration<double>(now - t.first_seen).count();
    json out = json::object();
    if (as_event) {
        out["event"] = "transfer";
    }
    out["op"] = t.op;
    out["name"] = t.name;
    out["from"] = t.requested_from;
    out["peer"] = t.from.value() == 0 ? json(nullptr) : json(t.from.hex());
    out["state"] = state_name(t.status);
    out["bytes"] = t.bytes;
    out["size"] = t.size;
    out["rate"] = static_cast<std::uint64_t>(std::llround(rate));
    out["eta"] = eta ? json(std::round(*eta * 10) / 10) : json(nullptr);
    out["elapsed"] = std::round(elapsed * 1000) / 1000;
    out["holders"] = std::move(holders);
    out["code"] = t.code;
    out["error"] = t.error;
    out["limit"] = t.limit_by.empty() ? json(nullptr) : json{{"by", t.limit_by}, {"text", t.limit_text}};
    return out;
}

std::shared_ptr<subscriber> bridge::subscribe() {
    std::lock_guard lock(mutex_);
    if (closed_ || subscribers_.size() >= limits_.subscribers) {
        return nullptr;
    }
    subscribers_.push_back(std::make_shared<subscriber>(limits_.subscriber_queue));
    return subscribers_.back();
}

void bridge::unsubscribe(const std::shared_ptr<subscriber>& s) {
    std::lock_guard lock(mutex_);
    std::erase(subscribers_, s);
}

// ---- bridge: the loop thread ----

zmq::pollitem_t bridge::pollitem() const {
    return zmq::pollitem_t{nullptr, wake_.get(), ZMQ_POLLIN, 0};
}

void bridge::attach(peer& p, clock::time_point now) {
    self_id_ = p.id();
    const auto address = display_address(p.endpoint());
    auto addresses = json::array();
    if (is_wildcard_endpoint(p.endpoint())) {
        for (const auto& a : interface_addresses(endpoint_port(p.endpoint()))) {
            addresses.push_back(a);
        }
    } else {
        addresses.push_back(address);
    }
    auto files = p.local_files();
    auto peers = p.peers();
    auto failures = p.failures();
    std::lock_guard lock(mutex_);
    self_ = {{"peer", p.id().hex()},
             {"short", p.id().short_hex()},
             {"address", address},
             {"addresses", std::move(addresses)},
             {"secure", !p.public_key().empty()},
             {"public_key", p.public_key().empty() ? json(nullptr) : json(p.public_key())}};
    files_ = std::move(files);
    peers_ = std::move(peers);
    failures_ = std::move(failures);
    next_refresh_ = now + limits_.refresh_interval;
}

void bridge::on_event(peer& p, const event& e, clock::time_point now) {
    bool stopping = false;
    std::optional<operation_id> changed;
    {
        std::lock_guard lock(mutex_);
        stopping = stopping_ || closed_;
        changed = transfers_.on_event(e, now);
    }
    // Refresh what the event changed before telling anyone, so that a client that reads the state when it hears of
    // the event reads the new state. A stopping peer is asked nothing more.
    bool files_changed = false;
    if (!stopping) {
        try {
            if (std::holds_alternative<peer_joined>(e) || std::holds_alternative<peer_files_changed>(e)) {
                refresh_peers(p, false);
            } else if (std::holds_alternative<peer_left>(e) || std::holds_alternative<connect_finished>(e)) {
                refresh_peers(p, true);
            } else if (const auto* done = std::get_if<download_finished>(&e); done != nullptr && done->ok) {
                files_changed = refresh_files(p, now);
            }
        } catch (const std::exception& error) {
            log(log_level::warn, "web: cannot read the peer's state: ", error.what());
        }
    }
    if (const auto* done = std::get_if<connect_finished>(&e)) {
        if (const auto it = pending_connects_.find(done->op); it != pending_connects_.end()) {
            auto j = it->second;
            pending_connects_.erase(it);
            if (done->ok) {
                j->answer.set_value({200, cli::event_json(e)});
            } else if (done->already_connected) {
                // The menu's words: "Already connected to peer ...", or a connection error for this peer itself.
                j->answer.set_value(error_reply(409, cli::describe_connect(*done), error_code::failure));
            } else {
                j->answer.set_value(error_reply(502, "Connection error: " + done->error, error_code::failure));
            }
        }
    }
    // The event first, then what follows from it: the transfer's new view, our new file list.
    std::lock_guard lock(mutex_);
    publish_locked(cli::event_json(e));
    if (changed) {
        if (const auto* t = transfers_.find(*changed)) {
            publish_transfer_locked(*t, now);
        }
    }
    if (files_changed) {
        publish_files_changed_locked();
    }
}

void bridge::run(peer& p, clock::time_point now) {
    std::uint64_t count = 0;
    // Non-blocking: EAGAIN just means nobody posted since the last read.
    [[maybe_unused]] const auto got = ::read(wake_.get(), &count, sizeof count);
    std::deque<std::shared_ptr<job>> jobs;
    bool stopping = false;
    {
        std::lock_guard lock(mutex_);
        jobs.swap(queue_);
        stopping = stopping_ || closed_;
    }
    for (const auto& j : jobs) {
        if (j->taken.exchange(true)) {
            continue; // its caller gave up waiting
        }
        if (stopping) {
            j->answer.set_value(error_reply(503, "the peer is stopping", error_code::failure));
            continue;
        }
        try {
            execute(p, j, now);
        } catch (const std::exception& error) {
            // The peer's calls throw only once its node has ended: nothing more can be done through it.
            j->answer.set_value(
                error_reply(503, std::string("the peer cannot do it: ") + error.what(), error_code::failure));
        }
    }
    if (!stopping && now >= next_refresh_) {
        try {
            if (refresh_files(p, now)) {
                std::lock_guard lock(mutex_);
                publish_files_changed_locked();
            }
        } catch (const std::exception& error) {
            log(log_level::warn, "web: cannot read the peer's files: ", error.what());
            next_refresh_ = now + limits_.refresh_interval;
        }
    }
}

void bridge::execute(peer& p, const std::shared_ptr<job>& j, clock::time_point now) {
    if (const auto* c = std::get_if<connect_command>(&j->what)) {
        // Answered when its connect_finished event comes: the node bounds that by its connect timeout.
        pending_connects_[p.start_connect(c->address)] = j;
    } else if (const auto* d = std::get_if<download_command>(&j->what)) {
        j->answer.set_value(start_download(p, *d, now));
    } else {
        j->answer.set_value(cancel(p, std::get<cancel_command>(j->what), now));
    }
}

reply bridge::start_download(peer& p, const download_command& c, clock::time_point now) {
    if (const auto problem = file_path_problem(c.name)) {
        return error_reply(400, "Bad file name: " + *problem, error_code::usage);
    }
    std::string from;
    std::transform(c.from.begin(), c.from.end(), std::back_inserter(from),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (from.size() > 16 || !is_hex(from)) {
        return error_reply(400, "Peer id must be 1 to 16 hex digits, or empty for any peer", error_code::usage);
    }
    {
        // What the loop wrote itself: reading it here needs no lock, but holding it keeps the rule simple.
        std::lock_guard lock(mutex_);
        if (std::any_of(files_.begin(), files_.end(), [&](const file_entry& f) { return f.name == c.name; })) {
            return error_reply(409, "File " + c.name + " already exists; not overwritten", error_code::failure);
        }
        if (const auto* t = transfers_.running(c.name)) {
            return error_reply(409, c.name + " is being downloaded already (transfer " + std::to_string(t->op) + ")",
                               error_code::failure);
        }
        if (from.empty()) {
            if (std::none_of(peers_.begin(), peers_.end(), [&](const peer_info& i) { return lists(i, c.name); })) {
                return error_reply(404, "No peer has " + c.name, error_code::failure);
            }
        } else {
            std::vector<const peer_info*> matches;
            for (const auto& i : peers_) {
                if (i.id.hex().starts_with(from)) {
                    matches.push_back(&i);
                }
            }
            if (matches.empty()) {
                return error_reply(404, "No peer with id " + from, error_code::failure);
            }
            if (matches.size() > 1) {
                return error_reply(400, "Peer id " + from + " is ambiguous: more digits, please", error_code::usage);
            }
            if (!lists(*matches.front(), c.name)) {
                return error_reply(404, "Peer " + matches.front()->id.short_hex() + " does not have " + c.name,
                                   error_code::failure);
            }
        }
    }
    const auto op = p.start_download(download_request{c.name, from, std::nullopt, std::nullopt});
    std::lock_guard lock(mutex_);
    transfers_.started(op, c.name, from, now);
    const auto& t = *transfers_.find(op);
    publish_transfer_locked(t, now);
    return {202, transfer_json_locked(t, now)};
}

reply bridge::cancel(peer& p, const cancel_command& c, clock::time_point now) {
    json view;
    {
        std::lock_guard lock(mutex_);
        const auto* t = transfers_.find(c.op);
        if (t == nullptr) {
            return error_reply(404, "No transfer " + std::to_string(c.op), error_code::failure);
        }
        if (t->status == transfer::state::done || t->status == transfer::state::failed) {
            return error_reply(409, "Transfer " + std::to_string(c.op) + " has finished already", error_code::failure);
        }
        view = transfer_json_locked(*t, now);
    }
    // Its download_finished event (code "cancelled") follows; the partial file stays for a resume.
    p.cancel(c.op);
    return {202, view};
}

void bridge::refresh_peers(peer& p, bool with_failures) {
    auto peers = p.peers();
    std::optional<std::vector<failure_record>> failures;
    if (with_failures) {
        failures = p.failures();
    }
    std::lock_guard lock(mutex_);
    peers_ = std::move(peers);
    if (failures) {
        failures_ = std::move(*failures);
    }
}

bool bridge::refresh_files(peer& p, clock::time_point now) {
    auto files = p.local_files();
    next_refresh_ = now + limits_.refresh_interval;
    std::lock_guard lock(mutex_);
    if (files == files_) {
        return false;
    }
    files_ = std::move(files);
    return true;
}

void bridge::publish_files_changed_locked() {
    // The list itself may be long: clients read GET /api/files when they want it.
    publish_locked({{"event", "local_files_changed"}, {"file_count", files_.size()}});
}

void bridge::publish_locked(const json& value) {
    if (subscribers_.empty()) {
        ++next_event_id_;
        return;
    }
    // One copy of the text, shared by every client's queue.
    auto m = std::make_shared<const std::string>("event: " + value.at("event").get<std::string>() +
                                                 "\nid: " + std::to_string(next_event_id_++) +
                                                 "\ndata: " + cli::dump(value) + "\n\n");
    for (const auto& s : subscribers_) {
        s->push(m);
    }
}

void bridge::publish_transfer_locked(const transfer& t, clock::time_point now) {
    publish_locked(transfer_json_locked(t, now, true));
}

void bridge::stopping() {
    std::lock_guard lock(mutex_);
    if (stopping_) {
        return;
    }
    stopping_ = true;
    for (const auto& j : queue_) {
        if (!j->taken.exchange(true)) {
            j->answer.set_value(error_reply(503, "the peer is stopping", error_code::failure));
        }
    }
    queue_.clear();
    publish_locked(cli::stopping_json());
}

void bridge::close() {
    std::lock_guard lock(mutex_);
    if (closed_) {
        return;
    }
    closed_ = true;
    stopping_ = true;
    publish_locked(cli::stopped_json(self_id_));
    for (const auto& s : subscribers_) {
        s->close();
    }
    subscribers_.clear();
    for (const auto& j : queue_) {
        if (!j->taken.exchange(true)) {
            j->answer.set_value(error_reply(503, "the peer has stopped", error_code::failure));
        }
    }
    queue_.clear();
    for (const auto& [op, j] : pending_connects_) {
        j->answer.set_value(error_reply(503, "the peer has stopped", error_code::failure));
    }
    pending_connects_.clear();
}

} // namespace p2p::web
