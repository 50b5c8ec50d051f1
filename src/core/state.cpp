// SPDX-License-Identifier: MIT
#include "p2p/core/state.hpp"

#include "p2p/core/folder_view.hpp"
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"

namespace p2p::core {

hello core_state::hello_message() const {
    return hello{self, endpoint, folder->version(), options.client};
}

void core_state::log_refused(std::string_view who, std::string_view reason, steady_time now) {
    ++stats.protocol_errors;
    if (now - error_log_window_ >= std::chrono::seconds(1)) {
        if (errors_not_logged_ > 0) {
            log(log_level::warn, "dropped ", errors_not_logged_, " more bad frames without logging each");
        }
        error_log_window_ = now;
        errors_logged_ = 0;
        errors_not_logged_ = 0;
    }
    if (errors_logged_ < errors_logged_per_second) {
        ++errors_logged_;
        log(log_level::warn, "dropped a frame from ", escape_for_terminal(who), ": ", escape_for_terminal(reason));
    } else {
        ++errors_not_logged_;
    }
}

} // namespace p2p::core
