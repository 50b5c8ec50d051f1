// SPDX-License-Identifier: MIT
// log.hpp - one line per event on stderr, filtered by level; safe from any thread.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace p2p {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Lines below this level are dropped. Default: warn (the menu's own output is not logging).
void set_log_level(log_level level);
log_level get_log_level();
/// "debug", "info", "warn", "error", "off"; throws std::invalid_argument otherwise.
log_level parse_log_level(std::string_view text);
/// Writes "p2p <level>: <text>" as one line.
void log_line(log_level level, std::string_view text);

/// log(level, a, b, c...) streams its arguments into one line, only when the level is enabled.
template <typename... Args>
void log(log_level level, const Args&... args) {
    if (level < get_log_level()) {
        return;
    }
    std::ostringstream line;
    (line << ... << args);
    log_line(level, line.str());
}

} // namespace p2p
