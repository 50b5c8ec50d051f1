// SPDX-License-Identifier: MIT
#include "p2p/core/jobs.hpp"

#include <vector>

namespace p2p::core {

namespace {

constexpr std::size_t read_block = 1u << 20;

job_result run(job_id id, hash_job& work, const std::function<bool()>& should_stop) {
    job_result out{id, false, {}, std::nullopt};
    blake2b hasher;
    // No larger than the file: hashing many small files must not zero a megabyte each time.
    std::vector<std::byte> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(read_block, work.length)));
    for (std::uint64_t offset = 0; offset < work.length;) {
        if (should_stop()) {
            out.error = "cancelled";
            return out;
        }
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), work.length - offset));
        if (auto problem = work.file->read_at(buffer.data(), want, offset)) {
            out.error = *problem;
            return out;
        }
        hasher.update(buffer.data(), want);
        offset += want;
    }
    out.ok = true;
    out.state = hasher;
    return out;
}

job_result run(job_id id, sync_job& work, const std::function<bool()>&) {
    job_result out{id, false, {}, std::nullopt};
    if (auto problem = work.file->sync()) {
        out.error = *problem;
        return out;
    }
    out.ok = true;
    return out;
}

} // namespace

job_result run_job(job_id id, job& work, const std::function<bool()>& should_stop) {
    return std::visit([&](auto& w) { return run(id, w, should_stop); }, work);
}

} // namespace p2p::core
