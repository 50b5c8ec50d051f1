// SPDX-License-Identifier: MIT
#include "p2p/core/window_control.hpp"

#include "p2p/protocol.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace p2p::core {

namespace {
using seconds_d = std::chrono::duration<double>;
} // namespace

void window_control::grant_ring::push(const grant& g) {
    if (size_ == items_.size()) {
        // Full: grow, keeping the order (oldest first from index 0). Only while the window grows.
        std::vector<grant> bigger;
        bigger.reserve(std::max<std::size_t>(16, items_.size() * 2));
        for (std::size_t i = 0; i < size_; ++i) {
            bigger.push_back(items_[(head_ + i) % items_.size()]);
        }
        bigger.resize(bigger.capacity(), grant{0, steady_time{}, 0});
        items_ = std::move(bigger);
        head_ = 0;
    }
    items_[(head_ + size_) % items_.size()] = g;
    ++size_;
}

window_control::window_control(window_setting setting, std::uint32_t chunk_size)
    : setting_(setting), chunk_size_(std::max<std::uint32_t>(chunk_size, 1)), window_(chunk_size_),
      startup_window_(chunk_size_) {
    resize();
}

void window_control::set_chunk_size(std::uint32_t chunk_size) {
    chunk_size_ = std::max<std::uint32_t>(chunk_size, 1);
    resize();
}

std::uint32_t window_control::credit() const {
    const auto chunks = std::max<std::uint64_t>(1, window_ / chunk_size_);
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(chunks, protocol::max_window_chunks(chunk_size_)));
}

std::uint64_t window_control::window_bytes() const {
    return std::uint64_t{credit()} * chunk_size_;
}

void window_control::granted(std::uint64_t limit, steady_time now) {
    if (!first_grant_) {
        first_grant_ = now;
    }
    if (limit <= granted_limit_) {
        return; // a repeated ACK lets the holder send nothing new
    }
    granted_limit_ = limit;
    grants_.push(grant{limit, now, delivered_});
    peak_in_flight_ = std::max(peak_in_flight_, limit - std::min(limit, delivered_end_));
}

void window_control::delivered(std::uint64_t end, std::uint64_t length, std::uint64_t holder_busy_us, steady_time now) {
    const auto previous_delivery = std::exchange(last_delivery_, now);
    delivered_ += length;
    delivered_end_ = end;
    if (!holder_busy_first_) {
        holder_busy_first_ = holder_busy_us;
    }
    holder_busy_last_ = std::max(holder_busy_last_, holder_busy_us);
    // The grant that let the holder send this chunk is the first whose limit reaches its end; older ones are spent.
    while (!grants_.empty() && grants_.front().limit < end) {
        grants_.pop();
    }
    std::optional<double> gap_rate;
    if (starting_ && !sized_by_gap_ && !grants_.empty() && min_rtt_ && now > previous_delivery &&
        grants_.front().at + *min_rtt_ <= previous_delivery) {
        // It could have come by the time the last one did: it waited behind it, and the gap between the two is the
        // slowest stage's time for it. (A new REQUEST's first chunk never counts: its grant came after the last
        // chunk of the one before, and a round trip is never zero.)
        gap_rate = static_cast<double>(length) / seconds_d(now - previous_delivery).count();
    }
    // The jump before this chunk's sample: the chunk that shows the gap has waited in the queue at the slowest stage,
    // and its round trip would end the startup with the rates measured before the queue formed.
    const bool jump = starting_ && gap_rate.has_value();
    if (jump) {
        top_rate_ = std::max(top_rate_, *gap_rate); // the slowest stage's own rate
        jump_to(product(*gap_rate));
    }
    if (starting_) {
        startup_window_ += startup_growth * length;
    }
    if (!grants_.empty()) {
        sample(grants_.front().at, grants_.front().delivered, now);
    }
    resize(jump ? std::numeric_limits<std::uint64_t>::max() / 2 : starting_ ? startup_growth * length : length);
}

void window_control::jump_to(std::uint64_t by_gap) {
    // The slowest stage's rate is known, and the shortest round trip: so is the product. Straight to it (within the
    // limit), rather than a round trip more of tripling for each factor of three.
    sized_by_gap_ = true;
    const auto limit = std::max<std::uint64_t>(startup_window_, chunk_size_) * startup_jump_limit;
    if (by_gap <= limit) {
        leave_startup(std::numeric_limits<std::uint64_t>::max());
        target_ = std::max<std::uint64_t>(by_gap, chunk_size_);
    } else {
        startup_window_ = std::max(startup_window_, limit);
    }
}

void window_control::restart(std::uint64_t offset) {
    // The holder may answer with a new upload (if it dropped the old one), whose counter starts from 0 again: bank
    // what the counter said so far. (A lane keeps its holder: this is never another holder's counter.)
    holder_busy_before_ = holder_busy_us();
    holder_busy_first_.reset();
    holder_busy_last_ = 0;
    grants_.clear();
    granted_limit_ = offset;
    delivered_end_ = offset;
}

