// SPDX-License-Identifier: MIT
// memory_folder.hpp - a shared folder in memory for the simulation: the core's folder_io, with faults on command
// (a full disk, read errors, a failing sync) and a record of every name it was asked to touch.
#pragma once

#include "p2p/core/storage.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace p2p::sim {

class memory_folder;

/// One file's bytes. A handle keeps them alive after the file is replaced, as an unlinked inode would.
class memory_file final : public core::file_handle {
public:
    memory_file(memory_folder& owner, std::string bytes, std::uint64_t inode);

    std::optional<std::string> read_at(std::byte* into, std::size_t length, std::uint64_t offset) override;
    std::optional<std::string> write_at(const std::byte* from, std::size_t length, std::uint64_t offset) override;
    std::optional<std::string> truncate(std::uint64_t size) override;
    void start_writeback(std::uint64_t, std::uint64_t) override {}
    std::optional<std::string> sync() override;
    std::optional<file_stat> stat() override { return stat_; }

    const std::string& bytes() const { return bytes_; }
    /// Replaces the content in place (same inode), as an editor saving over the file would.
    void rewrite(std::string bytes);

private:
    void touch();

    memory_folder& owner_;
    std::string bytes_;
    file_stat stat_;
};

class memory_folder final : public core::folder_io {
public:
    /// `clock` gives the simulated time in nanoseconds, for modification times.
    explicit memory_folder(const std::int64_t* clock_ns);

    // Faults, switched by the scenario.
    bool disk_full = false;   ///< Writes fail with ENOSPC.
    bool read_errors = false; ///< Reads fail with EIO.
    bool sync_errors = false; ///< fsync fails with EIO.
    bool watch_lost = false;  ///< Some folder went unwatched (the inotify watch limit): watching_everything() false.
    /// This folder's system boot (folder_io::boot); a scenario changes it to play a reboot.
    core::boot_id boot_now{1, 2, 3};

    /// The scenario's own hand: put a file in the folder (a new inode) or change one in place.
    void put(const std::string& name, std::string bytes);
    void rewrite(const std::string& name, std::string bytes);
    /// A file under its final name, or nullptr.
    const memory_file* file(const std::string& name) const;
    const std::map<std::string, std::shared_ptr<memory_file>>& files() const { return files_; }
    /// Names the core asked to create or rename into that are not valid relative paths: must stay empty.
    const std::vector<std::string>& bad_names() const { return bad_names_; }

    std::optional<std::vector<core::folder_entry>> scan() override;
    std::variant<core::opened_file, std::string> open_shared(std::string_view name) override;
    bool exists(std::string_view name) override;
    std::optional<core::partial_download> find_partial(std::string_view name) override;
    std::variant<std::shared_ptr<core::file_handle>, std::string> open_partial(std::string_view name,
                                                                               bool keep_bytes) override;
    std::variant<std::shared_ptr<core::file_handle>, std::string> open_journal(std::string_view name,
                                                                               bool keep_records) override;
    std::optional<std::string> describe_partial(std::string_view name, std::uint64_t size, const digest& hash) override;
    core::place_result place_partial(std::string_view name, bool replace, std::string& error) override;
    void sync_folder_of(std::string_view) override {} // renames are durable at once here
    void remove_partial(std::string_view name) override;
    std::optional<std::uint64_t> free_space() override;
    bool watching_everything() const override { return !watch_lost; }
    core::boot_id boot() const override { return boot_now; }

    std::int64_t now_ns() const { return *clock_ns_; }
    /// The journal of a partial download, or nullptr (a test reads or damages it).
    memory_file* journal(const std::string& name);

private:
    bool check_name(std::string_view name);

    const std::int64_t* clock_ns_;
    std::uint64_t next_inode_ = 1;
    std::map<std::string, std::shared_ptr<memory_file>> files_;
    std::map<std::string, std::shared_ptr<memory_file>> partials_;
    std::map<std::string, std::shared_ptr<memory_file>> journals_;
    std::map<std::string, std::pair<std::uint64_t, digest>> descriptions_;
    std::vector<std::string> bad_names_;
};

} // namespace p2p::sim
