// SPDX-License-Identifier: MIT
// line_reader.hpp - lines from standard input without blocking the loop that also waits for peer events.
//
// std::getline would block while events wait; std::cin's own buffer would hide typed lines from poll(). This reads
// whatever the descriptor has once poll says it is readable, and hands out whole lines.
#pragma once

#include <zmq.hpp>

#include <optional>
#include <string>

namespace p2p::cli {

class line_reader {
public:
    explicit line_reader(int fd) : fd_(fd) {}

    /// For zmq::poll; readable when there is input or end of input.
    zmq::pollitem_t pollitem() const { return zmq::pollitem_t{nullptr, fd_, ZMQ_POLLIN, 0}; }
    /// Reads what is available (call when poll says readable). Throws std::runtime_error on a read error.
    void fill();
    /// The next whole line without its line ending; at end of input, a last line without one. nullopt if none.
    std::optional<std::string> next_line();
    /// End of input reached and every line handed out.
    bool finished() const { return eof_ && buffer_.empty(); }

private:
    int fd_;
    std::string buffer_;
    bool eof_ = false;
};

} // namespace p2p::cli
