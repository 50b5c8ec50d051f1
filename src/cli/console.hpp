// SPDX-License-Identifier: MIT
// console.hpp - standard output shared by prompts, event lines and a progress bar, so none garbles the others.
//
// An event can arrive while a prompt waits for input, or while a progress bar is drawn. On a terminal the console
// erases the prompt or bar ("\r", erase line), prints the event line, and draws the prompt or bar again. Into a pipe
// there is nothing to erase: an unfinished prompt is ended with a newline first, so every event is a line of its
// own for whoever reads the output.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace p2p::cli {

class console {
public:
    /// `out` is written to; `out_is_tty` enables erasing; `echo_input` echoes answers (for input that a terminal
    /// did not echo, so that a session fed from a file or pipe reads like one typed by hand).
    console(std::ostream& out, bool out_is_tty, bool echo_input);

    /// Whether out is a terminal (a progress bar is drawn, not printed line by line).
    bool is_tty() const { return tty_; }

    /// One whole line. Flushed at once: the reader may be a script waiting for it.
    void line(std::string_view text);
    /// Prints a prompt and leaves the cursor after it until answered() or end_prompt().
    void prompt(std::string_view text);
    /// The prompt got its answer (echoed when echo_input, or shown after the prompt when input_editing).
    void answered(std::string_view answer);
    /// The input reader edits lines itself (line_reader::editing): the terminal echoes nothing, so the console
    /// shows what is being typed after the prompt (typed()), and draws it again after every event line.
    void set_input_editing(bool editing) { editing_ = editing; }
    /// What the user has typed so far at the prompt (input_editing only).
    void typed(std::string_view text);
    /// Ends an unanswered prompt (end of input, Ctrl-C) so what follows starts on a fresh line.
    void end_prompt();
    /// A transient status (progress bar) redrawn in place on a terminal; ignored elsewhere.
    void status(std::string_view text);
    /// Erases the status line.
    void clear_status();

private:
    void erase_current_line();
    void redraw();

    std::ostream& out_;
    bool tty_;
    bool echo_input_;
    bool editing_ = false;
    std::string prompt_; ///< The prompt waiting for an answer; empty when none.
    std::string typed_;  ///< Typed after the prompt so far (editing_ only).
    std::string status_; ///< The status line on screen; empty when none.
};

} // namespace p2p::cli
