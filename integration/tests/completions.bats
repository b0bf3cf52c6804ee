#!/usr/bin/env bats
# pylock-test: once
# Shell completions (completions/): bash by calling its completion function
# as bash would, fish by asking fish, zsh by typing TAB into an interactive
# zsh on a pseudo-terminal.  bash and fish offer exactly the options
# `pylock CMD --help` lists.
# SPDX-License-Identifier: Apache-2.0

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
  registry) echo "init add index withdraw sign verify" ;;
  key) echo "generate import show" ;;
  trust) echo "add list remove" ;;
  shim) echo "install uninstall" ;;
  *) echo "" ;;
  esac
}

# A project whose pylock.toml requests demo-pkg and locks it with a
# dependency, helper-dep, as pylock writes them: `pylock remove` takes
# demo-pkg and not helper-dep.  pylock reads the lock (it is a valid one).
project_with_packages() {
  new_project
  local toml="$PROJ/pylock.toml" sha
  sha=$(printf '%064d' 0)
  awk -v sha="$sha" '
    $0 == "packages = []" { next }
    $0 == "requested = []" { print "requested = [\"demo-pkg>=1.0\"]"; next }
    $0 == "[tool.pylock]" {
      print "[[packages]]\nname = \"demo-pkg\"\nversion = \"1.0\"\n"
      print "[[packages.wheels]]\nname = \"demo_pkg-1.0-py3-none-any.whl\""
      print "path = \"wheels/demo_pkg-1.0-py3-none-any.whl\"\nhashes = {sha256 = \"" sha "\"}\n"
      print "[packages.tool.pylock]\nrequested = true\n"
      print "[[packages]]\nname = \"helper-dep\"\nversion = \"2.0\"\n"
      print "[[packages.wheels]]\nname = \"helper_dep-2.0-py3-none-any.whl\""
      print "path = \"wheels/helper_dep-2.0-py3-none-any.whl\"\nhashes = {sha256 = \"" sha "\"}\n"
    }
    { print }' "$toml" > "$toml.new"
  mv "$toml.new" "$toml"
  run "$PL" -C "$PROJ" list --json
  [ "$status" -eq 0 ]
}

# What pylock's state root holds for projects (to see that nothing was made).
state_projects() {
  ls -A "$("$PL" -C "$PROJ" info state-root)/projects"
}

# The KEYs `pylock info --help` names, one per line, sorted.
info_keys() {
  "$PL" info --help | tr '\n' ' ' | sed -E 's/.*KEY is one of: ([^.]*)\..*/\1/' | tr -d ' ' | tr ',' '\n' | sort
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
  assert_eq "$(bash_complete pylock registry '')" "$(printf 'add\nindex\ninit\nsign\nverify\nwithdraw')"
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

@test "bash: remove in a checkout without an environment completes from pylock.toml and creates nothing" {
  project_with_packages
  before=$(state_projects)
  mkdir "$BATS_TEST_TMPDIR/checkout"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/checkout/"
  cd "$BATS_TEST_TMPDIR/checkout"
  assert_eq "$(bash_complete pylock remove '')" "demo-pkg"
  assert_eq "$(bash_complete pylock -C "$BATS_TEST_TMPDIR/checkout" remove d)" "demo-pkg"
  assert_eq "$(ls -A)" "pylock.toml"
  assert_eq "$(state_projects)" "$before"
  run "$PL" -C "$BATS_TEST_TMPDIR/checkout" info state
  [ "$status" -eq 1 ]
  assert_contains "$output" "has no environment yet"
}

@test "bash: remove offers the names of [tool.pylock] requested, whatever else the file holds" {
  mkdir "$BATS_TEST_TMPDIR/p"
  cd "$BATS_TEST_TMPDIR/p"
  cat > pylock.toml <<'EOF'
lock-version = "1.0"
requested = ["top-level"]

[[packages]]
name = "locked-dep"

[packages.tool.pylock]
requested = true

[tool.other]
requested = ["other-tool"]

[ tool.pylock ]  # a comment
python = "/usr/bin/python3"
requested = [ # "commented"
  "demo-pkg[socks,extra]>=1.0",  # ] in a comment
  'Lit_Name.x ; python_version >= "3"',
  "demo-pkg<2",
]
after = ["after"]

[tool.pylock.sandbox]
requested = ["sandbox"]
EOF
  assert_eq "$(bash_complete pylock remove '')" "$(printf 'Lit_Name.x\ndemo-pkg')"
}

@test "bash: a hostile pylock.toml cannot make remove's completion run anything" {
  mkdir "$BATS_TEST_TMPDIR/p"
  cd "$BATS_TEST_TMPDIR/p"
  m="$BATS_TEST_TMPDIR/ran"
  # compgen -W expands its words: each of these would run a command there.
  printf '[tool.pylock]\nrequested = ["$(touch %s.1)", "`touch %s.2`", "x$(touch %s.3)", "-W", "ok;$(touch %s.4)"]\n' \
    "$m" "$m" "$m" "$m" > pylock.toml
  assert_eq "$(bash_complete pylock remove '')" "$(printf 'ok\nx')"
  assert_eq "$(bash_complete pylock remove x)" "x"
  [ ! -e "$m.1" ] && [ ! -e "$m.2" ] && [ ! -e "$m.3" ] && [ ! -e "$m.4" ]
  assert_eq "$(ls -A)" "pylock.toml"
}

@test "bash: info completes its KEYs, once" {
  want=$(info_keys)
  [ "$(echo "$want" | wc -l)" -eq 11 ]
  assert_eq "$(bash_complete pylock info '')" "$want"
  assert_eq "$(bash_complete pylock info --json '')" "$want"
  assert_eq "$(bash_complete pylock info state-r)" "state-root"
  assert_eq "$(bash_complete pylock info state '')" ""
}

@test "bash: run and ci skip --allow-write's PATH to find the command" {
  want=$(bash_complete pylock run python3.1)
  assert_contains "$want" "python3.1"
  assert_eq "$(bash_complete pylock run --allow-write /tmp python3.1)" "$want"
  assert_eq "$(bash_complete pylock ci -s -w /tmp -- python3.1)" "$want"
  run bash_complete pylock run -w /
  assert_contains "$output" "/tmp"
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
  assert_eq "$(fish_complete 'pylock info ')" "$(info_keys)"
  assert_eq "$(fish_complete 'pylock info --json ')" "$(info_keys)"
  assert_eq "$(fish_complete 'pylock info state ')" ""
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
  assert_eq "$(zsh_complete 'pylock shell --str')" "pylock shell --strict "
  assert_eq "$(zsh_complete 'pylock info gen')" "pylock info generation "
  assert_eq "$(zsh_complete 'pylock inf')" "pylock info "
  project_with_packages
  cd "$PROJ"
  assert_eq "$(zsh_complete 'pylock remove ')" "pylock remove demo-pkg "
}
