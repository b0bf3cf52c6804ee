/* pylock as python3/pip (the shim), and `pylock shim install|uninstall`. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "env.h"
#include "file.h"
#include "harden.h"
#include "interp.h"
#include "launch.h"
#include "paths.h"
#include "project.h"
#include "shim.h"
#include "toml.h"

/* ---- the shim at run time: keep it lean, it stands in for python ---- */

/* "pylock (NAME shim): MSG" on stderr, MSG escaped (lib/escape.h): it
 * names paths, and a project's path is whatever a checkout or another user
 * chose, escape sequences included. */
static void say(const char *name, const char *msg) {
  fprintf(stderr, "pylock (%s shim): ", name);
  pl_cli_put(stderr, msg);
  fputc('\n', stderr);
}

static int die(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int die(const char *name, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  say(name, n < 0 ? "out of memory" : msg);
  free(msg);
  return 1;
}

/* A manifest someone else could have written (shim.h): say whose it is and
 * the fix, and run nothing: falling back to PATH would let whoever made the
 * manifest unusable choose the fallback instead. */
static int refuse_manifest(const char *name, const struct pl_shim_refusal *why) {
  char owner[128];
  if (why->errnum != 0) {
    die(name, "cannot check the shim manifest %s: %s; not running anything", why->path,
        strerror(why->errnum));
  } else {
    pl_owner_name(why->st.st_uid, owner, sizeof owner);
    die(name,
        "refusing the shim manifest %s%s: %s owned by %s with mode %04o, so someone else "
        "could choose what %s runs; not running anything",
        why->is_dir ? "in " : "", why->path,
        why->is_dir                 ? "the directory is"
        : why->is_link              ? "it is a symbolic link"
        : !S_ISREG(why->st.st_mode) ? "it is not a regular file,"
                                    : "it is",
        owner, (unsigned)(why->st.st_mode & 07777), name);
  }
  fputs("pylock: hint: ", stderr);
  if (why->errnum == 0 && !why->is_dir && S_ISREG(why->st.st_mode)) {
    fputs("if you wrote it, make it yours and writable by you alone (chown, chmod go-w ", stderr);
    pl_cli_put(stderr, why->path);
    fputs("); else ", stderr);
  }
  fputs("run 'pylock shim install --dir DIR' for a directory only you (or root) can write\n",
        stderr);
  return 1;
}

/* Outside a project: the real program, as if the shim were not there. */
static int exec_real(const char *name, char **argv) {
  struct pl_shim_entry e;
  struct pl_shim_refusal why;
  char dir[PATH_MAX];
  int found = pl_shim_locate(argv[0], name, dir, sizeof dir, &e, &why);
  if (found < 0) return refuse_manifest(name, &why);
  if (found > 0) {
    /* No manifest claims us (a hand-made link): the next one on PATH. */
    if (pl_shim_find_real(name, NULL, e.real, sizeof e.real) < 0)
      return die(name, "no real %s on PATH besides pylock's shim", name);
    e.module_pip = false;
  }
  if (pl_shim_is_pylock(e.real))
    return die(name, "the shim's manifest names pylock itself (%s); reinstall the shims", e.real);
  pl_shim_exec_real(&e, argv);
  int e_exec = errno;
  die(name, "%s: %s", e.real, strerror(e_exec));
  return e_exec == ENOENT ? 127 : 126;
}

/* [tool.pylock] auto-sync = true in pylock.toml? Read only when needed. */
static bool wants_auto_sync(int root_fd) {
  cleanup_free char *text = NULL;
  size_t len = 0;
  struct pl_toml *doc = NULL;
  bool on = false;
  if (pl_read_file_at(root_fd, PL_LOCK_FILE, 16u << 20, &text, &len, NULL) == 0 &&
      pl_toml_parse(text, len, &doc, NULL) == 0) {
    struct pl_toml *v = pl_toml_get(doc, "tool.pylock.auto-sync");
    if (v) pl_toml_as_bool(v, &on);
  }
  pl_toml_free(doc);
  return on;
}

/* Does our user namespace map our uid alone, to itself ("U U 1"), as the
 * sandbox pylock makes does?  Neither the initial namespace nor the range
 * a container maps. */
static bool uid_mapped_alone(void) {
  cleanup_free char *map = NULL;
  if (pl_read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL, NULL) < 0) return false;
  unsigned long v[3];
  char *p = map;
  for (int i = 0; i < 3; i++) {
    char *end;
    errno = 0;
    v[i] = strtoul(p, &end, 10);
    if (end == p || errno) return false;
    p = end;
  }
  p += strspn(p, " \n");
  return *p == '\0' && v[0] == getuid() && v[1] == getuid() && v[2] == 1;
}

