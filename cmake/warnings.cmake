# SPDX-License-Identifier: MIT
# Warnings as an interface target linked by our own targets only (as CLI11's CLI11_warnings).
add_library(p2p_warnings INTERFACE)
target_compile_options(p2p_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                              -Wold-style-cast -Wcast-align -Woverloaded-virtual)
if(P2P_WERROR)
    target_compile_options(p2p_warnings INTERFACE -Werror)
endif()
