# SPDX-License-Identifier: MIT
# --max-rate (issue 16): a download limited on the receiving side, one limited on the holder's side, and the option's
# usage errors (tests/cli/rate_test.py).
if(NOT TARGET p2p-peer)
    return()
endif()

foreach(scenario get serve menu errors)
    add_test(NAME rate_${scenario}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/cli/rate_test.py ${scenario} --peer
                     $<TARGET_FILE:p2p-peer> --work ${CMAKE_CURRENT_BINARY_DIR}/cli-work)
    set_tests_properties(rate_${scenario} PROPERTIES TIMEOUT 120 LABELS "cli;net")
endforeach()
set_tests_properties(rate_errors PROPERTIES LABELS cli) # no peer, no network
