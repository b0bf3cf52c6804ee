# SPDX-License-Identifier: Apache-2.0
"""Try each call the sandbox must deny; print 'name errno-name' per line.
Run inside `pylock run`.  x86_64 syscall numbers."""
import ctypes, errno, os, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

CLONE_NEWUSER = 0x10000000
TIOCSTI, TIOCLINUX, TIOCSETD, TIOCEXCL = 0x5412, 0x541C, 0x5423, 0x540C
# A terminal of the probe's own for the terminal calls: where they are not
# denied (outside the sandbox) they change it, not the caller's.
_, pty = os.openpty()
calls = {
    "unshare(CLONE_NEWUSER)": (272, CLONE_NEWUSER),
    "mount": (165, b"none", b"/tmp", b"tmpfs", 0, 0),
    "umount2": (166, b"/tmp", 0),
    "pivot_root": (155, b"/tmp", b"/tmp"),
    "keyctl": (250, 0, 0, 0, 0, 0),
    "add_key": (248, b"user", b"k", b"v", 1, -1),
    "request_key": (249, b"user", b"k", 0, 0),
    "bpf": (321, 0, 0, 0),
    "userfaultfd": (323, 0),
    "perf_event_open": (298, 0, 0, -1, -1, 0),
    "kexec_load": (246, 0, 0, 0, 0),
    "init_module": (175, 0, 0, b""),
    "finit_module": (313, -1, b"", 0),
    "delete_module": (176, b"x", 0),
    "setns": (308, -1, 0),
    "fsopen": (430, b"tmpfs", 0),
    "fsmount": (432, -1, 0, 0),
    "move_mount": (429, -1, b"", -1, b"", 0),
    "open_tree": (428, -100, b"/", 0),
    "mount_setattr": (442, -100, b"/", 0, 0, 0),
    "ioctl(TIOCSTI)": (16, 0, TIOCSTI, ctypes.byref(ctypes.c_char(b"x"))),
    "ioctl(TIOCLINUX)": (16, 0, TIOCLINUX, 0),
    "ioctl(TIOCSETD)": (16, pty, TIOCSETD, ctypes.byref(ctypes.c_int(0))),
    "ioctl(TIOCEXCL)": (16, pty, TIOCEXCL, 0),
}
for name, args in calls.items():
    ctypes.set_errno(0)
    r = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    e = ctypes.get_errno()
    print(name, "ok" if r >= 0 else errno.errorcode.get(e, str(e)))
