# SPDX-License-Identifier: MIT
# Builds BLAKE3's upstream C implementation as the static library p2p_blake3, from the sources Debian ships in
# librust-blake3-dev (Debian 12 has no C BLAKE3 library package), or takes a system libblake3 through pkg-config.
#
# On x86-64 Unix the SSE2, SSE4.1, AVX2 and AVX-512 assembly files are built beside the portable C, and
# blake3_dispatch.c picks the widest the CPU has at run time (CPUID), so one binary runs everywhere. An extension
# the assembler cannot assemble is left out with BLAKE3's own BLAKE3_NO_<EXT> define. On 32-bit x86 the intrinsics
# files are built instead (each with its own -m flag), on AArch64 the NEON file, elsewhere the portable C alone.
option(P2P_SYSTEM_BLAKE3 "Use a system libblake3 (pkg-config) instead of the C sources of librust-blake3-dev" OFF)

if(P2P_SYSTEM_BLAKE3)
    pkg_check_modules(BLAKE3 IMPORTED_TARGET libblake3)
    if(NOT BLAKE3_FOUND)
        message(FATAL_ERROR "P2P_SYSTEM_BLAKE3 is ON but pkg-config finds no libblake3; turn the option off to "
                            "build BLAKE3 from the Debian package librust-blake3-dev")
    endif()
    add_library(p2p_blake3 INTERFACE)
    target_link_libraries(p2p_blake3 INTERFACE PkgConfig::BLAKE3)
    return()
endif()

# The newest blake3-<version>/c folder of the Debian cargo registry, unless the cache names a folder that has the
# sources. A cached folder without them is looked for again: an upgrade of the package renames the folder.
if(NOT P2P_BLAKE3_SOURCE_DIR OR NOT EXISTS "${P2P_BLAKE3_SOURCE_DIR}/blake3.h")
    file(GLOB p2p_blake3_candidates LIST_DIRECTORIES true /usr/share/cargo/registry/blake3-*/c)
    if(p2p_blake3_candidates)
        list(SORT p2p_blake3_candidates COMPARE NATURAL ORDER DESCENDING)
        list(GET p2p_blake3_candidates 0 p2p_blake3_newest)
        if(P2P_BLAKE3_SOURCE_DIR)
            message(STATUS "BLAKE3: no blake3.h in ${P2P_BLAKE3_SOURCE_DIR}; using ${p2p_blake3_newest}")
        endif()
        set(P2P_BLAKE3_SOURCE_DIR "${p2p_blake3_newest}" CACHE PATH "BLAKE3's C sources (blake3.h, blake3.c...)" FORCE)
    endif()
endif()
if(NOT P2P_BLAKE3_SOURCE_DIR OR NOT EXISTS "${P2P_BLAKE3_SOURCE_DIR}/blake3.h")
    message(FATAL_ERROR "BLAKE3's C sources were not found (no blake3.h in /usr/share/cargo/registry/blake3-*/c "
                        "nor in P2P_BLAKE3_SOURCE_DIR='${P2P_BLAKE3_SOURCE_DIR}'): install the Debian package "
                        "librust-blake3-dev (apt-get install librust-blake3-dev), or pass "
                        "-DP2P_BLAKE3_SOURCE_DIR=<folder with blake3.h>")
endif()

enable_language(C)
set(p2p_blake3_dir "${P2P_BLAKE3_SOURCE_DIR}")
add_library(p2p_blake3 STATIC ${p2p_blake3_dir}/blake3.c ${p2p_blake3_dir}/blake3_dispatch.c
                              ${p2p_blake3_dir}/blake3_portable.c)
set_target_properties(p2p_blake3 PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99 C_EXTENSIONS OFF)
# SYSTEM: the header is not ours, so our warning flags must not judge it.
target_include_directories(p2p_blake3 SYSTEM PUBLIC ${p2p_blake3_dir})
# -O3 as upstream's own build instructions; the default Debug build would make hashing a hundred times slower.
target_compile_options(p2p_blake3 PRIVATE $<$<COMPILE_LANGUAGE:C>:-O3>)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND CMAKE_SIZEOF_VOID_P EQUAL 8 AND UNIX)
    enable_language(ASM)
    include(CheckCSourceCompiles)
    # One instruction of each extension, through the same compiler driver and assembler that build the .S files.
    set(p2p_blake3_probe_sse2 "paddd %xmm1, %xmm2")
    set(p2p_blake3_probe_sse41 "pblendw $0xCC, %xmm1, %xmm2")
    set(p2p_blake3_probe_avx2 "vpaddd %ymm1, %ymm2, %ymm3")
    set(p2p_blake3_probe_avx512 "vpaddd %zmm1, %zmm2, %zmm3")
    foreach(ext sse2 sse41 avx2 avx512)
        check_c_source_compiles("int main(void) { __asm__(\"${p2p_blake3_probe_${ext}}\"); return 0; }"
                                P2P_BLAKE3_ASSEMBLES_${ext})
        string(TOUPPER ${ext} EXT)
        if(P2P_BLAKE3_ASSEMBLES_${ext})
            target_sources(p2p_blake3 PRIVATE ${p2p_blake3_dir}/blake3_${ext}_x86-64_unix.S)
        else()
            message(STATUS "BLAKE3: the assembler lacks ${EXT}; that implementation is left out")
            target_compile_definitions(p2p_blake3 PRIVATE BLAKE3_NO_${EXT})
        endif()
    endforeach()
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(i.86|x86)$")
    # 32-bit x86: no assembly flavour exists, so the intrinsics files, each compiled for its own extension only.
    set(p2p_blake3_flags_sse2 -msse2)
    set(p2p_blake3_flags_sse41 -msse4.1)
    set(p2p_blake3_flags_avx2 -mavx2)
    set(p2p_blake3_flags_avx512 -mavx512f -mavx512vl)
    foreach(ext sse2 sse41 avx2 avx512)
        target_sources(p2p_blake3 PRIVATE ${p2p_blake3_dir}/blake3_${ext}.c)
        set_source_files_properties(${p2p_blake3_dir}/blake3_${ext}.c PROPERTIES COMPILE_OPTIONS
                                                                                 "${p2p_blake3_flags_${ext}}")
    endforeach()
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
    target_sources(p2p_blake3 PRIVATE ${p2p_blake3_dir}/blake3_neon.c)
endif()
# Anywhere else blake3_impl.h sees no x86 and no NEON and dispatches to the portable C only.
