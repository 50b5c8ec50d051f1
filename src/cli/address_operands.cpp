// SPDX-License-Identifier: MIT
#include "address_operands.hpp"

#include "exit_code.hpp"

#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/file_name.hpp"

#include <stdexcept>

namespace p2p::cli {

std::string address_problem(const std::string& word) {
    // A URL is refused by name: "tcp://host:port" is what a zmq user would type, and "expected host:port" says how.
    if (word.find("://") != std::string::npos) {
        return "expected HOST:PORT, not a URL";
    }
    try {
        // In secure mode the address carries the other peer's key: KEY@host:port.
        const auto endpoint = to_endpoint(split_keyed_address(word).address);
        // Another process is reached over tcp, at a real port: not inproc, not "any port".
        if (!endpoint.starts_with("tcp://") || endpoint_port(endpoint) == "*") {
            return "expected host:port";
        }
        return {};
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
}

address_operands split_address_operands(const std::vector<std::string>& words) {
    address_operands out;
    std::size_t i = 0;
    for (; i < words.size(); ++i) {
        if (!address_problem(words[i]).empty()) {
            break;
        }
        out.addresses.push_back(words[i]);
    }
    if (out.addresses.empty()) {
        if (words.empty()) {
            throw usage_error("get needs a peer address (HOST:PORT) and a file name");
        }
        throw usage_error("get needs a peer address (HOST:PORT) first; '" + escape_for_terminal(words.front()) +
                          "' is not one: " + address_problem(words.front()));
    }
    // A URL after the addresses was meant as one: say so, rather than look for a file of that name.
    if (i < words.size() && words[i].find("://") != std::string::npos) {
        throw usage_error("'" + escape_for_terminal(words[i]) + "': " + address_problem(words[i]));
    }
    out.names.assign(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
    if (out.names.empty()) {
        throw usage_error("get needs a file name after the peer " +
                          std::string(out.addresses.size() == 1 ? "address" : "addresses"));
    }
    return out;
}

} // namespace p2p::cli
