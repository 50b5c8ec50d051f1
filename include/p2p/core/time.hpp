// SPDX-License-Identifier: MIT
// core/time.hpp - the core's notion of time: a point on the steady clock that the caller passes in.
//
// Nothing in the core reads a clock. Every input carries `now`; the real node passes steady_clock::now(), the
// simulation passes its own time, so a ten-minute scenario runs in milliseconds and replays exactly.
#pragma once

#include <chrono>

namespace p2p {

using steady_time = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

} // namespace p2p
