// SPDX-License-Identifier: MIT
// The one Catch2 main of p2p_tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
