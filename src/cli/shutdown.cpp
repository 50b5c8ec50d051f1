// SPDX-License-Identifier: MIT
#include "shutdown.hpp"

#include "event_text.hpp"
#include "wait.hpp"

namespace p2p::cli {

void shut_down(peer& p, stop_signal& stop, console& screen) {
    screen.line("Shutting down peer...");
    // The signal that began this (if one did) is spent: only another one means "now".
    stop.clear();
    p.begin_stop();
    while (!p.stopped()) {
        switch (wait_for_activity(p, stop, nullptr, std::chrono::milliseconds(1000))) {
        case wake::stop:
            screen.line("Stopping now");
            p.stop_now();
            break;
        case wake::event:
            if (auto e = p.next_event(std::chrono::milliseconds(0))) {
                if (auto text = describe(*e)) {
                    screen.line(*text);
                }
            }
            break;
        case wake::input:
        case wake::idle:
            break;
        }
    }
    p.stop(); // joins the node thread; it has left already
    screen.line("Peer " + p.id().short_hex() + " stopped");
}

} // namespace p2p::cli
