// SPDX-License-Identifier: MIT
#include "p2p/file_stat.hpp"

namespace p2p {

namespace {
std::int64_t to_ns(const struct timespec& ts) {
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
} // namespace

file_stat file_stat::of(const struct ::stat& st) {
    return file_stat{static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_dev),
                     static_cast<std::uint64_t>(st.st_ino), to_ns(st.st_mtim), to_ns(st.st_ctim)};
}

} // namespace p2p
