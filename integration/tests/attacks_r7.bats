#!/usr/bin/env bats
# pylock-test: once
# Attacks of round 7: the interpreter a project's state records, reached
# through a place every default sandbox may write (/tmp, ~/.cache, another
# project); and more attacks that held, not covered elsewhere.  The
# attacker: code running in one project's sandbox, aiming at another
# project of the same user (whose files its own sandbox cannot write), at
# the shared cache, or at what pylock runs outside.  Each test performs the
# attack and asserts that it fails.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/trust"
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trust/root.json"
}

setup() {
  export PYLOCK_KEEPALIVE=0 PYLOCK_COMPILE=before-switch
  # Projects in the home, outside every place a default sandbox writes.
  W=$(mktemp -d "$HOME/r7.XXXXXX")
  PA="$W/projA" PB="$W/projB"
  MARK="$W/evil-ran"
  # The attacker's interpreter: leaves a mark in the project it runs for
  # (and in $MARK, which no sandbox can write), then acts as the real one.
  EVIL="$BATS_TEST_TMPDIR/evil-python"
  cat >"$EVIL" <<EOF
#!/bin/sh
echo "the attacker's interpreter ran: \$*" >>"\${PYLOCK_PROJECT:-/nonexistent}/evil-ran" 2>/dev/null
echo ran >>"$MARK" 2>/dev/null
exec "$PY" "\$@"
EOF
  chmod 755 "$EVIL"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trust/root.json" "$PA"
}

teardown() {
  chmod -R u+w "$W" 2>/dev/null || true
  rm -rf "$W"
}

# project_on PYTHON DIR: `pylock init` of DIR on PYTHON (run: $status, $output).
project_on() {
  run --separate-stderr "$PL" init --python "$1" --registry "$FIX/reg" \
    --root "$FIX/trust/root.json" "$2"
}

# No trace of the attacker's interpreter, in project DIR or anywhere.
assert_evil_never_ran() {
  [ ! -e "$1/evil-ran" ] || { echo "in $1: $(cat "$1/evil-ran")"; return 1; }
  [ ! -e "$MARK" ] || { echo "the attacker's interpreter ran: $(cat "$MARK")"; return 1; }
}

# as_shim PROJECT ARGS...: python3 ARGS... run in PROJECT through a shim (a link
# to pylock named python3, as shim install makes).
as_shim() {
  local d="$BATS_TEST_TMPDIR/shims" p=$1
  shift
  mkdir -p "$d"
  ln -sfn "$PL" "$d/python3"
  (cd "$p" && "$d/python3" "$@")
}