/* Are we in a sandbox like pylock's: a seccomp filter, and a user
 * namespace mapping our uid alone? */
static bool sandboxed(void) {
  cleanup_free char *status = NULL;
  return pl_read_file_at(AT_FDCWD, "/proc/self/status", 1u << 16, &status, NULL, NULL) == 0 &&
         strstr(status, "\nSeccomp:\t2\n") != NULL && uid_mapped_alone();
}

/* The interpreter of the environment we run in, when this process is
 * inside the sandbox pylock made for `project` (PYLOCK_PROJECT, a hint):
 * a seccomp filter, a user namespace mapping our uid alone, and a mount
 * namespace holding that project's generation read-only over the prefix
 * and pylock's state and configuration read-only (pl_sandbox_check_mounts,
 * the check a run makes before it joins a keep-alive holder).
 *
 * The state root is opened without pl_state_open's check of its parents:
 * inside the sandbox root's directories show as the overflow uid (65534),
 * indistinguishable from another user's, so that check always fails there.
 * It is not needed: the mount check proves the state root is the read-only
 * mount pylock made after checking those parents from outside, where owners
 * are visible, and code in the sandbox can change none of it.  Nor can
 * anything here widen what the caller may do: this process is inside the
 * sandbox and what it execs stays there (seccomp forbids new namespaces);
 * it can reach only the environment it is already in, never another
 * project's.  Returns false (nothing filled) when any of it does not hold:
 * the shim then goes on as outside, where every check applies. */
