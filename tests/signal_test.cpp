// SPDX-License-Identifier: MIT
// Signals that land in ZeroMQ calls: a Ctrl-C reaches whichever thread of the process does not block it, and
// poll() and libzmq's waits return EINTR whatever SA_RESTART says.
#include "support.hpp"

#include "p2p/interrupted.hpp"
#include "p2p/watched_socket.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

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
    // waited for its node. Here signals go every half millisecond to the front end's thread and to the process while
    // the front end asks its node again and again: every answer must come, and the node must go on serving.
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
            ::kill(::getpid(), SIGUSR1);        // and the process (every thread the library starts blocks it)
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

namespace {

/// Sends SIGUSR1 to every thread of the process but the test's own and its own, again and again, until it goes:
/// the threads the library starts (the node's, its workers', libzmq's) see a signal whenever one can reach them.
class signal_storm {
public:
    signal_storm() : spared_(static_cast<pid_t>(::syscall(SYS_gettid))), thread_([this] { run(); }) {}
    ~signal_storm() {
        done_ = true;
        thread_.join();
    }
    signal_storm(const signal_storm&) = delete;
    signal_storm& operator=(const signal_storm&) = delete;
    std::size_t sent() const { return sent_; }

private:
    void run() {
        const auto self = static_cast<pid_t>(::syscall(SYS_gettid));
        while (!done_) {
            for (const auto& task : fs::directory_iterator("/proc/self/task")) {
                const auto tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
                if (tid != spared_ && tid != self && ::syscall(SYS_tgkill, ::getpid(), tid, SIGUSR1) == 0) {
                    ++sent_;
                }
            }
            std::this_thread::yield();
        }
    }

    const pid_t spared_;
    std::atomic<bool> done_{false};
    std::atomic<std::size_t> sent_{0};
    std::thread thread_;
};

} // namespace

TEMPLATE_TEST_CASE("defect: a signal that lands on a peer's own threads fails its listen or dial or stops its node",
                   "[defect][node][net]", inproc, tcp) {
    // The fuzzer's alarm signal made a node fail with "cannot listen on inproc://...: Interrupted system call", and
    // a signal on the node's thread can as well fail a dial or throw out of a receive and stop the node. A Ctrl-C
    // or any handled signal reaches whichever thread does not block it: here every thread but the test's gets
    // them, while new peers start, get dialled, and serve a file. Each must work as without the signals.
    handled_signal handled;
    zmq::context_t ctx;
    temp_dir da, db;
    write_file(da / "a.txt", patterned_bytes(8000000, 1));
    peer a(ctx, options_in<TestType>(da.path()));
    peer b(ctx, options_in<TestType>(db.path()));
    signal_storm storm;
    for (int i = 0; i < 40; ++i) {
        temp_dir dc;
        peer c(ctx, options_in<TestType>(dc.path()));
        const auto connected = b.connect(c.endpoint());
        INFO("peer " << i << ": " << connected.error);
        REQUIRE(connected.ok);
    }
    REQUIRE(b.connect(a.endpoint()).ok);
    const auto op = b.start_download({"a.txt", "", {}, {}});
    auto finished = wait_event<download_finished>(b, [&](const auto& e) { return e.op == op; });
    REQUIRE(finished);
    CHECK(finished->ok);
    CHECK(read_file(db / "a.txt") == patterned_bytes(8000000, 1));
    CHECK(storm.sent() > 0);
}

TEST_CASE("defect: a signal that lands while a watched socket starts or reads its events throws out of it",
          "[defect][watched_socket][net]") {
    // A node driven from a thread that takes signals (the fuzz harness's, or a program's own that links the library)
    // opens a watched socket for each dial and reads its monitor: libzmq's monitor set-up, its connect and a receive
    // with ZMQ_DONTWAIT all process pending commands first, and that wait fails with EINTR.
    handled_signal handled;
    zmq::context_t ctx;
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.bind("tcp://127.0.0.1:*");
    const auto endpoint = router.get(zmq::sockopt::last_endpoint);
    const auto test_thread = ::pthread_self();
    std::atomic<bool> done{false};
    std::atomic<std::size_t> sent{0};
    std::thread storm([&] {
        while (!done) {
            if (::pthread_kill(test_thread, SIGUSR1) == 0) {
                ++sent;
            }
            std::this_thread::yield();
        }
    });
    std::size_t handshakes = 0;
    std::string error;
    for (int i = 0; i < 200 && error.empty(); ++i) {
        try {
            zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
            dealer.set(zmq::sockopt::linger, 0);
            watched_socket w(ctx, std::move(dealer), ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
            retry_interrupted([&] { w.socket().connect(endpoint); });
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            bool seen = false;
            while (!seen && std::chrono::steady_clock::now() < until) {
                zmq::pollitem_t item{w.monitor().handle(), 0, ZMQ_POLLIN, 0};
                poll_through_signals({&item, 1}, std::chrono::milliseconds(50));
                while (auto e = w.next_event()) {
                    seen = seen || e->kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
                }
            }
            handshakes += seen ? 1 : 0;
        } catch (const zmq::error_t& e) {
            error = e.what();
        }
    }
    done = true;
    storm.join();
    INFO("signals sent: " << sent.load());
    CHECK(error == "");
    CHECK(handshakes == 200);
}
