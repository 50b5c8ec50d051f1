// SPDX-License-Identifier: MIT
#include "shutdown.hpp"

#include "wait.hpp"

namespace p2p::cli {

void shut_down(peer& p, stop_signal& stop, event_output& out, web::bridge* web) {
    out.stopping();
    if (web != nullptr) {
        web->stopping();
    }
    // The signal that began this (if one did) is spent: only another one means "now".
    stop.clear();
    p.begin_stop();
    while (!p.stopped()) {
        switch (wait_for_activity(p, stop, nullptr, std::chrono::milliseconds(1000), web)) {
        case wake::stop:
            out.stopping_now();
            p.stop_now();
            break;
        case wake::event:
            if (auto e = take_event(p, web)) {
                out.event(*e);
            }
            break;
        case wake::input:
        case wake::idle:
            break;
        }
    }
    p.stop(); // joins the node thread; it has left already
    // Events the node sent before it stopped, read off the pipe by stop(): the event streams should see them too.
    while (auto e = take_event(p, web)) {
        out.event(*e);
    }
    if (web != nullptr) {
        web->close();
    }
    out.stopped(p.id());
}

} // namespace p2p::cli
