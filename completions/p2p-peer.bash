# SPDX-License-Identifier: MIT
# Bash completion for p2p-peer: its commands (serve, ls, get), their options, and the values it can know locally.
# Installed as /usr/share/bash-completion/completions/p2p-peer; needs only bash (bash-completion loads it on demand).

# Prints the word before the current one, seeing "--opt=value" as "--opt value" (':' and '=' break words in bash).
_p2p_peer_previous() {
    local i=$((COMP_CWORD - 1))
    if [[ ${COMP_WORDS[i]} == "=" && $i -gt 0 ]]; then
        i=$((i - 1))
    fi
    printf '%s' "${COMP_WORDS[i]}"
}

_p2p_peer() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev
    prev=$(_p2p_peer_previous)
    [[ $cur == "=" ]] && cur=""
    COMPREPLY=()

    # Options valid everywhere (CLI11 takes them before or after the command), and those that take a value.
    local globals="--help -h -v --verbose --log-level --bind --chunk-size --window --max-rate --ping-interval --peer-timeout --settle --capture
                   --secure --ephemeral --allow --discover --no-discover --discover-port --max-peers --web --web-allow-remote"
    local with_value=" --log-level --bind --chunk-size --window --max-rate --ping-interval --peer-timeout --settle --capture --allow
                       --discover-port --max-peers --connect --dir --web -o --output "

    case $prev in
    --log-level)
        mapfile -t COMPREPLY < <(compgen -W "debug info warn error off" -- "$cur")
        return 0
        ;;
    --capture | --allow)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
        ;;
    --dir)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
        ;;
    --bind)
        # An IPv4 address or an interface name.
        local interfaces=""
        [[ -d /sys/class/net ]] && interfaces=$(ls /sys/class/net)
        mapfile -t COMPREPLY < <(compgen -W "0.0.0.0 127.0.0.1 $interfaces" -- "$cur")
        return 0
        ;;
    --chunk-size | --window | --max-rate | --ping-interval | --peer-timeout | --settle | --connect | --web | -o | --output | \
        --discover-port | --max-peers)
        return 0 # a number, a size, a duration, HOST:PORT, [ADDR:]PORT or a name to save as: nothing to offer
        ;;
    esac

    # The command, and how many positional arguments came after it (or before any, for the menu form).
    local i word command="" positionals=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == -* || $word == "=" ]]; then
            continue
        fi
        if [[ $with_value == *" ${COMP_WORDS[i - 1]} "* || ${COMP_WORDS[i - 1]} == "=" ]]; then
            continue # the value of an option
        fi
        if [[ -z $command && $positionals -eq 0 && $word =~ ^(serve|ls|get)$ ]]; then
            command=$word
            continue
        fi
        positionals=$((positionals + 1))
    done

    if [[ $cur == -* ]]; then
        local own=""
        case $command in
        serve) own="--connect --json" ;;
        ls) own="--json" ;;
        get) own="--dir -o --output --force --continue --explain --json --json-progress" ;;
        "") own="--version" ;;
        esac
        mapfile -t COMPREPLY < <(compgen -W "$globals $own" -- "$cur")
        return 0
    fi

    case $command in
    "")
        # p2p-peer <port> <dir> (the menu), or a command.
        if [[ $positionals -eq 0 ]]; then
            mapfile -t COMPREPLY < <(compgen -W "serve ls get" -- "$cur")
        elif [[ $positionals -eq 1 ]]; then
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        fi
        ;;
    serve)
        # serve <port> <dir>
        if [[ $positionals -eq 1 ]]; then
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        fi
        ;;
    esac
    # ls HOST:PORT and get HOST:PORT FILE... name things on another machine: nothing to offer from here.
    return 0
}

complete -F _p2p_peer p2p-peer
