# SPDX-License-Identifier: MIT
# CPack: one Debian package, p2p-peer, with everything cmake/install.cmake installs. Built by scripts/package (which
# configures the tree with CMAKE_INSTALL_PREFIX=/usr, the prefix the man pages, unit and pkg-config file assume).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME p2p-peer)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "peer-to-peer file sharing on ZeroMQ")
set(CPACK_PACKAGE_DESCRIPTION
    "Shares the files of a folder with other machines by host:port, with no server in the middle: lists, BLAKE2b-\
verified resumable downloads, failover, optional CURVE encryption. Contains the programs p2p-peer and p2p-tap, their \
man pages and bash completion, the systemd unit p2p-peer@.service (one shared folder per instance), and libp2pshare \
with its headers, CMake package and pkg-config file, for programs that run a peer inside themselves.")
# TODO: the team's real contact; .invalid is reserved (RFC 2606), so this address can reach no one by mistake.
set(CPACK_PACKAGE_CONTACT "p2p developers <p2p@maintainers.invalid>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # p2p-peer_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_STRIP_FILES ON)
# The absolute /etc destination of the example configuration needs the DESTDIR way of staging: without it CPack
# would install that file onto the build machine's own /etc.
set(CPACK_SET_DESTDIR ON)

# Depends: the shared libraries the programs and libp2pshare link, as dpkg-shlibdeps finds them (libzmq5, libsodium23,
# and for p2p-peer's web interface libcpp-httplib0.11: Debian builds cpp-httplib as a shared library, not header-only;
# nlohmann-json is header-only and needs nothing at run time); plus the -dev packages whose headers the installed
# public headers include (zmq.hpp, sodium.h: see P2P_DEB_DEV_DEPENDS in cmake/install.cmake), since this one package
# also carries the development files.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
list(JOIN P2P_DEB_DEV_DEPENDS ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion, systemd")
# A shlibs file, so that packages built against libp2pshare.so.0 get a Depends on this package.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# Maintainer scripts, conffiles and the ldconfig trigger (dist/debian/); configured for the paths of this tree.
foreach(name conffiles triggers postinst prerm postrm)
    configure_file(${PROJECT_SOURCE_DIR}/dist/debian/${name}.in ${PROJECT_BINARY_DIR}/debian/${name} @ONLY)
    list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/debian/${name})
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON) # scripts 0755, the rest 0644, whatever the checkout says

# The package puts its configuration in /etc and its library where Debian's dynamic linker looks: only right for
# /usr. CPack reads this at packaging time, so a tree configured for another prefix fails with a reason.
set(CPACK_P2P_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/package_check.cmake)
include(CPack)
