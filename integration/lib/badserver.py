#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A registry server that misbehaves, on loopback only, for a bounded time.

Serves files under --root like a static web server, except that a request
whose path contains --match gets:
  stall  the status line and headers (with the real Content-Length), then
         nothing: the connection stays open and silent;
  cut    the headers and half of the body, then the connection is closed;
  trickle  the headers, then the body at --rate bytes/s (200 by default:
         above the 100 bytes/s under which a client calls it stalled),
         in a write every quarter of a second.
With --end, only a path that ends with --match misbehaves (a wheel, not
its .metadata).  Writes the port it listens on to --port-file, and exits after --lifetime
seconds whatever happens."""
import argparse
import http.server
import os
import socketserver
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("stall", "cut", "trickle"), required=True)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--root", required=True)
    ap.add_argument("--match", required=True)
    ap.add_argument("--end", action="store_true")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()
    root = os.path.realpath(a.root)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("badserver: " + (fmt % args) + "\n")

        def do_GET(self):
            rel = self.path.split("?", 1)[0].lstrip("/")
            path = os.path.realpath(os.path.join(root, rel))
            if not path.startswith(root + "/") or not os.path.isfile(path):
                self.send_error(404)
                return
            with open(path, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if (not rel.endswith(a.match)) if a.end else (a.match not in rel):
                self.wfile.write(body)
                return
            self.wfile.flush()
            if a.mode == "stall":
                # Silent until the client gives up or we reach our lifetime.
                while True:
                    time.sleep(1)
            if a.mode == "trickle":
                step = max(1, a.rate // 4)
                for i in range(0, len(body), step):
                    self.wfile.write(body[i : i + step])
                    self.wfile.flush()
                    time.sleep(0.25)
                return
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    srv = Server(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    threading.Timer(a.lifetime, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
