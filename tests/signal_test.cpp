// SPDX-License-Identifier: MIT
// Signals that land in ZeroMQ calls: a Ctrl-C reaches whichever thread of the process does not block it, and
// poll() and libzmq's waits return EINTR whatever SA_RESTART says.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <thread>

using namespace p2p;
using namespace p2p::test;

namespace {

extern "C" void ignore_signal(int) {}

/// Installs a handler for SIGUSR1 as the front ends install theirs for SIGINT (SA_RESTART), and restores the
/// default when it goes.
class handled_signal {
public:
    handled_signal() {
        struct sigaction action {};
        action.sa_handler = ignore_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        ::sigaction(SIGUSR1, &action, &previous_);
    }
    ~handled_signal() { ::sigaction(SIGUSR1, &previous_, nullptr); }

private:
    struct sigaction previous_ {};
};

} // namespace

TEST_CASE("defect: a signal that interrupts a ZeroMQ wait ends the front end with 'Interrupted system call'",
          "[defect][node][net]") {
    // The menu died with "p2p-peer: Interrupted system call" (exit 1) when the second Ctrl-C landed while it
    // waited for its node. Here signals land every half millisecond on every thread of the process while the front
    // end asks its node again and again: every answer must come, and the node must go on serving.
    handled_signal handled;
    zmq::context_t ctx;
    temp_dir da, db;
    write_file(da / "a.txt", patterned_bytes(1000, 1));
    peer a(ctx, options_in<inproc>(da.path()));
    peer b(ctx, options_in<inproc>(db.path()));
    REQUIRE(b.connect(a.endpoint()).ok);
    const auto front_end = ::pthread_self();
    std::atomic<bool> done{false};
    std::thread storm([&] {
        while (!done) {
            ::pthread_kill(front_end, SIGUSR1); // the front end's own waits
            ::kill(::getpid(), SIGUSR1);        // and whichever thread the system picks (the node's, libzmq's...)
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
    });
    std::size_t answers = 0;
    try {
        for (int i = 0; i < 300; ++i) {
            answers += b.peers().size();
            (void)b.next_event(std::chrono::milliseconds(1));
        }
    } catch (...) {
        done = true;
        storm.join();
        throw;
    }
    done = true;
    storm.join();
    CHECK(answers == 300);
    const auto op = b.start_download({"a.txt", "", {}, {}});
    auto finished = wait_event<download_finished>(b, [&](const auto& e) { return e.op == op; });
    REQUIRE(finished);
    CHECK(finished->ok);
}