void window_control::sample(steady_time granted_at, std::uint64_t delivered_then, steady_time now) {
    const auto rtt = std::chrono::duration_cast<std::chrono::nanoseconds>(now - granted_at);
    if (rtt <= std::chrono::nanoseconds::zero()) {
        return; // the same instant (a simulation, or a stepped test): no time, no rate
    }
    if (!min_rtt_ || rtt <= *min_rtt_ || now - min_rtt_at_ > min_rtt_life) {
        min_rtt_ = rtt;
        min_rtt_at_ = now;
    }
    round_min_rtt_ = std::min(round_min_rtt_.value_or(rtt), rtt);
    const double rtt_s = seconds_d(rtt).count();
    avg_rtt_ = avg_rtt_ == 0 ? rtt_s : avg_rtt_ + (rtt_s - avg_rtt_) / 8;
    // What arrived from the moment this chunk was allowed until it came: at least one round trip's worth.
    const double rate = static_cast<double>(delivered_ - delivered_then) / rtt_s;
    round_rates_[round_] = std::max(round_rates_[round_], rate);
    top_rate_ = std::max(top_rate_, rate);
    if (starting_ && rtt > *min_rtt_ * queue_ratio + queue_floor) {
        leave_startup(wanted_window()); // bytes wait in a queue: the path is full
    }
    if (now - round_start_ >= std::max<std::chrono::nanoseconds>(*min_rtt_, min_round)) {
        new_round(now);
    }
}

std::uint64_t window_control::holder_busy_us() const {
    return holder_busy_before_ + holder_busy_last_ - holder_busy_first_.value_or(holder_busy_last_);
}

void window_control::leave_startup(std::uint64_t wanted) {
    starting_ = false;
    full_at_ = last_delivery_;
    // The startup overshoots by up to a round trip's growth: back to what the measurements ask for at once.
    target_ = std::clamp<std::uint64_t>(wanted, chunk_size_, std::max<std::uint64_t>(window_, chunk_size_));
}

double window_control::best_delivery_rate() const {
    return *std::max_element(round_rates_.begin(), round_rates_.end());
}

double window_control::path_seconds(double chunk_seconds) const {
    return std::max(0.0, seconds_d(min_rtt_.value_or(std::chrono::nanoseconds{0})).count() - chunk_seconds);
}

std::uint64_t window_control::product(double rate) const {
    // The shortest round trip holds the path's delay and a chunk's own time at the slowest stage. The chunk on top
    // covers that chunk; the gain is for the delay alone, which `rate` must fill. A chunk's own time is taken at the
    // highest rate this download has seen, not at `rate`: at one chunk in flight the delivery rate is a chunk per
    // round trip, and taking the chunk's time at it would leave the delay nothing and hold the window at one chunk
    // over any path. (A burst that beat the slowest stage's rate only shortens the chunk's time here: the window
    // errs larger.) On loopback, where a chunk's own time is all of the round trip, the delay needs nothing: one
    // chunk, stop-and-wait (more in flight there costs the ends their caches). The delay's part is rounded to whole
    // chunks, not cut (credit counts whole chunks), and held under the window's cap before the cast: two chunks a
    // microsecond apart over a long round trip would not fit in 64 bits.
    const double chunk = static_cast<double>(chunk_size_);
    const double own = top_rate_ > 0 ? chunk / std::max(top_rate_, rate) : 0;
    const double delay = path_seconds(own);
    const double delay_part = std::min(window_gain * rate * delay, static_cast<double>(protocol::max_window_bytes));
    return static_cast<std::uint64_t>(std::round(delay_part / chunk)) * chunk_size_ + chunk_size_;
}

std::uint64_t window_control::wanted_window() const {
    return product(best_delivery_rate());
}

window_control::busy_meter::reading window_control::busy_meter::read(steady_time now, std::chrono::nanoseconds receiver,
                                                                     std::uint64_t holder_us, std::uint64_t delivered) {
    reading r;
    const double span = seconds_d(now - since).count();
    if (since != steady_time{} && span > 0 && delivered > delivered_then) {
        const double bytes = static_cast<double>(delivered - delivered_then);
        const double receiver_s = seconds_d(receiver - receiver_then).count();
        const double holder_s = static_cast<double>(holder_us - holder_then) / 1e6;
        r.busiest_seconds_per_byte = std::max(receiver_s, holder_s) / bytes;
        r.ends_seconds_per_byte = (receiver_s + holder_s) / bytes;
        r.share = std::max(receiver_s, holder_s) / span;
        r.delivery_rate = bytes / span;
    }
    since = now;
    receiver_then = receiver;
    holder_then = holder_us;
    delivered_then = delivered;
    return r;
}

