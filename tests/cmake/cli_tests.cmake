# SPDX-License-Identifier: MIT
# p2p-peer end to end: the real binary in real processes, driven through its menu over pipes and through its
# scriptable commands (tests/cli/cli_test.py). Every peer binds port 0; every wait is for an expected line.
if(NOT TARGET p2p-peer)
    return()
endif()

# The system interpreter: the scenarios need only its stdlib, except `hostile`, which plays a lying peer with Debian's
# python3-zmq and python3-msgpack (and exits 77, skipped, without them).
set(P2P_CLI_PYTHON /usr/bin/python3)
set(P2P_CLI_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/cli/cli_test.py)
set(P2P_CLI_WORK ${CMAKE_CURRENT_BINARY_DIR}/cli-work)

foreach(scenario menu ls_get errors signals hostile secure hash client settle hash_quiet skipped prompt folder get_many get_force
                 get_output started_json get_pipeline get_interrupt)
    add_test(NAME cli_${scenario}
             COMMAND ${P2P_CLI_PYTHON} ${P2P_CLI_SCRIPT} ${scenario} --peer $<TARGET_FILE:p2p-peer>
                     --work ${P2P_CLI_WORK})
    set_tests_properties(cli_${scenario} PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS "cli;net")
endforeach()
set_tests_properties(cli_hash PROPERTIES LABELS cli) # no peer, no network
set_tests_properties(cli_folder PROPERTIES TIMEOUT 400) # 1000 files, each synced to disk (the menu's one at a time)

# The CLI11 way (its examples are tests with a PASS_REGULAR_EXPRESSION): help and version need no network.
add_test(NAME cli_help COMMAND p2p-peer --help)
set_tests_properties(cli_help PROPERTIES TIMEOUT 30 LABELS cli
                                         PASS_REGULAR_EXPRESSION "p2p-peer <port> <dir>.*Exit codes: 0 ok")
add_test(NAME cli_version COMMAND p2p-peer --version)
set_tests_properties(cli_version PROPERTIES TIMEOUT 30 LABELS cli PASS_REGULAR_EXPRESSION "^p2p-peer [0-9]+\\.[0-9]+")

# Ctrl-C during a download: needs p2p-tap's delaying relay to make a 512 MiB download last.
if(TARGET p2p-tap)
    add_test(NAME cli_cancel
             COMMAND ${P2P_CLI_PYTHON} ${P2P_CLI_SCRIPT} cancel --peer $<TARGET_FILE:p2p-peer>
                     --tap $<TARGET_FILE:p2p-tap> --work ${P2P_CLI_WORK})
    # COST: the longest program test (a 512 MiB download through a delaying relay); started early, it ends with the rest.
    set_tests_properties(cli_cancel PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS "cli;net" COST 40)
    # SIGKILL during a 64 MiB download, then a resume that re-reads only what its journal does not vouch for.
    add_test(NAME cli_resume_kill
             COMMAND ${P2P_CLI_PYTHON} ${P2P_CLI_SCRIPT} resume_kill --peer $<TARGET_FILE:p2p-peer>
                     --tap $<TARGET_FILE:p2p-tap> --work ${P2P_CLI_WORK})
    set_tests_properties(cli_resume_kill PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS "cli;net")
    # Choice 3 with a folder through a delaying relay: its files asked for together, said in order, and a Ctrl-C
    # that cancels every one in flight and a resume.
    add_test(NAME cli_menu_folder
             COMMAND ${P2P_CLI_PYTHON} ${P2P_CLI_SCRIPT} menu_folder --peer $<TARGET_FILE:p2p-peer>
                     --tap $<TARGET_FILE:p2p-tap> --work ${P2P_CLI_WORK})
    set_tests_properties(cli_menu_folder PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS "cli;net")
    # get given two addresses of one peer (its own and a relay's): no 2 s wait for the one its ROUTER drops.
    add_test(NAME cli_get_two_addresses
             COMMAND ${P2P_CLI_PYTHON} ${P2P_CLI_SCRIPT} get_two_addresses --peer $<TARGET_FILE:p2p-peer>
                     --tap $<TARGET_FILE:p2p-tap> --work ${P2P_CLI_WORK})
    set_tests_properties(cli_get_two_addresses PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS "cli;net")
endif()
