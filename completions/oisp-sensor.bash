# oisp-sensor.bash: bash completion for oisp-sensor(1).
#
# Installed as /usr/share/bash-completion/completions/oisp-sensor.  The commands,
# their sub-commands and options are read from the program's own help
# (`oisp-sensor --help`, `oisp-sensor CMD [SUB] --help`), once per shell and
# command, so completion always matches the installed binary:
#   - commands: the lines under "commands:" in `oisp-sensor --help`;
#   - sub-commands (analyze traces, config check, dlq replay): lowercase words
#     after "oisp-sensor CMD" in usage lines, and two-space-indented lowercase
#     words that start a line of the command's help;
#   - options: every --long word of the help, and -x short options that start
#     an option line (or follow ", ");
#   - an option's value: from the placeholder the help puts after it (FILE,
#     PATH -> files, DIR -> directories, PID -> process ids, NAME -> process
#     names, a|b|c -> those words), or from the fixed lists below.

declare -gA _oisp_sensor_help_cache 2>/dev/null || true

# _oisp_sensor_help PROG WORDS...: the help text of `PROG WORDS... --help`, cached.
_oisp_sensor_help()
{
    local prog=$1; shift
    local key="$prog $*"
    if [[ -z ${_oisp_sensor_help_cache[$key]+set} ]]; then
        _oisp_sensor_help_cache[$key]=$("$prog" "$@" --help 2>&1 </dev/null)
    fi
    printf '%s\n' "${_oisp_sensor_help_cache[$key]}"
}

# The top-level commands.
_oisp_sensor_commands()
{
    _oisp_sensor_help "$1" | awk '/^commands:/{on=1; next} on && /^$/{exit}
                                   on && /^  [a-z]/{print $1}'
}

# _oisp_sensor_subcommands PROG CMD: analyze's reports, config's check/show ...
_oisp_sensor_subcommands()
{
    _oisp_sensor_help "$1" "$2" | awk -v cmd="$2" '
        { for (i = 1; i < NF; i++)
              if ($i == "oisp-sensor" && $(i + 1) == cmd && $(i + 2) ~ /^[a-z][-a-z]*$/)
                  print $(i + 2) }
        /^  [a-z][-a-z]*( |$)/ { print $1 }' | sort -u
}

# _oisp_sensor_options PROG WORDS...: the options the help of WORDS mentions.
_oisp_sensor_options()
{
    _oisp_sensor_help "$@" | grep -oE -- '(^|[^-[:alnum:]_])(--[a-z][-a-z0-9]*|-[a-zA-Z](,|$|[[:space:]]))' |
        sed -E 's/^[^-]*//; s/[,[:space:]]*$//' | grep -E -- '^--[a-z]|^-[a-zA-Z]$' | sort -u
}

# _oisp_sensor_placeholders PROG WORDS... OPTION: the words after OPTION in the
# help ("FILE", "provider|model|process"), best first, one a line; none for an
# option without a value.
_oisp_sensor_placeholders()
{
    local opt=${!#}
    local words=("${@:1:$#-1}")
    local arg='[ =][^][:space:],]+' text
    text=$(_oisp_sensor_help "${words[@]}")
    # An option line ("  -t, --type TYPE   ...") first, then a mention anywhere
    # ("[--by provider|model|process]").
    { grep -oE -- "^[[:space:]]+(-[a-zA-Z], )?${opt}(, --[a-z][-a-z0-9]*)?${arg}" <<<"$text"
      grep -oE -- "(^|[[:space:][,])${opt}(, --[a-z][-a-z0-9]*)?${arg}" <<<"$text"; } |
        sed -E 's/^.*[ =]//' | awk '!seen[$0]++'
}

# _oisp_sensor_values OPTION PLACEHOLDERS: candidate values for an option.
_oisp_sensor_values()
{
    case $1 in
        --redaction)                  echo "safe full minimal"; return ;;
        --mode|--fanotify-mode)       echo "passive permissive enforcing"; return ;;
        --kafka-key)                  echo "event_id process trace_id"; return ;;
        --kafka-compression)          echo "none gzip snappy lz4 zstd"; return ;;
        --webhook-format)             echo "json ndjson"; return ;;
        --events)                     echo "exec open modify close_write"; return ;;
        -t|--type)                    # the OISP v0.1 event types and their families
                                      echo "ai ai.request ai.response ai.streaming_chunk ai.embedding
                                            agent agent.tool_call agent.tool_result agent.plan_step
                                            agent.rag_retrieve agent.session process process.exec
                                            process.fork process.exit file file.open file.read
                                            file.write file.delete file.rename network
                                            network.connect network.accept network.dns
                                            network.flow"; return ;;
    esac
    local ph
    for ph in $2; do
        [[ $ph == *'|'* ]] && { echo "${ph//|/ }"; return; }
    done
}

_oisp_sensor()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -n = || return
    else
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local prog=${words[0]}
    command -v "$prog" >/dev/null 2>&1 || prog=oisp-sensor

    if ((cword == 1)); then
        COMPREPLY=($(compgen -W "$(_oisp_sensor_commands "$prog") --help --version" -- "$cur"))
        return
    fi
    local cmd=${words[1]} sub= subs
    subs=$(_oisp_sensor_subcommands "$prog" "$cmd")
    if ((cword > 2)) && [[ " $subs " == *[[:space:]]"${words[2]}"[[:space:]]* ]]; then
        sub=${words[2]}
    fi
    local helpwords=("$prog" "$cmd")
    [[ -n $sub ]] && helpwords+=("$sub")

    # The value of the option before the cursor.
    if [[ $prev == -* ]]; then
        local phs ph vals
        phs=$(_oisp_sensor_placeholders "${helpwords[@]}" "$prev")
        ph=${phs%%$'\n'*}
        if [[ -n $ph ]]; then
            vals=$(_oisp_sensor_values "$prev" "$phs")
            if [[ -n $vals ]]; then
                COMPREPLY=($(compgen -W "$vals" -- "$cur"))
            else
                case $ph in
                    *DIR*)          COMPREPLY=($(compgen -d -- "$cur")) ;;
                    *FILE*|*PATH*|P) COMPREPLY=($(compgen -f -- "$cur")) ;;
                    PID)            COMPREPLY=($(compgen -W "$(ls /proc | grep -E '^[0-9]+$')" -- "$cur")) ;;
                    NAME)           COMPREPLY=($(compgen -W "$(cat /proc/[0-9]*/comm 2>/dev/null | sort -u)" -- "$cur")) ;;
                    *)              COMPREPLY=() ;;
                esac
            fi
            [[ $ph == *FILE* || $ph == *PATH* || $ph == *DIR* || $ph == P ]] &&
                compopt -o filenames 2>/dev/null
            return
        fi
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_oisp_sensor_options "${helpwords[@]}")" -- "$cur"))
    elif ((cword == 2)) && [[ -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    else
        # Positional arguments are files (show FILE, analyze REPORT FILE, dlq replay FILE).
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

complete -F _oisp_sensor oisp-sensor
