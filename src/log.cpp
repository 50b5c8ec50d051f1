// SPDX-License-Identifier: MIT
#include "p2p/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace p2p {

namespace {
log_level initial_level();
std::atomic<log_level> current_level{initial_level()};
std::mutex output_mutex;

const char* name_of(log_level level) {
    switch (level) {
    case log_level::debug:
        return "debug";
    case log_level::info:
        return "info";
    case log_level::warn:
        return "warn";
    case log_level::error:
        return "error";
    case log_level::off:
        return "off";
    }
    return "?";
}
/// P2P_LOG_LEVEL in the environment sets the level before any option does (handy in tests and CI logs).
log_level initial_level() {
    const char* env = std::getenv("P2P_LOG_LEVEL");
    try {
        return env != nullptr ? parse_log_level(env) : log_level::warn;
    } catch (const std::invalid_argument&) {
        return log_level::warn;
    }
}
} // namespace

void set_log_level(log_level level) {
    current_level = level;
}
log_level get_log_level() {
    return current_level;
}

log_level parse_log_level(std::string_view text) {
    for (auto level : {log_level::debug, log_level::info, log_level::warn, log_level::error, log_level::off}) {
        if (text == name_of(level)) {
            return level;
        }
    }
    throw std::invalid_argument("log level must be debug, info, warn, error or off");
}

void log_line(log_level level, std::string_view text) {
    std::lock_guard lock(output_mutex);
    std::fprintf(stderr, "p2p %s: %.*s\n", name_of(level), static_cast<int>(text.size()), text.data());
}

} // namespace p2p
