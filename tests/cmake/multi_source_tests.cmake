# SPDX-License-Identifier: MIT
# One download from every holder at once (issue 16), between real processes over tcp: three holders by get and by the
# menu, one of them killed half way, one lying about a piece (tests/cli/multi_source_test.py; the liar is
# tests/cli/lying_relay.py).
if(NOT TARGET p2p-peer OR NOT TARGET p2p-tap)
    return()
endif()

foreach(scenario three menu kill liar)
    add_test(NAME multi_source_${scenario}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/cli/multi_source_test.py ${scenario} --peer
                     $<TARGET_FILE:p2p-peer> --tap $<TARGET_FILE:p2p-tap> --work ${CMAKE_CURRENT_BINARY_DIR}/cli-work)
    set_tests_properties(multi_source_${scenario} PROPERTIES TIMEOUT 180 LABELS "cli;net")
endforeach()
