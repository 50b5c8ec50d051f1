// SPDX-License-Identifier: MIT
#include "p2p/stored_id.hpp"

#include "p2p/private_files.hpp"

#include <stdexcept>

namespace p2p {

peer_id load_or_create_peer_id(const std::filesystem::path& folder) {
    const auto path = private_dir(folder) / "id";
    if (auto text = read_private_file(path, 64, false)) {
        auto digits = std::string_view(*text);
        if (digits.ends_with('\n')) {
            digits.remove_suffix(1);
        }
        const auto id = peer_id::from_hex(digits);
        if (!id || *id == peer_id{}) {
            throw std::runtime_error(path.string() +
                                     ": is not a peer id (16 hex digits); remove it to start as a new peer");
        }
        return *id;
    }
    const auto id = peer_id::random();
    write_private_file(path, id.hex() + "\n");
    return id;
}

} // namespace p2p
