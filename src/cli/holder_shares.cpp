// SPDX-License-Identifier: MIT
#include "holder_shares.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace p2p::cli {

namespace {

/// Holders named on a finished download's line; a download from dozens stays one readable line.
constexpr std::size_t max_width_done = 160;

std::string share_text(const holder_share& h, std::uint64_t sum, std::size_t id_digits) {
    const double percent = sum == 0 ? 0.0 : 100.0 * static_cast<double>(h.bytes) / static_cast<double>(sum);
    std::array<char, 16> out{};
    std::snprintf(out.data(), out.size(), "%.0f%%", percent);
    return h.peer.hex().substr(0, id_digits) + " " + out.data();
}

} // namespace

std::string holder_share_list(const std::vector<holder_share>& holders, std::size_t max_width, std::size_t id_digits) {
    if (holders.size() < 2) {
        return {};
    }
    std::uint64_t sum = 0;
    for (const auto& h : holders) {
        sum += h.bytes;
    }
    std::string text;
    for (std::size_t i = 0; i < holders.size(); ++i) {
        auto next = (i == 0 ? "" : ", ") + share_text(holders[i], sum, id_digits);
        const std::size_t left = holders.size() - i - 1;
        // What must still fit after this one: ", +N more" when some are left out.
        const auto tail = left == 0 ? std::string() : ", +" + std::to_string(left) + " more";
        if (i > 0 && text.size() + next.size() + tail.size() > max_width) {
            return text + ", +" + std::to_string(holders.size() - i) + " more";
        }
        text += next;
    }
    return text;
}

std::string from_holders_text(const std::vector<holder_share>& holders) {
    if (holders.size() < 2) {
        return {};
    }
    return "from " + std::to_string(holders.size()) + " holders (" + holder_share_list(holders, max_width_done) + ")";
}

void add_holder_shares(std::vector<holder_share>& total, const std::vector<holder_share>& more) {
    for (const auto& h : more) {
        const auto found =
            std::find_if(total.begin(), total.end(), [&](const holder_share& t) { return t.peer == h.peer; });
        if (found == total.end()) {
            total.push_back(h);
        } else {
            found->bytes += h.bytes;
        }
    }
}

void subtract_holder_shares(std::vector<holder_share>& total, const std::vector<holder_share>& less) {
    for (const auto& h : less) {
        const auto found =
            std::find_if(total.begin(), total.end(), [&](const holder_share& t) { return t.peer == h.peer; });
        if (found == total.end()) {
            continue;
        }
        found->bytes -= std::min(found->bytes, h.bytes);
        if (found->bytes == 0) {
            total.erase(found);
        }
    }
}

} // namespace p2p::cli
