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
} // namespace

void line_reader::fill() {
    if (eof_) {
        return;
    }
    std::array<char, 4096> chunk{};
    const auto n = ::read(fd_, chunk.data(), chunk.size());
    if (n > 0) {
        buffer_.append(chunk.data(), static_cast<std::size_t>(n));
    } else if (n == 0) {
        eof_ = true;
    } else if (errno != EINTR && errno != EAGAIN) {
        throw std::runtime_error(std::string("cannot read standard input: ") + std::strerror(errno));
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
