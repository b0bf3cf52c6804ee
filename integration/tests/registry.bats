#!/usr/bin/env bats
# Signed registries end to end: pylock registry / key / trust as a
# maintainer and a user would run them, and what a client must refuse.

load helpers

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/cfg" PYLOCK_SYSCONFDIR="$BATS_TEST_TMPDIR/etc"
  cd "$BATS_TEST_TMPDIR"
  # Two tiny valid wheels, and one for each way a wheel must be refused.
  "$PY" - <<'PY'
import base64, hashlib, os, zipfile
def row(path, data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={d},{len(data)}"
def wheel(name, ver, out=None, flaw=None):
    di = f"{name}-{ver}.dist-info"
    files = {f"{name}/__init__.py": b"x = 1\n",
             f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {ver}\n".encode(),
             f"{di}/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    if flaw == "dotdot":
        files["../evil.py"] = b"x\n"
    rows = [row(p, d) for p, d in files.items()] + [f"{di}/RECORD,,"]
    if flaw == "record":
        files[f"{name}/__init__.py"] = b"x = 2\n"
    with zipfile.ZipFile(out or f"{name}-{ver}-py3-none-any.whl", "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
        z.writestr(f"{di}/RECORD", "\n".join(rows) + "\n")
        if flaw == "symlink":
            zi = zipfile.ZipInfo(f"{name}/link")
            zi.create_system, zi.external_attr = 3, 0o120777 << 16
            z.writestr(zi, "/etc/passwd")
wheel("demo", "1.0")
wheel("other", "2.0")
for flaw in ("dotdot", "symlink", "record"):
    os.mkdir(f"bad-{flaw}")
    wheel("bad", "1.0", f"bad-{flaw}/bad-1.0-py3-none-any.whl", flaw)
PY
  "$PL" key generate > key.out
  "$PL" -q registry init reg
  "$PL" -q registry add reg demo-1.0-py3-none-any.whl other-2.0-py3-none-any.whl
}

@test "registry init and add produce a registry the client verifies, targets included" {
  run "$PL" registry verify reg --root reg/1.root.json --targets
  [ "$status" -eq 0 ]
  assert_contains "$output" "targets: version 2,"
  assert_contains "$output" "target-count: 4"
  assert_contains "$output" "verified: 4 targets"
  assert_contains "$output" "verified-wheels: 2"
  assert_eq "$(cat reg/targets/demo-1.0-py3-none-any.whl.metadata)" \
    "$(printf 'Metadata-Version: 2.1\nName: demo\nVersion: 1.0')"
  [ "$(stat -c %a "$XDG_CONFIG_HOME/pylock/keys/default.key")" = 600 ]
}

@test "registry add refuses an unsafe wheel, naming wheel, entry and check, and changes nothing" {
  find reg -type f | sort | xargs sha256sum > before
  for flaw in dotdot symlink record; do
    run "$PL" registry add reg demo-1.0-py3-none-any.whl "bad-$flaw/bad-1.0-py3-none-any.whl"
    [ "$status" -eq 1 ]
    assert_contains "$output" "registry add: wheel bad-1.0-py3-none-any.whl: "
    case $flaw in
    dotdot) assert_contains "$output" '"../evil.py" has an empty, "." or ".." component' ;;
    symlink) assert_contains "$output" 'entry "bad/link": symbolic links are not allowed' ;;
    record) assert_contains "$output" 'entry "bad/__init__.py": hash mismatch' ;;
    esac
  done
  cp demo-1.0-py3-none-any.whl demo.whl
  run "$PL" registry add reg demo.whl
  [ "$status" -eq 1 ]
  assert_contains "$output" 'wheel filename "demo.whl"'
  find reg -type f | sort | xargs sha256sum > after
  assert_eq "$(cat after)" "$(cat before)"
}

@test "verify --targets reports every bad target and exits 1" {
  printf 'X' | dd of=reg/targets/demo-1.0-py3-none-any.whl bs=1 seek=10 conv=notrunc 2>/dev/null
  echo junk >> reg/targets/other-2.0-py3-none-any.whl.metadata
  run "$PL" registry verify reg --root reg/1.root.json --targets
  [ "$status" -eq 1 ]
  assert_contains "$output" "demo-1.0-py3-none-any.whl: sha256 mismatch"
  assert_contains "$output" "other-2.0-py3-none-any.whl.metadata: length mismatch"
  assert_contains "$output" "failed: 2 of 4 targets (1 verified)"
  assert_not_contains "$output" "verified-wheels"
}

