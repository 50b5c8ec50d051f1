// SPDX-License-Identifier: MIT
#include "progress_meter.hpp"

#include "holder_shares.hpp"
#include "units.hpp"

#include "p2p/file_name.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace p2p::cli {

namespace {
/// Characters of the bar itself; with the numbers the status fits an 80-column terminal.
constexpr std::size_t bar_width = 24;
/// Longest file name shown before the bar.
constexpr std::size_t max_name_width = 20;
/// The status line with the holders' shares is kept to this many characters, so it stays one line on a terminal of
/// 80 columns (the bar, the amounts and the time left make room for the shares then, and the holders' ids are cut to
/// 4 hex digits: enough to tell a few apart, and a prefix of the ids the other lines show)...
constexpr std::size_t status_width = 79;
constexpr std::size_t status_id_digits = 4;
/// ...but however long the rest is, a few shares are shown.
constexpr std::size_t min_shares_width = 20;
/// Plain lines have no terminal to fit, only a reader: a dozen holders at most.
constexpr std::size_t line_shares_width = 160;
/// Plain lines (into a pipe or file) are spaced out: a log needs a trace, not 5 lines a second.
constexpr auto plain_line_interval = std::chrono::seconds(2);

std::string percent_text(std::uint64_t bytes, std::uint64_t size) {
    const double fraction = size == 0 ? 1.0 : static_cast<double>(bytes) / static_cast<double>(size);
    std::array<char, 16> out{};
    std::snprintf(out.data(), out.size(), "%.0f%%", fraction * 100);
    return out.data();
}

std::string bar_text(std::uint64_t bytes, std::uint64_t size) {
    const double fraction = size == 0 ? 1.0 : static_cast<double>(bytes) / static_cast<double>(size);
    const auto filled = static_cast<std::size_t>(fraction * bar_width);
    std::string bar = "[";
    for (std::size_t i = 0; i < bar_width; ++i) {
        bar += i < filled ? '=' : (i == filled ? '>' : ' ');
    }
    return bar + "]";
}

std::string short_name(const std::string& name) {
    auto shown = escape_for_terminal(name);
    if (shown.size() > max_name_width) {
        // Cut on a character boundary: never inside a UTF-8 sequence.
        std::size_t cut = max_name_width - 3;
        while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) {
            --cut;
        }
        shown = shown.substr(0, cut) + "...";
    }
    return shown;
}

} // namespace

progress_meter::progress_meter(console& screen, bool plain_lines) : screen_(screen), plain_lines_(plain_lines) {}

void progress_meter::update(const download_progress& progress) {
    show(short_name(progress.name), "Downloading " + escape_for_terminal(progress.name), progress.bytes, progress.size,
         progress.holders);
}

void progress_meter::update_files(std::size_t done, std::size_t files, std::uint64_t bytes, std::uint64_t size,
                                  const std::vector<holder_share>& holders) {
    show(std::to_string(done) + "/" + std::to_string(files) + " files",
         "Downloading " + std::to_string(done) + " of " + std::to_string(files) + " files", bytes, size, holders);
}

void progress_meter::update_check(const std::string& name, std::uint64_t bytes, std::uint64_t size) {
    show("Checking " + short_name(name), "Checking " + escape_for_terminal(name), bytes, size, {});
}

void progress_meter::show(const std::string& bar_label, const std::string& line_label, std::uint64_t bytes,
                          std::uint64_t size, const std::vector<holder_share>& holders) {
    const auto now = clock::now();
    if (!first_time_) {
        first_time_ = now;
        first_bytes_ = bytes;
    }
    const double seconds = std::chrono::duration<double>(now - *first_time_).count();
    const double rate = seconds > 0 && bytes > first_bytes_ ? static_cast<double>(bytes - first_bytes_) / seconds : 0;
    const auto left = static_cast<double>(size - std::min(bytes, size));
    const std::string rate_text = rate > 0 ? format_rate(rate) : "-- B/s";
    const std::string eta_text = rate > 0 ? format_clock(left / rate) : "--:--";
    const auto amounts = format_bytes(static_cast<double>(bytes)) + " / " + format_bytes(static_cast<double>(size));
    const auto from = holders.size() > 1 ? "from " + std::to_string(holders.size()) + " holders: " : std::string();
    if (screen_.is_tty()) {
        if (from.empty()) {
            screen_.status(bar_label + " " + bar_text(bytes, size) + " " + percent_text(bytes, size) + " " + amounts +
                           "  " + rate_text + "  ETA " + eta_text);
            return;
        }
        const auto head = bar_label + " " + percent_text(bytes, size) + " " + rate_text + "  " + from;
        const auto room = head.size() + min_shares_width < status_width ? status_width - head.size() : min_shares_width;
        screen_.status(head + holder_share_list(holders, room, status_id_digits));
        return;
    }
    if (plain_lines_ && now - last_line_ >= plain_line_interval) {
        last_line_ = now;
        screen_.line(line_label + ": " + amounts + " (" + percent_text(bytes, size) + ", " + rate_text + ", ETA " +
                     eta_text + ")" + (from.empty() ? "" : " " + from + holder_share_list(holders, line_shares_width)));
    }
}

void progress_meter::finish() {
    screen_.clear_status();
}

} // namespace p2p::cli
