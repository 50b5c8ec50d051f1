// SPDX-License-Identifier: MIT
// event_output.cpp - text or JSON lines for serve and the shutdown.
#include "event_output.hpp"

#include "commands.hpp"
#include "event_text.hpp"
#include "json.hpp"

#include "p2p/endpoint.hpp"
#include "p2p/interface_addresses.hpp"

namespace p2p::cli {

void event_output::started(const peer& p) {
    if (json_) {
        screen_.line(dump(
            started_json(p.id(), display_address(p.endpoint()), reachable_addresses(p.endpoint()), p.public_key())));
        return;
    }
    screen_.line(started_line(p));
    if (const auto reach = reachable_line(p); !reach.empty()) {
        screen_.line(reach);
    }
    if (const auto keys = key_line(p); !keys.empty()) {
        screen_.line(keys);
    }
}

void event_output::web(const std::string& url) {
    screen_.line(json_ ? dump(json{{"event", "web"}, {"url", url}}) : web_line(url));
}

void event_output::event(const p2p::event& e) {
    if (json_) {
        screen_.line(dump(event_json(e)));
    } else if (auto text = describe(e)) {
        screen_.line(*text);
    }
}

void event_output::stopping() {
    screen_.line(json_ ? dump(stopping_json()) : "Shutting down peer...");
}

void event_output::stopping_now() {
    screen_.line(json_ ? dump(json{{"event", "stopping_now"}}) : "Stopping now");
}

void event_output::stopped(peer_id id) {
    screen_.line(json_ ? dump(stopped_json(id)) : "Peer " + id.short_hex() + " stopped");
}

} // namespace p2p::cli
