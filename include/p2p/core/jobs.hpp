// SPDX-License-Identifier: MIT
// core/jobs.hpp - slow file work the core hands out (whole-file hashing, fsync) and the results it gets back.
//
// The core never waits for a disk: it asks for a job through effects::start_job and goes on; the job's result comes
// back as an input (node_core::on_job_done). The real node runs jobs on its io_worker thread, the simulation when
// its clock says they are done. run_job() is the work itself, the same for both.
#pragma once

#include "p2p/blake2b.hpp"
#include "p2p/core/storage.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace p2p::core {

using job_id = std::uint64_t;

/// BLAKE2b of bytes [0, length) of a file; the state comes back so a resume can go on hashing from there.
struct hash_job {
    std::shared_ptr<file_handle> file;
    std::uint64_t length = 0;
};
/// Make a finished download durable before it is renamed.
struct sync_job {
    std::shared_ptr<file_handle> file;
};
using job = std::variant<hash_job, sync_job>;

struct job_result {
    job_id id = 0;
    bool ok = false;
    std::string error;            ///< When !ok: one line ("cancelled" for a job that was asked to stop).
    std::optional<blake2b> state; ///< hash_job: the hasher after the last byte.
};

/// Does the work of a job. `should_stop` is asked between blocks (1 MiB), so a cancelled hash of a large file ends
/// at once.
job_result run_job(job_id id, job& work, const std::function<bool()>& should_stop);

} // namespace p2p::core
