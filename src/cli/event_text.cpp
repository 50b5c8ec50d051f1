// SPDX-License-Identifier: MIT
#include "event_text.hpp"

#include "units.hpp"

#include "p2p/file_name.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <variant>

namespace p2p::cli {

namespace {

/// Files named in a "updated its file list" line; the rest are counted, so a peer with 10000 files is one line.
constexpr std::size_t max_listed_files = 10;

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string file_list_text(const std::vector<file_entry>& files) {
    std::string text = "[";
    for (std::size_t i = 0; i < files.size() && i < max_listed_files; ++i) {
        text += (i == 0 ? "" : ", ") + escape_for_terminal(files[i].name);
    }
    if (files.size() > max_listed_files) {
        text += ", ... " + std::to_string(files.size() - max_listed_files) + " more";
    }
    return text + "]";
}

std::string describe_left(const peer_left& left) {
    const auto who = left.id.short_hex();
    switch (left.why) {
    case peer_left::reason::goodbye:
        return "Peer " + who + " at " + escape_for_terminal(left.address) + " left";
    case peer_left::reason::evicted:
        return "Peer " + who + " is not reachable, removing";
    case peer_left::reason::dropped:
        return "Peer " + who + " dropped: " + escape_for_terminal(left.detail);
    }
    return "Peer " + who + " left";
}

std::string seconds_text(double seconds) {
    std::array<char, 32> out{};
    std::snprintf(out.data(), out.size(), "%.2f s", seconds);
    return out.data();
}

} // namespace

std::optional<std::string> describe(const event& e) {
    return std::visit(
        [](const auto& ev) -> std::optional<std::string> {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, peer_joined>) {
                return "New peer " + ev.id.short_hex() + " joined with " + plural(ev.file_count, "file", "files");
            } else if constexpr (std::is_same_v<T, peer_files_changed>) {
                if (ev.hashes_only) {
                    return std::nullopt; // the same files as the last line said: nothing new for people
                }
                return "Peer " + ev.id.short_hex() + " updated its file list: " + file_list_text(ev.files);
            } else if constexpr (std::is_same_v<T, peer_left>) {
                return describe_left(ev);
            } else if constexpr (std::is_same_v<T, connect_finished>) {
                return describe_connect(ev);
            } else if constexpr (std::is_same_v<T, download_finished>) {
                return describe_download(ev);
            } else if constexpr (std::is_same_v<T, stop_pending>) {
                return describe_stop_pending(ev);
            } else {
                return std::nullopt;
            }
        },
        e);
}

std::string describe_connect(const connect_finished& done) {
    if (!done.ok && done.already_connected && done.id != peer_id{} && !done.error.empty()) {
        // A peer listed already (discovery or exchange got there first): nothing is wrong, so no "error".
        auto text = escape_for_terminal(done.error);
        text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
        return text;
    }
    if (!done.ok) {
        return "Connection error: " + escape_for_terminal(done.error);
    }
    return "Connected to peer " + done.id.short_hex() + " at " + escape_for_terminal(done.address) + " (" +
           plural(done.file_count, "file", "files") + " available)";
}

std::string describe_stop_pending(const stop_pending& pending) {
    std::size_t uploads = 0;
    for (const auto& t : pending.transfers) {
        uploads += t.upload ? 1 : 0;
    }
    const auto downloads = pending.transfers.size() - uploads;
    std::string text = "Finishing ";
    if (uploads > 0) {
        text += plural(uploads, "upload", "uploads");
    }
    if (downloads > 0) {
        text += std::string(uploads > 0 ? " and " : "") + plural(downloads, "download", "downloads");
    }
    text += ":";
    for (std::size_t i = 0; i < pending.transfers.size(); ++i) {
        const auto& t = pending.transfers[i];
        text += std::string(i == 0 ? " " : ", ") + escape_for_terminal(t.name) + (t.upload ? " to" : " from") +
                " peer " + t.peer.short_hex() + " (" + format_bytes(static_cast<double>(t.bytes)) + " of " +
                format_bytes(static_cast<double>(t.size)) + ")";
    }
    return text + "; press Ctrl-C again to stop now";
}

