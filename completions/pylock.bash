# bash completion for pylock(1).  Install as
# /usr/share/bash-completion/completions/pylock, or source it.
# SPDX-License-Identifier: Apache-2.0

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

# The requested packages of the project (what `pylock remove` takes): the
# names in [tool.pylock] requested of its pylock.toml, read as text.  Nothing
# is run or created, and no environment is needed.  The file may come from a
# pull request and compgen -W expands the words it is given, so only what a
# package name may hold (letters, digits, ".", "_", "-") is ever offered.
_pylock_requested() {
  local dir
  dir=$(_pylock_project "$1")
  [[ -n $dir && -f $dir/pylock.toml && -r $dir/pylock.toml ]] || return
  awk '
    function name(s) {
      if (match(s, /^[ \t]*[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?/)) {
        s = substr(s, RSTART, RLENGTH); sub(/^[ \t]+/, "", s)
        if (!(s in seen)) { seen[s] = 1; print s }
      }
    }
    # The strings of the array, up to its closing bracket (one outside a string).
    function scan(line,   i, c) {
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (q == "\"" && c == "\\") { cur = cur substr(line, i + 1, 1); i++ }
        else if (q != "" && c == q) { name(cur); q = ""; cur = "" }
        else if (q != "") cur = cur c
        else if (c == "\"" || c == "\047") q = c
        else if (c == "#") return
        else if (c == "]") exit
      }
    }
    inarr { scan($0); next }
    /^[ \t]*\[/ { t = $0; sub(/#.*/, "", t); gsub(/[][ \t"]/, "", t); table = t; next }
    table == "tool.pylock" && /^[ \t]*("requested"|requested)[ \t]*=[ \t]*\[/ {
      line = $0; sub(/^[^=]*=[ \t]*\[/, "", line); inarr = 1; scan(line)
    }' "$dir/pylock.toml" 2>/dev/null
}

# Names of trusted roots; with "user", only those `pylock trust remove` takes.
_pylock_trusted() {
  command pylock trust list 2>/dev/null |
    awk -F '\t' -v only="$1" '!only || $2 == only { print $1 }'
}

_pylock() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local commands="init lock install remove sync run ci shell list tree info verify rollback gc cache shim doctor registry key trust"
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
  registry | key | trust | shim | cache)
    if ((COMP_CWORD == cmd_at + 1)) && [[ $cmd != cache || $cur != -* ]]; then
      case $cmd in
      cache) COMPREPLY=($(compgen -W "dir clean" -- "$cur")) ;;
      shim) COMPREPLY=($(compgen -W "install uninstall" -- "$cur")) ;;
      registry) COMPREPLY=($(compgen -W "init add index withdraw sign verify" -- "$cur")) ;;
      key) COMPREPLY=($(compgen -W "generate import show" -- "$cur")) ;;
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
  -w | --allow-write)
    COMPREPLY=($(compgen -f -- "$cur"))
    return
    ;;
  --root | --key | --add-root-key | --online-key | -o | --output)
    COMPREPLY=($(compgen -f -- "$cur"))
    return
    ;;
  --trusted)
    COMPREPLY=($(compgen -W "$(_pylock_trusted)" -- "$cur"))
    return
    ;;
  --extra | --group)
    # The extras or dependency-groups pylock.toml (in the current directory) offers.
    local key=extras
    [[ $prev == --group ]] && key=dependency-groups
    COMPREPLY=($(compgen -W "$(sed -n "s/^$key *= *\[\(.*\)\]/\1/p" pylock.toml 2>/dev/null | tr -d "\"',")" -- "$cur"))
    return
    ;;
  -r | --requirement)
    COMPREPLY=($(compgen -f -- "$cur"))
    return
    ;;
  --threshold | --expires | --remove-root-key | --name | --orphans-after | --wait | --bins | --target) return ;;
  -P | --upgrade-package) return ;;
  esac

  # The sandbox options of run, shell and ci.
  local sandbox="-s --strict -n --no-network -w --allow-write"

  # run and ci: options until the command, then the command and its words.
  if [[ $cmd == run || $cmd == ci ]]; then
    local j=$((cmd_at + 1))
    while ((j < COMP_CWORD)); do
      case ${COMP_WORDS[j]} in
      --)
        ((j++))
        break
        ;;
      -w | --allow-write | --python | --trusted | --extra | --group) ((j += 2)) ;; # and its argument
      -*) ((j++)) ;;
      *) break ;;
      esac
    done
    if ((j < COMP_CWORD)); then # past CMD: its arguments are files
      COMPREPLY=($(compgen -f -- "$cur"))
      return
    fi
    if [[ $cur == -* && ${COMP_WORDS[j - 1]} != -- ]]; then
      [[ $cmd == run ]] && opts="$sandbox -h --help" ||
        opts="--json --python --trusted --offline --extra --group $sandbox -h --help"
      COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
      COMPREPLY=($(compgen -c -- "$cur"))
    fi
    return
  fi

  local words=""
  case $cmd in
  init) opts="-p --python --registry --root --trusted -h --help" ;;
  lock) opts="--check -U --upgrade -P --upgrade-package -h --help" ;;
  install) opts="-r --requirement -U --upgrade -P --upgrade-package -h --help" ;;
  sync) opts="--frozen --python --offline --trusted --repair --extra --group -h --help" ;;
  shell) opts="$sandbox -h --help" ;;
  list | tree) opts="--json -h --help" ;;
  gc) opts="--orphans-after --wait -h --help" ;;
  cache) [[ $sub == dir ]] && opts="-h --help" || opts="--wait -h --help" ;;
  info)
    opts="--json -h --help"
    words="project state generation layer python version prefix state-root cache sandbox byte-code"
    ;;
  remove) words=$(_pylock_requested "$project") ;;
  registry)
    case $sub in
    init) opts="--key --online-key --bins --project-index --no-project-index --threshold --expires -h --help" ;;
    add | index | withdraw) opts="--key --expires -h --help" ;;
    sign) opts="--key --add-root-key --remove-root-key --renew-root --accept-edits --expires -h --help" ;;
    verify) opts="--root --trusted --state --targets --target -h --help" ;;
    esac
    ;;
  key)
    case $sub in
    generate) opts="-o --output -h --help" ;;
    import) opts="-n --name -h --help" ;;
    esac
    ;;
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
  info/)
    # One KEY at most.
    local k n=0
    for ((k = cmd_at + 1; k < COMP_CWORD; k++)); do
      [[ ${COMP_WORDS[k]} == -* ]] || ((n++))
    done
    ((n == 0)) && COMPREPLY=($(compgen -W "$words" -- "$cur"))
    ;;
  init/ | registry/init | registry/sign) COMPREPLY=($(compgen -d -- "$cur")) ;;
  registry/add | registry/verify | key/show | key/import | trust/add) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}

complete -F _pylock pylock