void window_control::new_round(steady_time now) {
    const auto busy = round_busy_.read(now, receiver_busy_, holder_busy_us(), delivered_);
    const bool saturated = busy.share >= saturated_share;
    const bool queued = round_min_rtt_ && *round_min_rtt_ > *min_rtt_ * queue_ratio + queue_floor;
    round_start_ = now;
    round_min_rtt_.reset();
    const double best = best_delivery_rate();
    if (starting_ && saturated) {
        leave_startup(wanted_window()); // an end is busy most of the time: the path is full
    }
    if (starting_ && best > 0) {
        if (best >= 1.25 * full_rate_) {
            full_rate_ = best;
            rounds_without_growth_ = 0;
        } else if (++rounds_without_growth_ >= 3) {
            leave_startup(wanted_window());
        }
    }
    if (!starting_) {
        const auto wanted = wanted_window();
        if (saturated) {
            // The busy end sets the rate: what keeps it busy is its own rate times the part of the round trip that
            // is the path's (less both ends' time for a chunk), and the chunk it works on. More only queues in front
            // of it: shrink towards that by an eighth a round; less leaves it waiting: grow to it at once.
            const double path = path_seconds(busy.ends_seconds_per_byte * chunk_size_);
            const auto keeps_busy = static_cast<std::uint64_t>(path / busy.busiest_seconds_per_byte) + chunk_size_;
            target_ = target_ > keeps_busy ? std::max(target_ - target_ / 8, keeps_busy) : keeps_busy;
        } else if (queued) {
            target_ = std::min(target_, wanted);
        } else {
            target_ = std::max(target_, wanted);
            const double rtt = seconds_d(*min_rtt_).count();
            if (*min_rtt_ >= min_round && busy.ends_seconds_per_byte * chunk_size_ < probe_share * rtt) {
                // The window limits the rate, over a round trip the ends' time for a chunk leaves mostly to the path.
                // The delivery rate then follows the window, and the product for it little more than the window
                // (at one or two chunks the window itself: a chunk's own time at the highest rate seen is the whole
                // round trip): a quarter and a chunk more each round, until a queue forms or an end is busy, and
                // never over twice the product of what this round moved and a chunk (BBR's bound).
                const auto bound = static_cast<std::uint64_t>(std::min(
                    2 * busy.delivery_rate * rtt + chunk_size_, static_cast<double>(protocol::max_window_bytes)));
                target_ = std::max(target_, std::min(window_ + window_ / 4 + chunk_size_, bound));
            }
        }
        target_ = std::max<std::uint64_t>(target_, chunk_size_);
    }
    round_ = (round_ + 1) % rounds_kept;
    round_rates_[round_] = 0;
}

void window_control::resize(std::uint64_t grown_by) {
    switch (setting_.how) {
    case window_setting::kind::chunks:
        window_ = std::max<std::uint64_t>(setting_.amount, 1) * chunk_size_;
        return;
    case window_setting::kind::bytes:
        window_ = std::max<std::uint64_t>(setting_.amount, chunk_size_);
        return;
    case window_setting::kind::automatic:
        break;
    }
    const std::uint64_t cap = std::max<std::uint64_t>(protocol::max_window_bytes, chunk_size_);
    if (!min_rtt_) {
        window_ = chunk_size_; // nothing measured yet: stop-and-wait
        return;
    }
    std::uint64_t wanted = starting_ ? startup_window_ : target_;
    if (starting_ && !sized_by_gap_) {
        wanted = std::min<std::uint64_t>(wanted, gap_chunks * chunk_size_); // enough to measure the gap
    }
    capped_ = wanted >= cap;
    if (capped_ && starting_) {
        leave_startup(cap); // it can grow no further
    }
    // It grows by at most what the caller allows per delivery (the bytes delivered, twice that in the startup), so
    // that an ACK lets the holder send two or three chunks and the sending keeps the pace of the arrivals: a window
    // grown by many chunks at once sends them in a burst, which queues at the slowest stage and shows as a longer
    // round trip.
    window_ = std::clamp<std::uint64_t>(std::min(wanted, window_ + grown_by), chunk_size_, cap);
}

rate_figures window_control::figures() const {
    rate_figures f;
    if (first_grant_ && last_delivery_ > *first_grant_) {
        f.seconds = seconds_d(last_delivery_ - *first_grant_).count();
    }
    f.bytes = delivered_;
    f.holder_busy = static_cast<double>(holder_busy_us()) / 1e6;
    f.receiver_busy = seconds_d(receiver_busy_).count();
    f.min_rtt = min_rtt_ ? seconds_d(*min_rtt_).count() : 0;
    f.avg_rtt = avg_rtt_;
    f.auto_window = setting_.automatic();
    f.window = window_bytes();
    f.peak_in_flight = peak_in_flight_;
    f.window_capped = capped_;
    if (setting_.automatic() && full_at_ && first_grant_) {
        f.full_after = seconds_d(*full_at_ - *first_grant_).count();
    }
    return f;
}

} // namespace p2p::core
