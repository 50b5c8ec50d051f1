# SPDX-License-Identifier: MIT
# p2p-peer's identity and reconnecting, between real processes (tests/cli/reconnect_test.py). Every peer binds port 0
# the first time; a restart reuses the port the OS gave. Every wait is for an expected line, with a deadline.
if(NOT TARGET p2p-peer)
    return()
endif()

foreach(scenario identity errors addresses restart)
    add_test(NAME cli_reconnect_${scenario}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/cli/reconnect_test.py ${scenario} --peer
                     $<TARGET_FILE:p2p-peer> --work ${CMAKE_CURRENT_BINARY_DIR}/cli-work)
    set_tests_properties(cli_reconnect_${scenario} PROPERTIES TIMEOUT 120 LABELS "cli;net")
endforeach()
