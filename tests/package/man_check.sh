#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# man_check.sh PAGE: fails if groff warns about the man page (man --warnings), or if man-db cannot read its NAME line
# (lexgrog: what mandb and apropos index). Run by CTest (tests/cmake/package_tests.cmake) on the configured pages.
set -euo pipefail
page="$1"
command -v man >/dev/null || { echo "man is not installed (Debian package man-db)"; exit 1; }

# MANROFFSEQ= ignores a preprocessor line the page might request; MANWIDTH fixes the line length, so the check
# does not depend on the terminal. Warnings go to standard error, the page to standard output.
warnings=$(MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
if [ -n "$warnings" ]; then
    printf 'man --warnings on %s:\n%s\n' "$page" "$warnings"
    exit 1
fi
text=$(MANROFFSEQ='' MANWIDTH=80 man -E UTF-8 -l "$page" 2>/dev/null)
[ -n "$text" ] || { echo "$page renders to nothing"; exit 1; }
lexgrog "$page"
