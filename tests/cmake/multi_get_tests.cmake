# SPDX-License-Identifier: MIT
# `get ADDR [ADDR...] NAME...` (issue 16): several addresses dialled at once, an unreachable one a warning, usage
# errors, and what --json and --json-progress say of each holder (tests/cli/multi_get_test.py).
if(NOT TARGET p2p-peer)
    return()
endif()

foreach(scenario two_addresses unreachable usage json json_progress led_to)
    add_test(NAME cli_multi_get_${scenario}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/cli/multi_get_test.py ${scenario} --peer
                     $<TARGET_FILE:p2p-peer> --work ${CMAKE_CURRENT_BINARY_DIR}/cli-work)
    set_tests_properties(cli_multi_get_${scenario} PROPERTIES TIMEOUT 120 LABELS "cli;net")
endforeach()
set_tests_properties(cli_multi_get_usage PROPERTIES LABELS cli) # no peer, no network
