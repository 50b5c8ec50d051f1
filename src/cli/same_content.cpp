// SPDX-License-Identifier: MIT
#include "same_content.hpp"

#include "p2p/manifest.hpp"
#include "p2p/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>

namespace p2p::cli {

bool has_listed_content(const std::filesystem::path& path, const file_entry& listed,
                        const std::function<void(std::uint64_t)>& progress) {
    if (!listed.root) {
        return false;
    }
    // O_NOFOLLOW: a symlink standing there is not the file, whatever it points to.
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct ::stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<std::uint64_t>(st.st_size) != listed.size) {
        return false;
    }
    manifest_build_options options;
    options.progress = progress;
    const auto built = build_manifest(fd.get(), listed.size, options);
    return built && built->root == *listed.root;
}

} // namespace p2p::cli
