// SPDX-License-Identifier: MIT
// event_output.hpp - the lines serve and the shutdown print: text for people, or with `serve --json` one JSON object
// per line (the same objects the web API's event stream carries; docs/api.md).
#pragma once

#include "console.hpp"

#include "p2p/peer.hpp"

#include <string>

namespace p2p::cli {

class event_output {
public:
    /// Prints on `screen`; `as_json` selects JSON lines.
    event_output(console& screen, bool as_json) : screen_(screen), json_(as_json) {}

    /// "Peer <id> started on <host>:<port>" and, in secure mode, the public key line.
    void started(const peer& p);
    /// "Web interface: <url>".
    void web(const std::string& url);
    /// One event. As text, events without a line of their own (download_progress) print nothing.
    void event(const p2p::event& e);
    /// "Shutting down peer...".
    void stopping();
    /// "Stopping now" (a second signal).
    void stopping_now();
    /// "Peer <id> stopped".
    void stopped(peer_id id);

private:
    console& screen_;
    bool json_;
};

} // namespace p2p::cli
