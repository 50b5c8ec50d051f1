// SPDX-License-Identifier: MIT
#include "memory_folder.hpp"

#include "p2p/file_name.hpp"

#include <cstring>

namespace p2p::sim {

memory_file::memory_file(memory_folder& owner, std::string bytes, std::uint64_t inode)
    : owner_(owner), bytes_(std::move(bytes)) {
    stat_.inode = inode;
    stat_.device = 1;
    touch();
}

void memory_file::touch() {
    stat_.size = bytes_.size();
    // Every change moves ctime on, as on a real file system; a changed file never looks unchanged.
    stat_.mtime_ns = owner_.now_ns();
    stat_.ctime_ns = stat_.ctime_ns + 1 > owner_.now_ns() ? stat_.ctime_ns + 1 : owner_.now_ns();
}

std::optional<std::string> memory_file::read_at(std::byte* into, std::size_t length, std::uint64_t offset) {
    if (owner_.read_errors) {
        return std::string("read failed: Input/output error");
    }
    if (offset > bytes_.size() || length > bytes_.size() - offset) {
        return std::string("file changed while being read");
    }
    if (length > 0) {
        std::memcpy(into, bytes_.data() + offset, length);
    }
    return std::nullopt;
}

std::optional<std::string> memory_file::write_at(const std::byte* from, std::size_t length, std::uint64_t offset) {
    if (owner_.disk_full) {
        return std::string("No space left on device");
    }
    if (bytes_.size() < offset + length) {
        bytes_.resize(offset + length, '\0'); // a write past the end leaves a hole of zeros, as a sparse file
    }
    if (length > 0) {
        std::memcpy(bytes_.data() + offset, from, length);
    }
    touch();
    return std::nullopt;
}

std::optional<std::string> memory_file::truncate(std::uint64_t size) {
    bytes_.resize(size);
    touch();
    return std::nullopt;
}

std::optional<std::string> memory_file::sync() {
    if (owner_.sync_errors) {
        return std::string("fsync failed: Input/output error");
    }
    return std::nullopt;
}

void memory_file::rewrite(std::string bytes) {
    bytes_ = std::move(bytes);
    touch();
}

memory_folder::memory_folder(const std::int64_t* clock_ns) : clock_ns_(clock_ns) {}

bool memory_folder::check_name(std::string_view name) {
    if (!is_valid_file_path(name)) {
        bad_names_.emplace_back(name);
        return false;
    }
    return true;
}

void memory_folder::put(const std::string& name, std::string bytes) {
    files_[name] = std::make_shared<memory_file>(*this, std::move(bytes), next_inode_++);
}

void memory_folder::rewrite(const std::string& name, std::string bytes) {
    if (auto it = files_.find(name); it != files_.end()) {
        it->second->rewrite(std::move(bytes));
    }
}

const memory_file* memory_folder::file(const std::string& name) const {
    auto it = files_.find(name);
    return it == files_.end() ? nullptr : it->second.get();
}

std::optional<std::vector<core::folder_entry>> memory_folder::scan() {
    std::vector<core::folder_entry> out;
    for (const auto& [name, f] : files_) {
        out.push_back(core::folder_entry{name, *f->stat()});
    }
    return out;
}

std::variant<core::opened_file, std::string> memory_folder::open_shared(std::string_view name) {
    if (!check_name(name)) {
        return std::string("invalid name");
    }
    auto it = files_.find(std::string(name));
    if (it == files_.end()) {
        return std::string("File not found");
    }
    return core::opened_file{it->second, *it->second->stat()};
}

bool memory_folder::exists(std::string_view name) {
    return files_.contains(std::string(name));
}

std::optional<core::partial_download> memory_folder::find_partial(std::string_view name) {
    const std::string key(name);
    auto d = descriptions_.find(key);
    auto p = partials_.find(key);
    if (d == descriptions_.end() || p == partials_.end() || p->second->bytes().size() > d->second.first) {
        return std::nullopt;
    }
    return core::partial_download{d->second.first, d->second.second, p->second->bytes().size()};
}

std::variant<std::shared_ptr<core::file_handle>, std::string> memory_folder::open_partial(std::string_view name,
                                                                                          bool keep_bytes) {
    if (!check_name(name)) {
        return std::string("invalid name");
    }
    const std::string key(name);
    if (keep_bytes) {
        auto it = partials_.find(key);
        if (it == partials_.end()) {
            return std::string("No such file or directory");
        }
        return std::shared_ptr<core::file_handle>(it->second);
    }
    auto f = std::make_shared<memory_file>(*this, std::string(), next_inode_++);
    partials_[key] = f;
    journals_.erase(key); // a journal never describes bytes of another partial file
    return std::shared_ptr<core::file_handle>(f);
}

std::variant<std::shared_ptr<core::file_handle>, std::string> memory_folder::open_journal(std::string_view name,
                                                                                          bool keep_records) {
    if (!check_name(name)) {
        return std::string("invalid name");
    }
    auto& f = journals_[std::string(name)];
    if (!f) {
        f = std::make_shared<memory_file>(*this, std::string(), next_inode_++);
    } else if (!keep_records) {
        f->truncate(0);
    }
    return std::shared_ptr<core::file_handle>(f);
}

memory_file* memory_folder::journal(const std::string& name) {
    auto it = journals_.find(name);
    return it == journals_.end() ? nullptr : it->second.get();
}

std::optional<std::string> memory_folder::describe_partial(std::string_view name, std::uint64_t size,
                                                           const digest& hash) {
    if (disk_full) {
        return std::string("No space left on device");
    }
    descriptions_[std::string(name)] = {size, hash};
    return std::nullopt;
}

core::place_result memory_folder::place_partial(std::string_view name, bool replace, std::string& error) {
    if (!check_name(name)) {
        error = "invalid name";
        return core::place_result::failed;
    }
    const std::string key(name);
    auto it = partials_.find(key);
    if (it == partials_.end()) {
        error = "No such file or directory";
        return core::place_result::failed;
    }
    if (files_.contains(key) && !replace) {
        error = "File exists";
        return core::place_result::name_taken;
    }
    files_[key] = it->second;
    partials_.erase(it);
    journals_.erase(key);
    descriptions_.erase(key);
    return core::place_result::placed;
}

void memory_folder::remove_partial(std::string_view name) {
    partials_.erase(std::string(name));
    journals_.erase(std::string(name));
    descriptions_.erase(std::string(name));
}

std::optional<std::uint64_t> memory_folder::free_space() {
    return disk_full ? 0 : std::uint64_t{1} << 40;
}

} // namespace p2p::sim