@test "attack: a run of one project repointing another's interpreter link in /tmp runs nothing in it" {
  # Project B's interpreter is named by a link in /tmp (a directory of the
  # user's there: the sticky bit keeps other users out, not a sandbox).
  local link="$BATS_TEST_TMPDIR/pylink/python3"
  case "$link" in /tmp/*) ;; *) skip "bats' temporary directory $link is not in /tmp" ;; esac
  mkdir -p "$(dirname "$link")"
  ln -s "$PY" "$link"
  project_on "$link" "$PB"
  [ "$status" -eq 1 ] || {
    # Once a hole: accepted, and then...
    "$PL" -q -C "$PB" install six
    # ...code in project A's sandbox, which may write /tmp but not B,
    # points the link at its own program,
    "$PL" -C "$PA" run sh -c 'ln -sfn "$1" "$2"' _ "$EVIL" "$link"
    # which B's shim ran in B's sandbox, writing B; and B's next sync ran
    # it as the compiler of the shared cache's trees.
    as_shim "$PB" -c 'print("B ran")' || true
    echo '# changed' >>"$PB/pylock.toml"
    "$PL" -C "$PB" sync --repair || true
    assert_evil_never_ran "$PB"
    return 1
  }
  assert_contains "$stderr" "interpreter $link: it is reached through /tmp, which code in any of your pylock sandboxes can write"
  [ ! -e "$PB/pylock.toml" ]
  assert_evil_never_ran "$PB"
}

@test "attack: a state made with an interpreter link in /tmp is refused at every use, the link repointed or not" {
  # As a state made before pylock refused such an interpreter: made on the
  # real path, its record then naming the link.
  local link="$BATS_TEST_TMPDIR/pylink2/python3"
  case "$link" in /tmp/*) ;; *) skip "bats' temporary directory $link is not in /tmp" ;; esac
  mkdir -p "$(dirname "$link")"
  ln -s "$PY" "$link"
  project_on "$PY" "$PB"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  set_requested_in "$PB/pylock.toml" six
  "$PL" -q -C "$PB" lock
  "$PL" -q -C "$PB" sync
  local rec
  rec="$(state_dir "$PB")/interp"
  chmod u+w "$rec" "$(dirname "$rec")" 2>/dev/null || true
  sed -i "s|^python=.*|python=$link|" "$rec"
  # Code in project A's sandbox repoints it.
  "$PL" -C "$PA" run sh -c 'ln -sfn "$1" "$2"' _ "$EVIL" "$link"
  [ "$(readlink "$link")" = "$EVIL" ]
  run --separate-stderr as_shim "$PB" -c 'print("B ran")'
  [ "$status" -eq 1 ] || { echo "shim: status $status: $output $stderr"; return 1; }
  assert_contains "$stderr" "it is reached through /tmp"
  assert_not_contains "$output" "B ran"
  local cmd
  for cmd in "run python3 -c pass" "sync --repair" "verify" "ci -- true"; do
    # A runner takes only the interpreter the lock names: name the link.
    [ "$cmd" != "ci -- true" ] || sed -i "s|^python = \".*\"|python = \"$link\"|" "$PB/pylock.toml"
    # shellcheck disable=SC2086
    run --separate-stderr "$PL" -C "$PB" $cmd
    [ "$status" -eq 1 ] || { echo "$cmd: status $status: $stderr"; return 1; }
    assert_contains "$stderr" "it is reached through /tmp"
  done
  assert_evil_never_ran "$PB"
}

@test "attack: an interpreter in ~/.cache, which default sandboxes write, is refused by init and by a pull request's lock" {
  local dir="$HOME/.cache/r7-python-$BATS_TEST_NUMBER"
  mkdir -p "$dir"
  ln -s "$PY" "$dir/python3"
  project_on "$dir/python3" "$PB"
  [ "$status" -eq 1 ] || { echo "init accepted it"; return 1; }
  assert_contains "$stderr" "it is reached through $(readlink -f "$HOME/.cache")"
  [ ! -e "$PB/pylock.toml" ]
  # A fresh checkout whose pylock.toml names it.
  project_on "$PY" "$PB"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  sed -i "s|^python = \".*\"|python = \"$dir/python3\"|" "$PB/pylock.toml"
  local st
  st=$(state_dir "$PB")
  chmod -R u+w "$st" && rm -rf "$st"
  run --separate-stderr "$PL" -C "$PB" sync
  [ "$status" -eq 1 ] || { echo "sync: status $status: $stderr"; return 1; }
  assert_contains "$stderr" "it is reached through $(readlink -f "$HOME/.cache")"
  rm -rf "$dir"
}

@test "attack: an interpreter inside another project, which that project's sandbox writes, is refused" {
  # Project A keeps a link to the interpreter among its files: code in A's
  # sandbox can repoint it; project B must not run on it.
  ln -s "$PY" "$PA/python3"
  project_on "$PA/python3" "$PB"
  [ "$status" -eq 1 ] || { echo "init accepted it"; return 1; }
  assert_contains "$stderr" "it is reached through the project $PA"
  [ ! -e "$PB/pylock.toml" ]
}

@test "attack: an interpreter whose prefix lies in ~/.cache is refused, though its own path is safe" {
  # An interpreter in the home (no sandbox writes there) whose probe
  # answers with a prefix in ~/.cache: every run's overlay would have as
  # its lower layer what any project's sandbox can change.
  local fake="$W/fakepy/python3" pfx="$HOME/.cache/r7-prefix-$BATS_TEST_NUMBER" real
  real=$("$PY" -I -c 'import sys; print(sys.prefix)')
  mkdir -p "$(dirname "$fake")" "$pfx"
  cat >"$fake" <<EOF
#!/bin/sh
case "\$*" in
*sysconfig*)
  "$PY" "\$@" | sed "s|=$real|=$pfx|"
  exit 0 ;;
esac
exec "$PY" "\$@"
EOF
  chmod 755 "$fake"
  project_on "$fake" "$PB"
  [ "$status" -eq 1 ] || { echo "init accepted it"; return 1; }
  assert_contains "$stderr" "it is reached through $(readlink -f "$HOME/.cache")"
  [ ! -e "$PB/pylock.toml" ]
  rm -rf "$pfx"
}

@test "attack: a pip package planted where a sandbox writes is not what the pip shim runs from there" {
  # The shims, installed as the user would; and the full program as pip
  # beside a copy of their manifest (a link made before pylock-shim).
  local shims="$W/shims" legacy="$W/legacy" dl="$BATS_TEST_TMPDIR/dl"
  "$PL" shim install --dir "$shims" --python "$PY" >/dev/null 2>&1
  mkdir -p "$legacy"
  cp "$shims/.pylock-shims" "$legacy/"
  ln -s "$PL" "$legacy/pip"
  # Code in project A's sandbox plants a pip package in /tmp, where the
  # user later runs pip (no project there: the shim runs the real pip).
  "$PL" -C "$PA" run python3 - "$dl" "$MARK" <<'PY'
import os, sys
dl, mark = sys.argv[1:3]
os.makedirs(os.path.join(dl, "pip"))
open(os.path.join(dl, "pip", "__init__.py"), "w").close()
open(os.path.join(dl, "pip", "__main__.py"), "w").write(
    "print('the planted pip ran')\nopen(%r, 'a').write('planted pip ran outside\\n')\n" % mark)
PY
  [ -e "$dl/pip/__main__.py" ]
  local via
  for via in "$shims/pip" "$shims/pip3" "$legacy/pip"; do
    run --separate-stderr sh -c 'cd "$1" && "$2" --version' _ "$dl" "$via"
    [ "$status" -eq 0 ] || { echo "$via: status $status: $output $stderr"; return 1; }
    assert_not_contains "$output" "planted pip ran"
    assert_contains "$output" "pip "
    assert_contains "$output" "$("$PY" -I -c 'import sys; print(sys.prefix)')"
  done
  [ ! -e "$MARK" ] || { echo "$(cat "$MARK")"; return 1; }
  # pip's name for itself in its messages is as before.
  run --separate-stderr sh -c 'cd "$1" && "$2" help' _ "$dl" "$shims/pip"
  assert_contains "$output" "-m pip <command>"
}

@test "held: the shim's auto-sync and pylock ci leave the command no descriptor the caller did not pass" {
  # Both build the environment in the same process first (and leave a
  # detached byte-compiler holding locks): nothing of it reaches the command.
  local fds='for f in /proc/$$/fd/*; do
    t=$(readlink "$f") || continue; case $t in pipe:*) t=pipe ;; esac; echo "${f##*/} $t"; done'
  local expected
  run sh -c "$fds"
  expected=$output
  set_requested_in "$PA/pylock.toml" six
  "$PL" -q -C "$PA" lock
  run env -u PYLOCK_COMPILE "$PL" -C "$PA" ci -- sh -c "$fds"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$(grep -v '^pylock' <<<"$output")" "$expected"
  # The shim: auto-sync on, the lock changed since the build.
  sed -i 's|^\[tool\.pylock\]$|[tool.pylock]\nauto-sync = true|' "$PA/pylock.toml"
  grep -q '^auto-sync = true' "$PA/pylock.toml"
  local d="$BATS_TEST_TMPDIR/shims"
  mkdir -p "$d"
  ln -sfn "$PL" "$d/python3"
  run env -u PYLOCK_COMPILE sh -c 'cd "$1" && "$2" -c "import os, sys; os.system(sys.argv[1])" "$3"' \
    _ "$PA" "$d/python3" "$fds"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$output" "$expected"
  "$PL" -C "$PA" info >/dev/null # the environment is there, fresh
}

