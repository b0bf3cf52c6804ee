/* pylock — the doctor's checks; see doctor.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apparmor.h"
#include "cleanup.h"
#include "file.h"
#include "dyn_mount.h"
#include "harden.h"
#include "interp.h"
#include "landlock.h"
#include "sandbox.h"
#include "state.h"

#define CHILD_MSG_MAX 4096

int pl_in_child(int (*fn)(void *arg, pl_error_t *err), void *arg, pl_error_t *err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return pl_fail(err, errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return pl_fail(err, errno, "fork");
  }
  if (pid == 0) {
    close(p[0]);
    pl_error_t cerr = NULL;
    if (fn(arg, &cerr) == 0) _exit(0);
    char buf[CHILD_MSG_MAX];
    int n =
        snprintf(buf, sizeof buf, "%d\n%s\n%s", cerr ? cerr->errnum : 0,
                 cerr && cerr->msg ? cerr->msg : "failed", cerr && cerr->hint ? cerr->hint : "");
    if (n > 0) pl_write_all(p[1], buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    _exit(1);
  }
  close(p[1]);
  char buf[CHILD_MSG_MAX];
  size_t len = 0;
  ssize_t r;
  while (len < sizeof buf - 1 && (r = read(p[0], buf + len, sizeof buf - 1 - len)) != 0) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    len += (size_t)r;
  }
  close(p[0]);
  buf[len] = '\0';
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (len == 0) return pl_fail(err, 0, "check process died (status %d)", status);
  char *msg = strchr(buf, '\n');
  char *hint = msg ? strchr(msg + 1, '\n') : NULL;
  if (msg) *msg++ = '\0';
  if (hint) *hint++ = '\0';
  int errnum = (int)strtol(buf, NULL, 10);
  if (hint && *hint) return pl_fail_hint(err, errnum, hint, "%s", msg ? msg : "failed");
  return pl_fail(err, errnum, "%s", msg ? msg : "failed");
}

static int check_kernel(char **detail, pl_error_t *err) {
  struct utsname u;
  if (uname(&u) < 0) return pl_fail(err, errno, "uname");
  int major = 0, minor = 0;
  sscanf(u.release, "%d.%d", &major, &minor);
  if (major < 5 || (major == 5 && minor < 11))
    return pl_fail_hint(err, 0, "upgrade to Linux 5.11 or newer",
                        "kernel %s is too old: overlayfs inside a user namespace needs 5.11",
                        u.release);
  return asprintf(detail, "Linux %s (5.11+ needed)", u.release) < 0 ? -1 : 0;
}

static int child_userns(void *arg, pl_error_t *err) {
  return pl_sandbox_unshare(0, getuid(), getgid(), err);
}

struct overlay_probe {
  const char *dir;   /* where to make the scratch layer */
  const char *lower; /* a real lower layer (the prefix) */
};

static int child_overlay(void *arg, pl_error_t *err) {
  const struct overlay_probe *o = arg;
  char base[4096];
  snprintf(base, sizeof base, "%s/.doctor.XXXXXX", o->dir);
  if (mkdtemp(base) == NULL) return pl_fail(err, errno, "create a scratch directory in %s", o->dir);
  char layer[4200], mnt[4200];
  snprintf(layer, sizeof layer, "%s/layer", base);
  snprintf(mnt, sizeof mnt, "%s/mnt", base);
  int r = -1;
  if (mkdir(layer, 0755) < 0 || mkdir(mnt, 0755) < 0) {
    pl_fail(err, errno, "create scratch directories in %s", base);
  } else {
    /* In a child of our own: the mount dies with the namespace. */
    pid_t pid = fork();
    if (pid == 0) {
      pl_error_t e = NULL;
      if (pl_sandbox_unshare(0, getuid(), getgid(), &e) < 0) _exit(2);
      /* Same shape as `pylock run`: scratch layer over a real lower. */
      if (pl_sandbox_mount_overlay(layer, o->lower, &e) < 0) {
        fprintf(stderr, "%s\n", e && e->msg ? e->msg : "");
        _exit(e ? (e->errnum & 0x7f) : 1);
      }
      _exit(0);
    }
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    if (pid < 0)
      pl_fail(err, errno, "fork");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      r = 0;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
      pl_fail(err, 0, "user namespaces unavailable (see above)");
    else {
      cleanup_free char *fs = pl_describe_filesystem(o->dir);
      pl_fail_hint(err, WIFEXITED(status) ? WEXITSTATUS(status) : 0,
                   "put the project on a local filesystem (ext4, xfs, btrfs, tmpfs); "
                   "network and FUSE filesystems may refuse overlay layers",
                   "cannot mount overlayfs (userxattr) with a layer on %s (%s)", o->dir, fs);
    }
  }
  rmdir(mnt);
  rmdir(layer);
  rmdir(base);
  return r;
}

char *pl_describe_filesystem(const char *path) {
  char *out = NULL;
  pl_error_t err = NULL;
  if (pl_dynlib_load(PL_LIB_MOUNT, &err) == 0) {
    struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
    struct libmnt_fs *fs = tb ? mnt_table_find_mountpoint(tb, path, MNT_ITER_BACKWARD) : NULL;
    if (fs && asprintf(&out, "%s on %s, %s, %s", mnt_fs_get_fstype(fs), mnt_fs_get_target(fs),
                       mnt_fs_get_source(fs) ? mnt_fs_get_source(fs) : "no source",
                       mnt_fs_get_options(fs) ? mnt_fs_get_options(fs) : "") < 0)
      out = NULL;
    if (tb) mnt_unref_table(tb);
  }
  pl_error_free(&err);
  if (out == NULL) {
    struct statfs sf;
    if (statfs(path, &sf) < 0 || asprintf(&out, "filesystem type 0x%lx", (long)sf.f_type) < 0)
      out = strdup("filesystem unknown");
  }
  return out;
}

