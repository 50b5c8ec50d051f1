// SPDX-License-Identifier: MIT
// address_operands.hpp - `get ADDR [ADDR...] NAME [NAME...]`: which of get's words are peer addresses and which are
// names. The words come as one list (CLI11 cannot tell them apart); the leading words that parse as an address are
// the addresses, the first word that does not starts the names.
#pragma once

#include <string>
#include <vector>

namespace p2p::cli {

/// Why `word` is not a peer address as ls and get take it (host:port, [v6]:port, KEY@host:port in secure mode);
/// empty when it is one. Needs no network: the host is not looked up.
std::string address_problem(const std::string& word);

/// get's words, split.
struct address_operands {
    std::vector<std::string> addresses; ///< At least one, in the order given.
    std::vector<std::string> names;     ///< At least one, in the order given.
};

/// Splits get's positional words: the leading words that are addresses (address_problem), then the names. Throws
/// usage_error when no word is an address (naming what is wrong with the first) or no name follows the addresses.
/// A name that looks like an address (host:port) cannot follow the addresses: it would be taken for one.
address_operands split_address_operands(const std::vector<std::string>& words);

} // namespace p2p::cli
