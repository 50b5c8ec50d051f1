// SPDX-License-Identifier: MIT
// holder_shares.hpp - what each holder sent of a download, as people read it: "from 3 holders: 1a2b3c4d 40%,
// 5e6f7a8b 35%, 9c0d1e2f 25%". A download with one holder (or none known: a core that does not tell) gets no text,
// so the lines stay as they were.
#pragma once

#include "p2p/event.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace p2p::cli {

/// "1a2b3c4d 40%, 5e6f7a8b 35%, +2 more": each holder's short id (its first `id_digits` hex digits: 8 as in every
/// other line, fewer where room is short) and its share of the bytes the holders sent, in the order given, as many
/// as fit in `max_width` characters (the rest counted as "+N more"; the first is always shown). Empty for fewer than
/// two holders.
std::string holder_share_list(const std::vector<holder_share>& holders, std::size_t max_width,
                              std::size_t id_digits = 8);

/// "from 3 holders (1a2b3c4d 40%, 5e6f7a8b 35%, 9c0d1e2f 25%)" for the line of a finished download; empty for fewer
/// than two holders.
std::string from_holders_text(const std::vector<holder_share>& holders);

/// Adds `more` to `total`: the bytes of a holder already there are summed, a new holder goes at the end (so the
/// order stays the order they first sent in). For the one meter of several files.
void add_holder_shares(std::vector<holder_share>& total, const std::vector<holder_share>& more);
/// Takes `less` (added before) out of `total` again; a holder left with no bytes is removed.
void subtract_holder_shares(std::vector<holder_share>& total, const std::vector<holder_share>& less);

} // namespace p2p::cli