static int child_seccomp(void *arg, pl_error_t *err) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return pl_fail(err, errno, "no_new_privs");
  return pl_harden_seccomp(false, err);
}

static int child_netns(void *arg, pl_error_t *err) {
  if (pl_sandbox_unshare(0, getuid(), getgid(), err) < 0) return -1;
  return pl_sandbox_isolate_network(err);
}

static int check_python(const struct pl_doctor_opts *o, char **detail, pl_error_t *err) {
  cleanup_free char *python = NULL;
  if (o->python) {
    python = strdup(o->python);
  } else if (pl_interp_default(&python, err) < 0) {
    return -1;
  }
  if (python == NULL) return pl_fail(err, ENOMEM, "python");
  struct pl_interp in = {0};
  if (pl_interp_probe(python, -1, &in, err) < 0) return -1;
  int r = 0;
  if (o->prefix && strcmp(o->prefix, in.prefix) != 0)
    r = pl_fail_hint(err, 0, "re-create the environment: pylock sync",
                     "%s now has prefix %s, but the project was built on %s", python, in.prefix,
                     o->prefix);
  else if (asprintf(detail, "%s: Python %s, prefix %s", python, in.version, in.prefix) < 0)
    r = -1;
  pl_interp_free(&in);
  return r;
}

int pl_doctor_run(const struct pl_doctor_opts *o, struct pl_check **out, int *n) {
  struct pl_check *c = calloc(9, sizeof *c);
  if (c == NULL) return -1;
  int i = 0;
  c[i].name = "kernel";
  c[i].ok = check_kernel(&c[i].detail, &c[i].err) == 0;
  i++;
  c[i].name = "user namespaces";
  c[i].ok = pl_in_child(child_userns, NULL, &c[i].err) == 0;
  if (c[i].ok && asprintf(&c[i].detail, "unprivileged user and mount namespaces work") < 0)
    c[i].detail = NULL;
  bool userns_ok = c[i].ok;
  i++;

  /* Ubuntu 23.10+: user namespaces may work and yet be useless (no
   * capabilities in them) unless pylock's AppArmor profile applies. */
  c[i].name = "AppArmor";
  c[i].ok = pl_apparmor_check(NULL, &c[i].detail, &c[i].err) == 0;
  i++;

  c[i].name = "overlayfs";
  /* The state root may not exist yet: its nearest existing ancestor. */
  cleanup_free char *dir_copy = o->state_dir ? strdup(o->state_dir) : NULL;
  struct stat dst;
  while (dir_copy && stat(dir_copy, &dst) < 0 && strrchr(dir_copy, '/') > dir_copy)
    *strrchr(dir_copy, '/') = '\0';
  const char *dir = dir_copy ? dir_copy : "/tmp";
  struct overlay_probe probe = {.dir = dir, .lower = o->prefix ? o->prefix : "/usr"};
  if (!userns_ok) {
    pl_fail(&c[i].err, 0, "not tested: needs user namespaces");
  } else {
    c[i].ok = pl_in_child(child_overlay, &probe, &c[i].err) == 0;
    cleanup_free char *fs = c[i].ok ? pl_describe_filesystem(probe.dir) : NULL;
    if (c[i].ok &&
        asprintf(&c[i].detail, "read-only overlay with userxattr, layer on %s (%s), lower %s",
                 probe.dir, fs, probe.lower) < 0)
      c[i].detail = NULL;
  }
  i++;

  c[i].name = "seccomp";
  c[i].ok = pl_in_child(child_seccomp, NULL, &c[i].err) == 0;
  if (c[i].ok && asprintf(&c[i].detail, "filter mode available") < 0) c[i].detail = NULL;
  i++;

  c[i].name = "landlock";
  const char *why = NULL;
  int abi = pl_landlock_abi(&why);
  c[i].ok = true;
  c[i].warn = abi <= 0;
  if ((abi > 0 ? asprintf(&c[i].detail,
                          "ABI %d: sandboxes write only where allowed, and cannot "
                          "reach your other processes",
                          abi)
               : asprintf(&c[i].detail,
                          "%s: read-only mounts make the allow-list instead, but code in a "
                          "sandbox can reach your other processes' files through /proc; enable "
                          "Landlock for the full guarantee",
                          why)) < 0)
    c[i].detail = NULL;
  i++;

  c[i].name = "state directory";
  struct pl_state st;
  c[i].ok = pl_state_open(&st, &c[i].err) == 0;
  if (c[i].ok && asprintf(&c[i].detail, "%s: yours, writable by nobody else", st.path) < 0)
    c[i].detail = NULL;
  if (c[i].ok) pl_state_close(&st);
  i++;

  c[i].name = "network namespace";
  if (!userns_ok) {
    pl_fail(&c[i].err, 0, "not tested: needs user namespaces");
  } else {
    c[i].ok = pl_in_child(child_netns, NULL, &c[i].err) == 0;
    if (c[i].ok && asprintf(&c[i].detail, "for --no-network: own namespace, loopback up") < 0)
      c[i].detail = NULL;
  }
  i++;

  c[i].name = "base interpreter";
  c[i].ok = check_python(o, &c[i].detail, &c[i].err) == 0;
  i++;
  *out = c;
  *n = i;
  return 0;
}

void pl_doctor_free(struct pl_check *checks, int n) {
  for (int i = 0; i < n; i++) {
    free(checks[i].detail);
    pl_error_free(&checks[i].err);
  }
  free(checks);
}
