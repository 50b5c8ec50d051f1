# SPDX-License-Identifier: MIT
# Two hosts: network namespaces joined by veth (tests/netns/netns_test.sh). Skipped (77) where ip netns is not
# permitted.
if(NOT TARGET p2p-peer)
    return()
endif()
add_test(NAME netns_link_down_and_up COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/netns/netns_test.sh $<TARGET_FILE:p2p-peer>)
set_tests_properties(netns_link_down_and_up PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS "net;netns")
# LAN discovery: three hosts on one bridge find each other with no address typed (tests/netns/discover_test.sh).
foreach(mode find secure flood late converge ipv6)
    add_test(NAME netns_discover_${mode} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/netns/discover_test.sh
                                                 $<TARGET_FILE:p2p-peer> ${mode})
    set_tests_properties(netns_discover_${mode} PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS "net;netns")
endforeach()
