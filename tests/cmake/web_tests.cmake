# SPDX-License-Identifier: MIT
# The web interface (--web): its logic and its HTTP server in Catch2 (tests/web/web_test.cpp, web_server_test.cpp),
# its JSON API over plain HTTP against real p2p-peer processes (tests/web/web_api_test.py), and its page in a real
# headless browser (web_browser_test.py).
if(NOT TARGET p2p-peer)
    return()
endif()

add_executable(p2p_web_tests ${CMAKE_CURRENT_SOURCE_DIR}/web/web_test.cpp
                             ${CMAKE_CURRENT_SOURCE_DIR}/web/web_server_test.cpp ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp)
target_include_directories(p2p_web_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(p2p_web_tests PRIVATE p2p_cli Catch2::Catch2 p2p_warnings)
# A test harness like p2p_tests: -O1 (the code under test is compiled in p2p_cli and p2p_core). Two small test files, so
# no precompiled header: it would save little.
p2p_front_end(p2p_web_tests)
catch_discover_tests(p2p_web_tests PROPERTIES TIMEOUT 60 LABELS web)

# The system interpreter: the API tests need only its stdlib; the browser test needs Debian's python3-selenium,
# chromium and chromium-driver, and exits 77 (skipped, with the reason) where they are missing or cannot start.
set(P2P_WEB_PYTHON /usr/bin/python3)
set(P2P_WEB_WORK ${CMAKE_CURRENT_BINARY_DIR}/web-work)
set(P2P_WEB_TAP_ARGS "")
if(TARGET p2p-tap)
    # Its relay delays messages, so that a transfer lasts long enough to be watched and cancelled.
    set(P2P_WEB_TAP_ARGS --tap $<TARGET_FILE:p2p-tap>)
endif()

foreach(scenario api events security shutdown menu options)
    add_test(NAME web_${scenario}
             COMMAND ${P2P_WEB_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/web/web_api_test.py ${scenario}
                     --peer $<TARGET_FILE:p2p-peer> ${P2P_WEB_TAP_ARGS} --work ${P2P_WEB_WORK})
    set_tests_properties(web_${scenario} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS "web;net")
endforeach()

if(TARGET p2p-tap)
    # The screenshot lands in the build tree; docs/images/web.png is a copy of one (docs/usage.md).
    add_test(NAME web_browser
             COMMAND ${P2P_WEB_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/web/web_browser_test.py
                     --peer $<TARGET_FILE:p2p-peer> --tap $<TARGET_FILE:p2p-tap> --work ${P2P_WEB_WORK}
                     --screenshot ${P2P_WEB_WORK}/web.png)
    set_tests_properties(web_browser PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS "web;net")
endif()
