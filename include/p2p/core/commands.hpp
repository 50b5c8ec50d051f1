// SPDX-License-Identifier: MIT
// core/commands.hpp - what the front end asks of a peer: the values that travel from peer.hpp to the core.
#pragma once

#include "p2p/download_request.hpp"
#include "p2p/event.hpp"

#include <string>
#include <variant>

namespace p2p {

namespace command {
/// Connect to "host:port" (or "KEY@host:port" in secure mode, or an endpoint); answered by connect_finished.
struct connect {
    operation_id op = 0;
    std::string address;
};
/// Download into the shared folder; answered by download_progress events and download_finished.
struct download {
    operation_id op = 0;
    download_request request;
};
/// Stop a download started with `op`; its partial file stays for a later resume.
struct cancel {
    operation_id op = 0;
};
/// Leave: finish the transfers in flight while they make progress (or none, when `now`), then GOODBYE.
struct stop {
    bool now = false;
};
} // namespace command

using core_command = std::variant<command::connect, command::download, command::cancel, command::stop>;

} // namespace p2p
