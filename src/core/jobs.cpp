// SPDX-License-Identifier: MIT
#include "p2p/core/jobs.hpp"

#include <vector>

namespace p2p::core {

namespace {

constexpr std::size_t read_block = 1u << 20;

job_result run(job_id id, hash_job& work, const std::function<bool()>& should_stop) {
    job_result out{id, false, {}, {}, {}};
    out.leaves.reserve(static_cast<std::size_t>(work.length / work.piece_size));
    // No larger than the file: hashing many small files must not zero a megabyte each time.
    std::vector<std::byte> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(read_block, work.length)));
    for (std::uint64_t offset = 0; offset < work.length;) {
        if (should_stop()) {
            out.error = "cancelled";
            return out;
        }
        // A read never crosses a piece's end, so each piece's last byte ends a read and its leaf is taken there.
        const std::uint64_t piece_end = (offset / work.piece_size + 1) * work.piece_size;
        const auto want = static_cast<std::size_t>(
            std::min<std::uint64_t>({buffer.size(), work.length - offset, piece_end - offset}));
        if (auto problem = work.file->read_at(buffer.data(), want, offset)) {
            out.error = *problem;
            return out;
        }
        out.tail.update(buffer.data(), want);
        offset += want;
        if (offset == piece_end) {
            out.leaves.push_back(out.tail.final());
            out.tail.reset();
        }
    }
    out.ok = true;
    return out;
}

job_result run(job_id id, sync_job& work, const std::function<bool()>&) {
    job_result out{id, false, {}, {}, {}};
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
