# SPDX-License-Identifier: MIT
# What an installation adds besides the programs: man pages read without a groff warning, and the bash completion
# loads and completes. Installing the .deb itself is tests/package/package_test.sh (scripts/test runs it as root).

foreach(page p2p-peer.1 p2p-tap.1)
    add_test(NAME man_${page} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/package/man_check.sh
                                      ${PROJECT_BINARY_DIR}/man/${page})
    set_tests_properties(man_${page} PROPERTIES TIMEOUT 30 LABELS package)
endforeach()

# Loads each script in a plain bash (no bash-completion package needed) and asks for one completion.
set(P2P_COMPLETION_CHECK [=[
    source "$1" && complete -p "$2" && COMP_WORDS=("$2" "$3") && COMP_CWORD=1 && "$4" &&
    printf 'completes "%s" to: %s\n' "$3" "${COMPREPLY[*]}" && [[ "${COMPREPLY[*]}" == "$5" ]]
]=])
add_test(NAME completion_p2p-peer
         COMMAND bash -c "${P2P_COMPLETION_CHECK}" check ${PROJECT_SOURCE_DIR}/completions/p2p-peer.bash p2p-peer se
                 _p2p_peer serve)
add_test(NAME completion_p2p-tap
         COMMAND bash -c "${P2P_COMPLETION_CHECK}" check ${PROJECT_SOURCE_DIR}/completions/p2p-tap.bash p2p-tap du
                 _p2p_tap dump)
set_tests_properties(completion_p2p-peer completion_p2p-tap PROPERTIES TIMEOUT 30 LABELS package)
