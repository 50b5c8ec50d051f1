// SPDX-License-Identifier: MIT
// stop_signal.hpp - SIGINT and SIGTERM as a file descriptor that zmq::poll can watch (the self-pipe trick).
//
// A flag checked before poll() has a race: a signal arriving just before the poll starts is seen only at the next
// timeout. A byte written to a pipe by the handler wakes the poll whenever it arrives.
#pragma once

#include "p2p/unique_fd.hpp"

#include <zmq.hpp>

namespace p2p::cli {

/// Installs the handlers while it lives; one instance per process.
class stop_signal {
public:
    /// Throws std::runtime_error if the pipe cannot be made.
    stop_signal();
    /// Restores the default handlers.
    ~stop_signal();
    stop_signal(const stop_signal&) = delete;
    stop_signal& operator=(const stop_signal&) = delete;

    /// For zmq::poll beside other sources; readable once a stop was asked for.
    zmq::pollitem_t pollitem() const;
    /// True once SIGINT or SIGTERM arrived.
    bool requested() const;
    /// Forgets the signals so far, so that the next one can be told apart (a second Ctrl-C means "now").
    void clear() noexcept;
    /// Puts the default handlers back.
    void restore_defaults() noexcept;

private:
    unique_fd read_end_;
    unique_fd write_end_;
};

} // namespace p2p::cli
