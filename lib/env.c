/* pylock — opening, locking and syncing a project's environment; see env.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#define _XOPEN_SOURCE 700
#include "env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include "cache.h"
#include "canonjson.h"
#include "change.h"
#include "cleanup.h"
#include "config.h"
#include "distname.h"
#include "dyn_jansson.h"
#include "dynlib.h"
#include "envgen.h"
#include "fetch.h"
#include "fetchwheel.h"
#include "file.h"
#include "gc.h"
#include "manifest.h"
#include "parallel.h"
#include "paths.h"
#include "generations.h"
#include "install.h"
#include "interrupt.h"
#include "log.h"
#include "metadata.h"
#include "pause.h"
#include "pep508.h"
#include "project.h"
#include "resolve.h"
#include "sha.h"
#include "tags.h"
#include "truststore.h"
#include "verify.h"
#include "version.h"
#include "wheel.h"

#define INTERP_FILE_MAX 16384
#define META_MAX 4096
/* Below this much free space where pip works, a failed resolution is blamed on it. */
#define RESOLVE_SPACE_MIN (16ULL << 20)

static void say(const struct pl_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct pl_env *e, const char *fmt, ...) {
  if (e->progress == NULL) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  e->progress(e->progress_ctx, buf);
}

static void unselect(struct pl_env *e);

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int pl_requirement_name(const char *req, char *out, size_t cap) {
  struct pl_requirement r;
  pl_error_t err = NULL;
  if (pl_requirement_parse(req, 0, &r, &err) < 0) {
    pl_error_free(&err);
    return -1;
  }
  int n = snprintf(out, cap, "%s", r.name);
  pl_requirement_free(&r);
  return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int pl_root_keyids(const char *text, size_t len, const char *what, char ***ids, size_t *n,
                   pl_error_t *err) {
  cleanup_json json_t *doc = NULL;
  if (pl_json_parse(text, len, what, &doc, err) < 0) return -1;
  json_t *arr = json_object_get(
      json_object_get(json_object_get(json_object_get(doc, "signed"), "roles"), "root"), "keyids");
  size_t count = json_array_size(arr);
  if (count == 0 || count > 1024) return pl_fail(err, EINVAL, "%s: no root keyids", what);
  char **list = calloc(count, sizeof *list);
  if (list == NULL) return pl_fail(err, ENOMEM, "%s", what);
  for (size_t i = 0; i < count; i++) {
    const char *id = json_string_value(json_array_get(arr, i));
    if (id == NULL || (list[i] = strdup(id)) == NULL) {
      for (size_t j = 0; j < i; j++)
        free(list[j]);
      free(list);
      return pl_fail(err, EINVAL, "%s: root keyid %zu is not a string", what, i);
    }
  }
  if (count) qsort(list, count, sizeof *list, cmp_str);
  *ids = list;
  *n = count;
  return 0;
}

/* Does `a` (X.Y.Z) have the same major and minor version as `b`? */
static bool same_minor(const char *a, const char *b) {
  const char *da = strchr(a, '.'), *db = strchr(b, '.');
  if (da == NULL || db == NULL) return false;
  size_t na = strcspn(da + 1, "."), nb = strcspn(db + 1, ".");
  return da - a == db - b && memcmp(a, b, (size_t)(da - a)) == 0 && na == nb &&
         memcmp(da + 1, db + 1, na) == 0;
}

/* Projects made before the state root kept everything in DIR/.pylock/,
 * which code in their sandbox could write: nothing of it is reused but the
 * registry root, and that only when its root key ids are the ones
 * pylock.toml pins.  The environment is rebuilt by the sync that follows. */
static int migrate_old_state(struct pl_env *e, pl_error_t *err) {
  cleanup_free char *raw = NULL, *rel = NULL;
  size_t len = 0;
  if (asprintf(&rel, "%s/%s", PL_OLD_STATE_DIR, PL_REGISTRY_ROOT_FILE) < 0)
    return pl_fail(err, ENOMEM, "migrate");
  pl_error_t ignored = NULL;
  if (e->lf.nroot_keyids &&
      pl_read_file_at(e->root_fd, rel, PL_TUF_ROOT_MAX, &raw, &len, &ignored) == 0) {
    char **ids = NULL;
    size_t nids = 0;
    int64_t version;
    time_t expires;
    bool same = pl_tuf_check_root(raw, len, rel, &version, &expires, &ignored) == 0 &&
                pl_root_keyids(raw, len, rel, &ids, &nids, &ignored) == 0 &&
                nids == e->lf.nroot_keyids;
    for (size_t i = 0; same && i < nids; i++)
      same = strcmp(ids[i], e->lf.root_keyids[i]) == 0;
    for (size_t i = 0; i < nids; i++)
      free(ids[i]);
    free(ids);
    /* It sat where a sandbox could write: trusted on first use, no more. */
    if (same &&
        (pl_write_file_atomic_at(e->state_fd, PL_REGISTRY_ROOT_TOFU, "", 0, 0600, err) < 0 ||
         pl_write_file_atomic_at(e->state_fd, PL_REGISTRY_ROOT_FILE, raw, len, 0600, err) < 0))
      return -1;
  }
  pl_error_free(&ignored);
  if (pl_remove_tree_at(e->root_fd, PL_OLD_STATE_DIR, err) < 0)
    return pl_error_wrap(err, "remove the old %s/%s", e->root, PL_OLD_STATE_DIR);
  say(e,
      "pylock: moved this project's environment from %s/%s (which code in its sandbox could "
      "change) to %s; it is rebuilt from %s",
      e->root, PL_OLD_STATE_DIR, e->state_path, PL_LOCK_FILE);
  return 0;
}

/* May the interpreter at `python` run for this project?  pylock.toml names
 * it, and a pull request writes pylock.toml: never one in the project (or
 * anywhere someone else could write, or reached through such a place), and
 * for a runner only the one it chose or one root installed.  It runs in
 * sandboxes only (interp.c). */
static int interpreter_allowed(const struct pl_env *e, const char *python, pl_error_t *err) {
  static const char runner_hint[] = "on a runner, choose the interpreter: pylock ci --python PATH "
                                    "(or sync --frozen --python PATH)";
  if (python[0] != '/')
    return pl_fail_hint(
        err, PL_REFUSED,
        e->runner ? runner_hint : "name it by its absolute path in [tool.pylock] python",
        "%s names the interpreter \"%s\", not an absolute path", PL_LOCK_FILE, python);
  cleanup_free char *real = realpath(python, NULL);
  if (real == NULL) return pl_fail(err, errno, "interpreter %s", python);
  size_t n = strlen(e->root);
  if (strncmp(real, e->root, n) == 0 && (real[n] == '/' || real[n] == '\0'))
    return pl_fail_hint(
        err, PL_REFUSED,
        e->runner ? runner_hint : "use an interpreter installed outside the project",
        "%s names the interpreter %s, which lies in the project itself", PL_LOCK_FILE, python);
  if (pl_interp_check_path(python, e->root, err) < 0)
    return pl_error_set_hint(err, "%s",
                             e->runner ? runner_hint
                                       : "name an interpreter outside the project that only root "
                                         "or you can change");
  if (e->runner && !(e->python && strcmp(e->python, python) == 0)) {
    struct stat st;
    if (stat(real, &st) < 0) return pl_fail(err, errno, "interpreter %s", python);
    if (st.st_uid != 0)
      return pl_fail_hint(err, PL_REFUSED, runner_hint,
                          "%s names the interpreter %s (owned by uid %u): on a runner, only one "
                          "root installed or one --python names is used",
                          PL_LOCK_FILE, python, (unsigned)st.st_uid);
  }
  return 0;
}

/* A project without state yet (a fresh checkout, a moved project, or one
 * in the old layout): its state made for the interpreter pylock.toml names. */
static int create_state(struct pl_env *e, bool old_layout, pl_error_t *err) {
  const char *python = e->python ? e->python : e->lf.python;
  cleanup_free char *found = NULL;
  /* Another tool's lock names no interpreter: the default one (a runner's
   * rules apply to it as to any). */
  if (python == NULL && !e->lf.tool_pylock) {
    if (pl_interp_default(&found, err) < 0) return -1;
    python = found;
  }
  if (python == NULL)
    return pl_fail_hint(err, ENOENT, "create the project with: pylock init",
                        "%s/%s names no base interpreter ([tool.pylock] python)", e->root,
                        PL_LOCK_FILE);
  if (interpreter_allowed(e, python, err) < 0) return -1;
  struct pl_interp in = {0};
  cleanup_close int probe_cache = pl_state_subdir(&e->state, PL_STATE_INTERP, true, err);
  if (probe_cache < 0) return -1;
  if (pl_interp_probe(python, probe_cache, &in, err) < 0)
    return pl_error_set_hint(err, "install that interpreter, or re-create the project with "
                                  "pylock init --python PATH");
  int r = -1;
  cleanup_free char *text = pl_interp_format(&in);
  if (e->lf.python_version && strcmp(e->lf.python_version, in.version) != 0) {
    if (!same_minor(e->lf.python_version, in.version)) {
      pl_fail(err, 0, "%s is Python %s, but %s was locked on %s", python, in.version, PL_LOCK_FILE,
              e->lf.python_version);
      pl_error_set_hint(err, "install Python %s at %s, or re-lock on this one: pylock lock",
                        e->lf.python_version, python);
      goto out;
    }
    say(e, "pylock: %s is Python %s; %s was locked on %s (same minor version): going on", python,
        in.version, PL_LOCK_FILE, e->lf.python_version);
  }
  if (text == NULL) {
    pl_fail(err, ENOMEM, "interpreter record");
    goto out;
  }
  e->state_fd = pl_project_state_open(&e->state, e->root, true, &e->state_path, err);
  if (e->state_fd < 0 ||
      pl_write_file_atomic_at(e->state_fd, PL_INTERP_FILE, text, strlen(text), 0600, err) < 0 ||
      pl_mkdir_p_at(e->state_fd, PL_RUN_DIR, 0700, err) < 0 ||
      pl_mkdir_p_at(e->state_fd, PL_GENERATIONS_DIR, 0700, err) < 0)
    goto out;
  if (old_layout && migrate_old_state(e, err) < 0) goto out;
  r = 0;
out:
  pl_interp_free(&in);
  return r;
}

/* PEP 751: a lock-version newer than the one understood (1.0), same major,
 * is read with a warning (2.x and later are refused when parsed). */
static void warn_lock_version(const struct pl_env *e) {
  struct pl_version have, known;
  const char *v = e->lf.lock_version;
  if (pl_version_parse(v, strlen(v), &have) < 0 || pl_version_parse("1.0", 3, &known) < 0 ||
      pl_version_cmp(&have, &known) <= 0)
    return;
  say(e,
      "pylock: warning: %s has lock-version %s, newer than 1.0 (what this pylock knows): what "
      "it does not know of the lock is ignored",
      PL_LOCK_FILE, v);
}

int pl_env_open_with(struct pl_env *e, const struct pl_env_opts *o, pl_error_t *err) {
  memset(e, 0, sizeof *e);
  e->root_fd = e->state_fd = e->change_lock = e->compile_lock = e->state.fd = -1;
  e->progress = o->progress;
  e->progress_ctx = o->progress_ctx;
  e->switched = o->switched;
  e->switched_ctx = o->switched_ctx;
  e->offline = o->offline;
  e->runner = o->runner;
  e->keep_policy = o->keep_policy;
  e->compile_after_switch = o->compile_after_switch;
  e->compile_detach = o->compile_detach;
  e->trusted = o->trusted;
  e->python = o->python;
  e->select_opts = o->select;
  e->select_given = o->select.nextras || o->select.ngroups || o->select.groups_given;
  if (pl_project_find(o->dir, &e->root, err) < 0) return -1;
  e->root_fd = open(e->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (e->root_fd < 0) return pl_fail(err, errno, "open %s", e->root);
  if (pl_read_file_at(e->root_fd, PL_LOCK_FILE, PL_LOCK_MAX_BYTES, &e->lock_text, &e->lock_len,
                      err) < 0 ||
      pl_lockfile_parse(e->lock_text, e->lock_len, PL_LOCK_FILE, &e->lf, err) < 0 ||
      pl_state_open(&e->state, err) < 0)
    return -1;
  warn_lock_version(e);
  e->state_fd = pl_project_state_open(&e->state, e->root, false, &e->state_path, err);
  if (e->state_fd < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    pl_error_free(err);
    if (create_state(e, pl_project_has_old_state(e->root), err) < 0) return -1;
  }
  cleanup_free char *text = NULL;
  if (pl_read_file_at(e->state_fd, PL_INTERP_FILE, INTERP_FILE_MAX, &text, NULL, err) < 0 ||
      pl_interp_parse(text, &e->in, err) < 0)
    return pl_error_set_hint(err, "remove %s and run: pylock sync", e->state_path);
  /* A runner's state may have been made for another job's pylock.toml: the
   * interpreter it records must pass this job's rules, and be the one named. */
  const char *want = e->python ? e->python : e->lf.python;
  if (e->runner && want && strcmp(want, e->in.python) != 0)
    return pl_fail_hint(err, PL_REFUSED, "remove the project's state, then run again: rm -rf %s",
                        "the environment of %s was made for the interpreter %s, not %s", e->root,
                        e->in.python, want);
  /* And for everyone, as it is now: code in a sandbox of another project
   * may have changed what was checked when the state was made (a link in
   * /tmp, a prefix in ~/.cache). */
  if (interpreter_allowed(e, e->in.python, err) < 0) return -1;
  if (pl_interp_check_prefix(e->in.python, e->in.prefix, e->root, err) < 0)
    return pl_error_set_hint(err,
                             "use an interpreter installed where only you or root can "
                             "change it: remove %s, then pylock init --python PATH",
                             e->state_path);
  if (pl_path_user_site(e->in.short_version, &e->user_site, err) < 0) return -1;
  return 0;
}

int pl_env_open(struct pl_env *e, const char *dir, void (*progress)(void *, const char *),
                void *progress_ctx, pl_error_t *err) {
  struct pl_env_opts o = {.dir = dir, .progress = progress, .progress_ctx = progress_ctx};
  return pl_env_open_with(e, &o, err);
}

void pl_env_close(struct pl_env *e) {
  free(e->root);
  free(e->anchor);
  free(e->state_path);
  pl_state_close(&e->state);
  free(e->lock_text);
  free(e->user_site);
  for (size_t i = 0; i < e->npreferences; i++)
    free(e->preferences[i]);
  free(e->preferences);
  if (e->root_fd >= 0) close(e->root_fd);
  if (e->state_fd >= 0) close(e->state_fd);
  if (e->compile_lock >= 0) close(e->compile_lock);
  if (e->change_lock >= 0) close(e->change_lock);
  unselect(e);
  pl_lockfile_free(&e->lf);
  pl_interp_free(&e->in);
  pl_tuf_free(e->tuf);
  free(e->damaged);
  memset(e, 0, sizeof *e);
  e->root_fd = e->state_fd = e->change_lock = e->compile_lock = e->state.fd = -1;
}

static void waiting(pid_t holder, void *ctx) {
  const struct pl_env *e = ctx;
  pid_t compiler = 0;
  char pid[32] = "";
  if (holder > 0) snprintf(pid, sizeof pid, " (pid %d)", (int)holder);
  /* The one holding both: a pylock compiling after its switch (env.h). */
  if (pl_gen_compiling(e->state_fd, &compiler) && (compiler == holder || compiler == 0))
    say(e,
        "pylock: waiting for another pylock%s to finish byte-compiling the current generation "
        "(usable meanwhile)...",
        pid);
  else if (holder > 0)
    say(e, "pylock: waiting for another pylock (pid %d) to finish changing this environment...",
        (int)holder);
  else
    say(e, "pylock: waiting for another pylock to finish changing this environment...");
}

/* Is the state open at e->state_fd still the one at e->state_path?  gc
 * removes an orphan's state holding its change lock: a command that opened
 * it before, then waited for that lock, holds the lock of a removed state. */
static bool state_still_named(const struct pl_env *e) {
  struct stat mine, named;
  return fstat(e->state_fd, &mine) == 0 && lstat(e->state_path, &named) == 0 &&
         mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
}

int pl_env_begin_change(struct pl_env *e, pl_error_t *err) {
  if (e->change_lock >= 0) return 0;
  e->change_lock = pl_gen_lock(e->state_fd, waiting, e, err);
  if (e->change_lock < 0) return -1;
  if (!state_still_named(e)) {
    /* Made again, as for a project without state (the project is back). */
    say(e, "pylock: %s was removed by pylock gc meanwhile: making it again", e->state_path);
    close(e->change_lock);
    close(e->state_fd);
    e->change_lock = e->state_fd = -1;
    free(e->state_path);
    e->state_path = NULL;
    if (create_state(e, false, err) < 0) return -1;
    e->change_lock = pl_gen_lock(e->state_fd, waiting, e, err);
    if (e->change_lock < 0) return -1;
  }
  /* What a killed command left: its change finished or undone, its
   * temporary files and scratch directories removed. */
  enum pl_change_outcome outcome;
  unsigned gen = 0;
  if (pl_change_recover(e->root_fd, e->state_fd, &outcome, &gen, err) < 0) return -1;
  char said[256];
  if (pl_change_describe(outcome, gen, said, sizeof said)) say(e, "%s", said);
  if (pl_gen_remove_partials(e->state_fd, err) < 0) return -1;
  pl_state_sweep_scratch(&e->state);
  /* pylock.toml as the change we waited for left it: a change built on
   * what was read before the wait would undo that one. */
  cleanup_free char *text = NULL;
  size_t len = 0;
  if (pl_read_file_at(e->root_fd, PL_LOCK_FILE, PL_LOCK_MAX_BYTES, &text, &len, err) < 0) return -1;
  if (len == e->lock_len && memcmp(text, e->lock_text, len) == 0) return 0;
  struct pl_lockfile lf = {0};
  if (pl_lockfile_parse(text, len, PL_LOCK_FILE, &lf, err) < 0) return -1;
  pl_lockfile_free(&e->lf);
  e->lf = lf;
  unselect(e);
  free(e->lock_text);
  e->lock_text = steal_pointer(&text);
  e->lock_len = len;
  return 0;
}

/* The registry the lock's wheels come from: [tool.pylock] registry, or
 * for another tool's lock the one its packages' index names (pl_env_select). */
static const char *registry_of(const struct pl_env *e) {
  return e->lf.registry ? e->lf.registry : e->index_registry;
}

/* Anchor a fresh checkout: the registry's first root, accepted only if its
 * root key ids are exactly those pylock.toml pins.  Trust then follows the
 * normal TUF rotation from version 1. */
static int anchor_from_pinned_keyids(struct pl_env *e, pl_error_t *err) {
  if (e->lf.nroot_keyids == 0)
    return pl_fail_hint(err, ENOENT,
                        "pin the registry's root: pylock init --registry URL --root FILE, or "
                        "trust it: pylock trust add ROOT.json --name NAME",
                        "no trusted root for %s: %s/%s is missing and %s pins no root key ids",
                        registry_of(e), e->state_path, PL_REGISTRY_ROOT_FILE, PL_LOCK_FILE);
  struct pl_fetcher *f = NULL;
  cleanup_free char *raw = NULL;
  size_t len = 0;
  char **ids = NULL;
  size_t nids = 0;
  int64_t version;
  time_t expires;
  int r = -1;
  const char *ca = NULL;
  if (pl_config_ca_bundle(&ca, err) < 0 || pl_fetcher_open(registry_of(e), ca, &f, err) < 0)
    return -1;
  if (pl_fetch_mem(f, "1.root.json", PL_TUF_ROOT_MAX, &raw, &len, err) < 0 ||
      pl_tuf_check_root(raw, len, "1.root.json", &version, &expires, err) < 0 ||
      pl_root_keyids(raw, len, "1.root.json", &ids, &nids, err) < 0)
    goto out;
  bool same = nids == e->lf.nroot_keyids;
  for (size_t i = 0; same && i < nids; i++)
    same = strcmp(ids[i], e->lf.root_keyids[i]) == 0;
  if (!same) {
    pl_fail_hint(
        err, PL_REFUSED, "if the registry rotated its keys legitimately, re-pin: pylock init",
        "%s/1.root.json is signed by other root keys than %s pins", registry_of(e), PL_LOCK_FILE);
    goto out;
  }
  /* Trusted on first use: marked so, since a runner must not take it. */
  if (pl_write_file_atomic_at(e->state_fd, PL_REGISTRY_ROOT_TOFU, "", 0, 0600, err) < 0 ||
      pl_write_file_atomic_at(e->state_fd, PL_REGISTRY_ROOT_FILE, raw, len, 0600, err) < 0)
    goto out;
  say(e,
      "pylock: trusting the registry root %s/1.root.json (version %lld), signed by the %zu root "
      "key(s) %s pins",
      registry_of(e), (long long)version, nids, PL_LOCK_FILE);
  r = 0;
out:
  for (size_t i = 0; i < nids; i++)
    free(ids[i]);
  free(ids);
  pl_fetcher_free(f);
  return r;
}

/* A root of the user's or the admin's trust store whose root key ids are
 * `want` (sorted): the runner trusts it; the lock merely names it. */
static int trusted_root_for_keyids(char *const *want, size_t nwant, char **path, char **name,
                                   pl_error_t *err) {
  struct pl_trust_entry *list = NULL;
  size_t n = 0;
  if (nwant == 0 || pl_trust_list(&list, &n, err) < 0) return nwant ? -1 : 0;
  for (size_t i = 0; i < n && *path == NULL; i++) {
    if (!list[i].valid || list[i].shadowed) continue;
    cleanup_free char *raw = NULL;
    size_t len = 0;
    char **ids = NULL;
    size_t nids = 0;
    pl_error_t e2 = NULL;
    if (pl_read_file_at(AT_FDCWD, list[i].path, PL_TUF_ROOT_MAX, &raw, &len, &e2) == 0 &&
        pl_root_keyids(raw, len, list[i].path, &ids, &nids, &e2) == 0) {
      bool same = nids == nwant;
      for (size_t k = 0; same && k < nids; k++)
        same = strcmp(ids[k], want[k]) == 0;
      if (same) {
        *path = strdup(list[i].path);
        *name = strdup(list[i].name);
      }
    }
    for (size_t k = 0; k < nids; k++)
      free(ids[k]);
    free(ids);
    pl_error_free(&e2);
  }
  pl_trust_list_free(list, n);
  return 0;
}

/* Those pylock.toml pins. */
static int trusted_root_for_pins(struct pl_env *e, char **path, char **name, pl_error_t *err) {
  return trusted_root_for_keyids(e->lf.root_keyids, e->lf.nroot_keyids, path, name, err);
}

/* Another tool's lock pins no keys: a root of the trust store whose root
 * key ids are those the registry's 1.root.json names.  That file only says
 * which trusted root to try: what is anchored is the trust store's copy,
 * and every piece of metadata after it must verify against its keys, so a
 * registry that names keys it does not hold gets nowhere. */
static int trusted_root_for_registry(struct pl_env *e, char **path, char **name, pl_error_t *err) {
  struct pl_fetcher *f = NULL;
  cleanup_free char *raw = NULL;
  size_t len = 0, nids = 0;
  char **ids = NULL;
  const char *ca = NULL;
  pl_error_t ignored = NULL;
  int r = 0;
  if (e->lf.nroot_keyids || e->lf.tool_pylock) return 0;
  if (pl_config_ca_bundle(&ca, err) < 0) return -1;
  if (pl_fetcher_open(registry_of(e), ca, &f, &ignored) == 0 &&
      pl_fetch_mem(f, "1.root.json", PL_TUF_ROOT_MAX, &raw, &len, &ignored) == 0 &&
      pl_root_keyids(raw, len, "1.root.json", &ids, &nids, &ignored) == 0)
    r = trusted_root_for_keyids(ids, nids, path, name, err);
  pl_error_free(&ignored);
  for (size_t i = 0; i < nids; i++)
    free(ids[i]);
  free(ids);
  pl_fetcher_free(f);
  return r;
}

/* The root a runner anchors to (see pl_env_opts): --trusted, the trust
 * store's root that pylock.toml names or whose keys it pins, or the state's
 * root when the user gave it (init --root), never one trusted on first use. */
static int runner_root(struct pl_env *e, char **root, pl_error_t *err) {
  cleanup_free char *name = NULL;
  const char *want = e->trusted ? e->trusted : e->lf.registry_trusted;
  if (want) {
    if (pl_trust_find(want, root, err) < 0) return -1;
    return asprintf(&e->anchor, "%s (%s)", want, *root) < 0 ? pl_fail(err, ENOMEM, "trust") : 0;
  }
  if (trusted_root_for_pins(e, root, &name, err) < 0 ||
      (*root == NULL && trusted_root_for_registry(e, root, &name, err) < 0))
    return -1;
  if (*root)
    return asprintf(&e->anchor, "%s (%s)", name, *root) < 0 ? pl_fail(err, ENOMEM, "trust") : 0;
  if (faccessat(e->state_fd, PL_REGISTRY_ROOT_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
      faccessat(e->state_fd, PL_REGISTRY_ROOT_TOFU, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
    if (asprintf(root, "%s/%s", e->state_path, PL_REGISTRY_ROOT_FILE) < 0 ||
        (e->anchor = strdup(*root)) == NULL)
      return pl_fail(err, ENOMEM, "trust");
    return 0;
  }
  if (!e->lf.tool_pylock)
    return pl_fail_hint(err, PL_REFUSED,
                        "trust the registry's root on this runner: pylock trust add ROOT.json "
                        "(a trusted root whose keys the registry's 1.root.json names is used), "
                        "or pass --trusted NAME",
                        "no root this runner trusts covers %s, the index %s names", registry_of(e),
                        PL_LOCK_FILE);
  return pl_fail_hint(err, PL_REFUSED,
                      "trust the registry's root on this runner: pylock trust add ROOT.json "
                      "--name NAME (or pass --trusted NAME)",
                      "no root this runner trusts vouches for %s: a pull request's pylock.toml "
                      "may name the registry and pin its keys, not make them trusted",
                      registry_of(e));
}

/* -v: the registry's verified metadata, role by role. */
static void log_registry(const struct pl_env *e, const char *root, double took, double cpu) {
  if (!pl_log_on(PL_LOG_VERBOSE)) return;
  char line[512] = "", when[32];
  size_t at = 0;
  for (int r = 0; r < PL_TUF_NROLES; r++) {
    int64_t version = 0;
    time_t exp = 0;
    pl_tuf_role_info(e->tuf, (enum pl_tuf_role)r, &version, &exp);
    strftime(when, sizeof when, "%Y-%m-%d", gmtime(&exp));
    int w = snprintf(line + at, sizeof line - at, "%s%s v%lld (expires %s)", r ? ", " : "",
                     pl_tuf_role_names[r], (long long)version, when);
    if (w < 0 || (size_t)w >= sizeof line - at) break;
    at += (size_t)w;
  }
  pl_log(PL_LOG_VERBOSE,
         "registry %s%s, anchored to %s: %s; %zu top-level signed targets; updated in %.3f s "
         "(%.3f s of CPU)",
         registry_of(e), e->offline ? " (offline: as last verified)" : "", root, line,
         pl_tuf_target_count(e->tuf), took, cpu);
}

int pl_env_update_trust(struct pl_env *e, pl_error_t *err) {
  if (e->tuf) return 0;
  /* Another tool's lock names its registry in its packages' index. */
  if (e->lf.registry == NULL && !e->lf.tool_pylock && pl_env_select(e, err) < 0) return -1;
  if (registry_of(e) == NULL)
    return pl_fail_hint(
        err, ENOENT, "name one when creating the project: pylock init --registry URL --root FILE",
        "%s names no registry ([tool.pylock] registry)", PL_LOCK_FILE);
  cleanup_free char *root = NULL, *state = NULL;
  if (e->runner) {
    if (runner_root(e, &root, err) < 0) return -1;
  } else if (e->trusted && pl_trust_find(e->trusted, &root, err) < 0) {
    return -1;
  } else if (root == NULL &&
             faccessat(e->state_fd, PL_REGISTRY_ROOT_FILE, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
    cleanup_free char *name = NULL;
    if (e->lf.registry_trusted) {
      if (pl_trust_find(e->lf.registry_trusted, &root, err) < 0) return -1;
    } else if (trusted_root_for_registry(e, &root, &name, err) < 0) {
      return -1;
    } else if (root == NULL && !e->lf.tool_pylock) {
      return pl_fail_hint(err, PL_REFUSED,
                          "trust the registry's root: pylock trust add ROOT.json (a trusted root "
                          "whose keys the registry's 1.root.json names is used), or pass "
                          "--trusted NAME",
                          "no trusted root covers %s, the index %s names", registry_of(e),
                          PL_LOCK_FILE);
    } else if (root == NULL && anchor_from_pinned_keyids(e, err) < 0) {
      return -1;
    }
    if (name && asprintf(&e->anchor, "%s (%s)", name, root) < 0)
      return pl_fail(err, ENOMEM, "trust");
  }
  if (root == NULL && asprintf(&root, "%s/%s", e->state_path, PL_REGISTRY_ROOT_FILE) < 0)
    return pl_fail(err, ENOMEM, "trust");
  if (e->anchor == NULL && (e->anchor = strdup(root)) == NULL) return pl_fail(err, ENOMEM, "trust");
  /* The versions seen (rollback and freeze protection) are kept per trusted
   * root, not per address: a pylock.toml that moves the registry to another
   * URL -- a mirror replaying old metadata that is still valid -- would
   * otherwise start from nothing and bring back a target the registry has
   * withdrawn since.  Every address of a registry is one repository. */
  cleanup_free char *anchor = NULL;
  size_t anchor_len = 0;
  char anchor_hash[PL_SHA256_HEX], key[PL_SHA256_HEX + 8];
  if (pl_read_file_at(AT_FDCWD, root, PL_TUF_ROOT_MAX, &anchor, &anchor_len, err) < 0 ||
      pl_sha256_hex(anchor, anchor_len, anchor_hash, err) < 0)
    return pl_error_wrap(err, "trusted root");
  snprintf(key, sizeof key, "root:%s", anchor_hash);
  const char *ca = NULL;
  if (pl_state_registry_path(&e->state, key, &state, err) < 0 || pl_config_ca_bundle(&ca, err) < 0)
    return -1;
  struct pl_tuf_options o = {.url = registry_of(e),
                             .root_path = root,
                             .state_dir = state,
                             .ca_bundle = ca,
                             .offline = e->offline,
                             /* Bins are read as lookups need them: the index
                              * (simpleindex.c) reads them all only for a
                              * registry without per-project index targets. */
                             .lazy_delegations = true};
  if (!e->offline) say(e, "pylock: updating signed metadata of %s", registry_of(e));
  pl_progress_begin("updating signed metadata of %s", registry_of(e));
  double mark = pl_log_clock_ms();
  struct timespec t0, t1, c0, c1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  int r = pl_tuf_update(&o, &e->tuf, err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  pl_progress_end();
  if (r < 0) return -1;
  pl_log_phase(&mark, "signed metadata updated");
  log_registry(e, root, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
               (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9);
  if (e->offline) {
    char when[32];
    time_t exp = pl_tuf_expires(e->tuf);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&exp));
    say(e, "pylock: using the signed metadata of %s verified before (offline), valid until %s",
        registry_of(e), when);
  }
  return 0;
}

/* One line naming the first difference between two package lists. */
static char *describe_change(const struct pl_lockfile *old, const struct pl_lockfile *new) {
  char *s = NULL;
  for (size_t i = 0; i < new->npackages &&s == NULL; i++) {
    const struct pl_lock_package *n = &new->packages[i], *o = pl_lockfile_find(old, n->name);
    if (o == NULL && asprintf(&s, "%s %s would be added", n->name, n->version) < 0)
      s = NULL;
    else if (o && strcmp(o->version, n->version) != 0 &&
             asprintf(&s, "%s would change from %s to %s", n->name, o->version, n->version) < 0)
      s = NULL;
  }
  for (size_t i = 0; i < old->npackages && s == NULL; i++)
    if (pl_lockfile_find(new, old->packages[i].name) == NULL &&
        asprintf(&s, "%s would be removed", old->packages[i].name) < 0)
      s = NULL;
  return s ? s : strdup("the locked wheels, hashes or requested flags differ");
}

int pl_env_resolve(struct pl_env *e, bool *changed, char **why, pl_error_t *err) {
  if (pl_env_update_trust(e, err) < 0) return -1;
  /* Another tool's lock, trusted through the registry its packages' index
   * names: the lock pylock writes names it as its own. */
  if (e->lf.registry == NULL && e->index_registry &&
      (e->lf.registry = strdup(e->index_registry)) == NULL)
    return pl_fail(err, ENOMEM, "resolve");
  cleanup_free char *gen = NULL, *layer = NULL, *cache = NULL, *work = NULL, *old_text = NULL,
                    *new_text = NULL;
  if (pl_project_current(e->state_path, e->state_fd, e->root_fd, &gen, &layer, err) < 0) {
    /* A fresh checkout has no generation yet: resolve on an empty one. */
    pl_error_free(err);
    unsigned n;
    struct pl_gen_manifest none = {0};
    if (pl_gen_next(e->state_fd, &n, err) < 0 ||
        pl_envgen_create(e->state_fd, n, &e->in, err) < 0 ||
        pl_env_write_gen_manifest(e->state_fd, n, &none, err) < 0 ||
        pl_gen_switch(e->state_fd, n, err) < 0 ||
        pl_project_current(e->state_path, e->state_fd, e->root_fd, &gen, &layer, err) < 0)
      return -1;
  }
  if (asprintf(&cache, "%s/%s", e->state.path, PL_STATE_CACHE) < 0)
    return pl_fail(err, ENOMEM, "resolve");
  /* pip runs on that generation: its folds must lead into the cache the
   * sandbox binds read-only, not where a moved or copied state was. */
  if (pl_gen_check_folds_of(e->state_fd, e->state_path, gen, e->state.path, &e->in, NULL, NULL,
                            err) < 0)
    return -1;
  /* pip is served the shared cache's wheels, checked as they go (gc.h). */
  cleanup_close int cache_hold = pl_gc_hold_cache(&e->state, e->progress, e->progress_ctx, err);
  if (cache_hold < 0) return -1;
  /* pip's work directory: in the state root, so that the resolver's sandbox
   * can write there and nowhere else. */
  cleanup_close int scratch_lock = -1;
  if (pl_state_scratch(&e->state, "lock", &work, &scratch_lock, err) < 0) return -1;
  const char *pip = getenv("PYLOCK_RESOLVE_PIP");
  struct pl_resolve_stats rs = {0};
  struct pl_resolve_opts ro = {.python = e->in.python,
                               .prefix = e->in.prefix,
                               .project = e->root,
                               .state_root = e->state.path,
                               .layer = layer,
                               .user_site = e->user_site,
                               .work_dir = work,
                               .cache_dir = cache,
                               .registry = e->lf.registry,
                               .requirements = (const char *const *)e->lf.requested,
                               .nrequirements = e->lf.nrequested,
                               .registry_pip = pip && strcmp(pip, "registry") == 0,
                               .preferences = (const char *const *)e->preferences,
                               .npreferences = e->npreferences,
                               .dropped_preferences = &e->dropped_preferences,
                               .stats = &rs};
  say(e, "pylock: resolving %zu requirement(s) against %s", e->lf.nrequested, e->lf.registry);
  pl_progress_begin("resolving %zu requirement(s) against %s", e->lf.nrequested, e->lf.registry);
  struct pl_lock_package *pkgs = NULL;
  size_t npkgs = 0;
  double mark = pl_log_clock_ms();
  int r = pl_resolve(e->tuf, &ro, &pkgs, &npkgs, err);
  pl_progress_end();
  if (r == 0) pl_log_phase(&mark, "resolved");
  if (rs.pip_runs)
    say(e,
        "pylock: pip ran %u time(s) in %.1f s; it was served %u index page(s), %u metadata "
        "file(s), %u wheel(s) (%llu bytes, fetched and checked in %.3f s, %.3f s of CPU; sent in "
        "%.3f s)",
        rs.pip_runs, rs.pip_s, rs.pages, rs.metadata, rs.wheels, rs.bytes, rs.fetch_s,
        rs.fetch_cpu_s, rs.serve_s - rs.fetch_s);
  /* pip says "No space left" in its own words: judge by the space left. */
  struct statvfs vfs;
  if (r < 0 && ((*err)->errnum == ENOSPC || (*err)->errnum == EDQUOT ||
                (statvfs(e->state.path, &vfs) == 0 &&
                 (unsigned long long)vfs.f_bavail * vfs.f_frsize < RESOLVE_SPACE_MIN)))
    pl_error_set_hint(err,
                      "nothing changed; free space where pylock's state (%s) lives, then retry",
                      e->state.path);
  pl_error_t ignored = NULL;
  cleanup_close int scratch_fd = pl_state_subdir(&e->state, PL_STATE_SCRATCH, false, &ignored);
  pl_error_free(&ignored);
  if (scratch_fd >= 0) pl_remove_tree_at(scratch_fd, strrchr(work, '/') + 1, NULL);
  pl_pause("resolved");
  if (r < 0) return -1;
  struct pl_lockfile old = {0};
  if (pl_lockfile_parse(e->lock_text, e->lock_len, PL_LOCK_FILE, &old, err) < 0) {
    for (size_t i = 0; i < npkgs; i++)
      pl_lock_package_free(&pkgs[i]);
    free(pkgs);
    return -1;
  }
  pl_lockfile_set_packages(&e->lf, pkgs, npkgs);
  unselect(e); /* made for the packages just replaced */
  size_t new_len = 0;
  if (pl_lockfile_write(&e->lf, &new_text, &new_len, err) < 0) {
    pl_lockfile_free(&old);
    return -1;
  }
  *changed = new_len != e->lock_len || memcmp(new_text, e->lock_text, new_len) != 0;
  if (why) *why = *changed ? describe_change(&old, &e->lf) : NULL;
  pl_lockfile_free(&old);
  return 0;
}

int pl_env_write_lock(struct pl_env *e, pl_error_t *err) {
  char *text = NULL;
  size_t len = 0;
  if (pl_lockfile_write(&e->lf, &text, &len, err) < 0) return -1;
  if (len == e->lock_len && memcmp(text, e->lock_text, len) == 0) {
    free(text);
    return 0;
  }
  if (pl_write_file_atomic_at(e->root_fd, PL_LOCK_FILE, text, len, 0644, err) < 0) {
    free(text);
    return -1;
  }
  free(e->lock_text);
  e->lock_text = text;
  e->lock_len = len;
  return 0;
}

int pl_env_lock_is_stale(const struct pl_env *e, char *why, size_t cap) {
  size_t requested_pkgs = 0;
  for (size_t i = 0; i < e->lf.npackages; i++)
    requested_pkgs += e->lf.packages[i].requested;
  for (size_t i = 0; i < e->lf.nrequested; i++) {
    char name[256];
    if (pl_requirement_name(e->lf.requested[i], name, sizeof name) < 0) {
      snprintf(why, cap, "requirement '%s' has no valid name", e->lf.requested[i]);
      return 1;
    }
    bool found = false;
    for (size_t j = 0; j < e->lf.npackages && !found; j++) {
      char pkg[256];
      const struct pl_lock_package *p = &e->lf.packages[j];
      found = p->requested &&
              pl_distname_normalize(p->name, strlen(p->name), pkg, sizeof pkg) >= 0 &&
              strcmp(pkg, name) == 0;
    }
    if (!found) {
      snprintf(why, cap, "'%s' is requested but not locked", e->lf.requested[i]);
      return 1;
    }
  }
  /* Only pylock marks packages requested; other tools' locks carry none. */
  if (requested_pkgs > e->lf.nrequested) {
    snprintf(why, cap,
             "the lock holds requested packages that [tool.pylock] requested no longer names");
    return 1;
  }
  return 0;
}

int pl_env_lock_hash(const struct pl_env *e, char hash[65], pl_error_t *err) {
  return pl_sha256_hex(e->lock_text, e->lock_len, hash, err);
}

int pl_env_current_lock_hash(const struct pl_env *e, char hash[65], pl_error_t *err) {
  unsigned cur = 0;
  struct pl_gen_meta m;
  hash[0] = '\0';
  if (pl_gen_current(e->state_fd, &cur, err) < 0) return -1;
  if (cur && pl_meta_read(e->state_fd, cur, &m, NULL) == 0) memcpy(hash, m.lock_sha256, 65);
  return 0;
}

/* The user's cache, in the state root. */
static int open_cache(struct pl_env *e, struct pl_cache *c, pl_error_t *err) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/%s", e->state.path, PL_STATE_CACHE) < 0)
    return pl_fail(err, ENOMEM, "cache");
  return pl_cache_open(c, path, err);
}

/* The interpreter's marker values and tags: a record made before pylock
 * probed them is probed again (the same interpreter: its record's path,
 * which passed interpreter_allowed when the state was made) and rewritten. */
static int ensure_interp_env(struct pl_env *e, pl_error_t *err) {
  if (pl_interp_has_env(&e->in)) return 0;
  struct pl_interp in = {0};
  cleanup_close int probe_cache = pl_state_subdir(&e->state, PL_STATE_INTERP, true, err);
  if (probe_cache < 0 || pl_interp_probe(e->in.python, probe_cache, &in, err) < 0) return -1;
  cleanup_free char *text = pl_interp_format(&in);
  int r = 0;
  if (strcmp(in.prefix, e->in.prefix) != 0 || strcmp(in.version, e->in.version) != 0)
    r = pl_fail_hint(err, 0, "remove the project's state, then sync again: rm -rf %s",
                     "the interpreter %s changed since this environment was made (Python %s at "
                     "%s, now %s at %s)",
                     e->in.python, e->in.version, e->in.prefix, in.version, in.prefix);
  else if (text == NULL)
    r = pl_fail(err, ENOMEM, "interpreter record");
  else
    r = pl_write_file_atomic_at(e->state_fd, PL_INTERP_FILE, text, strlen(text), 0600, err);
  if (r < 0) {
    pl_interp_free(&in);
    return -1;
  }
  pl_interp_free(&e->in);
  e->in = in;
  return 0;
}

/* Another tool's lock: the registry is the index its selected packages
 * name, one for all of them (a trailing '/' aside).  Refuses naming every
 * package without one and every other index. */
static int find_index_registry(struct pl_env *e, pl_error_t *err) {
  cleanup_free char *text = NULL;
  size_t len = 0, missing = 0, others = 0;
  const char *first = NULL;
  size_t first_len = 0;
  FILE *m = open_memstream(&text, &len);
  if (m == NULL) return pl_fail(err, ENOMEM, "lock");
  for (size_t i = 0; i < e->lf.npackages; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    if (e->sel.wheel[i] == PL_SELECT_NOT_SELECTED) continue;
    if (p->index == NULL) {
      fprintf(m, "%s%s names no index", missing + others ? "; " : "", p->name);
      missing++;
      continue;
    }
    size_t n = strlen(p->index);
    while (n > 1 && p->index[n - 1] == '/')
      n--;
    if (first == NULL) {
      first = p->index, first_len = n;
    } else if (n != first_len || memcmp(first, p->index, n) != 0) {
      fprintf(m, "%s%s names the index %s", missing + others ? "; " : "", p->name, p->index);
      others++;
    }
  }
  if (fclose(m) != 0) return pl_fail(err, ENOMEM, "lock");
  if (missing || others)
    return pl_fail_hint(err, PL_REFUSED,
                        "lock every package from the one signed registry (its URL as each "
                        "package's index)",
                        "%s comes from another tool and pylock installs from one signed registry, "
                        "named by the packages' index%s%.*s: %s",
                        PL_LOCK_FILE, first ? "; the first is " : "", (int)first_len,
                        first ? first : "", text);
  if (first == NULL) return 0; /* nothing to install: no registry needed */
  if ((e->index_registry = strndup(first, first_len)) == NULL) return pl_fail(err, ENOMEM, "lock");
  return 0;
}

int pl_env_select(struct pl_env *e, pl_error_t *err) {
  /* Made for this very package list, or made again. */
  if (e->selected && e->sel_of == e->lf.packages && e->sel_n == e->lf.npackages) return 0;
  unselect(e);
  struct pl_select_target t;
  if (ensure_interp_env(e, err) < 0 || pl_select_target_from_interp(&e->in, &t, err) < 0 ||
      pl_select(&e->lf, &t, &e->select_opts, &e->sel, err) < 0)
    return pl_error_wrap(err, "%s", PL_LOCK_FILE);
  free(e->index_registry);
  e->index_registry = NULL;
  if (!e->lf.registry && !e->lf.tool_pylock && find_index_registry(e, err) < 0) {
    pl_selection_free(&e->sel);
    return -1;
  }
  e->selected = true;
  e->sel_of = e->lf.packages;
  e->sel_n = e->lf.npackages;
  return 0;
}

_Static_assert(PL_SELECT_KEY_MAX == PL_META_SELECTION_MAX, "a recorded selection fits a key");

/* e->select_opts: the extras and groups generation n was built with, as
 * its record keeps them (none recorded, or no generation: the defaults). */
static int select_opts_as_built(struct pl_env *e, unsigned n, pl_error_t *err) {
  struct pl_gen_meta m = {0};
  size_t ne = 0, ng = 0;
  memset(&e->select_opts, 0, sizeof e->select_opts);
  if (n == 0 || pl_meta_read(e->state_fd, n, &m, NULL) < 0 || m.selection[0] == '\0') return 0;
  memcpy(e->kept_key, m.selection, sizeof e->kept_key);
  if (pl_select_key_parse(e->kept_key, e->kept_extras, &ne, e->kept_groups, &ng, &e->select_opts,
                          err) < 0)
    return pl_error_wrap(err, "record of generation %u", n);
  return 0;
}

/* Select as generation n was built. */
static int select_as_built(struct pl_env *e, unsigned n, pl_error_t *err) {
  unselect(e);
  return select_opts_as_built(e, n, err) < 0 ? -1 : pl_env_select(e, err);
}

/* Forget the selection of a lock that was replaced. */
static void unselect(struct pl_env *e) {
  pl_selection_free(&e->sel);
  free(e->index_registry);
  e->index_registry = NULL;
  e->selected = false;
}

/* The wheel of lock package i pylock installs, as pl_env_select chose it;
 * NULL when the package is not selected. */
static const struct pl_lock_wheel *chosen_wheel(const struct pl_env *e, size_t i) {
  if (!e->selected || i >= e->sel_n || e->sel.wheel[i] == PL_SELECT_NOT_SELECTED) return NULL;
  return &e->lf.packages[i].wheels[e->sel.wheel[i]];
}

/* Same version, by PEP 440 (the file name may spell it normalized). */
static bool same_version(const char *a, const char *b) {
  struct pl_version va, vb;
  if (strcmp(a, b) == 0) return true;
  return pl_version_parse(a, strlen(a), &va) == 0 && pl_version_parse(b, strlen(b), &vb) == 0 &&
         pl_version_cmp(&va, &vb) == 0;
}

/* Before a wheel, or a tree from the cache, enters an environment: the
 * project's registry must sign exactly this file -- its name, length and
 * sha256, from verified metadata -- and the file must be the package and
 * version the lock says.  A cache is only as good as this check: a sha256
 * already cached through another project (another registry) proves nothing
 * for this one, and a target the registry withdrew is no longer signed. */
static int check_signed(struct pl_env *e, const struct pl_lock_package *p,
                        const struct pl_lock_wheel *w, pl_error_t *err) {
  const struct pl_tuf_target *t = NULL;
  if (pl_tuf_find_target(e->tuf, w->name, &t, err) < 0)
    return pl_fail_hint(err, PL_REFUSED, "re-lock against what the registry signs now: pylock lock",
                        "%s %s: %s is not signed by %s (withdrawn, or never published there)",
                        p->name, p->version, w->name, registry_of(e));
  bool same_hash = strcmp(t->sha256, w->sha256) == 0;
  if (!same_hash || (w->has_size && w->size != t->length))
    return pl_fail_hint(err, PL_REFUSED, "re-lock with: pylock lock",
                        "%s %s: %s does not sign %s%s for %s, as %s pins; it signs sha256 %s, "
                        "%llu bytes",
                        p->name, p->version, registry_of(e), same_hash ? "that length" : "sha256 ",
                        same_hash ? "" : w->sha256, w->name, PL_LOCK_FILE, t->sha256,
                        (unsigned long long)t->length);
  struct pl_wheel_filename fn;
  if (pl_wheel_filename_parse(w->name, &fn, err) < 0) return pl_error_wrap(err, "%s", p->name);
  bool same = pl_distname_equal(fn.name, strlen(fn.name), p->name, strlen(p->name)) &&
              same_version(fn.version, p->version);
  pl_wheel_filename_free(&fn);
  if (!same)
    return pl_fail(err, PL_REFUSED, "%s is not a wheel of %s %s, as %s says", w->name, p->name,
                   p->version, PL_LOCK_FILE);
  pl_log(PL_LOG_VERBOSE, "%s %s: %s is a target %s signs: %llu bytes, sha256 %s, as %s locks it",
         p->name, p->version, w->name, registry_of(e), (unsigned long long)t->length, t->sha256,
         PL_LOCK_FILE);
  return 0;
}

/* Wheels fetched together: a temporary file (an fd) each. */
#define FETCH_BATCH 64

/* The n wheels of want[] into the cache, fetched through the registry
 * together (in parallel over HTTP: pl_tuf_fetch_targets), each checked
 * against its signed length and sha256 as it arrives and again as it is
 * copied into the cache.  The wheel's own checks (zip, RECORD, tags) are
 * made where it is unpacked, before any of it is used, as for the wheels
 * the resolver's index server puts in the cache.  check_signed() has
 * vouched for each.  One wheel that fails fails them all, and none of
 * their temporary files stays. */
static int fetch_wheels(struct pl_env *e, struct pl_cache *c,
                        const struct pl_lock_wheel *const *want, size_t n, size_t *fetched,
                        pl_error_t *err) {
  char *tmp[FETCH_BATCH] = {0};
  const char *names[FETCH_BATCH] = {0};
  int fds[FETCH_BATCH] = {0};
  size_t opened = 0, failed = 0;
  int r = n <= FETCH_BATCH ? 0 : pl_fail(err, E2BIG, "fetch: %zu wheels at once", n);
  for (size_t i = 0; i < n && r == 0; i++) {
    say(e, "pylock: fetching %s", want[i]->name);
    names[i] = want[i]->name;
    /* Mode 0200: code in a sandbox, which sees it read-only, cannot open it
     * to take its lock first (flock needs no write access). */
    /* Locked while fetching, from before it has its name: pl_cache_sweep
     * leaves the file of a live fetch. */
    fds[i] = pl_tmpfile_open_locked_at(c->wheels_fd, "fetch", 0200, &tmp[i], err);
    if (fds[i] < 0) {
      r = pl_error_wrap(err, "cache %s/wheels", c->path);
      break;
    }
    opened++;
  }
  if (r == 0 && pl_tuf_fetch_targets(e->tuf, names, fds, n, &failed, err) < 0) r = -1;
  for (size_t i = 0; i < n && r == 0; i++) {
    r = pl_cache_wheel_store(c, fds[i], want[i]->sha256, err);
    if (r == 0) (*fetched)++;
  }
  for (size_t i = 0; i < opened; i++) {
    unlinkat(c->wheels_fd, tmp[i], 0);
    close(fds[i]);
    free(tmp[i]);
  }
  return r;
}

/* The wheel of `w` in the cache: fetched through the registry when absent. */
static int ensure_cached_wheel(struct pl_env *e, struct pl_cache *c, const struct pl_lock_wheel *w,
                               size_t *fetched, pl_error_t *err) {
  int fd = pl_cache_wheel_open(c, w->sha256, NULL);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return fetch_wheels(e, c, &w, 1, fetched, err);
}

/* Every selected wheel the cache lacks, fetched FETCH_BATCH at a time; but not
 * one whose tree (complete, or source) the cache has: the tree is what the
 * generation is made of.  If that tree proves damaged, sound_tree() fetches
 * the wheel to build it again.  So a cache that `cache clean` emptied of
 * wheels still builds generations from the trees it kept, offline too. */
static int fetch_missing(struct pl_env *e, struct pl_cache *c, size_t *fetched, pl_error_t *err) {
  const struct pl_lock_wheel *want[FETCH_BATCH];
  size_t n = 0;
  for (size_t i = 0; i <= e->lf.npackages; i++) {
    const struct pl_lock_wheel *w = i < e->lf.npackages ? chosen_wheel(e, i) : NULL;
    if (w) pl_progress_item(i + 1, e->lf.npackages, "getting %s", w->name);
    int fd = w ? pl_cache_wheel_open(c, w->sha256, NULL) : -1;
    if (fd >= 0) close(fd);
    if (w && fd < 0 && pl_cache_tree_named(c, w->sha256, &e->in)) continue;
    bool again = false;
    for (size_t k = 0; w && k < n; k++)
      again |= strcmp(want[k]->sha256, w->sha256) == 0;
    if (w && fd < 0 && !again) want[n++] = w;
    if ((n == FETCH_BATCH || (i == e->lf.npackages && n > 0)) &&
        (pl_interrupt_check(err) < 0 || fetch_wheels(e, c, want, n, fetched, err) < 0))
      return -1;
    if (n == FETCH_BATCH) n = 0;
  }
  return 0;
}

/* Every locked wheel, as the registry signs it now. */
static int check_all_signed(struct pl_env *e, pl_error_t *err) {
  if (pl_env_select(e, err) < 0) return -1;
  if (e->sel.nselected == 0) return 0;
  if (pl_env_update_trust(e, err) < 0) return -1;
  for (size_t i = 0; i < e->lf.npackages; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    const struct pl_lock_wheel *w = chosen_wheel(e, i);
    if (w && check_signed(e, p, w, err) < 0) return -1;
  }
  return 0;
}

/* generations/N.manifest: what generation n is made of (manifest.h). */
static int gen_manifest_name(unsigned n, char *buf, size_t cap) {
  int w = snprintf(buf, cap, "%s/%u.manifest", PL_GENERATIONS_DIR, n);
  return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int pl_env_write_gen_manifest(int state_fd, unsigned n, const struct pl_gen_manifest *g,
                              pl_error_t *err) {
  char name[64];
  cleanup_free char *text = NULL;
  size_t len = 0;
  if (gen_manifest_name(n, name, sizeof name) < 0) return pl_fail(err, EINVAL, "generation %u", n);
  if (pl_gen_manifest_format(g, &text, &len, err) < 0) return -1;
  return pl_write_file_atomic_at(state_fd, name, text, len, 0400, err);
}

/* The manifest g written to a temporary file beside `name` (*tmp), not
 * synced: its descriptor, which the caller fsyncs and renames
 * (pl_tmpfile_rename_at), or -1. */
static int write_gen_manifest_tmp(int state_fd, const char *name, const struct pl_gen_manifest *g,
                                  char **tmp, pl_error_t *err) {
  cleanup_free char *text = NULL;
  size_t len = 0;
  if (pl_gen_manifest_format(g, &text, &len, err) < 0) return -1;
  return pl_tmpfile_write_at(state_fd, name, text, len, 0400, tmp, err);
}

/* A cache tree's manifest, as its marker vouches for it, into m: 0, or 1
 * when it cannot be read or is not the one it was sealed with (why says
 * which), -1 on error.  Read from the tree linked (t->fd), not by name. */
static int add_tree_files(const struct pl_cache_tree *t, struct pl_manifest *m, char *why,
                          size_t cap, pl_error_t *err) {
  char hex[PL_SHA256_HEX];
  cleanup_free char *text = NULL;
  size_t len = 0;
  struct pl_manifest tm;
  pl_error_t e = NULL;
  if (pl_read_file_at(t->fd, PL_TREE_MANIFEST, PL_MANIFEST_MAX_BYTES, &text, &len, &e) < 0) {
    cleanup_free char *msg = pl_error_string(e);
    pl_error_free(&e);
    snprintf(why, cap, "its manifest: %s", msg ? msg : "unreadable");
    return 1; /* damaged: built again */
  }
  if (pl_sha256_hex(text, len, hex, err) < 0) return pl_error_wrap(err, "cache tree %s", t->key);
  if (strcmp(hex, t->manifest) != 0) {
    snprintf(why, cap, "its manifest is not the one it was built with");
    return 1;
  }
  if (pl_manifest_parse(text, len, PL_TREE_MANIFEST, &tm, err) < 0)
    return pl_error_wrap(err, "cache tree %s", t->key);
  int r = 0;
  for (size_t k = 0; r == 0 && k < tm.n; k++)
    r = pl_manifest_add(m, tm.e[k].path, tm.e[k].size, tm.e[k].mode, tm.e[k].sha256, err);
  pl_manifest_free(&tm);
  return r;
}

/* The generation's own files in place of the trees' (a RECORD rewritten to
 * list REQUESTED), then all sorted. */
static int merge_own_files(struct pl_manifest *all, const struct pl_manifest *own,
                           pl_error_t *err) {
  pl_manifest_sort(all);
  /* Looked up among the entries sorted here only: those added below go to
   * the end, unsorted until the last sort (a lookup past them missed a
   * RECORD now and then, which was added twice, its old hash first). */
  size_t sorted = all->n;
  for (size_t k = 0; k < own->n; k++) {
    struct pl_manifest head = {.e = all->e, .n = sorted}; /* e: moved by an add */
    struct pl_manifest_entry *have =
        (struct pl_manifest_entry *)pl_manifest_find(&head, own->e[k].path);
    if (have) {
      have->size = own->e[k].size;
      have->mode = own->e[k].mode;
      memcpy(have->sha256, own->e[k].sha256, PL_SHA256_HEX);
    } else if (pl_manifest_add(all, own->e[k].path, own->e[k].size, own->e[k].mode,
                               own->e[k].sha256, err) < 0) {
      return -1;
    }
  }
  pl_manifest_sort(all);
  return 0;
}

/* The files a generation has of its own (REQUESTED, its RECORD), hashed. */
static int add_own_files(int gen_fd, const char *dist_info, struct pl_manifest *m,
                         pl_error_t *err) {
  const char *names[] = {"REQUESTED", "RECORD"};
  for (size_t i = 0; i < 2; i++) {
    char path[PATH_MAX], hex[PL_SHA256_HEX];
    uint64_t size;
    mode_t mode;
    snprintf(path, sizeof path, "%s/%s", dist_info, names[i]);
    if (pl_manifest_hash_file(gen_fd, path, hex, &size, &mode, err) < 0 ||
        pl_manifest_add(m, path, size, mode, hex, err) < 0)
      return -1;
  }
  return 0;
}

/* generations/N.meta for generation n (complete, in place), built from the
 * lock `text` (parsed: lf), which root_fd/lock_name should hold: its hash,
 * that file's stat if it still holds the text (*same says), the sandbox
 * settings of lf, and n's stat fingerprint. */
static int write_meta(int root_fd, const char *lock_name, const char *text, size_t len,
                      int state_fd, unsigned n, const struct pl_lockfile *lf,
                      const struct pl_selection *sel, const char *stat, bool no_bytecode,
                      bool *same, pl_error_t *err) {
  struct pl_gen_meta m = {.packages = sel ? sel->nselected : lf->npackages,
                          .strict = lf->strict,
                          .no_network = lf->no_network,
                          .no_bytecode = no_bytecode};
  if (sel) snprintf(m.selection, sizeof m.selection, "%s", sel->key);
  char gen[64];
  snprintf(gen, sizeof gen, "%s/%u", PL_GENERATIONS_DIR, n);
  if (stat) {
    snprintf(m.stat, sizeof m.stat, "%s", stat); /* gathered while it was linked */
  } else {
    cleanup_close int gfd = openat(state_fd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (gfd < 0) return pl_fail(err, errno, "open %s", gen);
    if (pl_manifest_stat_digest(gfd, NULL, m.stat, err) < 0)
      return pl_error_wrap(err, "record of generation %u", n);
  }
  if (pl_meta_set_lock(&m, root_fd, lock_name, text, len, same, err) < 0)
    return pl_error_wrap(err, "record of generation %u", n);
  return pl_meta_write(state_fd, n, &m, err);
}

int pl_env_write_meta(int root_fd, int state_fd, unsigned n, const struct pl_lockfile *lf,
                      const char *text, size_t len, pl_error_t *err) {
  return write_meta(root_fd, PL_LOCK_FILE, text, len, state_fd, n, lf, NULL, NULL, false, NULL,
                    err);
}

/* Is t the tree of the wheel file `wheel`?  Its .dist-info is the one
 * unpacking held against that name (wheel.c); trees/<key> names no more
 * than the wheel's sha256, so the sealed tree of another wheel in its place
 * (another version's) passes every other check, and a fold would lead a
 * generation, and each one built again, into it. */
static bool tree_of_wheel(const struct pl_cache_tree *t, const char *wheel) {
  struct pl_wheel_filename fn;
  pl_error_t e = NULL;
  if (pl_wheel_filename_parse(wheel, &fn, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  const char *di = strrchr(t->dist_info, '/');
  di = di ? di + 1 : t->dist_info;
  size_t stem = strlen(di) > 10 ? strlen(di) - 10 : 0;
  const char *dash = memchr(di, '-', stem);
  size_t vl = dash ? stem - (size_t)(dash + 1 - di) : 0;
  char ver[PL_VERSION_MAX + 1];
  bool ok = dash && vl > 0 && vl <= PL_VERSION_MAX && strcmp(di + stem, ".dist-info") == 0 &&
            pl_distname_equal(di, (size_t)(dash - di), fn.name, strlen(fn.name));
  if (ok) {
    memcpy(ver, dash + 1, vl);
    ver[vl] = '\0';
    ok = pl_version_matches_filename(ver, fn.version, strlen(fn.version));
  }
  pl_wheel_filename_free(&fn);
  return ok;
}

/* Can the damaged tree (source: source tree) of package p, of wheel w, be
 * built again?  It needs the wheel: offline, one the cache lacks (cache
 * clean removed it) cannot be had, and the tree is left where it is, not
 * quarantined, so that the generations folding into it keep it until a
 * sync with the network builds it again.  false with *err set. */
static bool rebuildable(struct pl_env *e, struct pl_cache *c, const struct pl_lock_package *p,
                        const struct pl_lock_wheel *w, bool source, const char *why,
                        pl_error_t *err) {
  if (!e->offline) return true;
  int wfd = pl_cache_wheel_open(c, w->sha256, NULL);
  if (wfd >= 0) {
    close(wfd);
    return true;
  }
  pl_fail_hint(err, ENETDOWN, "run again without --offline",
               "the cached %stree of %s %s is damaged (%s), and --offline cannot build it again: "
               "its wheel is not in the cache",
               source ? "source " : "", p->name, p->version, why);
  return false;
}

/* A tree found damaged (its directory's identity, and why), as it was
 * linked or checked: no generation of this change takes it, and each is
 * built again in its place.  `told`: said and counted. */
struct pl_env_damaged {
  char key[PL_CACHE_TREE_KEY_MAX];
  dev_t dev;
  ino_t ino;
  char why[128];
  bool told;
};

static struct pl_env_damaged *damaged_find(const struct pl_env *e, const char *key,
                                           const struct stat *st) {
  for (size_t i = 0; i < e->ndamaged; i++)
    if (strcmp(e->damaged[i].key, key) == 0 && e->damaged[i].dev == st->st_dev &&
        e->damaged[i].ino == st->st_ino)
      return &e->damaged[i];
  return NULL;
}

static int damaged_add(struct pl_env *e, const char *key, const struct stat *st, const char *why,
                       bool told, pl_error_t *err) {
  struct pl_env_damaged *d = damaged_find(e, key, st);
  if (d == NULL) {
    d = realloc(e->damaged, (e->ndamaged + 1) * sizeof *d);
    if (d == NULL) return pl_fail(err, ENOMEM, "generation");
    e->damaged = d;
    d = &e->damaged[e->ndamaged++];
    snprintf(d->key, sizeof d->key, "%s", key);
    snprintf(d->why, sizeof d->why, "%s", why);
    d->dev = st->st_dev;
    d->ino = st->st_ino;
    d->told = false;
  }
  d->told |= told;
  return 0;
}

/* The cached tree (source: the source tree) of package p, checked: one
 * of another wheel, one this change found damaged (e->damaged), or one
 * whose stat fingerprint changed since it was sealed (or, with `full`, any
 * byte of which differs from its manifest) is built again; `linked`: it is
 * linked next, which checks the fingerprint.  A damaged tree stays where it
 * is until the tree built again under its key replaces it in one step
 * (pl_cache_batch_replace: generations folding into it never find it
 * missing); one batch b does not build (a complete tree where b builds
 * source trees, or the other way) stays too, taken by no generation of
 * this change, and is replaced by the one that builds it (a byte-compiling
 * after the switch, another sync).  1: found and sound (tree filled); 0:
 * absent, or to be built again. */
static int checked_tree(struct pl_env *e, struct pl_cache *c, struct pl_cache_batch *b,
                        const struct pl_lock_package *p, const struct pl_lock_wheel *w, bool source,
                        bool linked, bool full, struct pl_cache_tree *tree,
                        struct pl_sync_result *res, pl_error_t *err) {
  int r = source ? pl_cache_tree_find_source(c, w->sha256, &e->in, tree, err)
                 : pl_cache_tree_find(c, w->sha256, &e->in, tree, err);
  if (r < 0) return pl_error_wrap(err, "%s", p->name);
  if (r == 0) return 0;
  bool marked = r == 1; /* to be marked damaged; else no marker that parses */
  char why[512];
  struct stat st;
  bool have = fstat(tree->fd, &st) == 0;
  struct pl_env_damaged *seen = have ? damaged_find(e, tree->key, &st) : NULL;
  if (r == 2) {
    snprintf(why, sizeof why, "its marker %s is missing or does not parse", PL_TREE_MARKER);
  } else if (!tree_of_wheel(tree, w->name)) {
    /* Wrong for the lock's name, perhaps not for its key: a registry may
     * sign a wheel's bytes under another name.  Not marked for others. */
    marked = false;
    const char *di = strrchr(tree->dist_info, '/');
    snprintf(why, sizeof why, "it holds %s, not %s", di ? di + 1 : tree->dist_info, w->name);
  } else if (seen) {
    snprintf(why, sizeof why, "%s", seen->why);
  } else {
    /* The cheap check (the stat fingerprint) of a tree about to be linked
     * is linking's own: link_trees(). */
    if (linked && !full && tree->stat[0]) return 1;
    r = pl_cache_tree_check(c, tree, full, why, sizeof why, err);
    if (r <= 0) return r < 0 ? -1 : 1;
  }
  if (!rebuildable(e, c, p, w, source, why, err)) {
    pl_cache_tree_release(tree);
    return -1;
  }
  /* A tree of the kind this batch does not build stays where it is (other
   * generations fold into it) until a build of its kind replaces it. */
  bool replaced = source == b->source_only;
  if (seen == NULL || !seen->told) {
    say(e, "pylock: the cached %stree of %s %s is damaged (%s): %s", source ? "source " : "",
        p->name, p->version, why,
        replaced  ? "building it again"
        : !source ? "building it again with the byte-code, after the switch"
                  : "not used here; projects still using it get a sound one at their next sync");
    if (replaced) res->repaired++;
  }
  /* Its own bytes damaged: so for every pylock from now on, this change's
   * later generations and byte-compiling too, whichever process builds
   * them (its marker removed). */
  if (marked && have && pl_cache_tree_mark_damaged(tree, err) < 0) {
    pl_cache_tree_release(tree);
    return -1;
  }
  char key[PL_CACHE_TREE_KEY_MAX];
  snprintf(key, sizeof key, "%s", tree->key);
  pl_cache_tree_release(tree);
  if (!have) return pl_cache_quarantine_tree(c, key, err) < 0 ? -1 : 0;
  if (damaged_add(e, key, &st, why, true, err) < 0) return -1;
  if (replaced && pl_cache_batch_replace(b, key, &st, err) < 0) return -1;
  return 0;
}

/* The tree of package p for a new generation, checked (checked_tree): the
 * complete tree; else, for a source-only batch, its source tree; else one
 * built -- from its source tree (linked, then byte-compiled) when there is
 * one, else from its wheel.  A cached wheel whose bytes no longer hash to
 * the signed sha256 is quarantined and fetched again through the signature
 * check.  1: found and sound (tree filled); 0: to be built, added to b. */
static int sound_tree(struct pl_env *e, struct pl_cache *c, struct pl_cache_batch *b,
                      const struct pl_lock_package *p, const struct pl_lock_wheel *w, bool full,
                      struct pl_cache_tree *tree, struct pl_sync_result *res, pl_error_t *err) {
  int r = checked_tree(e, c, b, p, w, false, true, full, tree, res, err);
  if (r != 0) return r;
  r = checked_tree(e, c, b, p, w, true, b->source_only, full, tree, res, err);
  if (r < 0) return -1;
  if (r == 1 && b->source_only) return 1;
  if (r == 1) {
    r = pl_cache_batch_add_source(b, tree, err);
    pl_cache_tree_release(tree);
    return r < 0 ? pl_error_wrap(err, "%s", p->name) : 0;
  }
  /* Absent when fetch_missing() found a tree, which proved damaged. */
  if (ensure_cached_wheel(e, c, w, &res->fetched, err) < 0) return -1;
  for (int attempt = 0;; attempt++) {
    if (pl_cache_batch_add(b, w->sha256, -1, w->name, err) == 0) return 0;
    if (attempt > 0 || (*err)->errnum != EBADMSG) return pl_error_wrap(err, "%s", p->name);
    say(e, "pylock: the cached wheel %s is damaged (%s): fetching it again", w->name, (*err)->msg);
    pl_error_free(err);
    if (pl_cache_quarantine_wheel(c, w->sha256, err) < 0 ||
        ensure_cached_wheel(e, c, w, &res->fetched, err) < 0)
      return -1;
    res->repaired++;
  }
}

/* The trees of batch b, built, into trees[0..upto) where still missing. */
static int collect(struct pl_env *e, struct pl_cache_batch *b, struct pl_cache_tree *trees,
                   size_t upto, struct pl_sync_result *res, pl_error_t *err) {
  if (b->n && !b->source_only) say(e, "pylock: byte-compiling %zu packages", b->n);
  int r = pl_cache_batch_finish(b, err);
  for (size_t i = 0; i < upto && r == 0; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    const struct pl_lock_wheel *w = chosen_wheel(e, i);
    if (w == NULL || trees[i].fd >= 0) continue;
    r = pl_cache_batch_tree(b, w->sha256, &trees[i], err);
    if (r < 0) {
      pl_error_wrap(err, "%s %s", p->name, p->version);
    } else if (trees[i].built) {
      res->built++;
      say(e, "pylock: unpacked %s %s (%llu files)", p->name, p->version,
          (unsigned long long)trees[i].files);
      pl_log(PL_LOG_VERBOSE,
             "%s %s: %s checked: zip entries safe (no absolute or .. paths, links, devices or "
             "duplicates; sizes bounded), every file as RECORD lists it and nothing unlisted, "
             "WHEEL and METADATA match its name, tags fit the base; unpacked%s into cache tree %s",
             p->name, p->version, w->name, b->source_only ? "" : " and byte-compiled",
             trees[i].key);
      pl_pause("unpacked");
    }
  }
  pl_cache_batch_release(b);
  return r;
}

/* Every package's tree into trees[] (in lock order): found in the cache,
 * or built, those missing together (one byte-compiling pool a batch);
 * `sources`: a source tree will do, and those missing are built so. */
static int sound_trees(struct pl_env *e, struct pl_cache *c, bool full, bool sources,
                       struct pl_cache_tree *trees, struct pl_sync_result *res, pl_error_t *err) {
  struct pl_cache_batch b;
  pl_cache_batch_init(&b, c, &e->in);
  b.source_only = sources;
  pl_progress_begin("unpacking and compiling");
  double mark = pl_log_clock_ms();
  for (size_t i = 0; i < e->lf.npackages; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    const struct pl_lock_wheel *w = chosen_wheel(e, i);
    if (w == NULL) continue; /* not for this interpreter, or these extras and groups */
    pl_progress_item(i + 1, e->lf.npackages, "unpacking and compiling %s %s", p->name, p->version);
    int r = pl_interrupt_check(err);
    if (r == 0) r = sound_tree(e, c, &b, p, w, full, &trees[i], res, err);
    if (r == 1)
      pl_log(PL_LOG_VERBOSE, "%s %s: cache tree %s, checked when it was built; %s", p->name,
             p->version, trees[i].key,
             full ? "every byte hashed against its manifest" : "unchanged since it was sealed");
    if (r < 0) {
      pl_progress_end();
      pl_cache_batch_release(&b);
      return pl_error_wrap(err, "%s %s", p->name, p->version);
    }
    if (b.n == PL_CACHE_BATCH_MAX && collect(e, &b, trees, i + 1, res, err) < 0) {
      pl_progress_end();
      return -1;
    }
  }
  pl_progress_end();
  pl_log_phase(&mark, "wheels checked and unpacked");
  return collect(e, &b, trees, e->lf.npackages, res, err);
}

/* When e->lf makes the project's sandboxes looser than the current
 * generation was synced with, say so, or with keep_policy (a sync nobody
 * asked for: the shim's auto-sync) refuse.  Runs keep the record's settings
 * until then (launch.c): code in a sandbox can write pylock.toml. */
static int check_looser(struct pl_env *e, pl_error_t *err) {
  unsigned cur = 0;
  struct pl_gen_meta m;
  if (pl_gen_current(e->state_fd, &cur, NULL) < 0 || cur == 0 ||
      pl_meta_read(e->state_fd, cur, &m, NULL) < 0)
    return 0;
  const char *what = m.strict && !e->lf.strict ? "makes this project's sandboxes --strict"
                     : m.no_network && !e->lf.no_network
                         ? "keeps this project's sandboxes off the network"
                         : NULL;
  if (what == NULL) return 0;
  if (e->keep_policy)
    return pl_fail_hint(err, EPERM, "if you made that change, accept it with: pylock sync",
                        "%s no longer %s: not synced automatically", PL_LOCK_FILE, what);
  say(e, "pylock: note: %s no longer %s", PL_LOCK_FILE, what);
  return 0;
}

/* Take generation files dist_info/REQUESTED and dist_info/RECORD out of
 * (add: into) the fingerprint gathered while linking, around rewriting them. */
static void print_own(int gen_fd, const char *dist_info, struct pl_stat_sum *sum, bool add) {
  static const char *const names[] = {"RECORD", "REQUESTED"};
  for (size_t k = 0; k < 2; k++) {
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dist_info, names[k]);
    if (fstatat(gen_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (add)
      pl_stat_sum_add(sum, path, &st);
    else
      pl_stat_sum_remove(sum, path, &st);
  }
}

/* pip's REQUESTED for the distribution linked from a tree at dist_info:
 * written into generation gen_fd with its RECORD row, the fingerprint sum
 * told, the two files into own. */
static int mark_requested(int gen_fd, const struct pl_cache_tree *tree, struct pl_stat_sum *sum,
                          struct pl_manifest *own, pl_error_t *err) {
  const char *dist_info = tree->dist_info;
  print_own(gen_fd, dist_info, sum, false);
  if (pl_envgen_mark_requested(gen_fd, tree->fd, dist_info, err) < 0) return -1;
  print_own(gen_fd, dist_info, sum, true);
  return add_own_files(gen_fd, dist_info, own, err);
}

/* The entries of from (one tree's own files) added to own; from freed. */
static int take_own_files(struct pl_manifest *own, struct pl_manifest *from, pl_error_t *err) {
  int r = 0;
  for (size_t k = 0; r == 0 && k < from->n; k++)
    r = pl_manifest_add(own, from->e[k].path, from->e[k].size, from->e[k].mode, from->e[k].sha256,
                        err);
  pl_manifest_free(from);
  return r;
}

/* The files of its own a generation's fsync opens at once: a tree per
 * package is open already, and a project may ask for hundreds. */
#define SYNC_OPEN_MAX 32

/* fsync generation gen_fd's directory, the files pylock wrote into it
 * (own) and `also` (its manifest), several at once. */
static int sync_generation(int gen_fd, const struct pl_manifest *own, int also, pl_error_t *err) {
  int fds[SYNC_OPEN_MAX + 2];
  size_t i = 0;
  do {
    size_t n = 0;
    int r = 0;
    for (; r == 0 && i < own->n && n < SYNC_OPEN_MAX; i++) {
      fds[n] = openat(gen_fd, own->e[i].path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fds[n] < 0)
        r = pl_fail(err, errno, "open %s", own->e[i].path);
      else
        n++;
    }
    size_t opened = n;
    if (i == own->n) {
      fds[n++] = gen_fd;
      fds[n++] = also;
    }
    if (r == 0) r = pl_fsync_all(fds, n, err);
    for (size_t k = 0; k < opened; k++)
      close(fds[k]);
    if (r < 0) return -1;
  } while (i < own->n);
  return 0;
}

#define LINK_THREADS_MAX 4

/* The trees linked by a few threads at once (each tree by one), largest
 * first: a warm sync is a system call per file, and the kernel links into
 * different directories side by side. */
struct link_pool {
  int gen_fd;
  const struct pl_lockfile *lf;
  const struct pl_cache_tree *trees;
  const struct pl_fold *folds;  /* one per package */
  struct pl_link_print *prints; /* one per package, filled by whoever linked it */
  struct pl_manifest *owns;     /* one per package: the files pylock wrote for it */
  size_t *order;                /* the packages to link, largest tree first */
  size_t n;
  atomic_size_t next;
  atomic_bool failed;
};

static void link_some(void *arg) {
  struct link_pool *lp = arg;
  for (size_t k; !atomic_load(&lp->failed) && (k = atomic_fetch_add(&lp->next, 1)) < lp->n;) {
    size_t i = lp->order[k];
    pl_error_t err = NULL;
    const struct pl_cache_tree *t = &lp->trees[i];
    if (pl_interrupt_check(&err) < 0 ||
        pl_envgen_link_tree(lp->gen_fd, t->fd, &lp->folds[i], NULL, &lp->prints[i], &err) < 0 ||
        (lp->lf->packages[i].requested &&
         mark_requested(lp->gen_fd, t, &lp->prints[i].gen, &lp->owns[i], &err) < 0))
      atomic_store(&lp->failed, true);
    pl_error_free(&err);
  }
}

static int by_files(const void *a, const void *b, void *trees) {
  const struct pl_cache_tree *t = trees;
  uint64_t x = t[*(const size_t *)a].files, y = t[*(const size_t *)b].files;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Link every tree chosen into gen_fd in `threads` threads, each tree's print
 * into *prints and the files written for a requested one into *owns (one of
 * each per package, the caller frees them): 0, or 1 when one could not be
 * linked (the caller links them again one after another, where the error, a
 * conflict say, is found and reported as it always is), -1. */
static int link_parallel(struct pl_env *e, int gen_fd, const struct pl_cache_tree *trees,
                         const struct pl_fold *folds, unsigned threads,
                         struct pl_link_print **prints, struct pl_manifest **owns,
                         pl_error_t *err) {
  size_t n = e->lf.npackages;
  struct link_pool lp = {.gen_fd = gen_fd, .lf = &e->lf, .trees = trees, .folds = folds};
  *prints = lp.prints = calloc(n ? n : 1, sizeof *lp.prints);
  *owns = lp.owns = calloc(n ? n : 1, sizeof *lp.owns);
  cleanup_free size_t *order = lp.order = calloc(n ? n : 1, sizeof *order);
  if (lp.prints == NULL || lp.owns == NULL || order == NULL) return pl_fail(err, ENOMEM, "link");
  /* Loaded here, not by two threads at once (REQUESTED's hashes). */
  if (pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  for (size_t i = 0; i < n; i++)
    if (chosen_wheel(e, i)) order[lp.n++] = i;
  qsort_r(order, lp.n, sizeof *order, by_files, (void *)trees);
  atomic_init(&lp.next, 0);
  atomic_init(&lp.failed, false);
  pl_parallel(threads < lp.n ? threads : (unsigned)lp.n, link_some, &lp);
  if (!atomic_load(&lp.failed)) return 0;
  /* Interrupted: said now, not after the generation is made again. */
  return pl_interrupt_check(err) < 0 ? -1 : 1;
}

static void free_linked(struct pl_link_print *prints, struct pl_manifest *owns, size_t n) {
  for (size_t i = 0; prints && i < n; i++)
    pl_link_print_free(&prints[i]);
  for (size_t i = 0; owns && i < n; i++)
    pl_manifest_free(&owns[i]);
  free(prints);
  free(owns);
}

/* link_trees, the trees already linked into `linked` and `owns` (or linked
 * here when NULL), each checked in order. */
static int link_checked(struct pl_env *e, struct pl_cache *c, int gen_fd,
                        struct pl_cache_tree *trees, const struct pl_fold *folds,
                        struct pl_link_print *linked, struct pl_manifest *owns,
                        struct pl_gen_manifest *gm, struct pl_manifest *own,
                        struct pl_link_print *print, size_t *bad, char *why, size_t cap,
                        pl_error_t *err) {
  for (size_t i = 0; i < e->lf.npackages; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    const struct pl_lock_wheel *w = chosen_wheel(e, i);
    if (w == NULL) continue; /* not for this interpreter, or these extras and groups */
    struct pl_cache_tree *tree = &trees[i];
    if (pl_interrupt_check(err) < 0) return -1;
    char now[PL_STAT_DIGEST_LEN + 1];
    print->tree = (struct pl_stat_sum){0};
    if (linked) {
      if (pl_link_print_take(print, &linked[i], err) < 0) return -1;
    } else if (pl_envgen_link_tree(gen_fd, tree->fd, &folds[i], NULL, print, err) < 0) {
      /* An entry of the tree gone or unreadable fails linking before the
       * fingerprints can be compared: damage, when a walk of the tree
       * agrees (not a conflict, nor a full disk), built again like any. */
      pl_error_t e2 = NULL;
      int r = pl_cache_tree_check(c, tree, false, why, cap, &e2);
      pl_error_free(&e2);
      if (r != 1) return -1;
      pl_error_free(err);
      *bad = i;
      return 0;
    }
    pl_stat_sum_digest(&print->tree, now);
    if (strcmp(now, tree->stat) != 0) {
      snprintf(why, cap, "a file in it was written, added or removed since it was built");
      *bad = i;
      return 0;
    }
    int r = pl_gen_manifest_add_tree(gm, tree->key, tree->manifest, w->name, err);
    if (r == 0) r = add_tree_files(tree, &gm->files, why, cap, err);
    if (r == 1) {
      *bad = i;
      return 0;
    }
    if (r == 0 && p->requested)
      r = linked ? take_own_files(own, &owns[i], err)
                 : mark_requested(gen_fd, tree, &print->gen, own, err);
    if (r < 0) return -1;
  }
  return 0;
}

/* How each tree is folded into the generation (envgen.h). */
struct folds {
  struct pl_fold *fold; /* one per package */
  char **shared;        /* the names two trees or more have at the top of a lib */
  size_t nshared;
};

static void free_folds(struct folds *f, size_t n) {
  for (size_t i = 0; f->fold && i < n; i++)
    free((char *)f->fold[i].tree);
  free(f->fold);
  for (size_t i = 0; i < f->nshared; i++)
    free(f->shared[i]);
  free(f->shared);
  memset(f, 0, sizeof *f);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names at the top of `lib` in tree t, each once, onto *names. */
static int lib_names(const struct pl_cache_tree *t, const char *lib, char ***names, size_t *n,
                     size_t *cap, pl_error_t *err) {
  pl_error_t absent = NULL;
  int fd = pl_open_dir_beneath(t->fd, lib, &absent);
  if (fd < 0) {
    int e = absent->errnum;
    pl_error_free(&absent);
    return e == ENOENT ? 0 : pl_fail(err, e, "cache tree %s: open %s", t->key, lib);
  }
  cleanup_dir DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return pl_fail(err, errno, "cache tree %s: read %s", t->key, lib);
  }
  struct dirent *de;
  while ((errno = 0, de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 256;
      char **v = realloc(*names, nc * sizeof *v);
      if (v == NULL) return pl_fail(err, ENOMEM, "generation");
      *names = v;
      *cap = nc;
    }
    if (((*names)[*n] = strdup(de->d_name)) == NULL) return pl_fail(err, ENOMEM, "generation");
    (*n)++;
  }
  return errno ? pl_fail(err, errno, "cache tree %s: read %s", t->key, lib) : 0;
}

/* Has the base interpreter `name` at the top of one of its libs?  The
 * overlay merges a directory of the generation with the base's of that
 * name, but a link there would hide the base's whole directory (its pip,
 * say), file by file what pl_install refuses a wheel to shadow.  A lookup
 * that fails for another reason than absence says it has. */
static bool base_has(int base_fd, const char *const libs[2], const char *name) {
  char path[PATH_MAX];
  struct stat st;
  for (size_t k = 0; k < 2; k++) {
    if (libs[k] == NULL) continue;
    int n = snprintf(path, sizeof path, "%s%s%s", libs[k], libs[k][0] ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof path ||
        fstatat(base_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
      return true;
  }
  return false;
}

/* Every chosen tree's fold: its path, the interpreter's lib directories,
 * and the names that stay directories of links: those two trees or more
 * have there (a namespace package, say), and those the base has. */
static int make_folds(struct pl_env *e, const struct pl_cache *c, const struct pl_cache_tree *trees,
                      struct folds *f, pl_error_t *err) {
  size_t np = e->lf.npackages;
  const char *libs[2];
  if (pl_interp_libs(&e->in, libs) < 0)
    return pl_fail(err, EINVAL, "install scheme of %s is outside its prefix", e->in.python);
  cleanup_close int base_fd = open(e->in.prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (base_fd < 0) return pl_fail(err, errno, "open %s", e->in.prefix);
  if ((f->fold = calloc(np ? np : 1, sizeof *f->fold)) == NULL)
    return pl_fail(err, ENOMEM, "generation");
  char **all = NULL;
  size_t n = 0, cap = 0;
  int r = 0;
  for (size_t i = 0; r == 0 && i < np; i++) {
    if (!chosen_wheel(e, i)) continue;
    size_t from = n;
    for (size_t k = 0; r == 0 && k < 2; k++)
      if (libs[k]) r = lib_names(&trees[i], libs[k], &all, &n, &cap, err);
    /* A name in both libs of one tree counts once. */
    if (r == 0 && libs[1] && n - from > 1) {
      qsort(all + from, n - from, sizeof *all, cmp_names);
      size_t w = from;
      for (size_t k = from; k < n; k++) {
        if (w > from && strcmp(all[k], all[w - 1]) == 0) {
          free(all[k]);
          continue;
        }
        all[w++] = all[k];
      }
      n = w;
    }
    if (r == 0 && asprintf((char **)&f->fold[i].tree, "%s/trees/%s", c->path, trees[i].key) < 0) {
      f->fold[i].tree = NULL;
      r = pl_fail(err, ENOMEM, "generation");
    }
    f->fold[i].libs[0] = libs[0];
    f->fold[i].libs[1] = libs[1];
  }
  if (r == 0 && n) qsort(all, n, sizeof *all, cmp_names);
  for (size_t k = 0; r == 0 && k < n; k++) {
    if (k > 0 && strcmp(all[k], all[k - 1]) == 0) continue; /* taken at its first */
    bool two = k + 1 < n && strcmp(all[k], all[k + 1]) == 0;
    if (!two && !base_has(base_fd, libs, all[k])) continue;
    char **v = realloc(f->shared, (f->nshared + 1) * sizeof *v);
    if (v == NULL || (v[f->nshared] = strdup(all[k])) == NULL) {
      if (v) f->shared = v;
      r = pl_fail(err, ENOMEM, "generation");
      break;
    }
    f->shared = v;
    f->nshared++;
  }
  for (size_t k = 0; k < n; k++)
    free(all[k]);
  free(all);
  for (size_t i = 0; r == 0 && i < np; i++) {
    f->fold[i].shared = f->shared;
    f->fold[i].nshared = f->nshared;
  }
  return r;
}

/* Link every tree into gen_fd, the generation's manifest into gm (and the
 * files pylock writes itself into own), its fingerprint into print.  Each
 * tree is checked as it is linked: its stat fingerprint (manifest.h) and its
 * manifest must be what it was sealed with; else *bad is its index and why
 * says what, and the generation must be discarded.  `threads` > 1: linked
 * that many at a time, and 1 returned when one could not be (the caller
 * discards the generation and links them one after another instead). */
static int link_trees(struct pl_env *e, struct pl_cache *c, int gen_fd, struct pl_cache_tree *trees,
                      unsigned threads, struct pl_gen_manifest *gm, struct pl_manifest *own,
                      struct pl_link_print *print, size_t *bad, char *why, size_t cap,
                      pl_error_t *err) {
  struct pl_link_print *linked = NULL;
  struct pl_manifest *owns = NULL;
  struct folds f = {0};
  int r = make_folds(e, c, trees, &f, err);
  if (r == 0 && threads > 1)
    r = link_parallel(e, gen_fd, trees, f.fold, threads, &linked, &owns, err);
  if (r == 0)
    r = link_checked(e, c, gen_fd, trees, f.fold, linked, owns, gm, own, print, bad, why, cap, err);
  free_linked(linked, owns, e->lf.npackages);
  free_folds(&f, e->lf.npackages);
  return r;
}

/* Build generation *out from e->lf, parsed from `text`, complete and in
 * place (not current): its files, manifest and record, which names the lock
 * file root/lock_name; *same: that file still holds `text` (write_meta).
 * `sources`: of source trees where no complete tree is cached; *nsource
 * says how many it holds (its record then says bytecode=no). */
static int build_generation(struct pl_env *e, const char *lock_name, const char *text, size_t len,
                            bool full, bool sources, struct pl_sync_result *res, unsigned *out,
                            bool *same, size_t *nsource, pl_error_t *err) {
  /* Until generation N, whose manifest names every tree it uses, is in
   * place, gc leaves the cache alone (gc.h). */
  cleanup_close int cache_hold = pl_gc_hold_cache(&e->state, e->progress, e->progress_ctx, err);
  if (cache_hold < 0) return -1;
  /* A crashed change left a partial generation: it was never current. */
  if (pl_gen_remove_partials(e->state_fd, err) < 0) return -1;
  if (check_looser(e, err) < 0) return -1;
  struct pl_cache c;
  if (open_cache(e, &c, err) < 0) return -1;
  pl_cache_sweep(&c);
  int rc = -1;
  unsigned n = 0;
  char tmpname[64] = "", final[64] = "", manifest[64];
  cleanup_free char *manifest_tmp = NULL; /* the manifest's name until renamed */
  int mfd = -1;
  cleanup_close int gen_fd = -1;
  struct pl_gen_manifest gm = {0};
  struct pl_manifest own = {0};
  struct pl_link_print print = {0};
  char gen_stat[PL_STAT_DIGEST_LEN + 1];
  struct pl_cache_tree *trees = NULL;
  double t0 = now_ms();
  pl_progress_begin("getting the wheels");
  if (fetch_missing(e, &c, &res->fetched, err) < 0) goto out;
  pl_progress_end();
  double t1 = now_ms();
  res->ms_fetch = t1 - t0;
  pl_log_phase(&t0, "wheels fetched and checked");
  pl_pause("fetched");

  if (pl_gen_next(e->state_fd, &n, err) < 0) goto out;
  snprintf(tmpname, sizeof tmpname, "%s/.%u.tmp", PL_GENERATIONS_DIR, n);
  snprintf(final, sizeof final, "%s/%u", PL_GENERATIONS_DIR, n);
  if (pl_envgen_create_at(e->state_fd, tmpname, &e->in, err) < 0) goto out;
  gen_fd = openat(e->state_fd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gen_fd < 0) {
    pl_fail(err, errno, "open %s", tmpname);
    goto out;
  }
  double build = now_ms(), link = 0;
  trees = calloc(e->lf.npackages ? e->lf.npackages : 1, sizeof *trees);
  if (trees == NULL) {
    pl_fail(err, ENOMEM, "generation");
    goto out;
  }
  for (size_t i = 0; i < e->lf.npackages; i++)
    trees[i].fd = -1;
  /* Linking is system calls into a few directories: past a few threads
   * they wait on each other's directory locks. */
  unsigned threads = pl_cpus() < LINK_THREADS_MAX ? pl_cpus() : LINK_THREADS_MAX;
  /* A tree found damaged while linked is built again, and the generation
   * with it: each round builds one tree again (a package has two at most: its
   * complete tree, then the source tree it would be made from), and the
   * rounds are bounded below, so this ends. */
  size_t redone = 0; /* rounds that built nothing again (linked in threads, then again) */
  for (size_t round = 0;; round++) {
    if (sound_trees(e, &c, full, sources, trees, res, err) < 0) goto out;
    if (round == 0) {
      link = now_ms();
      build = link - build;
    }
    size_t bad = SIZE_MAX;
    char why[128];
    int linked =
        link_trees(e, &c, gen_fd, trees, threads, &gm, &own, &print, &bad, why, sizeof why, err);
    if (linked < 0) goto out;
    if (linked == 0 && bad == SIZE_MAX) break;
    /* linked == 1: a tree linked beside others failed; the generation is
     * made again with one tree after another, as the error is reported then. */
    if (linked == 1) {
      threads = 1;
      redone++;
    }
    /* The tree found damaged, as it is: the next round takes it for
     * damaged (checked_tree) and builds it again in its place -- if its
     * name still holds it then, not one another sync has built since. */
    if (linked == 0) {
      struct stat was;
      if (fstat(trees[bad].fd, &was) == 0 &&
          damaged_add(e, trees[bad].key, &was, why, false, err) < 0)
        goto out;
      pl_pause("quarantine");
    }
    for (size_t i = 0; i < e->lf.npackages; i++)
      pl_cache_tree_release(&trees[i]);
    pl_gen_manifest_free(&gm);
    pl_manifest_free(&own);
    pl_link_print_free(&print);
    memset(&gm, 0, sizeof gm);
    close(gen_fd);
    gen_fd = -1;
    if (pl_gen_remove(e->state_fd, tmpname + sizeof PL_GENERATIONS_DIR, err) < 0) goto out;
    if (round + 1 - redone > 2 * e->lf.npackages) { /* trees built again so far */
      pl_fail_hint(err, EIO, "check what else writes to the cache",
                   "cache trees keep changing while they are linked (%s)", c.path);
      goto out;
    }
    if (pl_envgen_create_at(e->state_fd, tmpname, &e->in, err) < 0) goto out;
    gen_fd = openat(e->state_fd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (gen_fd < 0) {
      pl_fail(err, errno, "open %s", tmpname);
      goto out;
    }
  }
  *nsource = 0;
  for (size_t i = 0; i < e->lf.npackages; i++)
    if (chosen_wheel(e, i)) *nsource += trees[i].source;
  res->ms_build = build;
  res->ms_link = now_ms() - link;
  pl_log_phase(&link, "trees linked into the generation");
  if (pl_envgen_print_digest(gen_fd, &e->in, &print, gen_stat, err) < 0) goto out;
  pl_pause("linked");
  if (gen_manifest_name(n, manifest, sizeof manifest) < 0) {
    pl_fail(err, EINVAL, "generation %u", n);
    goto out;
  }
  if (merge_own_files(&gm.files, &own, err) < 0 ||
      (mfd = write_gen_manifest_tmp(e->state_fd, manifest, &gm, &manifest_tmp, err)) < 0)
    goto out;
  /* Complete on disk, with its manifest, before either has its name. */
  if (sync_generation(gen_fd, &own, mfd, err) < 0) {
    close(mfd);
    unlinkat(e->state_fd, manifest_tmp, 0);
    pl_error_wrap(err, "%s", tmpname);
    goto out;
  }
  if (pl_tmpfile_rename_at(e->state_fd, mfd, manifest_tmp, manifest, err) < 0) goto out;
  res->files = gm.files.n; /* every file of it, as pylock verify counts them */
  if (renameat(e->state_fd, tmpname, e->state_fd, final) < 0) {
    pl_fail(err, errno, "rename %s to %s", tmpname, final);
    goto out;
  }
  pl_log_phase(&link, "generation sealed and its manifest written");
  tmpname[0] = '\0';
  pl_pause("built");
  if (write_meta(e->root_fd, lock_name, text, len, e->state_fd, n, &e->lf, &e->sel, gen_stat,
                 *nsource > 0, same, err) < 0)
    goto out;
  *out = n;
  rc = 0;
out:
  pl_progress_end();
  if (tmpname[0]) pl_gen_remove(e->state_fd, tmpname + sizeof PL_GENERATIONS_DIR, NULL);
  if (rc < 0 && err && *err && ((*err)->errnum == ENOSPC || (*err)->errnum == EDQUOT))
    pl_error_set_hint(err,
                      "nothing changed; free space where pylock's state (%s) lives, then retry: "
                      "pylock sync",
                      e->state.path);
  for (size_t i = 0; trees && i < e->lf.npackages; i++)
    pl_cache_tree_release(&trees[i]);
  free(trees);
  pl_gen_manifest_free(&gm);
  pl_manifest_free(&own);
  pl_link_print_free(&print);
  pl_cache_close(&c);
  return rc;
}

/* The keys of the trees a generation folds into, each once. */
struct fold_keys {
  char **v;
  size_t n;
};

static int add_fold_key(void *ctx, const char *key, size_t klen) {
  struct fold_keys *k = ctx;
  for (size_t i = 0; i < k->n; i++)
    if (strlen(k->v[i]) == klen && memcmp(k->v[i], key, klen) == 0) return 0;
  char **v = realloc(k->v, (k->n + 1) * sizeof *v);
  if (v == NULL) return errno = ENOMEM, -1;
  k->v = v;
  if ((v[k->n] = strndup(key, klen)) == NULL) return errno = ENOMEM, -1;
  k->n++;
  return 0;
}

/* The trees generation n (generations/N) folds into (envgen.h), each as it
 * was sealed?  The generation's own fingerprint covers its links, not what
 * they lead to.  Into why when not. */
static void folds_damage(struct pl_env *e, const char *gen, unsigned n, char *why, size_t cap) {
  pl_error_t err = NULL;
  struct fold_keys fk = {0};
  if (pl_gen_check_folds_of(e->state_fd, e->state_path, gen, e->state.path, &e->in, add_fold_key,
                            &fk, &err) < 0) {
    /* errnum 0: a link that is no fold into this cache (generations.h). */
    if (err->errnum == 0)
      snprintf(why, cap, "generation %u: a link at the top of its lib leads out of pylock's cache",
               n);
    else
      snprintf(why, cap, "generation %u: %s", n, err->msg);
    pl_error_free(&err);
  }
  char **keys = fk.v;
  size_t nkeys = fk.n;
  struct pl_cache c;
  bool open = nkeys && !why[0] && open_cache(e, &c, &err) == 0;
  if (nkeys && !why[0] && !open)
    snprintf(why, cap, "generation %u: the cache it folds into cannot be opened (%s)", n,
             err ? err->msg : "?");
  pl_error_free(&err);
  /* Each tree the one the generation was built from (its manifest's hash,
   * as the generation's manifest names it): a tree built again since (after
   * damage) has byte-code of its own. */
  char mname[64];
  cleanup_free char *mtext = NULL;
  if (nkeys && !why[0] &&
      (gen_manifest_name(n, mname, sizeof mname) < 0 ||
       pl_read_file_at(e->state_fd, mname, PL_MANIFEST_MAX_BYTES, &mtext, NULL, &err) < 0))
    snprintf(why, cap, "generation %u has no manifest that can be read", n);
  pl_error_free(&err);
  for (size_t i = 0; i < nkeys && !why[0]; i++) {
    struct pl_cache_tree t;
    char what[128] = "", line[PL_CACHE_TREE_KEY_MAX + 8];
    int r = pl_cache_tree_peek(&c, keys[i], &t, &err);
    if (r == 1 && pl_cache_tree_check(&c, &t, false, what, sizeof what, &err) == 0) {
      snprintf(line, sizeof line, "\ntree %s ", keys[i]);
      const char *named = strstr(mtext, line);
      if (named == NULL || strncmp(named + strlen(line), t.manifest, 64) != 0)
        snprintf(why, cap, "generation %u: its cached tree %s was built again since", n, keys[i]);
    } else if (r == 1) {
      snprintf(why, cap, "generation %u: its cached tree %s is damaged (%s)", n, keys[i],
               err ? err->msg : what);
    } else {
      snprintf(why, cap, "generation %u: a link into %s leads to a cached tree that %s%s%s", n,
               keys[i], r < 0 ? "cannot be read (" : "is gone", r < 0 && err ? err->msg : "",
               r < 0 ? ")" : "");
    }
    pl_error_free(&err);
    pl_cache_tree_release(&t);
  }
  for (size_t i = 0; i < nkeys; i++)
    free(keys[i]);
  free(keys);
  if (open) pl_cache_close(&c);
  pl_error_free(&err);
}

/* Why generation n cannot be used as it is (see current_damage), or "";
 * `records`: it must have the manifest and record of the current pylock
 * (else only what it has is checked). */
static void gen_damage(struct pl_env *e, unsigned cur, bool records, char *why, size_t cap) {
  char name[64];
  struct pl_gen_meta m;
  struct stat st;
  why[0] = '\0';
  if (cur == 0) return;
  snprintf(name, sizeof name, "%s/%u", PL_GENERATIONS_DIR, cur);
  cleanup_close int gfd =
      openat(e->state_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gfd < 0) {
    snprintf(why, cap, "generation %u is missing", cur);
    return;
  }
  if (records && gen_manifest_name(cur, name, sizeof name) == 0 &&
      fstatat(e->state_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    snprintf(why, cap, "generation %u has no manifest (an earlier pylock built it)", cur);
    return;
  }
  bool meta = pl_meta_read(e->state_fd, cur, &m, NULL) == 0 && m.stat[0] != '\0';
  if (records && !meta) {
    snprintf(why, cap, "generation %u has no record of how it was built", cur);
    return;
  }
  snprintf(name, sizeof name, "%s/%u", PL_GENERATIONS_DIR, cur);
  if (!meta) {
    folds_damage(e, name, cur, why, cap);
    return;
  }
  char now[PL_STAT_DIGEST_LEN + 1];
  pl_error_t ignored = NULL;
  if (pl_manifest_stat_digest(gfd, NULL, now, &ignored) < 0 || strcmp(now, m.stat) != 0)
    snprintf(why, cap,
             "generation %u changed since it was built (a file written, added or removed)", cur);
  pl_error_free(&ignored);
  if (!why[0]) folds_damage(e, name, cur, why, cap);
}

/* Why the current generation cannot stay as it is (a few words into why),
 * or "" when it can: it must exist, have its manifest and its record, its
 * stat fingerprint must be the one recorded when it was built, and each tree
 * it folds into as it was (folds_damage). */
static void current_damage(struct pl_env *e, unsigned cur, const char *bad_link, char *why,
                           size_t cap) {
  why[0] = '\0';
  if (bad_link)
    snprintf(why, cap, "%s", bad_link);
  else
    gen_damage(e, cur, true, why, cap);
}

/* Generation n is current, usable, built from `nsource` source trees (0:
 * as an earlier pylock left it): the complete trees made from them (one
 * compiler for all, cache.h), then a generation of the same packages with
 * them, which replaces n as current.  A crash at any point leaves n or the
 * new one current; until the new one is, pl_env_sync finishes the work. */
static int compile_switched(struct pl_env *e, unsigned n, size_t nsource,
                            struct pl_sync_result *res, pl_error_t *err) {
  if (nsource)
    say(e,
        "pylock: usable now (generation %u); byte-compiling %zu package%s (imports run from "
        "source until done)",
        n, nsource, nsource == 1 ? "" : "s");
  res->source_generation = n;
  pl_pause("usable");
  double t0 = now_ms();
  struct pl_sync_result r2 = {0};
  unsigned m = 0;
  size_t left = 0;
  bool same = true;
  if (build_generation(e, PL_LOCK_FILE, e->lock_text, e->lock_len, false, false, &r2, &m, &same,
                       &left, err) < 0)
    return pl_error_set_hint(err,
                             "generation %u is current and works, importing from source; "
                             "byte-compile it with: pylock sync",
                             n);
  pl_pause("complete-built");
  if (pl_gen_replace(e->state_fd, m, err) < 0) return -1;
  res->generation = m;
  res->files = r2.files;
  res->repaired += r2.repaired;
  res->ms_compile = now_ms() - t0;
  if (!same)
    say(e,
        "pylock: %s changed while generation %u was built from what it held before; update "
        "the environment to it with: pylock sync",
        PL_LOCK_FILE, m);
  return 0;
}

/* Hold the compile lock from before the switch to a source generation until
 * its byte-code replaces it, so that verify and info can tell a compile
 * running from one that stopped.  It informs, nothing more: without it the
 * compile goes on (and they say "pending"). */
static void hold_compile_lock(struct pl_env *e) {
  if (e->compile_lock >= 0) return;
  pl_error_t ignored = NULL;
  e->compile_lock = pl_gen_compile_lock(e->state_fd, &ignored);
  pl_error_free(&ignored);
}

/* compile_switched with the compile lock held, released after; with
 * compile_detach, left to pl_env_compile_pending with both locks held. */
static int compile_after_switch(struct pl_env *e, unsigned n, size_t nsource,
                                struct pl_sync_result *res, pl_error_t *err) {
  hold_compile_lock(e);
  if (e->compile_detach) {
    e->pending_gen = n;
    res->source_generation = n;
    res->compile_pending = true;
    res->compile_packages = nsource;
    pl_pause("usable");
    return 0;
  }
  int rc = compile_switched(e, n, nsource, res, err);
  if (e->compile_lock >= 0) close(e->compile_lock);
  e->compile_lock = -1;
  return rc;
}

int pl_env_compile_pending(struct pl_env *e, struct pl_sync_result *res, pl_error_t *err) {
  if (!e->compile_detach || e->pending_gen == 0 || e->change_lock < 0)
    return pl_fail(err, EINVAL, "no byte-compiling left after a switch");
  unsigned n = e->pending_gen;
  e->pending_gen = 0;
  e->compile_detach = false;
  /* No "usable now" (0 trees): the caller said it when it handed this over. */
  return compile_after_switch(e, n, 0, res, err);
}

/* Generation n was just made current: tell the caller (env.h, switched). */
static void switched(const struct pl_env *e, unsigned n) {
  if (e->switched) e->switched(e, n, e->switched_ctx);
}

int pl_env_sync(struct pl_env *e, bool repair, struct pl_sync_result *res, pl_error_t *err) {
  memset(res, 0, sizeof *res);
  if (pl_env_begin_change(e, err) < 0) return -1;
  char lock_hash[65], current_hash[65] = "", why[512], bad[256] = "";
  unsigned cur = 0;
  pl_error_t link_err = NULL;
  if (pl_gen_current(e->state_fd, &cur, &link_err) < 0) {
    snprintf(bad, sizeof bad, "the current generation cannot be used (%s)", link_err->msg);
    pl_error_free(&link_err);
    cur = 0;
  }
  if (pl_env_lock_hash(e, lock_hash, err) < 0) return -1;
  struct pl_gen_meta cur_meta = {0};
  if (cur && pl_meta_read(e->state_fd, cur, &cur_meta, NULL) == 0)
    memcpy(current_hash, cur_meta.lock_sha256, sizeof current_hash);
  if (check_all_signed(e, err) < 0) return -1;
  res->packages = e->sel.nselected;
  current_damage(e, cur, bad[0] ? bad : NULL, why, sizeof why);
  /* Built from this lock with these extras and groups. */
  if (cur && !why[0] && !repair && strcmp(lock_hash, current_hash) == 0 &&
      strcmp(cur_meta.selection, e->sel.key) == 0 && cur_meta.no_bytecode) {
    say(e,
        "pylock: generation %u imports from source: its byte-compiling was interrupted; "
        "finishing it",
        cur);
    res->generation = cur;
    return compile_after_switch(e, cur, 0, res, err);
  }
  if (cur && !why[0] && !repair && strcmp(lock_hash, current_hash) == 0 &&
      strcmp(cur_meta.selection, e->sel.key) == 0) {
    res->generation = cur;
    res->unchanged = true;
    /* Same content, perhaps a new mtime (a checkout): record it, so the
     * shim's one-stat check sees the environment as fresh. */
    if (pl_env_quick_state(e->root_fd, e->state_fd, NULL) != PL_ENV_FRESH)
      return write_meta(e->root_fd, PL_LOCK_FILE, e->lock_text, e->lock_len, e->state_fd, cur,
                        &e->lf, &e->sel, NULL, false, NULL, err);
    return 0;
  }
  if (why[0]) {
    say(e, "pylock: %s: building it again", why);
    res->repaired++;
  }
  unsigned n;
  bool same = true;
  size_t nsource = 0;
  if (build_generation(e, PL_LOCK_FILE, e->lock_text, e->lock_len, repair, e->compile_after_switch,
                       res, &n, &same, &nsource, err) < 0)
    return -1;
  if (!same)
    say(e,
        "pylock: %s changed while generation %u was built from what it held before; update "
        "the environment to it with: pylock sync",
        PL_LOCK_FILE, n);
  if (nsource && same) hold_compile_lock(e);
  pl_pause("switch");
  if (pl_gen_switch(e->state_fd, n, err) < 0) return -1;
  res->generation = n;
  switched(e, n);
  /* Built from what the lock held: the lock changed since is the next sync's. */
  return nsource && same ? compile_after_switch(e, n, nsource, res, err) : 0;
}

/* Is the staged lock tmp still the file pylock wrote through fd, holding
 * `text` and nothing else?  The project directory, where it waits for the
 * commit, is writable from inside every sandbox of the user. */
static bool staged_intact(int root_fd, const char *tmp, int fd, const char *text, size_t len) {
  struct stat mine, named;
  char extra;
  if (fstat(fd, &mine) < 0 || fstatat(root_fd, tmp, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
      mine.st_dev != named.st_dev || mine.st_ino != named.st_ino ||
      (unsigned long long)mine.st_size != len)
    return false;
  cleanup_free char *buf = malloc(len + 1);
  if (buf == NULL) return false;
  size_t n = 0;
  while (n < len) {
    ssize_t r = pread(fd, buf + n, len - n, (off_t)n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    n += (size_t)r;
  }
  return memcmp(buf, text, len) == 0 && pread(fd, &extra, 1, (off_t)len) == 0;
}

int pl_env_commit(struct pl_env *e, struct pl_sync_result *res, pl_error_t *err) {
  memset(res, 0, sizeof *res);
  if (e->change_lock < 0) return pl_fail(err, EINVAL, "commit without the change lock");
  /* install and remove keep the extras and groups the environment has. */
  unsigned built = 0;
  if (!e->select_given) {
    if (pl_gen_current(e->state_fd, &built, NULL) < 0) built = 0;
    if (select_opts_as_built(e, built, err) < 0) return -1;
    unselect(e);
  }
  cleanup_free char *text = NULL, *tmp = NULL;
  size_t len = 0;
  if (pl_lockfile_write(&e->lf, &text, &len, err) < 0) return -1;
  if (len == e->lock_len && memcmp(text, e->lock_text, len) == 0) {
    return pl_env_sync(e, false, res, err); /* the lock stays: the environment may change */
  }
  if (check_all_signed(e, err) < 0) return -1;
  res->packages = e->sel.nselected;
  /* 1: the new lock beside pylock.toml, not yet in its place; kept open, so
   * that what gets committed is checked to be this file with these bytes. */
  cleanup_close int fd = pl_tmpfile_open_at(e->root_fd, PL_LOCK_FILE, 0644, &tmp, err);
  if (fd < 0) return -1;
  if (pl_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
    int er = errno;
    unlinkat(e->root_fd, tmp, 0);
    return pl_fail(err, er, "write %s/%s", e->root, tmp);
  }
  pl_pause("staged");
  /* 2: its generation, whose record names that file (rename keeps its stat). */
  struct pl_change c = {0};
  bool same = false;
  pl_gen_current(e->state_fd, &c.prev, NULL);
  snprintf(c.tmp, sizeof c.tmp, "%s", tmp);
  size_t nsource = 0;
  if (build_generation(e, tmp, text, len, false, e->compile_after_switch, res, &c.gen, &same,
                       &nsource, err) < 0)
    goto undo;
  if (!same || !staged_intact(e->root_fd, tmp, fd, text, len)) goto tampered;
  /* 3, 4: the record, then the commit point. */
  if (pl_change_record(e->state_fd, &c, err) < 0) goto undo_gen;
  pl_pause("recorded");
  if (!staged_intact(e->root_fd, tmp, fd, text, len)) {
    pl_error_t ignored = NULL;
    pl_change_clear(e->state_fd, &ignored);
    pl_error_free(&ignored);
    goto tampered;
  }
  if (renameat(e->root_fd, tmp, e->root_fd, PL_LOCK_FILE) < 0) {
    int er = errno;
    pl_error_t ignored = NULL;
    pl_change_clear(e->state_fd, &ignored);
    pl_error_free(&ignored);
    pl_fail(err, er, "rename %s over %s/%s", tmp, e->root, PL_LOCK_FILE);
    goto undo_gen;
  }
  if (fsync(e->root_fd) < 0) return pl_fail(err, errno, "fsync %s", e->root);
  free(e->lock_text);
  e->lock_text = steal_pointer(&text);
  e->lock_len = len;
  pl_pause("committed");
  /* 5: current follows; a crash before this is finished by the next command. */
  if (nsource) hold_compile_lock(e);
  if (pl_gen_switch(e->state_fd, c.gen, err) < 0) return -1;
  switched(e, c.gen);
  pl_pause("switched");
  if (pl_change_clear(e->state_fd, err) < 0) return -1;
  res->generation = c.gen;
  return nsource ? compile_after_switch(e, c.gen, nsource, res, err) : 0;
tampered:
  pl_fail_hint(err, 0,
               "nothing changed: pylock.toml and the environment are as they were; stop what "
               "writes there (code in a pylock run?), then retry",
               "the new lock staged as %s/%s was changed by another process while its environment "
               "was built",
               e->root, tmp);
undo_gen:;
  char name[32];
  snprintf(name, sizeof name, "%u", c.gen);
  pl_error_t ignored = NULL;
  pl_gen_remove(e->state_fd, name, &ignored); /* never current */
  pl_error_free(&ignored);
undo:
  unlinkat(e->root_fd, tmp, 0);
  if ((*err)->hint == NULL)
    pl_error_set_hint(err, "nothing changed: pylock.toml and the environment are as they were");
  return -1;
}

/* Each scheme directory that can hold .dist-info (purelib, platlib), once. */
static int dist_dirs(const struct pl_env *e, int gen_fd, int fds[2], pl_error_t *err) {
  const char *rels[2] = {pl_interp_relative(&e->in, e->in.purelib),
                         pl_interp_relative(&e->in, e->in.platlib)};
  fds[0] = fds[1] = -1;
  for (int i = 0; i < 2; i++) {
    if (rels[i] == NULL || (i == 1 && strcmp(rels[0], rels[1]) == 0)) continue;
    fds[i] = openat(gen_fd, rels[i][0] ? rels[i] : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fds[i] < 0 && errno != ENOENT) return pl_fail(err, errno, "open %s", rels[i]);
  }
  return 0;
}

static int open_current(const struct pl_env *e, pl_error_t *err) {
  unsigned cur = 0;
  if (pl_change_effective(e->root_fd, e->state_fd, &cur, err) < 0) return -1;
  if (cur == 0)
    return pl_fail_hint(err, ENOENT, "build it with: pylock sync", "no environment yet");
  char name[64];
  snprintf(name, sizeof name, "%s/%u", PL_GENERATIONS_DIR, cur);
  int fd = openat(e->state_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return fd < 0 ? pl_fail_hint(err, errno, "rebuild it with: pylock sync",
                               "%s/%s: the current generation is missing", e->state_path, name)
                : fd;
}

static int cmp_hook(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Note hook `name` (len bytes) of p, once. */
static int add_hook(struct pl_installed *p, const char *name, size_t len, pl_error_t *err) {
  for (size_t j = 0; j < p->nstartup_hooks; j++)
    if (strlen(p->startup_hooks[j]) == len && memcmp(p->startup_hooks[j], name, len) == 0) return 0;
  char **l = realloc(p->startup_hooks, (p->nstartup_hooks + 1) * sizeof *l);
  if (l == NULL) return pl_fail(err, ENOMEM, "list");
  p->startup_hooks = l;
  if ((l[p->nstartup_hooks] = strndup(name, len)) == NULL) return pl_fail(err, ENOMEM, "list");
  p->nstartup_hooks++;
  return 0;
}

/* The startup hooks of the distribution whose .dist-info `di` is in site
 * directory `site` (relative to the prefix; `dfd` open on it), from its
 * RECORD: the rows that resolve into purelib or platlib. */
static int dist_hooks(const struct pl_env *e, int dfd, const char *site, const char *di,
                      struct pl_installed *p, pl_error_t *err) {
  const char *sites[2] = {pl_interp_relative(&e->in, e->in.purelib),
                          pl_interp_relative(&e->in, e->in.platlib)};
  char path[600], rel[4096];
  snprintf(path, sizeof path, "%s/RECORD", di);
  cleanup_free char *text = NULL;
  size_t tlen = 0;
  struct pl_record rec = {0};
  if (pl_read_file_at(dfd, path, PL_RECORD_MAX_BYTES, &text, &tlen, err) < 0 ||
      pl_record_parse_installed(text, tlen, &rec, err) < 0)
    return pl_error_wrap(err, "%s", di);
  int rc = 0;
  for (size_t i = 0; i < rec.n && rc == 0; i++) {
    if (!pl_record_resolve(site, rec.entries[i].path, rel, sizeof rel)) continue;
    for (int k = 0; k < 2 && sites[k]; k++) {
      size_t sl = strlen(sites[k]);
      if (sl && (strncmp(rel, sites[k], sl) != 0 || rel[sl] != '/')) continue;
      const char *below = rel + (sl ? sl + 1 : 0);
      size_t hl = pl_wheel_startup_hook(below);
      if (hl) rc = add_hook(p, below, hl, err);
      break;
    }
  }
  pl_record_free(&rec);
  if (p->nstartup_hooks)
    qsort(p->startup_hooks, p->nstartup_hooks, sizeof *p->startup_hooks, cmp_hook);
  return rc;
}

int pl_env_startup_hooks(const struct pl_env *e, char ***names, size_t *n, pl_error_t *err) {
  *names = NULL;
  *n = 0;
  cleanup_close int gen_fd = open_current(e, err);
  if (gen_fd < 0) return -1;
  int fds[2];
  if (dist_dirs(e, gen_fd, fds, err) < 0) return -1;
  int rc = 0;
  for (int i = 0; i < 2; i++) {
    DIR *d = fds[i] < 0 ? NULL : fdopendir(fds[i]);
    if (d == NULL && fds[i] >= 0) close(fds[i]);
    for (struct dirent *de; d && rc == 0 && (de = readdir(d)) != NULL;) {
      if (pl_wheel_startup_hook(de->d_name) != strlen(de->d_name)) continue;
      char **l = realloc(*names, (*n + 1) * sizeof *l);
      if (l == NULL || (l[*n] = strdup(de->d_name)) == NULL) {
        if (l) *names = l;
        rc = pl_fail(err, ENOMEM, "startup hooks");
        break;
      }
      *names = l;
      (*n)++;
    }
    if (d) closedir(d);
  }
  if (*n) qsort(*names, *n, sizeof **names, cmp_hook);
  return rc;
}

static int cmp_installed(const void *a, const void *b) {
  return strcmp(((const struct pl_installed *)a)->name, ((const struct pl_installed *)b)->name);
}

int pl_env_installed(const struct pl_env *e, struct pl_installed **out, size_t *n,
                     pl_error_t *err) {
  cleanup_close int gen_fd = open_current(e, err);
  if (gen_fd < 0) return -1;
  int fds[2];
  if (dist_dirs(e, gen_fd, fds, err) < 0) return -1;
  struct pl_installed *list = NULL;
  size_t count = 0, cap = 0;
  int rc = 0;
  const char *sites[2] = {pl_interp_relative(&e->in, e->in.purelib),
                          pl_interp_relative(&e->in, e->in.platlib)};
  /* RECORDs are read only when there is a hook to attribute. */
  char **names = NULL;
  size_t nnames = 0;
  pl_error_t lerr = NULL;
  bool hooks = pl_env_startup_hooks(e, &names, &nnames, &lerr) < 0 || nnames > 0;
  pl_error_free(&lerr);
  for (size_t i = 0; i < nnames; i++)
    free(names[i]);
  free(names);
  for (int i = 0; i < 2 && rc == 0; i++) {
    if (fds[i] < 0) continue;
    DIR *d = fdopendir(fds[i]);
    if (d == NULL) {
      close(fds[i]);
      rc = pl_fail(err, errno, "read the environment");
      break;
    }
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
      size_t len = strlen(de->d_name);
      if (len < 11 || strcmp(de->d_name + len - 10, ".dist-info") != 0) continue;
      char path[600];
      snprintf(path, sizeof path, "%s/METADATA", de->d_name);
      cleanup_free char *text = NULL;
      size_t tlen = 0;
      struct pl_metadata md = {0};
      if (pl_read_file_at(dirfd(d), path, 16u << 20, &text, &tlen, err) < 0 ||
          pl_metadata_parse(text, tlen, &md, err) < 0) {
        rc = pl_error_wrap(err, "%s", de->d_name);
        break;
      }
      if (count == cap) {
        cap = cap ? cap * 2 : 32;
        struct pl_installed *l = realloc(list, cap * sizeof *l);
        if (l == NULL) {
          pl_metadata_free(&md);
          rc = pl_fail(err, ENOMEM, "list");
          break;
        }
        list = l;
      }
      snprintf(path, sizeof path, "%s/REQUESTED", de->d_name);
      list[count++] = (struct pl_installed){
          .name = md.name,
          .version = md.version,
          .requested = faccessat(dirfd(d), path, F_OK, AT_SYMLINK_NOFOLLOW) == 0};
      md.name = md.version = NULL;
      pl_metadata_free(&md);
      if (hooks) rc = dist_hooks(e, dirfd(d), sites[i], de->d_name, &list[count - 1], err);
    }
    closedir(d);
  }
  if (rc < 0) {
    pl_installed_free(list, count);
    return -1;
  }
  if (count) qsort(list, count, sizeof *list, cmp_installed);
  *out = list;
  *n = count;
  return 0;
}

void pl_installed_free(struct pl_installed *list, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(list[i].name);
    free(list[i].version);
    for (size_t j = 0; j < list[i].nstartup_hooks; j++)
      free(list[i].startup_hooks[j]);
    free(list[i].startup_hooks);
  }
  free(list);
}

static int add_line(char ***lines, size_t *n, char *line) {
  if (line == NULL) return -1;
  char **l = realloc(*lines, (*n + 1) * sizeof *l);
  if (l == NULL) {
    free(line);
    return -1;
  }
  l[(*n)++] = line;
  *lines = l;
  return 0;
}

/* An issue line for verify; -1 only when out of memory. */
static int issuef(char ***lines, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int issuef(char ***lines, size_t *n, const char *fmt, ...) {
  char *line = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&line, fmt, ap) < 0) line = NULL;
  va_end(ap);
  return add_line(lines, n, line);
}

/* What generation n must hold: its manifest (every file, made at its sync,
 * whatever became of the cache since), built from the wheels the lock pins.
 * 0 with *have false when the generation has no manifest (an issue says so). */
static int load_expected(struct pl_env *e, unsigned n, struct pl_manifest *out, bool *have,
                         char ***issues, size_t *nissues, pl_error_t *err) {
  char name[64];
  cleanup_free char *text = NULL;
  size_t len = 0;
  *have = false;
  memset(out, 0, sizeof *out);
  if (gen_manifest_name(n, name, sizeof name) < 0) return pl_fail(err, EINVAL, "generation %u", n);
  pl_error_t e2 = NULL;
  if (pl_read_file_at(e->state_fd, name, PL_MANIFEST_MAX_BYTES, &text, &len, &e2) < 0) {
    int r = issuef(issues, nissues, "generation %u has no manifest (%s): rebuild it: pylock sync",
                   n, e2->msg);
    pl_error_free(&e2);
    return r < 0 ? pl_fail(err, ENOMEM, "verify") : 0;
  }
  struct pl_gen_manifest g;
  if (pl_gen_manifest_parse(text, len, name, &g, err) < 0) return -1;
  int rc = 0;
  /* Built from exactly the wheels the lock pins. */
  for (size_t i = 0; rc == 0 && i < e->lf.npackages; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    const struct pl_lock_wheel *w = chosen_wheel(e, i);
    bool found = false;
    if (w == NULL) continue;
    for (size_t k = 0; k < g.ntrees && !found; k++)
      found = strncmp(g.trees[k].key, w->sha256, 64) == 0 && g.trees[k].key[64] == '-';
    if (!found)
      rc = issuef(issues, nissues, "%s %s: generation %u was not built from the wheel %s pins",
                  p->name, p->version, n, PL_LOCK_FILE);
  }
  if (rc == 0 && g.ntrees != e->sel.nselected)
    rc = issuef(issues, nissues, "generation %u holds %zu wheels, %s pins %zu for it", n, g.ntrees,
                PL_LOCK_FILE, e->sel.nselected);
  if (rc < 0) {
    pl_gen_manifest_free(&g);
    return (*err) ? -1 : pl_fail(err, ENOMEM, "verify");
  }
  *out = g.files;
  memset(&g.files, 0, sizeof g.files);
  pl_gen_manifest_free(&g);
  *have = true;
  return 0;
}

/* The lock's wheels against what the registry signs (the metadata the last
 * sync verified: verify fetches nothing), and the trusted root itself. */
static int verify_signatures(struct pl_env *e, char ***issues, size_t *nissues, pl_error_t *err) {
  cleanup_free char *root = NULL;
  size_t len = 0;
  pl_error_t e2 = NULL;
  if (pl_read_file_at(e->state_fd, PL_REGISTRY_ROOT_FILE, PL_TUF_ROOT_MAX, &root, &len, &e2) == 0) {
    int64_t version;
    time_t expires;
    if (pl_tuf_check_root(root, len, PL_REGISTRY_ROOT_FILE, &version, &expires, &e2) < 0) {
      int r = issuef(issues, nissues, "the trusted root %s/%s: %s", e->state_path,
                     PL_REGISTRY_ROOT_FILE, e2->msg);
      pl_error_free(&e2);
      return r < 0 ? pl_fail(err, ENOMEM, "verify") : 0;
    }
  }
  pl_error_free(&e2);
  if (e->sel.nselected == 0) return 0;
  if (e->tuf == NULL) {
    bool was = e->offline;
    e->offline = true;
    int r = pl_env_update_trust(e, err);
    e->offline = was;
    if (r < 0) return -1;
  }
  for (size_t i = 0; i < e->lf.npackages; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    const struct pl_lock_wheel *w = chosen_wheel(e, i);
    if (w && check_signed(e, p, w, &e2) < 0) {
      int r = issuef(issues, nissues, "%s", e2->msg);
      pl_error_free(&e2);
      if (r < 0) return pl_fail(err, ENOMEM, "verify");
    }
  }
  return 0;
}

int pl_env_verify(struct pl_env *e, struct pl_verify_report *report, char ***lock_issues,
                  size_t *nlock_issues, pl_error_t *err) {
  *lock_issues = NULL;
  *nlock_issues = 0;
  unsigned cur = 0;
  cleanup_close int gen_fd = open_current(e, err);
  if (gen_fd < 0 || pl_change_effective(e->root_fd, e->state_fd, &cur, err) < 0 ||
      select_as_built(e, cur, err) < 0)
    return -1;
  struct pl_manifest expected;
  bool have = false;
  if (load_expected(e, cur, &expected, &have, lock_issues, nlock_issues, err) < 0) return -1;
  /* Folds lead into the cache's trees: without the cache, none is taken for
   * one (each is reported, with the files it would hold). */
  struct pl_cache c;
  pl_error_t e2 = NULL;
  cleanup_free char *trees = NULL;
  bool cache = open_cache(e, &c, &e2) == 0;
  pl_error_free(&e2);
  if (cache && asprintf(&trees, "%s/trees", c.path) < 0) trees = NULL;
  int vr = pl_verify_generation(gen_fd, &e->in, have ? &expected : NULL, trees ? c.trees_fd : -1,
                                trees, report, err);
  if (cache) pl_cache_close(&c);
  pl_manifest_free(&expected);
  if (vr < 0 || verify_signatures(e, lock_issues, nlock_issues, err) < 0) return -1;
  struct pl_installed *inst = NULL;
  size_t ninst = 0;
  if (pl_env_installed(e, &inst, &ninst, err) < 0) return -1;
  /* The installed set against the lock, both ways, by normalized name. */
  int rc = 0;
  for (size_t i = 0; i < e->lf.npackages && rc == 0; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    const struct pl_installed *found = NULL;
    if (chosen_wheel(e, i) == NULL) continue;
    for (size_t j = 0; j < ninst && !found; j++)
      if (pl_distname_equal(inst[j].name, strlen(inst[j].name), p->name, strlen(p->name)))
        found = &inst[j];
    char *line = NULL;
    if (found == NULL) {
      if (asprintf(&line, "%s %s is locked but not installed", p->name, p->version) < 0)
        line = NULL;
      rc = add_line(lock_issues, nlock_issues, line);
    } else if (strcmp(found->version, p->version) != 0) {
      if (asprintf(&line, "%s is locked at %s but %s is installed", p->name, p->version,
                   found->version) < 0)
        line = NULL;
      rc = add_line(lock_issues, nlock_issues, line);
    }
  }
  for (size_t j = 0; j < ninst && rc == 0; j++) {
    bool locked = false;
    for (size_t i = 0; i < e->lf.npackages && !locked; i++)
      locked = chosen_wheel(e, i) &&
               pl_distname_equal(inst[j].name, strlen(inst[j].name), e->lf.packages[i].name,
                                 strlen(e->lf.packages[i].name));
    char *line = NULL;
    if (!locked) {
      if (asprintf(&line, "%s %s is installed but not locked", inst[j].name, inst[j].version) < 0)
        line = NULL;
      rc = add_line(lock_issues, nlock_issues, line);
    }
  }
  pl_installed_free(inst, ninst);
  if (rc < 0) return pl_fail(err, ENOMEM, "verify");
  return 0;
}

int pl_env_rollback(struct pl_env *e, unsigned *from, unsigned *to, pl_error_t *err) {
  if (pl_env_begin_change(e, err) < 0) return -1;
  if (pl_gen_current(e->state_fd, from, err) < 0 || pl_gen_previous(e->state_fd, to, err) < 0)
    return -1;
  if (*to == 0 || *to == *from)
    return pl_fail_hint(err, ENOENT, "each install, remove or sync makes one to roll back to",
                        "no previous generation to roll back to");
  char name[64];
  snprintf(name, sizeof name, "%s/%u", PL_GENERATIONS_DIR, *to);
  if (faccessat(e->state_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return pl_fail(err, errno, "previous generation %u", *to);
  /* A generation changed since it was built, or whose trees are gone or
   * changed, is not switched to: runs would get what it no longer is. */
  char why[512];
  gen_damage(e, *to, false, why, sizeof why);
  if (why[0])
    return pl_fail_hint(err, EIO,
                        "nothing changed; to get its packages back, put the pylock.toml it was "
                        "built from in place and run: pylock sync",
                        "the previous generation cannot be rolled back to: %s", why);
  pl_pause("rollback");
  return pl_gen_switch(e->state_fd, *to, err);
}