@test "not fixed (needs design): a process left in a run takes the terminal's foreground after the run" {
  # pylock ci is not open to it: what CMD leaves ends with CMD (ci_leftovers.bats).
  skip "design: tcsetpgrp (TIOCSPGRP) stays allowed (job control in pylock shell); see the report"
  # A run leaves a process that, once pylock returned, makes itself the
  # terminal's foreground group: it would then read what the user types.
  local out="$W/stolen"
  local code
  code=$(cat <<'PY'
import os, signal, time
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
if os.fork() == 0:
    os.setpgid(0, 0)
    time.sleep(1.5)
    fd = os.open('/dev/tty', os.O_RDWR)
    try:
        os.tcsetpgrp(fd, os.getpgrp()); print('STOLEN', flush=True)
    except OSError as e:
        print('refused', e, flush=True)
    os._exit(0)
PY
)
  # A shell stays the session's leader, as the user's does.
  python3 "$BATS_TEST_DIRNAME/on_tty.py" --timeout 4 sh -c '"$0" -C "$1" run python3 -c "$2"; sleep 3' \
    "$PL" "$PA" "$code" >"$out"
  assert_not_contains "$(cat "$out")" "STOLEN"
}

@test "attack: shim install refuses a real interpreter a sandbox could replace, which the shims run unsandboxed" {
  # The user's interpreter kept in ~/.cache (a build tool's, say): any
  # default sandbox writes there, and the shims run it outside every one.
  local dir="$HOME/.cache/r7-real-$BATS_TEST_NUMBER" shims="$W/shims" out="$W/outside"
  mkdir -p "$dir" "$out"
  printf '#!/bin/sh\nexec "%s" "$@"\n' "$PY" >"$dir/python3"
  chmod 755 "$dir/python3"
  run --separate-stderr "$PL" shim install --dir "$shims" --python "$dir/python3"
  if [ "$status" -eq 0 ]; then
    # Once a hole: code in project A's sandbox replaces it...
    "$PL" -C "$PA" run sh -c 'printf "#!/bin/sh\necho escaped >>\"%s\"\nexec \"%s\" \"\$@\"\n" "$1" "$2" >"$3"' \
      _ "$MARK" "$PY" "$dir/python3"
    # ...and the user's next python3, outside any project, runs it unsandboxed.
    (cd "$out" && "$shims/python3" -c pass) || true
    [ ! -e "$MARK" ] || { echo "ran outside the sandbox: $(cat "$MARK")"; return 1; }
    return 1
  fi
  assert_contains "$stderr" "interpreter $dir/python3: it is reached through $(readlink -f "$HOME/.cache")"
  assert_contains "$stderr" "the shims run it outside any sandbox"
  [ ! -e "$shims/.pylock-shims" ]
  [ ! -e "$shims/python3" ]
  rm -rf "$dir"
}
