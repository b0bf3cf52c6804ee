# bash completion for pylock(1).  Install as
# /usr/share/bash-completion/completions/pylock, or source it.

# The nearest directory holding pylock.toml: the -C argument, else upward
# from the working directory.
_pylock_project() {
  local d=${1:-$PWD}
  if [[ -n $1 ]]; then
    [[ -f $d/pylock.toml ]] && printf '%s\n' "$d"
    return
  fi
  while [[ -n $d ]]; do
    [[ -f $d/pylock.toml ]] && { printf '%s\n' "$d"; return; }
    [[ $d == / ]] && return
    d=$(dirname -- "$d")
  done
}

# The requested packages of the project's environment (what `pylock remove`
# takes), from `pylock list --json`.  Only for a project whose environment
# exists: `pylock list` on a fresh checkout would create one.
_pylock_requested() {
  local dir
  dir=$(_pylock_project "$1")
  [[ -n $dir && -e $dir/.pylock/current ]] || return
  command pylock -q -C "$dir" list --json 2>/dev/null |
    grep -oE '"name": "[^"]*", "version": "[^"]*", "requested": true' |
    sed -E 's/^"name": "([^"]*)".*/\1/'
}

# Names of trusted roots; with "user", only those `pylock trust remove` takes.
_pylock_trusted() {
  command pylock trust list 2>/dev/null |
    awk -F '\t' -v only="$1" '!only || $2 == only { print $1 }'
}

_pylock() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local commands="init lock install remove sync run ci shell list verify rollback gc shim doctor registry key trust"
  local i=1 cmd="" project=""
  # Global options come before the command; -C takes an argument.
  while ((i < COMP_CWORD)); do
    case ${COMP_WORDS[i]} in
    -C | --project)
      project=${COMP_WORDS[i + 1]}
      ((i += 2))
      continue
      ;;
    -*) ;;
    *)
      cmd=${COMP_WORDS[i]}
      break
      ;;
    esac
    ((i++))
  done
  COMPREPLY=()

  if [[ -z $cmd ]]; then
    case $prev in
    -C | --project) COMPREPLY=($(compgen -d -- "$cur")) ;;
    *)
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "-C --project -q --quiet -v --verbose -V --version -h --help" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
      fi
      ;;
    esac
    return
  fi

  local cmd_at=$i sub="" opts="-h --help"
  case $cmd in
  registry | key | trust | shim)
    if ((COMP_CWORD == cmd_at + 1)); then
      case $cmd in
      shim) COMPREPLY=($(compgen -W "install uninstall" -- "$cur")) ;;
      registry) COMPREPLY=($(compgen -W "init add sign verify" -- "$cur")) ;;
      key) COMPREPLY=($(compgen -W "generate show" -- "$cur")) ;;
      trust) COMPREPLY=($(compgen -W "add list remove" -- "$cur")) ;;
      esac
      return
    fi
    sub=${COMP_WORDS[cmd_at + 1]}
    ;;
  esac

  # Arguments of options.
  case $prev in
  -p | --python)
    COMPREPLY=($(compgen -c -- "${cur:-python}" | grep -E '^python[0-9.]*$' | sort -u) $(compgen -f -- "$cur"))
    return
    ;;
  --registry | --state | --dir)
    COMPREPLY=($(compgen -d -- "$cur"))
    return
    ;;
  --root | --key | --add-root-key | -o | --output)
    COMPREPLY=($(compgen -f -- "$cur"))
    return
    ;;
  --trusted)
    COMPREPLY=($(compgen -W "$(_pylock_trusted)" -- "$cur"))
    return
    ;;
  --threshold | --expires | --remove-root-key | --name) return ;;
  esac

  # run and ci: options until the command, then the command and its words.
  if [[ $cmd == run || $cmd == ci ]]; then
    local j=$((cmd_at + 1))
    while ((j < COMP_CWORD)); do
      case ${COMP_WORDS[j]} in
      --)
        ((j++))
        break
        ;;
      -*) ((j++)) ;;
      *) break ;;
      esac
    done
    if ((j < COMP_CWORD)); then # past CMD: its arguments are files
      COMPREPLY=($(compgen -f -- "$cur"))
      return
    fi
    if [[ $cur == -* && ${COMP_WORDS[j - 1]} != -- ]]; then
      [[ $cmd == run ]] && opts="-n --no-network -h --help" || opts="--json -h --help"
      COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
      COMPREPLY=($(compgen -c -- "$cur"))
    fi
    return
  fi

  local words=""
  case $cmd in
  init) opts="-p --python --registry --root --trusted -h --help" ;;
  lock) opts="--check -h --help" ;;
  sync) opts="--frozen -h --help" ;;
  shell) opts="-n --no-network -h --help" ;;
  list) opts="--json -h --help" ;;
  remove) words=$(_pylock_requested "$project") ;;
  registry)
    case $sub in
    init) opts="--key --threshold --expires -h --help" ;;
    add) opts="--key --expires -h --help" ;;
    sign) opts="--key --add-root-key --remove-root-key --renew-root --expires -h --help" ;;
    verify) opts="--root --trusted --state --targets -h --help" ;;
    esac
    ;;
  key) [[ $sub == generate ]] && opts="-o --output -h --help" ;;
  shim)
    case $sub in
    install) opts="--user --system --dir --python -h --help" ;;
    uninstall) opts="--user --system --dir -h --help" ;;
    esac
    ;;
  trust)
    case $sub in
    add) opts="--name -h --help" ;;
    remove) words=$(_pylock_trusted user) ;;
    esac
    ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  case $cmd/$sub in
  remove/ | trust/remove) COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
  init/ | registry/init | registry/sign) COMPREPLY=($(compgen -d -- "$cur")) ;;
  registry/add | registry/verify | key/show | trust/add) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}

complete -F _pylock pylock
