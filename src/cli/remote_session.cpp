// SPDX-License-Identifier: MIT
#include "remote_session.hpp"

#include "exit_code.hpp"
#include "wait.hpp"

#include "p2p/file_name.hpp"

#include <stdexcept>

namespace p2p::cli {

namespace {

/// A one-shot client (ls, get): its folder takes the download, and nothing in it is listed or served. It takes a new
/// id each time and writes none: it serves nobody who would need to know it again, and its folder is often the
/// current directory, where a .p2p/ of ours would be litter.
peer_options one_shot_options(const global_options& globals, const std::filesystem::path& folder) {
    if (globals.discover) {
        throw usage_error("--discover is for the menu and serve: ls and get connect to the address given");
    }
    auto options = make_peer_options(globals, folder, 0, "127.0.0.1");
    options.client = true;
    options.discover = false;
    options.keep_id = false;
    return options;
}

} // namespace

remote_session::remote_session(const global_options& globals, const std::filesystem::path& folder,
                               const std::string& address)
    : peer_(context_, one_shot_options(globals, folder)) {
    const auto op = peer_.start_connect(address);
    // Events before the connect finishes (none are expected from a fresh peer) need no showing.
    auto done = await_operation<connect_finished>(peer_, stop_, op, [](const event&) {});
    if (!done) {
        throw interrupted_error("interrupted while connecting to " + escape_for_terminal(address));
    }
    if (!done->ok) {
        throw std::runtime_error("cannot connect to " + escape_for_terminal(address) + ": " +
                                 escape_for_terminal(done->error));
    }
    remote_ = std::move(*done);
}

} // namespace p2p::cli
