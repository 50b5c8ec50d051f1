// SPDX-License-Identifier: MIT
// json.cpp - the JSON forms, built with nlohmann::json (Debian's nlohmann-json3-dev).
#include "json.hpp"

#include "event_text.hpp"

#include "p2p/manifest.hpp"

#include <array>
#include <cmath>
#include <ctime>
#include <variant>

namespace p2p::cli {

namespace {

/// A peer id as JSON: its 16 hex digits, or null for "no peer" (the zero id a failed operation carries).
json peer_field(peer_id id) {
    return id.value() == 0 ? json(nullptr) : json(id.hex());
}

/// Seconds with at most 6 decimals: the shortest form of the rounded double is what gets printed ("0.002413").
double microsecond_precision(double seconds) {
    return std::isfinite(seconds) ? std::round(seconds * 1e6) / 1e6 : 0.0;
}

/// A whole number of bytes per second; rates are never printed with decimals.
std::uint64_t whole_rate(double bytes_per_second) {
    return std::isfinite(bytes_per_second) && bytes_per_second > 0
               ? static_cast<std::uint64_t>(std::llround(bytes_per_second))
               : 0;
}

std::string utc_time(std::chrono::system_clock::time_point when) {
    const auto t = std::chrono::system_clock::to_time_t(when);
    std::tm utc{};
    gmtime_r(&t, &utc);
    std::array<char, 32> out{};
    std::strftime(out.data(), out.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return out.data();
}

std::string_view reason_name(peer_left::reason why) {
    switch (why) {
    case peer_left::reason::goodbye:
        return "goodbye";
    case peer_left::reason::evicted:
        return "evicted";
    case peer_left::reason::dropped:
        return "dropped";
    }
    return "goodbye";
}

json transfer_json(const pending_transfer& t) {
    return {{"direction", t.upload ? "upload" : "download"},
            {"peer", peer_field(t.peer)},
            {"name", t.name},
            {"bytes", t.bytes},
            {"size", t.size}};
}

/// [{"peer": 16 hex digits, "bytes"}...]: what each holder sent of a download, in the order they joined it.
json holders_json(const std::vector<holder_share>& holders) {
    auto out = json::array();
    for (const auto& h : holders) {
        out.push_back({{"peer", h.peer.hex()}, {"bytes", h.bytes}});
    }
    return out;
}

/// What bounded a download's rate, and the window and stage figures it was named from.
json limit_json(const download_finished& done) {
    const auto& f = done.figures;
    return {{"limit", {{"by", rate_limit_name(done.limit.by)}, {"text", done.limit.text}}},
            {"window",
             {{"mode", f.auto_window ? "auto" : "fixed"},
              {"final_bytes", f.window},
              {"peak_in_flight_bytes", f.peak_in_flight},
              {"capped", f.window_capped},
              {"min_rtt_ms", microsecond_precision(f.min_rtt * 1000)},
              {"avg_rtt_ms", microsecond_precision(f.avg_rtt * 1000)},
              {"full_after_ms", microsecond_precision(f.full_after * 1000)},
              {"rate_bytes_per_s", f.seconds > 0 ? whole_rate(static_cast<double>(f.bytes) / f.seconds) : 0}}},
            {"stages",
             {{"seconds", microsecond_precision(f.seconds)},
              {"holder_busy_s", microsecond_precision(f.holder_busy)},
              {"receiver_busy_s", microsecond_precision(f.receiver_busy)}}}};
}

} // namespace

std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json file_json(const file_entry& file) {
    json out{{"name", file.name}, {"size", file.size}};
    if (file.root) {
        out["root"] = to_hex(*file.root); // what `p2p-peer hash` prints for it; absent until the holder hashed it
    }
    return out;
}

json files_json(const std::vector<file_entry>& files) {
    auto out = json::array();
    for (const auto& f : files) {
        out.push_back(file_json(f));
    }
    return out;
}

json peer_json(const peer_info& info) {
    return {{"peer", info.id.hex()},
            {"address", info.address},
            {"outbound", info.outbound},
            {"files", files_json(info.files)}};
}

json failure_json(const failure_record& failure) {
    return {{"address", failure.address},
            {"count", failure.count},
            {"last_error", failure.last_error},
            {"last_time", utc_time(failure.last_time)},
            {"retrying", failure.retrying},
            {"attempts", failure.attempts},
            {"next_retry_ms", failure.retrying ? json(failure.next_retry.count()) : json(nullptr)}};
}

std::string_view download_code_name(download_errc code) {
    switch (code) {
    case download_errc::none:
        return "none";
    case download_errc::bad_name:
        return "bad_name";
    case download_errc::exists:
        return "exists";
    case download_errc::no_source:
        return "no_source";
    case download_errc::not_found:
        return "not_found";
    case download_errc::aborted:
        return "aborted";
    case download_errc::stalled:
        return "stalled";
    case download_errc::source_left:
        return "source_left";
    case download_errc::integrity:
        return "integrity";
    case download_errc::io:
        return "io";
    case download_errc::cancelled:
        return "cancelled";
    }
    return "none";
}

json event_json(const event& e) {
    return std::visit(
        [](const auto& ev) -> json {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, peer_joined>) {
                return {{"event", "peer_joined"},
                        {"peer", ev.id.hex()},
                        {"address", ev.address},
                        {"file_count", ev.file_count}};
            } else if constexpr (std::is_same_v<T, peer_files_changed>) {
                return {{"event", "peer_files_changed"},
                        {"peer", ev.id.hex()},
                        {"files", files_json(ev.files)},
                        {"hashes_only", ev.hashes_only}};
            } else if constexpr (std::is_same_v<T, peer_left>) {
                return {{"event", "peer_left"},
                        {"peer", ev.id.hex()},
                        {"address", ev.address},
                        {"reason", reason_name(ev.why)},
                        {"detail", ev.detail}};
            } else if constexpr (std::is_same_v<T, connect_finished>) {
                return {{"event", "connect_finished"},
                        {"op", ev.op},
                        {"address", ev.address},
                        {"ok", ev.ok},
                        {"already_connected", ev.already_connected},
                        {"peer", peer_field(ev.id)},
                        {"file_count", ev.file_count},
                        {"error", ev.error}};
            } else if constexpr (std::is_same_v<T, download_progress>) {
                return {{"event", "download_progress"},       {"op", ev.op},       {"name", ev.name},
                        {"peer", peer_field(ev.from)},        {"bytes", ev.bytes}, {"size", ev.size},
                        {"holders", holders_json(ev.holders)}};
            } else if constexpr (std::is_same_v<T, download_finished>) {
                json out{{"event", "download_finished"},
                         {"op", ev.op},
                         {"name", ev.name},
                         {"ok", ev.ok},
                         {"code", download_code_name(ev.code)},
                         {"error", ev.error},
                         {"peer", peer_field(ev.from)},
                         {"size", ev.size},
                         {"bytes_received", ev.bytes_received},
                         {"resumed_from", ev.resumed_from},
                         {"rechecked", ev.rechecked},
                         {"seconds", microsecond_precision(ev.seconds)},
                         {"rate", ev.ok ? whole_rate(download_rate(ev)) : 0},
                         {"holders", holders_json(ev.holders)},
                         {"wasted", ev.wasted}};
                if (ev.ok) {
                    out.update(limit_json(ev));
                }
                return out;
            } else {
                static_assert(std::is_same_v<T, stop_pending>, "every event kind has a JSON form");
                auto transfers = json::array();
                for (const auto& t : ev.transfers) {
                    transfers.push_back(transfer_json(t));
                }
                return {{"event", "stop_pending"}, {"transfers", std::move(transfers)}};
            }
        },
        e);
}

json started_json(peer_id id, const std::string& address, const std::vector<std::string>& addresses,
                  const std::string& public_key) {
    return {{"event", "started"},
            {"peer", id.hex()},
            {"address", address},
            {"addresses", addresses},
            {"public_key", public_key.empty() ? json(nullptr) : json(public_key)}};
}

json stopping_json() {
    return {{"event", "stopping"}};
}

json stopped_json(peer_id id) {
    return {{"event", "stopped"}, {"peer", id.hex()}};
}

json download_result_json(const download_finished& done) {
    return {{"name", done.name},
            {"size", done.size},
            {"seconds", microsecond_precision(done.seconds)},
            {"rate", whole_rate(download_rate(done))},
            {"peer", done.from.hex()}};
}

json get_file_json(const download_finished& done, const std::string& saved_as) {
    json out{{"name", done.name},
             {"saved_as", saved_as},
             {"ok", true},
             {"size", done.size},
             {"seconds", microsecond_precision(done.seconds)},
             {"rate", whole_rate(download_rate(done))},
             {"peer", done.from.hex()},
             {"resumed_from", done.resumed_from},
             {"rechecked", done.rechecked},
             {"holders", holders_json(done.holders)},
             {"wasted", done.wasted}};
    out.update(limit_json(done));
    return out;
}

json get_progress_json(const download_progress& progress) {
    return {{"event", "progress"},
            {"name", progress.name},
            {"bytes", progress.bytes},
            {"size", progress.size},
            {"holders", holders_json(progress.holders)}};
}

json get_failed_json(const std::string& name, const std::string& saved_as, std::string_view error,
                     std::string_view code) {
    return {{"name", name},
            {"saved_as", saved_as},
            {"ok", false},
            {"error", std::string(error)},
            {"code", std::string(code)}};
}

json get_already_here_json(const std::string& name, const std::string& saved_as, std::uint64_t size) {
    return {{"name", name}, {"saved_as", saved_as}, {"ok", true}, {"size", size}, {"already_here", true}};
}

json get_summary_json(std::size_t requested, std::size_t got, const std::vector<std::string>& failed) {
    return {{"requested", requested}, {"got", got}, {"failed", failed}};
}

json error_json(std::string_view error, std::string_view code) {
    return json{{"error", std::string(error)}, {"code", std::string(code)}};
}

json hash_result_json(const std::string& file, const manifest& m, double seconds) {
    return {{"file", file},
            {"root", to_hex(m.root)},
            {"size", m.size},
            {"piece_size", m.piece_size},
            {"pieces", m.piece_count()},
            {"seconds", microsecond_precision(seconds)}};
}

} // namespace p2p::cli
