# SPDX-License-Identifier: MIT
# The installable library libp2pshare and what `cmake --install` puts where (GNUInstallDirs): the programs, the
# library with its public headers, CMake package and pkg-config file, man pages, bash completion, systemd unit, docs.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The public API, relative to include/: what a program needs to run a peer inside itself (docs/library.md), plus
# every header these include. The other headers under include/p2p/ are internal and are not installed. This list is
# the one place to edit; tests/package/package_test.sh builds the examples against the installed copy, so a listed
# header that includes an unlisted one fails there.
set(P2P_PUBLIC_HEADERS
    p2p/peer.hpp
    p2p/options.hpp
    p2p/event.hpp
    p2p/peer_id.hpp
    p2p/protocol.hpp
    p2p/download_request.hpp
    p2p/file_entry.hpp
    p2p/digest.hpp
    p2p/window_setting.hpp
    p2p/rate_figures.hpp)

# What the public headers need from other packages, derived from the list above so that trimming it is enough:
# zmq.hpp (cppzmq, whose inline code calls libzmq) is in peer.hpp itself; sodium.h only while blake2b.hpp is public.
# It needs the header only (no inline calls), hence Requires.private: pkg-config gives its --cflags, not its --libs.
set(P2P_PC_REQUIRES cppzmq)
set(P2P_PC_REQUIRES_PRIVATE "")
set(P2P_DEB_DEV_DEPENDS cppzmq-dev libzmq3-dev)
if("p2p/blake2b.hpp" IN_LIST P2P_PUBLIC_HEADERS)
    list(APPEND P2P_PC_REQUIRES_PRIVATE libsodium)
    list(APPEND P2P_DEB_DEV_DEPENDS libsodium-dev)
endif()

# libp2pshare.so.0, for programs that embed a peer, made of p2p_core's own objects (compiled once, as PIC). p2p-peer
# and p2p-tap keep linking the static p2p_core, like the tests: they use internal units (codec, capture, terminal
# escaping) that are no part of the library's API and may be hidden from it later (-fvisibility), and this way they
# do not depend on the ABI of a library still at version 0.
add_library(p2pshare SHARED $<TARGET_OBJECTS:p2p_core>)
add_library(P2PShare::p2pshare ALIAS p2pshare)
set_target_properties(p2pshare PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION 0)
target_include_directories(p2pshare INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# The headers use C++20 (defaulted comparisons); installed consumers get libzmq and zmq.hpp from cppzmq's package.
target_compile_features(p2pshare INTERFACE cxx_std_20)
target_link_libraries(p2pshare PUBLIC $<BUILD_INTERFACE:p2p_deps> $<INSTALL_INTERFACE:cppzmq>)
# Every symbol must resolve at link time, or a missing dependency would only show in the programs that load it.
# Not with the sanitizers: clang links their runtimes into executables only, leaving them undefined in a library.
if(NOT P2P_SANITIZE)
    target_link_options(p2pshare PRIVATE LINKER:--no-undefined)
endif()

set(P2P_CMAKE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/P2PShare)
# Units live in /usr/lib/systemd/system (systemd's own search path; Debian 12 merges /lib into /usr/lib).
set(P2P_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING "Where the systemd unit goes, relative to the prefix")
# Below /etc for the /usr prefix the package uses (GNUInstallDirs makes that one absolute), else below the prefix.
set(P2P_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/p2p-peer)

# Programs.
install(TARGETS p2p-peer RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET p2p-tap)
    install(TARGETS p2p-tap RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Library, headers, CMake package (find_package(P2PShare CONFIG) -> P2PShare::p2pshare) and pkg-config file.
install(TARGETS p2pshare EXPORT P2PShareTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(header ${P2P_PUBLIC_HEADERS})
    get_filename_component(header_dir ${header} DIRECTORY)
    install(FILES ${PROJECT_SOURCE_DIR}/include/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${header_dir})
endforeach()
install(EXPORT P2PShareTargets NAMESPACE P2PShare:: DESTINATION ${P2P_CMAKE_PACKAGE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/P2PShareConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/P2PShareConfig.cmake INSTALL_DESTINATION ${P2P_CMAKE_PACKAGE_DIR})
# 0.x: a new minor version may change the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/P2PShareConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/P2PShareConfig.cmake ${PROJECT_BINARY_DIR}/P2PShareConfigVersion.cmake
        DESTINATION ${P2P_CMAKE_PACKAGE_DIR})
list(JOIN P2P_PC_REQUIRES " " P2P_PC_REQUIRES_TEXT)
list(JOIN P2P_PC_REQUIRES_PRIVATE " " P2P_PC_REQUIRES_PRIVATE_TEXT)
configure_file(${PROJECT_SOURCE_DIR}/cmake/p2pshare.pc.in ${PROJECT_BINARY_DIR}/p2pshare.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/p2pshare.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Man pages (hand-written roff; CMake fills in the version), bash completion (loaded on demand by bash-completion,
# by command name).
foreach(page p2p-peer.1 p2p-tap.1)
    configure_file(${PROJECT_SOURCE_DIR}/man/${page}.in ${PROJECT_BINARY_DIR}/man/${page} @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/man/${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/completions/p2p-peer.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME p2p-peer)
install(FILES ${PROJECT_SOURCE_DIR}/completions/p2p-tap.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME p2p-tap)

# The service: one instance per shared folder (systemd/p2p-peer@.service.in), configured in P2P_CONFIG_DIR.
configure_file(${PROJECT_SOURCE_DIR}/systemd/p2p-peer@.service.in ${PROJECT_BINARY_DIR}/p2p-peer@.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/p2p-peer@.service DESTINATION ${P2P_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/example.conf DESTINATION ${P2P_CONFIG_DIR})

# Documentation and the examples (built against the installed library, never by this project).
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}) # the pages and their figures
install(FILES ${PROJECT_SOURCE_DIR}/examples/CMakeLists.txt ${PROJECT_SOURCE_DIR}/examples/share_folder.cpp
              ${PROJECT_SOURCE_DIR}/examples/fetch_file.cpp DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
