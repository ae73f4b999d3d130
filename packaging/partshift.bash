# bash completion for partshift: commands, and each command's options as its --help lists
# them (so the completion cannot fall behind the binary), plus values where they are few.
_partshift() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="plan run status cutover verify abort pause resume set revert finish"
    COMPREPLY=()
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return 0
    fi
    case $prev in
        --partition-by|--subpartition-by)
            COMPREPLY=($(compgen -W "range list hash" -- "$cur")); return 0 ;;
        --log-format)
            COMPREPLY=($(compgen -W "text json" -- "$cur")); return 0 ;;
        --copy-method)
            COMPREPLY=($(compgen -W "insert copy" -- "$cur")); return 0 ;;
        --spool-dir|--hooks-dir)
            COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
        --postpone-cutover-flag|--spec)
            COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    esac
    if [[ $cur == -* ]]; then
        local options
        options=$("${COMP_WORDS[0]}" "${COMP_WORDS[1]}" --help 2>/dev/null |
                  grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$options --log-format" -- "$cur"))
    fi
    return 0
}
complete -F _partshift partshift
