# SPDX-License-Identifier: MIT
# Warnings as an interface target linked by our own targets only (as CLI11's CLI11_warnings).
add_library(p2p_warnings INTERFACE)
target_compile_options(p2p_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                              -Wold-style-cast -Wcast-align -Woverloaded-virtual)
if(P2P_WERROR)
    target_compile_options(p2p_warnings INTERFACE -Werror)
endif()
# GCC 12's -Wrestrict fires on std::string concatenation inlined at -O2 (GCC bug 105329, fixed in GCC 13): a false
# positive in libstdc++ code, not ours; with a precompiled header the same code reports -Wstringop-overflow. Keep
# both warnings there, so -Werror stays useful for everything else.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(p2p_warnings INTERFACE -Wno-error=restrict -Wno-error=stringop-overflow)
    # With the sanitizers, GCC 12 also flags std::function inside <regex> (which catch.hpp includes) as maybe used
    # uninitialized; GCC documents that this warning is unreliable under -fsanitize.
    if(P2P_SANITIZE)
        target_compile_options(p2p_warnings INTERFACE -Wno-error=maybe-uninitialized)
    endif()
endif()

# Front ends and tests (argument parsing, menus, test harnesses) run no hot loop, but CLI11 and Catch2 are large
# header-only libraries whose inline code every file compiles again: at -O1 their files build in 60% of the time of
# -O3. The transfer code they call lives in p2p_core, which keeps the build type's optimisation.
# p2p_front_end(target) builds the whole target so; p2p_front_end(target SOURCES a.cpp ...) only those of its files
# (a program whose command line is front end but whose other files are the work it measures).
# With the sanitizers they build at -O0: ASan's instrumentation of Catch2's and CLI11's expanded macros is what makes
# that build slow, and -O1 tripled it (2026-11-30, tests/hostile_test.cpp: 52 s of CPU at -O1, 19 s at -O0). What the
# sanitizers check there is the same; p2p_core, where the bugs they look for would be, keeps -O1.
function(p2p_front_end target)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES")
    if(CMAKE_BUILD_TYPE STREQUAL "Debug")
        return()
    endif()
    set(level -O1)
    if(P2P_SANITIZE)
        set(level -O0)
    endif()
    if(arg_SOURCES)
        set_source_files_properties(${arg_SOURCES} TARGET_DIRECTORY ${target} PROPERTIES COMPILE_OPTIONS ${level})
    else()
        target_compile_options(${target} PRIVATE ${level})
    endif()
endfunction()
