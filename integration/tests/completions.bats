#!/usr/bin/env bats
# pylock-test: once
# Shell completions (completions/): bash by calling its completion function
# as bash would, fish by asking fish, zsh by typing TAB into an interactive
# zsh on a pseudo-terminal.  bash and fish offer exactly the options
# `pylock CMD --help` lists.

load helpers

COMPL="$PYLOCK_SCRATCH/completions"
export PATH="$PYLOCK_BIN:$PATH" # the completions call `pylock`

setup() {
  [ -d "$COMPL" ] || skip "no completions in $COMPL"
}

commands() {
  "$PL" --help | awk '/^Commands:/ { c = 1; next } c && /^$/ { c = 0 } c { print $1 }'
}

# What bash completes for the words given (the last one is being typed).
bash_complete() {
  bash --norc --noprofile -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
    _pylock pylock "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPL/pylock.bash" "$@" | sort -u
}

# What fish completes for a command line (candidates only).
fish_complete() {
  fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$COMPL/pylock.fish" "$1" |
    cut -f1 | sort -u
}

# The options each completion offers for CMD, over all its subcommands.
subcommands() {
  case $1 in
  registry) echo "init add sign verify" ;;
  key) echo "generate show" ;;
  trust) echo "add list remove" ;;
  shim) echo "install uninstall" ;;
  *) echo "" ;;
  esac
}

# A project whose environment holds a requested package and a dependency,
# placed in the generation as an installer would leave them.
project_with_packages() {
  new_project
  local pl
  pl=$(gen_dir purelib)
  mkdir -p "$pl/demo_pkg-1.0.dist-info" "$pl/helper_dep-2.0.dist-info"
  printf 'Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n' > "$pl/demo_pkg-1.0.dist-info/METADATA"
  : > "$pl/demo_pkg-1.0.dist-info/REQUESTED"
  printf 'Metadata-Version: 2.1\nName: helper-dep\nVersion: 2.0\n' > "$pl/helper_dep-2.0.dist-info/METADATA"
  run "$PL" -C "$PROJ" list --json
  [ "$status" -eq 0 ]
  assert_contains "$output" '{"name": "demo-pkg", "version": "1.0", "requested": true}'
}

@test "bash: sourcing registers the completion function for pylock" {
  run bash --norc --noprofile -c "source '$COMPL/pylock.bash'; complete -p pylock"
  [ "$status" -eq 0 ]
  assert_eq "$output" "complete -F _pylock pylock"
}

@test "bash: the first word completes to every command" {
  want=$(commands | sort -u)
  [ "$(echo "$want" | wc -l)" -ge 16 ]
  assert_eq "$(bash_complete pylock '')" "$want"
  assert_eq "$(bash_complete pylock -q -C /tmp sy)" "sync"
  assert_eq "$(bash_complete pylock re)" "$(printf 'registry\nremove')"
}

@test "bash: run completes its options, then commands" {
  assert_eq "$(bash_complete pylock run --no)" "--no-network"
  run bash_complete pylock run --no-network python3.1
  assert_contains "$output" "python3.1"
  assert_eq "$(bash_complete pylock registry '')" "$(printf 'add\ninit\nsign\nverify')"
}

@test "bash: every command completes exactly the options its --help lists" {
  for cmd in $(commands); do
    want=$("$PL" "$cmd" --help | help_options)
    subs=$(subcommands "$cmd")
    got=$(if [ -z "$subs" ]; then bash_complete pylock "$cmd" -; else
      for s in $subs; do bash_complete pylock "$cmd" "$s" -; done; fi | sort -u)
    [ "$got" = "$want" ] || {
      echo "pylock $cmd: --help and bash completion differ:" >&2
      diff <(echo "$want") <(echo "$got") >&2
      return 1
    }
  done
}

@test "bash: remove completes the requested packages of the project" {
  project_with_packages
  cd "$PROJ"
  assert_eq "$(bash_complete pylock remove '')" "demo-pkg"
  assert_eq "$(bash_complete pylock remove de)" "demo-pkg"
  cd /
  assert_eq "$(bash_complete pylock -C "$PROJ" remove '')" "demo-pkg"
}

@test "bash: remove in a checkout without an environment completes nothing and creates nothing" {
  new_project
  mkdir "$BATS_TEST_TMPDIR/checkout"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/checkout/"
  cd "$BATS_TEST_TMPDIR/checkout"
  assert_eq "$(bash_complete pylock remove '')" ""
  assert_eq "$(ls -A)" "pylock.toml"
}

@test "fish: completions parse, and offer commands, options and requested packages" {
  command -v fish >/dev/null || skip "fish is not installed (apt install fish)"
  fish --no-config -n "$COMPL/pylock.fish"
  assert_eq "$(fish_complete 'pylock ')" "$(commands | sort -u)"
  for cmd in $(commands); do
    want=$("$PL" "$cmd" --help | help_options)
    subs=$(subcommands "$cmd")
    got=$(if [ -z "$subs" ]; then fish_complete "pylock $cmd -"; else
      for s in $subs; do fish_complete "pylock $cmd $s -"; done; fi | grep -E '^-' | sort -u)
    [ "$got" = "$want" ] || {
      echo "pylock $cmd: --help and fish completion differ:" >&2
      diff <(echo "$want") <(echo "$got") >&2
      return 1
    }
  done
  project_with_packages
  cd "$PROJ"
  assert_eq "$(fish_complete 'pylock remove ')" "demo-pkg"
}

@test "zsh: the completion function parses and autoloads" {
  command -v zsh >/dev/null || skip "zsh is not installed (apt install zsh)"
  zsh -n "$COMPL/_pylock"
  run zsh -fc "fpath=('$COMPL' \$fpath); autoload -Uz compinit; compinit -u -d '$BATS_TEST_TMPDIR/zcd';
               autoload +X _pylock && whence -w _pylock"
  [ "$status" -eq 0 ]
  assert_eq "$output" "_pylock: function"
}

# The command line zsh leaves after typing $1 and TAB, in an interactive zsh
# on a pseudo-terminal (zsh/zpty); a widget bound to ^X writes $BUFFER out.
zsh_complete() {
  local out="$BATS_TEST_TMPDIR/zsh-buffer"
  rm -f "$out"
  zsh -f -c '
    zmodload zsh/zpty || exit 1
    zpty z zsh -f -i
    zpty -w z "fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -d ${(q)2}.zcd"
    zpty -w z "dump() { print -r -- \"\$BUFFER\" > ${(q)2}; }; zle -N dump; bindkey ^X dump"
    zpty -n -w z "$3"$'"'"'\t\x18'"'"'
    for i in {1..100}; do [[ -s $2 ]] && break; sleep 0.05; done
    zpty -d z' _ "$COMPL" "$out" "$1"
  cat "$out"
}

@test "zsh: commands, options, subcommands and requested packages complete" {
  command -v zsh >/dev/null || skip "zsh is not installed (apt install zsh)"
  assert_eq "$(zsh_complete 'pylock sy')" "pylock sync "
  assert_eq "$(zsh_complete 'pylock run --no-n')" "pylock run --no-network "
  assert_eq "$(zsh_complete 'pylock registry ver')" "pylock registry verify "
  project_with_packages
  cd "$PROJ"
  assert_eq "$(zsh_complete 'pylock remove ')" "pylock remove demo-pkg "
}
