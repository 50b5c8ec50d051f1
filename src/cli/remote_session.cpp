// SPDX-License-Identifier: MIT
#include "remote_session.hpp"

#include "exit_code.hpp"
#include "wait.hpp"

#include "p2p/file_name.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>

namespace p2p::cli {

namespace {

/// A one-shot client (ls, get): its folder takes the download, and nothing in it is listed or served. It takes a new
/// id each time and writes none: it serves nobody who would need to know it again, and its folder is often the
/// current directory, where a .p2p/ of ours would be litter.
peer_options one_shot_options(const global_options& globals, const std::filesystem::path& folder, bool follow_peers) {
    if (globals.discover) {
        throw usage_error("--discover is for the menu and serve: ls and get connect to the address given");
    }
    auto options = make_peer_options(globals, folder, 0, "127.0.0.1");
    options.client = true;
    options.follow_peers = follow_peers;
    options.discover = false;
    options.keep_id = false;
    return options;
}

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
    std::string text;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        text += (i == 0 ? "" : std::string(separator)) + parts[i];
    }
    return text;
}

} // namespace

remote_session::remote_session(const global_options& globals, const std::filesystem::path& folder,
                               const std::string& address)
    : remote_session(globals, folder, std::vector<std::string>{address}, false) {}

remote_session::remote_session(const global_options& globals, const std::filesystem::path& folder,
                               const std::vector<std::string>& addresses, bool follow_peers)
    : peer_(context_, one_shot_options(globals, folder, follow_peers)) {
    // All at once: the slowest address (one that never answers, until the connect timeout) bounds the wait, not
    // the sum of them.
    std::map<operation_id, std::size_t> pending; // op -> index in addresses
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        pending[peer_.start_connect(addresses[i])] = i;
    }
    std::vector<std::optional<connect_finished>> outcomes(addresses.size());
    while (!pending.empty()) {
        const auto woke = wait_for_activity(peer_, stop_, nullptr, std::chrono::milliseconds(1000));
        if (woke == wake::stop) {
            std::vector<std::string> waiting;
            for (const auto& [op, i] : pending) {
                waiting.push_back(escape_for_terminal(addresses[i]));
            }
            throw interrupted_error("interrupted while connecting to " + joined(waiting, ", "));
        }
        if (woke != wake::event) {
            continue;
        }
        // Events before the connects finish (peers joining) need no showing.
        auto e = take_event(peer_, nullptr);
        if (const auto* done = e ? std::get_if<connect_finished>(&*e) : nullptr) {
            if (const auto found = pending.find(done->op); found != pending.end()) {
                outcomes[found->second] = *done;
                pending.erase(found);
            }
        }
    }
    for (auto& outcome : outcomes) {
        if (outcome->ok) {
            connected_.push_back(std::move(*outcome));
        }
    }
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const auto& outcome = *outcomes[i];
        const auto same_peer = [&](const connect_finished& reached) {
            return reached.id == outcome.id;
        };
        if (outcome.ok || (outcome.already_connected && std::any_of(connected_.begin(), connected_.end(), same_peer))) {
            continue; // another address of a peer reached here is no failure: it is that peer
        }
        failures_.push_back("cannot connect to " + escape_for_terminal(addresses[i]) + ": " +
                            escape_for_terminal(outcome.error));
    }
    if (connected_.empty()) {
        throw std::runtime_error(joined(failures_, "; "));
    }
}

} // namespace p2p::cli
