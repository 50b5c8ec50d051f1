# SPDX-License-Identifier: MIT
# Bash completion for p2p-tap: its commands (relay, dump, replay) and their options.
# Installed as /usr/share/bash-completion/completions/p2p-tap; needs only bash (bash-completion loads it on demand).

_p2p_tap() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    case $prev in
    --out)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
        ;;
    --listen | --to | --delay | --rate | --drop | --seed | --bind | --timeout | --max-differences)
        return 0 # a number or an address: nothing to offer
        ;;
    esac

    local i command=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} =~ ^(relay|dump|replay)$ ]]; then
            command=${COMP_WORDS[i]}
            break
        fi
    done

    if [[ -z $command ]]; then
        mapfile -t COMPREPLY < <(compgen -W "relay dump replay --help" -- "$cur")
        return 0
    fi
    if [[ $cur == -* ]]; then
        local options=""
        case $command in
        relay) options="--listen --to --out --delay --rate --drop --seed --bind --payload" ;;
        dump) options="--json" ;;
        replay) options="--to --timeout --max-differences" ;;
        esac
        mapfile -t COMPREPLY < <(compgen -W "--help $options" -- "$cur")
        return 0
    fi
    # dump and replay read a capture file.
    if [[ $command != relay ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
}

complete -F _p2p_tap p2p-tap
