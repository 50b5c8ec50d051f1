// SPDX-License-Identifier: MIT
// core/storage.hpp - the shared folder as the core sees it: an interface, so that the real node uses the disk
// (posix_folder.hpp) and the simulation a folder in memory that can fail on command.
//
// The rules every implementation keeps: names are relative paths ("sub/a.txt") that the core has checked with
// file_path_problem(); nothing outside the folder is ever opened, and no symlink is followed on the way; only regular
// files are listed or served; partial downloads live under reserved ".p2p" names and are never listed.
#pragma once

#include "p2p/digest.hpp"
#include "p2p/file_stat.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace p2p {
class manifest_store;
} // namespace p2p

namespace p2p::core {

/// Which boot of the system something was written on (folder_io::boot). All zero: unknown.
using boot_id = std::array<std::uint8_t, 16>;

/// An open file: a shared one being served, or a partial download being written. Reads and writes at an offset
/// only, so one file can be read from a worker thread while the loop writes it (the real one is an fd: pread and
/// pwrite are safe to mix).
class file_handle {
public:
    virtual ~file_handle() = default;
    /// Fills `into` with `length` bytes from `offset`. Returns a one-line reason when it cannot: a read error, or
    /// "file changed while being read" when the file ends before.
    virtual std::optional<std::string> read_at(std::byte* into, std::size_t length, std::uint64_t offset) = 0;
    /// Writes all of `length` bytes at `offset`, or returns why not (disk full...).
    virtual std::optional<std::string> write_at(const std::byte* from, std::size_t length, std::uint64_t offset) = 0;
    /// Cuts the file to `size` bytes, or returns why not.
    virtual std::optional<std::string> truncate(std::uint64_t size) = 0;
    /// Starts write-back of a written range without waiting (a hint: the final sync has less left to do); length 0
    /// means to the end of the file.
    virtual void start_writeback(std::uint64_t offset, std::uint64_t length) = 0;
    /// Makes every written byte durable (fsync), or returns why not. Slow: run in a job, off the loop.
    virtual std::optional<std::string> sync() = 0;
    /// The file's identity now (fstat), or nullopt when it cannot be had.
    virtual std::optional<file_stat> stat() = 0;
};

/// A file listed in the folder.
struct folder_entry {
    std::string name;
    file_stat stat;
};

/// What an earlier, interrupted download of a name left: its description and how far it got.
struct partial_download {
    std::uint64_t size = 0;   ///< Whole file, as offered then.
    digest hash{};            ///< Whole-file hash, as offered then.
    std::uint64_t length = 0; ///< Bytes already in the partial file.
};

/// A shared file opened for serving, with its identity at that moment (what hash caches are keyed by).
struct opened_file {
    std::shared_ptr<file_handle> file;
    file_stat stat;
};

/// How moving a finished download into place went.
enum class place_result { placed, name_taken, failed };

class folder_io {
public:
    virtual ~folder_io() = default;

    /// The regular files of the folder and its subfolders, named by relative path (symlinks, devices, reserved and
    /// unsendable names left out), or nullopt when it cannot be listed (said in the log).
    virtual std::optional<std::vector<folder_entry>> scan() = 0;
    /// Opens a shared file for reading, refusing anything but a regular file reached without a symlink. Returns
    /// the reason otherwise, one line that is safe to send to the requester ("File not found", "not a regular
    /// file").
    virtual std::variant<opened_file, std::string> open_shared(std::string_view name) = 0;
    /// Anything of that name (file, directory, link) is in the folder.
    virtual bool exists(std::string_view name) = 0;

    /// The partial download of `name` an earlier run left, if its description is there and usable.
    virtual std::optional<partial_download> find_partial(std::string_view name) = 0;
    /// Opens the partial file of `name` to go on writing it, or creates it empty (replacing a leftover with no
    /// usable description, and removing its journal: a journal never describes bytes it did not see written).
    /// Returns the reason when it cannot.
    virtual std::variant<std::shared_ptr<file_handle>, std::string> open_partial(std::string_view name,
                                                                                 bool keep_bytes) = 0;
    /// Opens the journal of verified pieces beside the partial file of `name` (piece_journal.hpp), creating it when
    /// missing; emptied unless `keep_records`. Returns the reason when it cannot (the download goes on without one).
    virtual std::variant<std::shared_ptr<file_handle>, std::string> open_journal(std::string_view name,
                                                                                 bool keep_records) = 0;
    /// Writes the description that lets a restarted peer resume: the size and hash the holder offered.
    virtual std::optional<std::string> describe_partial(std::string_view name, std::uint64_t size,
                                                        const digest& hash) = 0;
    /// Gives the verified partial file its final name and removes its journal and description. Replaces nothing
    /// there (name_taken) unless `replace`: then a file of that name is replaced in one rename, so it is either the old
    /// file or the new one, never a mix. The rename is durable once sync_folder_of(name) has run (a batch of
    /// downloads into one folder syncs it once).
    virtual place_result place_partial(std::string_view name, bool replace, std::string& error) = 0;
    /// Makes the renames in the folder that holds `name` durable. A failure is logged, not returned: the files are
    /// complete and in place by then.
    virtual void sync_folder_of(std::string_view name) = 0;
    /// Removes the partial file, its journal and its description.
    virtual void remove_partial(std::string_view name) = 0;
    /// Bytes free for downloads, or nullopt when unknown.
    virtual std::optional<std::uint64_t> free_space() = 0;
    /// False once a change somewhere in the tree may go untold (a watch could not be added: the watch limit), so
    /// the core lists the folder on a timer from then on. Asked after each scan.
    virtual bool watching_everything() const { return true; }
    /// Which boot of the system this is (/proc/sys/kernel/random/boot_id): a journal record written on this boot
    /// survives a killed process even before it is synced. All zero when not known.
    virtual boot_id boot() const { return {}; }
    /// Where the manifests of shared files are kept across restarts (<folder>/.p2p/manifests, manifest_store.hpp),
    /// opened when first asked for; nullptr when there is none (a folder in memory, one that cannot be written).
    /// Used from the file worker only.
    virtual std::shared_ptr<manifest_store> manifests() { return nullptr; }
};

} // namespace p2p::core
