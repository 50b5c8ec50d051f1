// SPDX-License-Identifier: MIT
#include "console.hpp"

namespace p2p::cli {

namespace {
/// Carriage return, then VT100 "erase to end of line": the cursor is at column 0 of an empty line.
constexpr std::string_view erase_line = "\r\033[K";
} // namespace

console::console(std::ostream& out, bool out_is_tty, bool echo_input)
    : out_(out), tty_(out_is_tty), echo_input_(echo_input) {}

void console::erase_current_line() {
    if (prompt_.empty() && status_.empty()) {
        return;
    }
    if (tty_) {
        out_ << erase_line;
    } else if (!prompt_.empty()) {
        out_ << '\n';
    }
}

void console::redraw() {
    if (tty_ && !status_.empty()) {
        out_ << status_;
    }
    if (!prompt_.empty()) {
        out_ << prompt_ << typed_;
    }
    out_.flush();
}

void console::line(std::string_view text) {
    erase_current_line();
    out_ << text << '\n';
    redraw();
}

void console::prompt(std::string_view text) {
    prompt_ = text;
    out_ << prompt_ << std::flush;
}

void console::answered(std::string_view answer) {
    if (editing_ && tty_ && !prompt_.empty()) {
        // Enter is not echoed by the terminal either: the line is drawn whole, then ended.
        out_ << erase_line << prompt_ << answer << '\n' << std::flush;
    } else if (echo_input_ && !prompt_.empty()) {
        out_ << answer << '\n' << std::flush;
    }
    prompt_.clear();
    typed_.clear();
}

void console::typed(std::string_view text) {
    if (!editing_ || prompt_.empty() || text == typed_) {
        return;
    }
    typed_ = text;
    if (tty_) {
        out_ << erase_line << prompt_ << typed_ << std::flush;
    }
}

void console::end_prompt() {
    if (!prompt_.empty()) {
        out_ << '\n' << std::flush;
        prompt_.clear();
    }
    typed_.clear();
}

void console::status(std::string_view text) {
    if (!tty_) {
        return;
    }
    status_ = text;
    out_ << erase_line << status_ << std::flush;
}

void console::clear_status() {
    if (tty_ && !status_.empty()) {
        out_ << erase_line << std::flush;
    }
    status_.clear();
}

} // namespace p2p::cli