@test "key show prints the same keyid for the private key and its .pub" {
  a=$("$PL" key show "$XDG_CONFIG_HOME/pylock/keys/default.key")
  b=$("$PL" key show "$XDG_CONFIG_HOME/pylock/keys/default.key.pub")
  assert_eq "$a" "$b"
  assert_contains "$(cat key.out)" "$(echo "$a" | head -1)"
  run "$PL" key generate -o "$XDG_CONFIG_HOME/pylock/keys/default.key"
  [ "$status" -eq 1 ]
}

@test "a wheel changed after signing is refused: hash, then length" {
  printf 'X' | dd of=reg/targets/demo-1.0-py3-none-any.whl bs=1 seek=10 conv=notrunc 2>/dev/null
  run "$PL" registry verify reg --root reg/1.root.json --targets
  [ "$status" -eq 1 ]
  assert_contains "$output" "demo-1.0-py3-none-any.whl: sha256 mismatch: expected"
  echo >> reg/targets/demo-1.0-py3-none-any.whl
  run "$PL" registry verify reg --root reg/1.root.json --targets
  [ "$status" -eq 1 ]
  assert_contains "$output" "length mismatch"
}

@test "metadata edited without re-signing is refused" {
  sed -i 's/"length": [0-9]*/"length": 1/' reg/targets.json
  run "$PL" registry verify reg --root reg/1.root.json
  [ "$status" -eq 1 ]
  assert_contains "$output" "targets.json"
}

@test "rolled-back metadata is refused once a newer version was seen" {
  cp -r reg old
  "$PL" -q registry sign reg
  run "$PL" registry verify reg --root reg/1.root.json --state state
  [ "$status" -eq 0 ]
  cp old/timestamp.json old/snapshot.json old/targets.json reg/
  run "$PL" registry verify reg --root reg/1.root.json --state state
  [ "$status" -eq 1 ]
  assert_contains "$output" "timestamp.json: version rollback: trusted version 3, got 2"
}

@test "root rotation: a client anchored at root 1 follows to root 2 and the new key" {
  "$PL" key generate -o new.key > /dev/null
  old=$("$PL" key show "$XDG_CONFIG_HOME/pylock/keys/default.key" | sed -n 's/^keyid: //p')
  "$PL" -q registry sign reg --add-root-key new.key --remove-root-key "$old"
  run "$PL" registry verify reg --root reg/1.root.json
  [ "$status" -eq 0 ]
  assert_contains "$output" "root: version 2,"
  # The old key alone can no longer sign a root, and nothing is written.
  run "$PL" registry sign reg --renew-root
  [ "$status" -eq 1 ]
  [ ! -e reg/3.root.json ]
}

@test "trust add keeps only self-signed roots; list and remove" {
  run "$PL" trust add reg/1.root.json --name corp
  [ "$status" -eq 0 ]
  run "$PL" trust add reg/timestamp.json --name bad
  [ "$status" -eq 1 ]
  assert_contains "$output" "wrong _type"
  mkdir -p "$PYLOCK_SYSCONFDIR/trust.d"
  cp reg/1.root.json "$PYLOCK_SYSCONFDIR/trust.d/site.json"
  run "$PL" trust list
  assert_contains "$output" "$(printf 'corp\tuser\tversion 1')"
  assert_contains "$output" "$(printf 'site\tsystem\tversion 1')"
  run "$PL" registry verify reg --trusted corp
  [ "$status" -eq 0 ]
  run "$PL" trust remove site
  [ "$status" -eq 1 ]
  "$PL" -q trust remove corp
  run "$PL" trust list
  assert_not_contains "$output" "corp"
}

@test "registry over http verifies; a stalled server fails in seconds, not minutes" {
  port=$(( 20000 + RANDOM % 20000 ))
  "$PY" -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1 &
  srv=$!
  for _ in $(seq 50); do "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break; sleep 0.1; done
  run "$PL" registry verify "http://127.0.0.1:$port/reg/" --root reg/1.root.json --targets
  kill "$srv"
  [ "$status" -eq 0 ]
  assert_contains "$output" "verified: 4 targets"

  "$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
while True:
    c, _ = s.accept(); c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nabc")
    time.sleep(120)' "$((port + 1))" &
  stall=$!
  sleep 0.3
  start=$(date +%s)
  run "$PL" registry verify "http://127.0.0.1:$((port + 1))/reg" --root reg/1.root.json
  kill "$stall"
  [ "$status" -eq 1 ]
  [ $(( $(date +%s) - start )) -lt 30 ]
  assert_contains "$output" "too slow"
}
