// SPDX-License-Identifier: MIT
// thread_without_signals.hpp - threads that asynchronous signals never land on.
//
// A signal the process handles (the front ends' Ctrl-C, a fuzzer's alarm) goes to whichever thread does not block
// it, and there any ZeroMQ call can fail with EINTR: a bind or connect, even a receive with ZMQ_DONTWAIT or the
// second part of a multipart send. The threads this library starts own sockets and files and have nothing to do
// with a signal, so, like libzmq's own I/O threads, they are born with every asynchronous signal blocked; the
// front end's thread takes them all. Faults (SIGSEGV and the like) stay unblocked: they belong to the thread that
// caused them, and the sanitizers report them there.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace p2p {

/// std::thread(f, args...), started with asynchronous signals blocked; threads it starts in turn inherit that.
template <typename F, typename... Args>
std::thread thread_without_signals(F&& f, Args&&... args) {
    sigset_t blocked, previous;
    ::sigfillset(&blocked);
    for (const int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) {
        ::sigdelset(&blocked, fault);
    }
    ::pthread_sigmask(SIG_BLOCK, &blocked, &previous);
    // The new thread copies the mask of this one at its creation: no moment where a signal could still reach it.
    struct restore_mask {
        const sigset_t& mask;
        ~restore_mask() { ::pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
    } restore{previous};
    return std::thread(std::forward<F>(f), std::forward<Args>(args)...);
}

} // namespace p2p
