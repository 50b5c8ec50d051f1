# SPDX-License-Identifier: MIT
# What limited a download (issue 18): four set-ups, each limited by one thing, and the report of `get --json` must
# name it (tests/cli/limit_test.py). Two of them slow a peer's disk with an LD_PRELOAD interposer.
if(NOT TARGET p2p-peer OR NOT TARGET p2p-tap)
    return()
endif()

# tests/helpers/slow_io.cpp: sleeps in pread/pwrite and their kin when P2P_SLOW_READ_US / P2P_SLOW_WRITE_US are set.
# A module (loaded by LD_PRELOAD only, never linked), built without the sanitizers even in a P2P_SANITIZE build: it
# must not bring an ASan runtime of its own into the preloaded process, whose executable already has one (the
# test sets ASAN_OPTIONS=verify_asan_link_order=0 for that process, since the preload comes before the runtime).
add_library(p2p_slow_io MODULE ${CMAKE_CURRENT_SOURCE_DIR}/helpers/slow_io.cpp)
target_link_libraries(p2p_slow_io PRIVATE p2p_warnings ${CMAKE_DL_LIBS})
target_compile_options(p2p_slow_io PRIVATE -fno-sanitize=all)
target_link_options(p2p_slow_io PRIVATE -fno-sanitize=all)

foreach(scenario delay rate slow_holder slow_receiver)
    add_test(NAME limit_${scenario}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/cli/limit_test.py ${scenario} --peer
                     $<TARGET_FILE:p2p-peer> --tap $<TARGET_FILE:p2p-tap> --slow-io $<TARGET_FILE:p2p_slow_io>
                     --work ${CMAKE_CURRENT_BINARY_DIR}/cli-work)
    set_tests_properties(limit_${scenario} PROPERTIES TIMEOUT 120 LABELS "cli;net")
endforeach()
