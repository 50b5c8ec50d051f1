// SPDX-License-Identifier: MIT
// retransmit_timer.hpp - retransmission timeout from measured round trips (RFC 6298: SRTT + 4 RTTVAR).
#pragma once

#include <algorithm>
#include <chrono>

namespace p2p {

class retransmit_timer {
public:
    using duration = std::chrono::microseconds;
    /// As Linux TCP's floor. ZeroMQ runs over a reliable stream, so a chunk is lost only when a connection breaks or
    /// something between drops messages; a lower floor would mostly resend chunks that a busy machine merely delayed.
    static constexpr duration min_timeout{200'000};
    static constexpr duration max_timeout{2'000'000};
    static constexpr duration initial_timeout{250'000};

    /// A round trip measured on a chunk that was sent once (Karn: never on a resent one).
    void sample(duration rtt) {
        if (!has_sample_) {
            srtt_ = rtt;
            rttvar_ = rtt / 2;
            has_sample_ = true;
        } else {
            auto err = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
            rttvar_ = (3 * rttvar_ + err) / 4;
            srtt_ = (7 * srtt_ + rtt) / 8;
        }
        base_ = timeout_ = std::clamp(srtt_ + 4 * rttvar_, min_timeout, max_timeout);
    }
    /// A timeout fired: wait twice as long next time.
    void back_off() { timeout_ = std::min(timeout_ * 2, max_timeout); }
    /// An ACK moved the transfer on: the path works again, so drop the back-off (even when, after a go-back, the
    /// ACK is for a resent chunk and so gives no sample).
    void on_progress() { timeout_ = base_; }
    duration timeout() const { return timeout_; }

private:
    bool has_sample_ = false;
    duration srtt_{0};
    duration rttvar_{0};
    duration base_ = initial_timeout;
    duration timeout_ = initial_timeout;
};

} // namespace p2p