static bool sandbox_interp(const char *project, struct pl_interp *in) {
  cleanup_free char *info = NULL, *where = NULL, *state_path = NULL, *gen = NULL, *layer = NULL,
                    *interp_text = NULL, *config_dir = NULL, *user_site = NULL;
  pl_error_t err = NULL;
  struct pl_state st = {.path = NULL, .fd = -1};
  struct pl_sandbox sb = {.project = project};
  cleanup_close int state_fd = -1, root_fd = -1;
  bool ok = false;
  if (project[0] != '/' || !sandboxed() || pl_state_location(&where, &err) < 0 ||
      (st.path = realpath(where, NULL)) == NULL ||
      (st.fd = open(st.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
      pl_state_check_owned(st.fd, st.path, &err) < 0 ||
      (state_fd = pl_project_state_open(&st, project, false, &state_path, &err)) < 0 ||
      (root_fd = open(project, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
      pl_read_file_at(state_fd, PL_INTERP_FILE, 1u << 20, &interp_text, NULL, &err) < 0 ||
      pl_interp_parse(interp_text, in, &err) < 0)
    goto out;
  if (pl_project_current(state_path, state_fd, root_fd, &gen, &layer, &err) < 0 ||
      pl_path_user_config("", &config_dir, &err) < 0 ||
      pl_path_user_site(in->short_version, &user_site, &err) < 0 ||
      pl_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1u << 20, &info, NULL, NULL) < 0)
    goto out;
  sb.state_root = st.path;
  sb.prefix = in->prefix;
  sb.layer = layer;
  sb.config_dir = config_dir;
  sb.user_site = user_site;
  ok = pl_sandbox_check_mounts(info, &sb, true, &err) == 0;
out:
  if (!ok) pl_interp_free(in);
  pl_error_free(&err);
  pl_state_close(&st);
  return ok;
}

/* Arguments for the project's interpreter: python, or `python -m pip`
 * refusing to change the read-only environment; NULL when refused (said)
 * or out of memory. */
static char **interp_argv(const char *python, bool is_pip, int argc, char **argv) {
  char **nargv = calloc((size_t)argc + 3, sizeof *nargv);
  if (nargv == NULL) return NULL;
  int k = 0;
  nargv[k++] = (char *)python;
  if (is_pip) {
    if (argc > 1 && (strcmp(argv[1], "install") == 0 || strcmp(argv[1], "uninstall") == 0)) {
      fprintf(stderr,
              "pylock: this project's environment is read-only: pip %s changes nothing here\n"
              "pylock: hint: use: pylock %s %s\n",
              argv[1], strcmp(argv[1], "install") == 0 ? "install" : "remove",
              argc > 2 ? argv[2] : "NAME");
      free(nargv);
      return NULL;
    }
    nargv[k++] = "-m";
    nargv[k++] = "pip";
  }
  for (int i = 1; i < argc; i++)
    nargv[k++] = argv[i];
  nargv[k] = NULL;
  return nargv;
}

/* Inside a pylock sandbox already (a shim run by code running there, or
 * from `pylock shell`): the environment's interpreter, directly, wherever
 * the working directory is, as python3 on that sandbox's PATH would be.
 * Returns only when this is not such a sandbox (-1), or with the exit
 * status of a failure. */
static int exec_in_sandbox(const char *name, bool is_pip, int argc, char **argv) {
  const char *project = getenv("PYLOCK_PROJECT");
  struct pl_interp in = {0};
  if (project == NULL || !sandbox_interp(project, &in)) return -1;
  char **nargv = interp_argv(in.python, is_pip, argc, argv);
  if (nargv == NULL) {
    pl_interp_free(&in);
    return 1;
  }
  execv(in.python, nargv);
  int e = errno;
  die(name, "%s: %s", in.python, strerror(e));
  free(nargv);
  pl_interp_free(&in);
  return e == ENOENT ? 127 : 126;
}

int pl_shim_main(const char *name, bool is_pip, int argc, char **argv) {
  const char *off = getenv("PYLOCK_SHIM");
  if (off && strcmp(off, "off") == 0) return exec_real(name, argv);
  int in_sandbox = exec_in_sandbox(name, is_pip, argc, argv);
  if (in_sandbox >= 0) return in_sandbox;
  pl_error_t err = NULL;
  cleanup_free char *root = NULL;
  if (pl_project_find(NULL, &root, &err) < 0) {
    cleanup_free char *msg = pl_error_string(err);
    /* A project someone else could have planted: not ours to run. */
    if (err->errnum == PL_REFUSED)
      die(name, "%s; running the real %s", msg ? msg : "refused", name);
    /* The search failed (a working directory deeper than PATH_MAX, deleted,
     * renamed mid-search): a pylock.toml above may have gone unseen, and
     * the real program run here would run that project's code (../x.py
     * still resolves from a deleted directory) outside its sandbox. */
    if (err->errnum != 0 && err->errnum != PL_REFUSED) {
      die(name,
          "%s: cannot tell whether this is inside a pylock project; not running the real %s "
          "(PYLOCK_SHIM=off runs it anyway)",
          msg ? msg : "the project search failed", name);
      pl_error_free(&err);
      return 1;
    }
    pl_error_free(&err);
    return exec_real(name, argv);
  }
  /* In a sandbox that is not the one of PYLOCK_PROJECT (or whose state
   * does not check out): no environment can be entered from here, and
   * pylock's state, seen from inside, would be refused for owners it
   * cannot see.  Say so rather than that. */
  const char *inside = getenv("PYLOCK_PROJECT");
  if (inside && sandboxed())
    return die(name,
               "inside a sandbox (PYLOCK_PROJECT=%s) that is not that project's own: a shim "
               "cannot run %s's environment from here; run it outside 'pylock run'",
               inside, root);
  struct pl_launch l;
  struct pl_launch_opts lo = {.project = root};
  int opened = pl_launch_open(&l, &lo, &err);
  bool missing = opened < 0 && err->errnum == ENOENT;
  if ((opened < 0 && missing) || (opened == 0 && !l.fresh)) {
    cleanup_close int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0 || !wants_auto_sync(root_fd)) {
      if (opened < 0) {
        pl_launch_close(&l);
        pl_error_free(&err);
        return die(name, "%s has no environment yet; run: pylock sync", root);
      }
      pl_launch_close(&l);
      return die(name, "%s/%s changed since its environment was built; run: pylock sync", root,
                 PL_LOCK_FILE);
    }
    pl_error_free(&err);
    pl_launch_close(&l);
    struct pl_sync_result res;
    pl_cli.verbosity = -1;
    pl_cli.project = root;
    /* Asked for by pylock.toml, which code in a sandbox can write: it may
     * bring packages, never loosen the sandbox it then runs in. */
    struct pl_sync_opts so = {.keep_policy = true};
    pl_files_limit_raise(); /* as pylock sync; the run gets it back (pl_harden) */
    if (pl_sync_project(&so, &res, NULL, &err) < 0) return pl_cli_report("auto-sync", &err);
    opened = pl_launch_open(&l, &lo, &err);
  }
  if (opened < 0) {
    pl_launch_close(&l);
    return pl_cli_report(name, &err);
  }

  /* Arguments: the project's interpreter by absolute path, so that
   * sys.executable is the real one and never this shim again. */
  char **nargv = interp_argv(l.in.python, is_pip, argc, argv);
  if (nargv == NULL) {
    pl_launch_close(&l);
    return 1;
  }
  int e = pl_launch_exec(&l, l.in.python, nargv, &err);
  free(nargv);
  int rc = e < 0 ? pl_cli_report(name, &err) : die(name, "%s: %s", l.in.python, strerror(e));
  pl_launch_close(&l);
  return rc;
}

/* ---- pylock shim install|uninstall ---- */

static void usage(FILE *out) {
  fprintf(out, "usage: pylock shim install [--user|--system|--dir DIR] [--python PATH]\n"
               "       pylock shim uninstall [--user|--system|--dir DIR]\n\n"
               "Make python3, python, python3.X, pip and pip3 project-aware: shims (symlinks to\n"
               "pylock-shim, the small front end installed with pylock, or else to pylock)\n"
               "that, inside a project (nearest pylock.toml upward), run its environment as\n"
               "'pylock run' would, and elsewhere exec the real program with no other effect.\n"
               "PYLOCK_SHIM=off bypasses them. uninstall removes exactly what install made.\n\n"
               "Options:\n"
               "  --user         in ~/.local/bin (default)\n"
               "  --system       in /usr/local/bin, for every user\n"
               "  --dir DIR      in DIR\n"
               "  --python PATH  the real interpreter outside projects (default: python3.12 on\n"
               "                 PATH, else python3, not counting the shim directory)\n"
               "  -h, --help     print this help and exit\n");
}

static int self_path(char *out, size_t cap, pl_error_t *err) {
  ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n <= 0) return pl_fail(err, errno, "find the pylock binary");
  out[n] = '\0';
  return 0;
}

static bool dir_on_path(const char *dir) {
  const char *path = getenv("PATH");
  size_t n = strlen(dir);
  for (const char *p = path ? path : ""; *p;) {
    const char *end = strchrnul(p, ':');
    if ((size_t)(end - p) == n && memcmp(p, dir, n) == 0) return true;
    p = *end ? end + 1 : end;
  }
  return false;
}

static int read_manifest(int dfd, struct pl_shim_entry *e, int *n) {
  cleanup_free char *text = NULL;
  size_t len = 0;
  *n = 0;
  if (pl_read_file_at(dfd, PL_SHIM_MANIFEST, PL_SHIM_MANIFEST_MAX, &text, &len, NULL) < 0) return 0;
  int r = pl_shim_manifest_parse(text, len, e, PL_SHIM_MAX);
  if (r < 0) return -1;
  *n = r;
  return 0;
}

/* A shim we made: a symlink to pylock or its front end, named in our manifest. */
static bool ours(int dfd, const char *name, const struct pl_shim_entry *m, int n) {
  bool listed = false;
  for (int i = 0; i < n; i++)
    listed |= strcmp(m[i].name, name) == 0;
  char target[PATH_MAX];
  ssize_t len = readlinkat(dfd, name, target, sizeof target - 1);
  if (!listed || len <= 0) return false;
  target[len] = '\0';
  const char *base = strrchr(target, '/');
  base = base ? base + 1 : target;
  return strcmp(base, PL_SHIM_FULL) == 0 || strcmp(base, PL_SHIM_FRONT) == 0;
}

/* What the links point to: the front end installed with this pylock
 * (BINDIR/pylock-shim: a regular file, executable, not this binary), else
 * this binary itself. */
static int link_target(char *out, size_t cap, pl_error_t *err) {
  struct stat st;
  dev_t dev;
  ino_t ino;
  char culprit[PATH_MAX];
  /* pl_program_safe: never links to a front end someone else could have put there. */
  if (pl_program_path(PL_PROGRAM_SHIM, out, cap) == 0 && stat(out, &st) == 0 &&
      S_ISREG(st.st_mode) && access(out, X_OK) == 0 && pl_self_identity(&dev, &ino) == 0 &&
      (st.st_dev != dev || st.st_ino != ino) && pl_program_safe(out, culprit, sizeof culprit) == 0)
    return 0;
  return self_path(out, cap, err);
}

/* The shims' directory dfd (named dir) as the shims trust it
 * (pl_shim_dir_trusted), else PL_REFUSED: "WHAT DIR: it is owned by ... with
 * mode ..., so WHY", and HINT. */
static int trusted_dir(int dfd, const char *dir, const char *what, const char *why,
                       const char *hint, pl_error_t *err) {
  struct stat st;
  if (fstat(dfd, &st) < 0) return pl_fail(err, errno, "stat %s", dir);
  if (pl_shim_dir_trusted(&st, getuid())) return 0;
  char owner[128];
  pl_owner_name(st.st_uid, owner, sizeof owner);
  return pl_fail_hint(err, PL_REFUSED, hint, "%s %s: it is owned by %s with mode %04o, so %s", what,
                      dir, owner, (unsigned)(st.st_mode & 07777), why);
}

static int shim_install(const char *dir, const char *python, pl_error_t *err) {
  char self[PATH_MAX];
  if (link_target(self, sizeof self, err) < 0) return -1;
  if (pl_mkdir_p(dir, 0755, err) < 0) return -1;
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return pl_fail(err, errno, "open %s", dir);
  /* The shims would refuse a manifest here (shim.h): whoever else can
   * write the directory could replace it and choose what they run. */
  if (trusted_dir(dfd, dir, "refusing to install shims in",
                  "someone else could rewrite the manifest that chooses what they run",
                  "install them in a directory only you (or root) can write, e.g. --user "
                  "(~/.local/bin), or make this one so (chmod go-w)",
                  err) < 0)
    return -1;
  struct pl_shim_entry old[PL_SHIM_MAX];
  int nold = 0;
  if (read_manifest(dfd, old, &nold) < 0)
    return pl_fail_hint(err, EINVAL, "remove it if pylock did not write it",
                        "%s/%s is not a pylock shim manifest", dir, PL_SHIM_MANIFEST);

  /* The real interpreter: never one in this directory, never pylock. */
  char real_py[PATH_MAX];
  if (python) {
    if (realpath(python, real_py) == NULL) return pl_fail(err, errno, "interpreter %s", python);
  } else if (pl_shim_find_real("python3.12", dir, real_py, sizeof real_py) < 0 &&
             pl_shim_find_real("python3", dir, real_py, sizeof real_py) < 0) {
    return pl_fail_hint(err, ENOENT, "pass it with --python PATH",
                        "no python3.12 or python3 on PATH outside %s", dir);
  }
  /* The shims run it outside every sandbox: never one that someone else,
   * or code in a sandbox (/tmp, ~/.cache, a project), could change. */
  if (pl_interp_check_path(real_py, NULL, err) < 0)
    return pl_error_set_hint(err, "the shims run it outside any sandbox: name one only you or "
                                  "root can change, outside /tmp, ~/.cache and every project, "
                                  "with --python PATH");
  struct pl_interp in = {0};
  if (pl_interp_probe(real_py, -1, &in, err) < 0) return -1;
  struct pl_shim_entry e[PL_SHIM_MAX] = {0};
  int n = 0;
  const char *pynames[] = {"python3", "python", NULL};
  for (int i = 0; pynames[i]; i++) {
    snprintf(e[n].name, sizeof e[n].name, "%s", pynames[i]);
    snprintf(e[n].real, sizeof e[n].real, "%s", real_py);
    e[n++].module_pip = false;
  }
  snprintf(e[n].name, sizeof e[n].name, "python%s", in.short_version);
  snprintf(e[n].real, sizeof e[n].real, "%s", real_py);
  e[n++].module_pip = false;
  const char *pipnames[] = {"pip", "pip3", NULL};
  for (int i = 0; pipnames[i]; i++) {
    /* pip for this interpreter: `python -m pip` is the one that matches it. */
    snprintf(e[n].name, sizeof e[n].name, "%s", pipnames[i]);
    snprintf(e[n].real, sizeof e[n].real, "%s", real_py);
    e[n++].module_pip = true;
  }
  pl_interp_free(&in);

  for (int i = 0; i < n; i++) {
    struct stat st;
    if (fstatat(dfd, e[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !ours(dfd, e[i].name, old, nold))
      return pl_fail_hint(err, EEXIST, "move it away, or install the shims in another --dir",
                          "%s/%s exists and pylock did not create it", dir, e[i].name);
  }
  cleanup_free char *text = pl_shim_manifest_format(e, n);
  if (text == NULL) return pl_fail(err, ENOMEM, "shim manifest");
  /* The shims would not read it (pl_shim_locate): they would fall back to
   * pylock, which would not find the interpreter this names. */
  if (strlen(text) > PL_SHIM_MANIFEST_MAX)
    return pl_fail_hint(err, ENAMETOOLONG,
                        "the shims name the interpreter by its real path: install it under a "
                        "shorter one",
                        "the shim manifest for %s would be %zu bytes, more than the %d the shims "
                        "read: its path is %zu characters long",
                        real_py, strlen(text), PL_SHIM_MANIFEST_MAX, strlen(real_py));
  /* Manifest first: a crash leaves links the manifest already claims. */
  if (pl_write_file_atomic_at(dfd, PL_SHIM_MANIFEST, text, strlen(text), 0644, err) < 0) return -1;
  for (int i = 0; i < n; i++) {
    char tmp[sizeof e[i].name + 16];
    snprintf(tmp, sizeof tmp, ".%.31s.pylock-tmp", e[i].name);
    unlinkat(dfd, tmp, 0);
    if (symlinkat(self, dfd, tmp) < 0 || renameat(dfd, tmp, dfd, e[i].name) < 0)
      return pl_fail(err, errno, "create shim %s/%s", dir, e[i].name);
    printf("%s/%s -> %s\n", dir, e[i].name, e[i].real);
  }
  if (!dir_on_path(dir))
    fprintf(stderr,
            "pylock: %s is not on PATH; add it before the real interpreter's directory, e.g.\n"
            "  export PATH=\"%s:$PATH\"\n",
            dir, dir);
  return 0;
}

static int shim_uninstall(const char *dir, pl_error_t *err) {
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return pl_fail(err, errno, "open %s", dir);
  /* What to remove comes from the manifest: only one the shims themselves
   * would trust, in a directory nobody else can write. */
  if (trusted_dir(dfd, dir, "refusing to take as pylock's the shims' manifest in",
                  "someone else could have written it",
                  "remove the links by hand, or make the directory yours alone (chmod go-w) "
                  "and run this again",
                  err) < 0)
    return -1;
  struct pl_shim_entry m[PL_SHIM_MAX];
  int n = 0;
  if (read_manifest(dfd, m, &n) < 0 || n == 0)
    return pl_fail_hint(err, ENOENT, "nothing to remove", "no pylock shims in %s", dir);
  int kept = 0;
  for (int i = 0; i < n; i++) {
    if (!ours(dfd, m[i].name, m, n)) {
      struct stat st;
      if (fstatat(dfd, m[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        fprintf(stderr, "pylock: left %s/%s: it is no longer pylock's shim\n", dir, m[i].name);
        kept++;
      }
      continue;
    }
    if (unlinkat(dfd, m[i].name, 0) < 0) return pl_fail(err, errno, "remove %s/%s", dir, m[i].name);
    printf("removed %s/%s\n", dir, m[i].name);
  }
  if (unlinkat(dfd, PL_SHIM_MANIFEST, 0) < 0)
    return pl_fail(err, errno, "remove %s/%s", dir, PL_SHIM_MANIFEST);
  (void)kept;
  return 0;
}

int pl_cmd_shim(int argc, char **argv) {
  static const struct option opts[] = {
      {"user", no_argument, NULL, 'u'},      {"system", no_argument, NULL, 's'},
      {"dir", required_argument, NULL, 'd'}, {"python", required_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
  if (argc < 2 || pl_cli_is_help(argv[1])) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? PL_EXIT_USAGE : PL_EXIT_OK;
  }
  const char *action = argv[1];
  bool install = strcmp(action, "install") == 0;
  if (!install && strcmp(action, "uninstall") != 0)
    return pl_cli_usage_error("shim", "unknown action '%s' (install or uninstall)", action);
  const char *dir = NULL, *python = NULL;
  bool system = false;
  int c;
  optind = 2;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'u':
      system = false;
      dir = NULL;
      break;
    case 's':
      system = true;
      dir = NULL;
      break;
    case 'd': dir = optarg; break;
    case 'p':
      if (!install) return pl_cli_usage_error("shim", "--python is for install");
      python = optarg;
      break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("shim", argv);
    }
  }
  if (optind < argc) return pl_cli_usage_error("shim", "unexpected argument '%s'", argv[optind]);
  cleanup_free char *userdir = NULL;
  if (dir == NULL && system) dir = "/usr/local/bin";
  if (dir == NULL) {
    const char *home = getenv("HOME");
    if (home == NULL || home[0] != '/' || asprintf(&userdir, "%s/.local/bin", home) < 0)
      return pl_cli_usage_error("shim", "HOME is not set: pass --dir DIR");
    dir = userdir;
  }
  pl_error_t err = NULL;
  int r = install ? shim_install(dir, python, &err) : shim_uninstall(dir, &err);
  return r < 0 ? pl_cli_report(install ? "shim install" : "shim uninstall", &err) : PL_EXIT_OK;
}
