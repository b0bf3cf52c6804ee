# Serving a registry over loopback as the unprivileged test user:
# a throw-away CA, nginx on http and https, and misbehaving servers.
# Everything lives under the directory given; nothing outside scratch is
# written.  Source this from a .bats file (after `load helpers`).
# SPDX-License-Identifier: Apache-2.0

_nginx_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# A free TCP port on 127.0.0.1 (the kernel's choice; a race with another
# binder is retried by nginx_start).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# tls_make_ca DIR: DIR/ca.pem (+ca.key), and DIR/server.pem (+server.key)
# for 127.0.0.1 and localhost, signed by that CA.  Also DIR/other-ca.pem, a
# CA that signed nothing here (for "TLS is verified" tests).
tls_make_ca() {
  local d=$1
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -new -newkey ed25519 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/CN=pylock test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" &&
    openssl req -x509 -new -newkey ed25519 -nodes -keyout other-ca.key -out other-ca.pem -days 2 \
      -subj "/CN=pylock unrelated CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
      -out server.csr -subj "/CN=localhost" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.pem
  ) >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; return 1; }
}

# nginx_start DIR ROOT: serve ROOT on http and https (cert from tls_make_ca
# DIR/tls).  Sets NGINX_HTTP (http://127.0.0.1:PORT), NGINX_HTTPS
# (https://127.0.0.1:PORT), NGINX_CA (the CA to trust) and NGINX_DIR.
nginx_start() {
  local d=$1 root=$2 try http https
  mkdir -p "$d/tmp" "$d/tls"
  [ -f "$d/tls/server.pem" ] || tls_make_ca "$d/tls" || return 1
  for try in 1 2 3 4 5; do
    http=$(free_port) https=$(free_port)
    cat >"$d/nginx.conf" <<EOF
daemon on;
pid $d/nginx.pid;
worker_processes 1;
error_log $d/error.log warn;
events { worker_connections 64; }
http {
  access_log $d/access.log;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  types { application/json json; application/octet-stream whl; }
  default_type application/octet-stream;
  sendfile on;
  server {
    listen 127.0.0.1:$http;
    root $root;
  }
  server {
    listen 127.0.0.1:$https ssl;
    ssl_certificate $d/tls/server.pem;
    ssl_certificate_key $d/tls/server.key;
    root $root;
  }
}
EOF
    # The master binds before it daemonizes: once this returns 0 the
    # ports answer.  Without bats' descriptors (3, 4): should a test file
    # die before its teardown_file, the daemon must not hold bats' output
    # open, or the run never ends (integration/run then stops it).
    if /usr/sbin/nginx -p "$d" -c "$d/nginx.conf" -e stderr 2>"$d/start.log" 3>&- 4>&-; then
      NGINX_DIR=$d NGINX_HTTP="http://127.0.0.1:$http" NGINX_HTTPS="https://127.0.0.1:$https"
      NGINX_CA="$d/tls/ca.pem"
      export NGINX_DIR NGINX_HTTP NGINX_HTTPS NGINX_CA
      return 0
    fi
    grep -q "Address already in use" "$d/start.log" || break
  done
  cat "$d/start.log" >&2
  return 1
}

nginx_stop() {
  local d=${1:-$NGINX_DIR} pid
  [ -n "$d" ] && [ -f "$d/nginx.pid" ] || return 0
  pid=$(cat "$d/nginx.pid")
  kill "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
}

# badserver_start MODE ROOT MATCH [ARGS...]: an HTTP server on loopback
# serving ROOT, misbehaving on any path containing MATCH: "stall" sends the
# headers and never the body; "cut" sends half the body and closes;
# "trickle" sends the body at 200 bytes/s (ARGS: --rate N).  It exits by
# itself after 120 s.  Sets BAD_URL and BAD_PID.
badserver_start() {
  local pf="$BATS_TEST_TMPDIR/badserver.port"
  rm -f "$pf"
  python3 "$_nginx_lib_dir/badserver.py" --mode "$1" --root "$2" --match "$3" "${@:4}" \
    --port-file "$pf" --lifetime 120 >"$BATS_TEST_TMPDIR/badserver.log" 2>&1 3>&- &
  BAD_PID=$!
  for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
  [ -s "$pf" ] || { cat "$BATS_TEST_TMPDIR/badserver.log" >&2; return 1; }
  BAD_URL="http://127.0.0.1:$(cat "$pf")"
}

badserver_stop() {
  [ -n "${BAD_PID:-}" ] || return 0
  kill "$BAD_PID" 2>/dev/null
  wait "$BAD_PID" 2>/dev/null
  BAD_PID=
}
