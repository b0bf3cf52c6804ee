"""Run a program on a terminal of its own, as a user's shell would be.

usage: on_tty.py [--stderr FILE] [--timeout SECONDS] ARGV...

pty.fork makes the child a session leader with the new terminal as its
controlling terminal.  Everything written to the terminal is collected
until it closes or the timeout passes, then printed on stdout; the exit
status is the program's.  With --stderr, the program's standard error goes
to FILE instead (a terminal an attack breaks may show nothing).
SPDX-License-Identifier: Apache-2.0
"""
import os
import pty
import select
import sys
import time


def main(argv):
    stderr, timeout = None, 30.0
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--stderr":
            stderr = argv.pop(0)
        elif opt == "--timeout":
            timeout = float(argv.pop(0))
        else:
            sys.exit("on_tty.py: unknown option " + opt)
    pid, fd = pty.fork()
    if pid == 0:
        if stderr:
            os.dup2(os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        os.execvp(argv[0], argv)
    out, end = b"", time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.time()))
        try:
            chunk = os.read(fd, 65536) if r else b""
        except OSError:  # EIO: the terminal closed
            chunk = b""
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
