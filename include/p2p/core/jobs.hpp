// SPDX-License-Identifier: MIT
// core/jobs.hpp - slow file work the core hands out (hashing pieces, fsync) and the results it gets back.
//
// The core never waits for a disk: it asks for a job through effects::start_job and goes on; the job's result comes
// back as an input (node_core::on_job_done). The real node runs jobs on its io_worker thread, the simulation when
// its clock says they are done. run_job() is the work itself, the same for both.
#pragma once

#include "p2p/core/piece_journal.hpp"
#include "p2p/core/storage.hpp"
#include "p2p/merkle.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace p2p::core {

using job_id = std::uint64_t;

/// The BLAKE3 leaves of bytes [0, length) of a file cut into pieces of piece_size: a holder's manifest (length is
/// the file size), or the pieces a resumed partial file already holds. Each byte is read and hashed once; a resume
/// takes the leaves its journal holds as they are and reads only the bytes after them.
struct hash_job {
    std::shared_ptr<file_handle> file;
    std::uint64_t length = 0;
    std::uint32_t piece_size = 0; ///< A power of two.
    /// A holder's manifest: taken from this store when it has one for (name, stat), and kept there once built from
    /// a file whose stat did not change meanwhile; nullptr for none (a resume).
    std::shared_ptr<manifest_store> store;
    std::string name;
    file_stat stat;
    /// A resume: the partial file's journal (nullptr for none) and the download it must name to be trusted.
    std::shared_ptr<file_handle> journal;
    journal_key key;
    /// Nobody waits for it yet: a settled file hashed ahead of its first REQUEST. The node runs it at low priority,
    /// so it never delays what a transfer waits for (a sync, a journal write, a hash a REQUEST asked for).
    bool background = false;
};
/// Make finished downloads durable before they are renamed. Several files: the write-back of every one is started
/// first, then each is fsynced, so that the first fsync's journal commit carries them all and the others only wait
/// for their own data (one commit for the batch, not one per file).
struct sync_job {
    std::vector<std::shared_ptr<file_handle>> files;
};
/// Make the first `durable` pieces of a download durable and say so in its journal (their records are written
/// already): the partial file is synced first, so after a reboot the journal vouches only for bytes on disk.
struct journal_job {
    std::shared_ptr<file_handle> file;
    std::shared_ptr<file_handle> journal;
    journal_key key;
    std::uint64_t durable = 0;
};
using job = std::variant<hash_job, sync_job, journal_job>;

struct job_result {
    job_id id = 0;
    bool ok = false;
    std::string error; ///< When !ok: one line ("cancelled" for a job that was asked to stop).
    /// hash_job: the leaf of every complete piece of [0, length), in order.
    std::vector<digest> leaves;
    /// hash_job: the bytes after the last complete piece (length % piece_size of them), hashed so far: final() is
    /// the last leaf of a file whose size is not a multiple of the piece size (or of an empty file).
    leaf_hasher tail;
    /// hash_job: bytes of the file read (0 when the store had its manifest; a resume: only those after the pieces
    /// its journal holds).
    std::uint64_t bytes_read = 0;
    /// hash_job of a resume: how many of `leaves` (the first ones) came from the journal, and how many of those
    /// the journal says are durable.
    std::uint64_t journaled = 0;
    std::uint64_t journal_durable = 0;
};

/// Does the work of a job. `should_stop` is asked between blocks (1 MiB), so a cancelled hash of a large file ends
/// at once.
job_result run_job(job_id id, job& work, const std::function<bool()>& should_stop);

} // namespace p2p::core
