// SPDX-License-Identifier: MIT
// downloads_in_flight.hpp - which file of a set each running download is for (`get` of several files, the menu's
// choice 3 with a folder), and the running ones as await_downloads takes them.
#pragma once

#include "p2p/event.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <set>

namespace p2p::cli {

class downloads_in_flight {
public:
    /// Download `op` fetches file `i`.
    void started(operation_id op, std::size_t i) {
        file_of_[op] = i;
        running_.insert(op);
    }
    /// Download `op` (one of these) has ended: its file.
    std::size_t finished(operation_id op) {
        const auto i = file_of_.at(op);
        file_of_.erase(op);
        running_.erase(op);
        return i;
    }
    /// The file of download `op`, when it is one of these and still runs.
    std::optional<std::size_t> file_of(operation_id op) const {
        const auto found = file_of_.find(op);
        return found == file_of_.end() ? std::nullopt : std::optional(found->second);
    }
    /// What await_downloads waits for.
    const std::set<operation_id>& running() const { return running_; }

private:
    std::map<operation_id, std::size_t> file_of_;
    std::set<operation_id> running_;
};

} // namespace p2p::cli
