# SPDX-License-Identifier: MIT
# Sourced by the netns tests.

# wait_line FILE REGEX SECONDS: waits until a line of FILE matches (no fixed sleep decides anything).
wait_line() {
    local deadline=$((SECONDS + $3))
    until grep -Eq "$2" "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
