// SPDX-License-Identifier: MIT
#include "line_reader.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace p2p::cli {

namespace {
/// A line longer than this is cut into pieces: input is typed by people or small scripts, never megabytes.
constexpr std::size_t max_buffered = 64 * 1024;

bool is_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}
} // namespace

line_reader::line_reader(int fd, bool edit) : fd_(fd) {
    termios settings{};
    if (!edit || ::isatty(fd) != 1 || ::tcgetattr(fd, &settings) != 0) {
        return;
    }
    termios raw = settings;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO); // ISIG stays: Ctrl-C is still SIGINT
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) {
        saved_ = settings;
    }
}

line_reader::~line_reader() {
    if (saved_) {
        ::tcsetattr(fd_, TCSANOW, &*saved_);
    }
}

void line_reader::fill() {
    if (eof_) {
        return;
    }
    std::array<char, 4096> chunk{};
    const auto n = ::read(fd_, chunk.data(), chunk.size());
    if (n > 0) {
        if (!editing()) {
            buffer_.append(chunk.data(), static_cast<std::size_t>(n));
            return;
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
            edit(chunk[i]);
        }
    } else if (n == 0) {
        eof_ = true;
    } else if (errno != EINTR && errno != EAGAIN) {
        throw std::runtime_error(std::string("cannot read standard input: ") + std::strerror(errno));
    }
}

void line_reader::edit(char c) {
    if (escape_ == 1) {
        escape_ = c == '[' || c == 'O' ? 2 : 0;
        return;
    }
    if (escape_ == 2) {
        if (c >= 0x40 && c <= 0x7e) {
            escape_ = 0; // the final byte of the sequence
        }
        return;
    }
    switch (c) {
    case '\r':
    case '\n':
        buffer_ += typed_ + '\n';
        typed_.clear();
        return;
    case 0x7f: // Backspace (DEL), and Ctrl-H: one character, not one byte
    case 0x08:
        while (!typed_.empty() && is_continuation(typed_.back())) {
            typed_.pop_back();
        }
        if (!typed_.empty()) {
            typed_.pop_back();
        }
        return;
    case 0x15: // Ctrl-U: the whole line
        typed_.clear();
        return;
    case 0x17: // Ctrl-W: the word before the cursor
        while (!typed_.empty() && typed_.back() == ' ') {
            typed_.pop_back();
        }
        while (!typed_.empty() && typed_.back() != ' ') {
            typed_.pop_back();
        }
        return;
    case 0x04: // Ctrl-D: end of input on an empty line, as the terminal does
        if (typed_.empty()) {
            eof_ = true;
        }
        return;
    case 0x1b:
        escape_ = 1;
        return;
    default:
        break;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
        return; // other control characters are not text
    }
    if (typed_.size() < max_buffered) {
        typed_ += c;
    }
}

std::optional<std::string> line_reader::next_line() {
    auto newline = buffer_.find('\n');
    if (newline == std::string::npos) {
        if (buffer_.size() >= max_buffered) {
            newline = max_buffered;
        } else if (eof_ && !buffer_.empty()) {
            newline = buffer_.size();
        } else {
            return std::nullopt;
        }
    }
    std::string line = buffer_.substr(0, newline);
    buffer_.erase(0, std::min(newline + 1, buffer_.size()));
    if (!line.empty() && line.back() == '\r') {
        line.pop_back(); // typed on a terminal set to CRLF, or a file written on Windows
    }
    return line;
}

} // namespace p2p::cli
