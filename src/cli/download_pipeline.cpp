// SPDX-License-Identifier: MIT
#include "download_pipeline.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace p2p::cli {

download_pipeline::download_pipeline(std::size_t files, std::size_t limit)
    : download_pipeline(std::vector<std::uint64_t>(files, 0), limit, 0) {}

download_pipeline::download_pipeline(std::vector<std::uint64_t> sizes, std::size_t limit, std::uint64_t byte_budget)
    : state_(sizes.size(), state::waiting), sizes_(std::move(sizes)), limit_(std::max<std::size_t>(limit, 1)),
      byte_budget_(byte_budget) {}

std::optional<std::size_t> download_pipeline::start_next() {
    if (stopped_ || in_flight_ >= limit_ || next_ == state_.size()) {
        return std::nullopt;
    }
    const std::uint64_t size = sizes_[next_];
    if (in_flight_ > 0 && size > byte_budget_ - std::min(bytes_in_flight_, byte_budget_)) {
        return std::nullopt;
    }
    state_[next_] = state::in_flight;
    ++in_flight_;
    bytes_in_flight_ += size;
    return next_++;
}

void download_pipeline::finish(std::size_t index) {
    if (index >= state_.size() || state_[index] != state::in_flight) {
        throw std::logic_error("download_pipeline: file " + std::to_string(index) + " is not in flight");
    }
    state_[index] = state::finished;
    --in_flight_;
    bytes_in_flight_ -= sizes_[index];
    ++finished_;
}

void download_pipeline::stop() {
    stopped_ = true;
}

std::vector<std::size_t> download_pipeline::take_ready() {
    std::vector<std::size_t> ready;
    while (reported_ < state_.size() && state_[reported_] != state::waiting && state_[reported_] != state::in_flight) {
        if (state_[reported_] == state::finished) {
            state_[reported_] = state::taken;
            ready.push_back(reported_);
        }
        ++reported_;
    }
    return ready;
}

std::vector<std::size_t> download_pipeline::take_finished() {
    std::vector<std::size_t> out = take_ready();
    for (std::size_t i = reported_; i < state_.size(); ++i) {
        if (state_[i] == state::finished) {
            state_[i] = state::taken;
            out.push_back(i);
        }
    }
    return out;
}

std::size_t download_pipeline::first_not_taken() const {
    for (std::size_t i = reported_; i < state_.size(); ++i) {
        if (state_[i] != state::taken) {
            return i;
        }
    }
    return state_.size();
}

} // namespace p2p::cli
