// SPDX-License-Identifier: MIT
// core/check.hpp - P2P_ASSERT: a broken invariant of our own code stops the program, in every build.
//
// As zyre keeps its asserts in release builds: a transfer in a phase it cannot be in would otherwise go on and, at
// worst, rename a wrong file into place. Only for programmer errors; input from other peers is never asserted on.
#pragma once

#include <cstdio>
#include <cstdlib>

#define P2P_ASSERT(condition)                                                                                          \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            std::fprintf(stderr, "%s:%d: broken invariant: %s\n", __FILE__, __LINE__, #condition);                     \
            std::abort();                                                                                              \
        }                                                                                                              \
    } while (false)
