// SPDX-License-Identifier: MIT
// line_reader.hpp - lines from standard input without blocking the loop that also waits for peer events.
//
// std::getline would block while events wait; std::cin's own buffer would hide typed lines from poll(). This reads
// whatever the descriptor has once poll says it is readable, and hands out whole lines.
//
// On a terminal the line being typed is kept here, not in the terminal driver (canonical mode and echo are off while
// the reader lives; Ctrl-C still raises SIGINT): an event line printed meanwhile erases the screen line, and only a
// reader that knows the typed text can draw it again (console::typed). Backspace, Ctrl-U, Ctrl-W and Ctrl-D (on an
// empty line: end of input) work as in the terminal's own line editing. From a pipe or file, input is read as it is.
#pragma once

#include <termios.h>

#include <zmq.hpp>

#include <optional>
#include <string>

namespace p2p::cli {

class line_reader {
public:
    /// Takes over the terminal's line editing when fd is a terminal and `edit` is true.
    line_reader(int fd, bool edit = false);
    /// Gives the terminal its settings back.
    ~line_reader();
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;

    /// For zmq::poll; readable when there is input or end of input.
    zmq::pollitem_t pollitem() const { return zmq::pollitem_t{nullptr, fd_, ZMQ_POLLIN, 0}; }
    /// Reads what is available (call when poll says readable). Throws std::runtime_error on a read error.
    void fill();
    /// The next whole line without its line ending; at end of input, a last line without one. nullopt if none.
    std::optional<std::string> next_line();
    /// End of input reached and every line handed out.
    bool finished() const { return eof_ && buffer_.empty(); }
    /// Whether this reader edits the line itself (a terminal): the caller shows typed() after the prompt.
    bool editing() const { return saved_.has_value(); }
    /// The line being typed, not yet ended by Enter (editing only).
    const std::string& typed() const { return typed_; }

private:
    void edit(char c);

    int fd_;
    std::string buffer_;
    bool eof_ = false;
    std::optional<termios> saved_; ///< The terminal's settings before; set while this reader edits.
    std::string typed_;
    int escape_ = 0; ///< Inside an escape sequence (arrow keys...): 1 after ESC, 2 after ESC [.
};

} // namespace p2p::cli
