# SPDX-License-Identifier: MIT
# p2p-tap end to end: the real p2p-tap binary between real processes (tests/tap/tap_test.py).
#
# Each scenario runs twice: against tests/tap/fake_peer.py, a small stand-in that speaks the wire protocol, and
# against the real p2p-peer. The real-peer runs exit 77, which CTest reports as skipped, for as long as p2p-peer has no
# `serve` subcommand; they run by themselves once it does.
if(NOT TARGET p2p-tap)
    return()
endif()

# The system interpreter: it is the one with the Debian python3-zmq and python3-msgpack modules the scripts use.
set(P2P_TAP_PYTHON /usr/bin/python3)
set(P2P_TAP_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/tap/tap_test.py)
set(P2P_TAP_WORK ${CMAKE_CURRENT_BINARY_DIR}/tap-work)

add_test(NAME tap_cli COMMAND ${P2P_TAP_PYTHON} ${P2P_TAP_SCRIPT} cli --tap $<TARGET_FILE:p2p-tap>
                                                                      --work ${P2P_TAP_WORK})
set_tests_properties(tap_cli PROPERTIES TIMEOUT 60 LABELS tools)

foreach(scenario session delay drop)
    add_test(NAME tap_${scenario}_fake_peer
             COMMAND ${P2P_TAP_PYTHON} ${P2P_TAP_SCRIPT} ${scenario} --tap $<TARGET_FILE:p2p-tap>
                     --work ${P2P_TAP_WORK} --peer ${P2P_TAP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/tap/fake_peer.py)
    add_test(NAME tap_${scenario}_real_peer
             COMMAND ${P2P_TAP_PYTHON} ${P2P_TAP_SCRIPT} ${scenario} --tap $<TARGET_FILE:p2p-tap>
                     --work ${P2P_TAP_WORK} --peer $<TARGET_FILE:p2p-peer>)
    set_tests_properties(tap_${scenario}_fake_peer tap_${scenario}_real_peer
                         PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS "tools;net")
endforeach()

# The rate limit is measured with the real peer's `get --json` rate.
add_test(NAME tap_rate_real_peer
         COMMAND ${P2P_TAP_PYTHON} ${P2P_TAP_SCRIPT} rate --tap $<TARGET_FILE:p2p-tap> --work ${P2P_TAP_WORK}
                 --peer $<TARGET_FILE:p2p-peer>)
set_tests_properties(tap_rate_real_peer PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS "tools;net")
