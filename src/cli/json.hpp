// SPDX-License-Identifier: MIT
// json.hpp - the little JSON that --json output needs: strings and numbers.
#pragma once

#include <string>
#include <string_view>

namespace p2p::cli {

/// A JSON string literal, quotes included. Control characters become \u00XX; bytes that are not UTF-8 (file names
/// from other peers are checked, but this must hold for any input) become U+FFFD, so the output always parses.
std::string json_string(std::string_view text);

/// A finite JSON number with up to `decimals` decimals ("0.413"); NaN and infinities become 0.
std::string json_number(double value, int decimals);

} // namespace p2p::cli
