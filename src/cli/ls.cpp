// SPDX-License-Identifier: MIT
// ls.cpp - `p2p-peer ls host:port [--json]`: the files another peer shares, one "name size" line each.
#include "commands.hpp"
#include "exit_code.hpp"
#include "json.hpp"
#include "remote_session.hpp"
#include "temporary_folder.hpp"
#include "web_option.hpp"

#include "p2p/file_name.hpp"

#include <algorithm>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace p2p::cli {

namespace {

struct ls_arguments {
    std::string address;
    bool json = false;
};

int run_ls(const ls_arguments& arguments, const global_options& globals) {
    refuse_web(globals, "ls");
    // A peer needs a folder; a one-shot client lists nothing in it, and a temporary one leaves nothing behind.
    temporary_folder folder;
    remote_session session(globals, folder.path(), arguments.address);
    const auto peers = session.local().peers();
    const auto it =
        std::find_if(peers.begin(), peers.end(), [&](const peer_info& p) { return p.id == session.remote().id; });
    if (it == peers.end()) {
        throw std::runtime_error("peer " + session.remote().id.short_hex() + " left before listing its files");
    }
    if (arguments.json) {
        std::cout << dump(files_json(it->files)) << '\n';
    } else {
        for (const auto& f : it->files) {
            // The size is the last field, so a name with spaces still splits cleanly from the right.
            std::cout << escape_for_terminal(f.name) << ' ' << f.size << '\n';
        }
    }
    std::cout.flush();
    return exit_ok;
}

} // namespace

subcommand setup_ls(CLI::App& app, const global_options& globals) {
    auto* sub = app.add_subcommand("ls", "Print the files another peer shares, one \"name size\" line each");
    auto arguments = std::make_shared<ls_arguments>();
    sub->add_option("address", arguments->address, "The other peer")
        ->check(host_port_check())
        ->type_name("HOST:PORT")
        ->required();
    sub->add_flag("--json", arguments->json, "Print a JSON array of {\"name\", \"size\"} objects");
    return {sub, [arguments, &globals] { return run_ls(*arguments, globals); }, "one peer address"};
}

} // namespace p2p::cli
