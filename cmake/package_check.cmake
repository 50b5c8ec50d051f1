# SPDX-License-Identifier: MIT
# Read by cpack before it packages (CPACK_PROJECT_CONFIG_FILE): refuses a tree not configured for the /usr prefix.
if(NOT CPACK_P2P_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR "the .deb needs a tree configured with -DCMAKE_INSTALL_PREFIX=/usr (this one has "
                        "'${CPACK_P2P_INSTALL_PREFIX}'); scripts/package does that")
endif()
