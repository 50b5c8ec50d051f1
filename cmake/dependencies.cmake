# SPDX-License-Identifier: MIT
# Finds the Debian packages the project builds on, the way Debian installs them.
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq)          # libzmq3-dev
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)    # libsodium-dev
find_package(Threads REQUIRED)
find_package(CLI11 CONFIG REQUIRED)                              # libcli11-dev
find_package(nlohmann_json 3.9 CONFIG REQUIRED)                  # nlohmann-json3-dev: every JSON the program prints
# libcpp-httplib-dev: the web interface's HTTP server. Debian builds it as a library; its pkg-config flags name the
# features that library was built with, which the header must agree with.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

# cppzmq-dev: header only. Its CMake package re-finds libzmq through a module of its own, so take the header.
find_path(CPPZMQ_INCLUDE_DIR zmq.hpp REQUIRED)
# libmsgpack-cxx-dev: header only. Its exported target drags in Boost; we build with MSGPACK_NO_BOOST instead.
find_path(MSGPACK_INCLUDE_DIR msgpack.hpp REQUIRED)

add_library(p2p_deps INTERFACE)
target_include_directories(p2p_deps SYSTEM INTERFACE ${CPPZMQ_INCLUDE_DIR} ${MSGPACK_INCLUDE_DIR})
target_compile_definitions(p2p_deps INTERFACE MSGPACK_NO_BOOST)
target_link_libraries(p2p_deps INTERFACE PkgConfig::ZMQ PkgConfig::SODIUM Threads::Threads)

# BLAKE3 (file ids, docs/manifest.md): built from librust-blake3-dev's C sources. Through p2p_deps, so that every
# build of the core sources (p2p_core, and the fuzz build's own copy of them) gets it; PUBLIC in effect, since
# p2p/blake3.hpp includes blake3.h.
include(${CMAKE_CURRENT_LIST_DIR}/blake3.cmake)
target_link_libraries(p2p_deps INTERFACE p2p_blake3)