std::string web_line(const std::string& url) {
    return "Web interface: " + url;
}

double download_rate(const download_finished& done) {
    // A transfer faster than the clock's resolution still gets a finite rate.
    return static_cast<double>(done.bytes_received) / std::max(done.seconds, 1e-6);
}

std::string describe_download(const download_finished& done) {
    if (!done.ok) {
        return escape_for_terminal(done.error);
    }
    std::string text = "Got file " + escape_for_terminal(done.name) + " from peer " + done.from.short_hex() + " (" +
                       std::to_string(done.size) + " bytes in " + seconds_text(done.seconds) + ", " +
                       format_rate(download_rate(done));
    if (done.resumed_from > 0) {
        // What the resume read back of the partial file: the pieces after those its journal vouched for.
        text += ", resumed at " + format_bytes(static_cast<double>(done.resumed_from)) + ", re-checked " +
                format_bytes(static_cast<double>(done.rechecked));
    }
    return text + ")";
}

std::string describe_limit(const download_finished& done) {
    const auto text = escape_for_terminal(done.limit.text);
    return done.limit.by == rate_limit::unknown ? "Limit: " + text : "Limited by " + text;
}

std::vector<std::string> explain_lines(const download_finished& done) {
    const auto& f = done.figures;
    const auto share = [&](double busy) {
        std::array<char, 16> out{};
        std::snprintf(out.data(), out.size(), "%5.0f%%", f.seconds > 0 ? 100 * busy / f.seconds : 0.0);
        return std::string(out.data());
    };
    const auto row = [](std::string_view stage, const std::string& time, const std::string& pct,
                        const std::string& evidence) {
        std::array<char, 64> head{};
        std::snprintf(head.data(), head.size(), "%-12.*s %10s %6s  ", static_cast<int>(stage.size()), stage.data(),
                      time.c_str(), pct.c_str());
        return head.data() + evidence;
    };
    const auto ms = [](double seconds) {
        std::array<char, 24> out{};
        std::snprintf(out.data(), out.size(), "%.1f ms", seconds * 1000);
        return std::string(out.data());
    };
    return {
        row("stage", "time", "share", "evidence"),
        row("receiving", seconds_text(f.seconds), share(f.seconds),
            format_bytes(static_cast<double>(f.bytes)) + " at " +
                format_rate(f.seconds > 0 ? static_cast<double>(f.bytes) / f.seconds : 0)),
        row("holder", seconds_text(f.holder_busy), share(f.holder_busy),
            "reading and sending (the holder-busy its chunks carried)"),
        row("this peer", seconds_text(f.receiver_busy), share(f.receiver_busy), "writing and hashing"),
        row("round trip", ms(f.min_rtt), "", "shortest; " + ms(f.avg_rtt) + " smoothed at the end"),
        row("window", format_bytes(static_cast<double>(f.window)), "",
            std::string(f.auto_window ? (f.window_capped ? "auto, at its largest" : "auto") : "fixed") +
                "; peak in flight " + format_bytes(static_cast<double>(f.peak_in_flight)) +
                (f.full_after > 0 ? "; sized after " + ms(f.full_after) : "")),
        describe_limit(done),
    };
}

std::string describe_cancelled(const download_finished& done, std::uint64_t size, std::string_view to_resume) {
    // What came and was thrown away (a window sent twice, a bad piece) is not held.
    const auto kept = done.bytes_received - std::min(done.wasted, done.bytes_received);
    const auto held = done.resumed_from + kept;
    std::string text = "Cancelled " + escape_for_terminal(done.name);
    if (size > 0) {
        text += " at " + format_bytes(static_cast<double>(held)) + " of " + format_bytes(static_cast<double>(size));
    } else {
        text += " before it started";
    }
    return text + "; " + std::string(to_resume);
}

} // namespace p2p::cli
