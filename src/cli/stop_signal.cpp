// SPDX-License-Identifier: MIT
#include "stop_signal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>

namespace p2p::cli {

namespace {

/// The handler can only reach globals; -1 while no stop_signal exists.
std::atomic<int> signal_write_fd{-1};
volatile std::sig_atomic_t stop_flag = 0;

extern "C" void on_stop_signal(int) {
    const int saved_errno = errno; // the interrupted code may be about to read errno
    stop_flag = 1;
    const int fd = signal_write_fd.load();
    if (fd >= 0) {
        const char byte = 1;
        // Non-blocking: when the pipe is full, a wake-up is pending already.
        [[maybe_unused]] auto written = ::write(fd, &byte, 1);
    }
    errno = saved_errno;
}

void set_handler(void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART; // the pipe wakes the poll; other system calls need not see EINTR
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

} // namespace

stop_signal::stop_signal() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw std::runtime_error(std::string("cannot create the signal pipe: ") + std::strerror(errno));
    }
    read_end_.reset(fds[0]);
    write_end_.reset(fds[1]);
    stop_flag = 0;
    signal_write_fd = write_end_.get();
    set_handler(on_stop_signal);
}

stop_signal::~stop_signal() {
    restore_defaults();
    signal_write_fd = -1;
}

zmq::pollitem_t stop_signal::pollitem() const {
    return zmq::pollitem_t{nullptr, read_end_.get(), ZMQ_POLLIN, 0};
}

bool stop_signal::requested() const {
    return stop_flag != 0;
}

void stop_signal::clear() noexcept {
    stop_flag = 0;
    char buffer[64];
    while (::read(read_end_.get(), buffer, sizeof buffer) > 0) {
        // the pipe is non-blocking: this ends when it is empty
    }
}

void stop_signal::restore_defaults() noexcept {
    set_handler(SIG_DFL);
}

} // namespace p2p::cli
