# SPDX-License-Identifier: MIT
# Warnings as an interface target linked by our own targets only (as CLI11's CLI11_warnings).
add_library(p2p_warnings INTERFACE)
target_compile_options(p2p_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                              -Wold-style-cast -Wcast-align -Woverloaded-virtual)
if(P2P_WERROR)
    target_compile_options(p2p_warnings INTERFACE -Werror)
endif()
# GCC 12's -Wrestrict fires on std::string concatenation inlined at -O2 (GCC bug 105329, fixed in GCC 13): a false
# positive in libstdc++ code, not ours. Keep it a warning there, so -Werror stays useful for everything else.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(p2p_warnings INTERFACE -Wno-error=restrict)
    # With the sanitizers, GCC 12 also flags std::function inside <regex> (which catch.hpp includes) as maybe used
    # uninitialized; GCC documents that this warning is unreliable under -fsanitize.
    if(P2P_SANITIZE)
        target_compile_options(p2p_warnings INTERFACE -Wno-error=maybe-uninitialized)
    endif()
endif()
