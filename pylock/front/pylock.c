/* pylock — the command's static front end: `pylock run` joined, else the full pylock. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "launch.h"
#include "shim.h"
#include "../runexit.h"

/* Why this program exists: `pylock run CMD` should cost about what CMD
 * costs.  The full pylock is a large dynamically linked glibc program, and
 * on a machine where cpuid traps to a hypervisor glibc's start-up alone is
 * ~0.8 ms.  This program is linked statically (musl when the machine has
 * it) and does one thing itself: `pylock run [--strict] [--no-network]
 * CMD...` when a keep-alive holder of the project's current generation is
 * there to join.  It does so with the very code the full pylock uses
 * (lib/launch.c: the same project search, state, policy, configuration and
 * checks; lib/keepalive.c: the same kernel checks of the holder before
 * setns), so the sandbox is the same one.
 *
 * Everything else goes to the full pylock, argv unchanged, before anything
 * was changed in this process: other commands, other options, global
 * options, a lock changed since the sync (the full one says so), no holder
 * to join, and any error or doubt (the full one reports it, with its
 * hints).  The full pylock is PREFIX/lib/pylock/pylock beside PREFIX/bin,
 * found through /proc/self/exe: never PATH or the environment.  Only a
 * failure after the namespaces were joined is reported here: this process
 * is in the sandbox by then, and the full pylock would refuse to run
 * nested. */

#define LINE_MAX_BYTES (3 * PATH_MAX)

/* One escaped line on stderr: "pylock: PIECES...". */
static void say(const char *const *pieces) {
  char buf[LINE_MAX_BYTES];
  size_t len = 0;
  for (size_t i = 0; pieces[i]; i++) {
    pl_escape(PL_ESCAPE_TEXT, pieces[i], strlen(pieces[i]), buf + len, sizeof buf - 1 - len);
    len += strlen(buf + len);
  }
  buf[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, buf, len);
  (void)w; /* nothing else to tell it to */
}
#define SAY(...) say((const char *const[]){"pylock: ", __VA_ARGS__, NULL})

/* Setuid or setgid: refuse, as the full pylock does (pylock/main.c). */
static bool setid(void) {
  struct stat st;
  if (getauxval(AT_SECURE) != 0 || getuid() != geteuid() || getgid() != getegid()) return true;
  return stat("/proc/self/exe", &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID));
}

/* Is path this very program (a copy made in its place, a hard link)? */
static bool is_self(const char *path) {
  struct stat st, self;
  return stat(path, &st) == 0 && stat("/proc/self/exe", &self) == 0 && st.st_dev == self.st_dev &&
         st.st_ino == self.st_ino;
}

/* Exec the full pylock with argv unchanged; returns only on failure. */
static int exec_full(char **argv) {
  char path[PATH_MAX];
  if (pl_program_path(PL_PROGRAM_FULL, path, sizeof path) < 0) {
    SAY("cannot find the full pylock (/proc/self/exe: ", strerror(errno), "); is /proc mounted?");
    return 1;
  }
  if (is_self(path)) {
    SAY(path, " is this front end, not the full pylock; reinstall pylock");
    return 1;
  }
  char culprit[PATH_MAX];
  if (pl_program_safe(path, culprit, sizeof culprit) < 0 && errno == EPERM) {
    SAY("not running ", path, ": ", culprit,
        " is writable by other users (owned by another, or by anyone)");
    SAY("hint: install pylock where only you or root can write");
    return 126;
  }
  execv(path, argv);
  int err = errno;
  SAY("cannot run ", path, ": ", strerror(err),
      err == ENOENT ? " (pylock needs its full program there, beside bin/; reinstall pylock)" : "");
  return err == ENOENT ? 127 : 126;
}

/* PYLOCK_KEEPALIVE=0 (as lib/keepalive.c reads it): no holder is ever
 * joined, the full program makes every sandbox; hand over at once. */
static bool keepalive_off(void) {
  const char *s = getenv("PYLOCK_KEEPALIVE");
  if (s == NULL || *s == '\0') return false;
  char *end;
  long v = strtol(s, &end, 10);
  return *end == '\0' && v == 0;
}

/* The command line this program takes itself: `[GLOBAL...] run [RUN...]
 * [--] CMD [ARGS...]`, GLOBAL being -C DIR, --project DIR (or =DIR) and
 * -q, --quiet (nothing is said on a joined run anyway), RUN -s, --strict,
 * -n, --no-network.  *cmd is CMD's index.  false for anything else (another
 * option, --help, -v, no CMD): the full pylock parses those. */
static bool simple_run(int argc, char **argv, int *cmd, struct pl_launch_opts *o) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
      continue;
    else if ((strcmp(a, "-C") == 0 || strcmp(a, "--project") == 0) && i + 1 < argc)
      o->project = argv[++i];
    else if (strncmp(a, "--project=", 10) == 0)
      o->project = a + 10;
    else if (strncmp(a, "-C", 2) == 0 && a[2] != '\0')
      o->project = a + 2;
    else
      return false;
  }
  if (i >= argc || strcmp(argv[i], "run") != 0) return false;
  for (i++; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-s") == 0 || strcmp(a, "--strict") == 0)
      o->strict = true;
    else if (strcmp(a, "-n") == 0 || strcmp(a, "--no-network") == 0)
      o->no_network = true;
    else if (strcmp(a, "--") == 0)
      return *cmd = i + 1, i + 1 < argc;
    else
      return *cmd = i, a[0] != '-';
  }
  return false;
}

int main(int argc, char **argv) {
  if (argc < 1 || argv[0] == NULL) return 2;
  if (setid()) {
    SAY("refusing to run: this binary is setuid or setgid");
    SAY("hint: pylock needs no privilege; remove the bit: chmod ug-s \"$(command -v pylock)\"");
    return 1;
  }
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  bool is_pip;
  if (!pl_shim_name(base, &is_pip) && strcmp(base, "pylock-keep") != 0) {
    struct pl_launch_opts o = {.fresh_only = true};
    int i;
    if (!keepalive_off() && simple_run(argc, argv, &i, &o)) {
      pl_error_t err = NULL;
      struct pl_launch l;
      if (pl_launch_open(&l, &o, &err) == 0 && l.fresh) {
        int e = pl_launch_exec_joined(&l, argv[i], &argv[i], &err);
        if (e != 0) {
          pl_launch_close(&l);
          if (e > 0) return pl_run_exec_failed(argv[i], e);
          char *s = pl_error_string(err);
          SAY("run: ", s ? s : "out of memory");
          if (err && err->hint) SAY("hint: ", err->hint);
          free(s);
          pl_error_free(&err);
          return 1;
        }
      }
      pl_launch_close(&l);
      pl_error_free(&err);
    }
  }
  /* Called as python3, pip...: a link made before pylock-shim existed, straight
   * to pylock.  pylock-shim is what such a link stands for now. */
  char shim[PATH_MAX];
  if (pl_shim_name(base, &is_pip) && pl_program_path(PL_PROGRAM_SHIM, shim, sizeof shim) == 0 &&
      access(shim, X_OK) == 0 && !is_self(shim)) {
    /* Checked as the full program is (exec_full): beside a front end in a
     * directory others can add to, it could be anyone's. */
    char culprit[PATH_MAX];
    if (pl_program_safe(shim, culprit, sizeof culprit) < 0 && errno == EPERM) {
      SAY("not running ", shim, ": ", culprit,
          " is writable by other users (owned by another, or by anyone)");
      SAY("hint: install pylock where only you or root can write");
      return 126;
    }
    execv(shim, argv);
  }
  return exec_full(argv);
}
