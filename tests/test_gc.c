/* Unit tests: lib/gc.c — the live set from generation manifests, a whole
 * collection over a state root built by hand, orphan projects, the cache
 * lock, cache clean.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "config.h"
#include "file.h"
#include "change.h"
#include "gc.h"
#include "generations.h"
#include "project.h"
#include "state.h"

#define DIGEST "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define IK "0123456789abcdef"
/* Wheel sha256s: A..D repeated; tree keys are <sha>-<interpreter key>. */
#define SHA(c)                                                                                     \
  c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
      c c c c c c c c c c c c c c c c
#define SHA_A SHA("a")
#define SHA_B SHA("b")
#define SHA_C SHA("c")
#define SHA_D SHA("e")
#define KEY_A SHA_A "-" IK
#define KEY_B SHA_B "-" IK
#define KEY_C SHA_C "-" IK
#define KEY_D SHA_D "-" IK

struct fx {
  char dir[64], state[200];
  struct pl_state s;
  pl_error_t err;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-test-gc-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  chmod(f->dir, 0755);
  snprintf(f->state, sizeof f->state, "%s/state", f->dir);
  setenv("PYLOCK_STATE_DIR", f->state, 1);
  char cfg[128];
  snprintf(cfg, sizeof cfg, "%s/cfg", f->dir);
  setenv("XDG_CONFIG_HOME", cfg, 1);
  setenv("PYLOCK_SYSCONFDIR", cfg, 1);
  pl_config_reset();
  assert_int_equal(pl_state_open(&f->s, &f->err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[256];
  pl_state_close(&f->s);
  snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", f->dir, f->dir);
  assert_int_equal(system(cmd), 0);
  pl_error_free(&f->err);
  unsetenv("PYLOCK_STATE_DIR");
  free(f);
  return 0;
}

/* ---- building a state root by hand ----------------------------------------------- */

static void put(struct fx *f, const char *rel, const char *text) {
  char path[PATH_MAX + 256];
  snprintf(path, sizeof path, "%s/%s", f->state, rel);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  assert_int_equal(pl_mkdir_p(path, 0700, &f->err), 0);
  *slash = '/';
  FILE *out = fopen(path, "w");
  assert_non_null(out);
  fputs(text, out);
  fclose(out);
}

static bool exists(struct fx *f, const char *rel) {
  char path[PATH_MAX + 256];
  snprintf(path, sizeof path, "%s/%s", f->state, rel);
  struct stat st;
  return lstat(path, &st) == 0;
}

/* A sealed cache tree and its wheel. */
static void cache_tree(struct fx *f, const char *key) {
  char rel[300];
  snprintf(rel, sizeof rel, "cache/trees/%s/lib/mod.py", key);
  put(f, rel, "print('hello')\n");
  snprintf(rel, sizeof rel, "cache/trees/%s/.complete", key);
  put(f, rel, "dist_info=x\nfiles=1\n");
  snprintf(rel, sizeof rel, "%s/cache/trees/%s/lib", f->state, key);
  chmod(rel, 0555);
  snprintf(rel, sizeof rel, "cache/wheels/%.64s.whl", key);
  put(f, rel, "PK wheel bytes");
}

/* A generation manifest naming `keys` (NULL-terminated). */
static char *manifest(const char *const *keys) {
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  fputs("pylock-generation 1\n", m);
  for (size_t i = 0; keys[i]; i++)
    fprintf(m, "tree %s %s w%zu-1.0-py3-none-any.whl\n", keys[i], DIGEST, i);
  fputs("file " DIGEST " 15 444 lib/mod.py\n", m);
  fclose(m);
  return text;
}

/* A project directory with pylock.toml and its state, holding generations
 * 1..n built from `keys[i]` (generation i+1), n current, n-1 previous.
 * Returns the project's state id into id. */
static void project(struct fx *f, const char *name, const char *const *const *keys, unsigned n,
                    char id[PL_PROJECT_ID_MAX]) {
  char dir[256], rel[PATH_MAX], text[PATH_MAX + 2];
  snprintf(dir, sizeof dir, "%s/%s", f->dir, name);
  assert_int_equal(pl_mkdir_p(dir, 0755, &f->err), 0);
  snprintf(rel, sizeof rel, "%s/pylock.toml", dir);
  FILE *t = fopen(rel, "w");
  assert_non_null(t);
  fclose(t);
  pl_project_id(dir, id);
  snprintf(rel, sizeof rel, "projects/%s/path", id);
  snprintf(text, sizeof text, "%s\n", dir);
  put(f, rel, text);
  for (unsigned g = 1; g <= n; g++) {
    snprintf(rel, sizeof rel, "projects/%s/generations/%u/lib/mod.py", id, g);
    put(f, rel, "print('hello')\n");
    cleanup_free char *m = manifest(keys[g - 1]);
    snprintf(rel, sizeof rel, "projects/%s/generations/%u.manifest", id, g);
    put(f, rel, m);
  }
  snprintf(rel, sizeof rel, "projects/%s", id);
  cleanup_close int fd = pl_state_subdir(&f->s, rel, false, &f->err);
  assert_true(fd >= 0);
  for (unsigned g = n > 1 ? n - 1 : n; g <= n; g++)
    assert_int_equal(pl_gen_switch(fd, g, &f->err), 0);
}

static int open_project(struct fx *f, const char *id) {
  char rel[PATH_MAX];
  snprintf(rel, sizeof rel, "projects/%s", id);
  int fd = pl_state_subdir(&f->s, rel, false, &f->err);
  assert_true(fd >= 0);
  return fd;
}

static int run_gc(struct fx *f, unsigned orphan_days, unsigned wait, struct pl_gc_result *r) {
  struct pl_gc_opts o = {.orphan_days = orphan_days, .wait_seconds = wait};
  return pl_gc_run(&f->s, &o, r, &f->err);
}

/* ---- the live set ------------------------------------------------------------------- */

static void test_gc_live_keeps_the_trees_a_manifest_names_and_their_wheels(void **state) {
  struct fx *f = *state;
  static const char *const keys[] = {KEY_B, KEY_A, NULL};
  cleanup_free char *text = manifest(keys);
  struct pl_gc_live l = {0};
  assert_int_equal(pl_gc_live_add_manifest(&l, text, strlen(text), "1.manifest", &f->err), 0);
  pl_gc_live_sort(&l);
  assert_null(l.keep_all);
  assert_int_equal(l.ntrees, 2);
  assert_true(pl_gc_live_has_tree(&l, KEY_A));
  assert_true(pl_gc_live_has_tree(&l, KEY_B));
  assert_false(pl_gc_live_has_tree(&l, KEY_C));
  assert_false(pl_gc_live_has_tree(&l, SHA_A "-ffffffffffffffff")); /* another interpreter */
  assert_true(pl_gc_live_has_wheel(&l, SHA_A));
  assert_true(pl_gc_live_has_wheel(&l, SHA_B));
  assert_false(pl_gc_live_has_wheel(&l, SHA_C));
  assert_false(pl_gc_live_has_wheel(&l, "aaaa")); /* a prefix is not a sha256 */
  pl_gc_live_free(&l);
}

static void test_gc_live_manifest_that_does_not_parse_keeps_the_whole_cache(void **state) {
  struct fx *f = *state;
  static const char *const bad[] = {
      "pylock-manifest 1\n",                                  /* a tree's, not a generation's */
      "pylock-generation 1\ntree " KEY_A " short w.whl\n",    /* digest cut */
      "pylock-generation 1\ntree " KEY_A " " DIGEST " w.whl", /* truncated */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct pl_gc_live l = {0};
    assert_int_equal(pl_gc_live_add_manifest(&l, bad[i], strlen(bad[i]), "7.manifest", &f->err), 0);
    assert_non_null(l.keep_all);
    assert_non_null(strstr(l.keep_all, "7.manifest"));
    pl_gc_live_free(&l);
  }
}

static void test_gc_live_is_every_generation_of_every_project(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, KEY_B, NULL}, *const g2[] = {KEY_B, NULL},
                           *const g3[] = {KEY_C, NULL};
  static const char *const *const p1[] = {g1, g2}, *const *const p2[] = {g3};
  char id1[PL_PROJECT_ID_MAX], id2[PL_PROJECT_ID_MAX];
  project(f, "p1", p1, 2, id1);
  project(f, "p2", p2, 1, id2);
  /* A partial generation names nothing: it was never current. */
  char rel[PATH_MAX];
  snprintf(rel, sizeof rel, "projects/%s/generations/.3.tmp/x", id1);
  put(f, rel, "");
  snprintf(rel, sizeof rel, "projects/%s/generations/3.manifest", id1);
  static const char *const g4[] = {KEY_D, NULL};
  cleanup_free char *m = manifest(g4);
  put(f, rel, m);
  struct pl_gc_live l = {0};
  cleanup_close int fd1 = open_project(f, id1), fd2 = open_project(f, id2);
  assert_int_equal(pl_gc_live_add_project(&l, fd1, id1, &f->err), 0);
  assert_int_equal(pl_gc_live_add_project(&l, fd2, id2, &f->err), 0);
  pl_gc_live_sort(&l);
  assert_null(l.keep_all);
  assert_int_equal(l.ntrees, 3); /* KEY_B twice, once */
  assert_true(pl_gc_live_has_tree(&l, KEY_A));
  assert_true(pl_gc_live_has_tree(&l, KEY_B));
  assert_true(pl_gc_live_has_tree(&l, KEY_C));
  assert_false(pl_gc_live_has_tree(&l, KEY_D));
  pl_gc_live_free(&l);
}

static void test_gc_live_generation_without_manifest_keeps_the_whole_cache(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, NULL};
  static const char *const *const p1[] = {g1};
  char id[PL_PROJECT_ID_MAX], rel[PATH_MAX];
  project(f, "old", p1, 1, id);
  snprintf(rel, sizeof rel, "projects/%s/generations/2/lib/mod.py", id); /* an older pylock's */
  put(f, rel, "");
  struct pl_gc_live l = {0};
  cleanup_close int fd = open_project(f, id);
  assert_int_equal(pl_gc_live_add_project(&l, fd, id, &f->err), 0);
  assert_non_null(l.keep_all);
  assert_non_null(strstr(l.keep_all, "generation 2"));
  assert_non_null(strstr(l.keep_all, "no manifest"));
  pl_gc_live_free(&l);
}

static void test_gc_live_project_without_generations_names_nothing(void **state) {
  struct fx *f = *state;
  char rel[PATH_MAX];
  snprintf(rel, sizeof rel, "projects/empty-0000000000000000/path");
  put(f, rel, "/nowhere\n");
  struct pl_gc_live l = {0};
  cleanup_close int fd = open_project(f, "empty-0000000000000000");
  assert_int_equal(pl_gc_live_add_project(&l, fd, "empty", &f->err), 0);
  assert_null(l.keep_all);
  assert_int_equal(l.ntrees, 0);
  pl_gc_live_free(&l);
}

/* ---- a whole collection -------------------------------------------------------------- */

static void test_gc_removes_what_no_kept_generation_uses_and_nothing_else(void **state) {
  struct fx *f = *state;
  /* p1: generations 1 (A), 2 (A, B), 3 (B): 1 is neither current nor previous. */
  static const char *const g1[] = {KEY_A, NULL}, *const g2[] = {KEY_A, KEY_B, NULL},
                           *const g3[] = {KEY_B, NULL}, *const q1[] = {KEY_C, NULL};
  static const char *const *const p1[] = {g1, g2, g3}, *const *const p2[] = {q1};
  char id1[PL_PROJECT_ID_MAX], id2[PL_PROJECT_ID_MAX], rel[PATH_MAX];
  project(f, "p1", p1, 3, id1);
  project(f, "p2", p2, 1, id2);
  cache_tree(f, KEY_A);
  cache_tree(f, KEY_B);
  cache_tree(f, KEY_C);
  cache_tree(f, KEY_D);                                           /* nobody's */
  put(f, "cache/trees/.tmp-" KEY_D "-0000000000000001/half", ""); /* a crashed build */
  put(f, "cache/wheels/.fetch.tmp0000000000000001", "");          /* a crashed fetch */
  put(f, "cache/wheels/" SHA("f") ".whl", "a wheel no tree came from");
  put(f, "cache/trees/README", "not pylock's: left alone");
  put(f, "cache/quarantine/" KEY_C "-1700000000-00000001/x", ""); /* damaged, moved aside */
  put(f, "scratch/lock-999999999-0000000000000001/x", "");        /* its maker is gone */
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.generations, 1);
  snprintf(rel, sizeof rel, "projects/%s/generations/1", id1);
  assert_false(exists(f, rel));
  snprintf(rel, sizeof rel, "projects/%s/generations/1.manifest", id1);
  assert_false(exists(f, rel));
  snprintf(rel, sizeof rel, "projects/%s/generations/2", id1);
  assert_true(exists(f, rel));
  /* A is still named by generation 2 (previous); D by nobody. */
  assert_true(exists(f, "cache/trees/" KEY_A "/lib/mod.py"));
  assert_true(exists(f, "cache/trees/" KEY_B "/lib/mod.py"));
  assert_true(exists(f, "cache/trees/" KEY_C "/lib/mod.py"));
  assert_false(exists(f, "cache/trees/" KEY_D));
  assert_true(exists(f, "cache/wheels/" SHA_A ".whl"));
  assert_true(exists(f, "cache/wheels/" SHA_C ".whl"));
  assert_false(exists(f, "cache/wheels/" SHA_D ".whl"));
  assert_false(exists(f, "cache/wheels/" SHA("f") ".whl"));
  assert_false(exists(f, "cache/trees/.tmp-" KEY_D "-0000000000000001"));
  assert_false(exists(f, "cache/wheels/.fetch.tmp0000000000000001"));
  assert_false(exists(f, "cache/quarantine/" KEY_C "-1700000000-00000001"));
  assert_false(exists(f, "scratch/lock-999999999-0000000000000001"));
  assert_true(exists(f, "cache/trees/README"));
  assert_int_equal(r.trees, 1);
  assert_int_equal(r.wheels, 2);
  assert_int_equal(r.leftovers, 3);
  assert_int_equal(r.orphans + r.orphans_waiting + r.busy, 0);
  assert_true(r.bytes > 0);
  /* Again: nothing left to remove. */
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.generations + r.trees + r.wheels + r.leftovers, 0);
}

/* A generation built before its byte-code names source trees (cache.h):
 * kept while it is, removed with it, and their wheels with them. */
static void test_gc_keeps_source_trees_a_kept_generation_names_and_removes_the_rest(void **state) {
  struct fx *f = *state;
  /* Generation 1 (A.src, B), 2 (A.src, B.src), 3 (A, B): 1 goes. */
  static const char *const g1[] = {KEY_A ".src", KEY_B, NULL},
                           *const g2[] = {KEY_A ".src", KEY_B ".src", NULL},
                           *const g3[] = {KEY_A, KEY_B, NULL};
  static const char *const *const p1[] = {g1, g2, g3};
  char id1[PL_PROJECT_ID_MAX];
  project(f, "p1", p1, 3, id1);
  cache_tree(f, KEY_A);
  cache_tree(f, KEY_B);
  cache_tree(f, KEY_A ".src");
  cache_tree(f, KEY_B ".src");
  cache_tree(f, KEY_D ".src"); /* nobody's */
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.generations, 1);
  assert_true(exists(f, "cache/trees/" KEY_A ".src/lib/mod.py"));
  assert_true(exists(f, "cache/trees/" KEY_B ".src/lib/mod.py"));
  assert_false(exists(f, "cache/trees/" KEY_D ".src"));
  assert_false(exists(f, "cache/wheels/" SHA_D ".whl"));
  assert_int_equal(r.trees, 1);
  /* Generation 2 no longer kept (3 replaced it, as a compile after the
   * switch does, and then became previous itself): its source trees go. */
  char link[PATH_MAX + 256];
  snprintf(link, sizeof link, "%s/projects/%s/previous", f->state, id1);
  assert_int_equal(unlink(link), 0);
  assert_int_equal(symlink("generations/3", link), 0);
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.generations, 1);
  assert_false(exists(f, "cache/trees/" KEY_A ".src"));
  assert_false(exists(f, "cache/trees/" KEY_B ".src"));
  assert_true(exists(f, "cache/trees/" KEY_A "/lib/mod.py"));
  assert_true(exists(f, "cache/trees/" KEY_B "/lib/mod.py"));
  assert_true(exists(f, "cache/wheels/" SHA_A ".whl"));
  assert_int_equal(r.trees, 2);
}

static void test_gc_keeps_the_whole_cache_for_a_generation_without_manifest(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, NULL};
  static const char *const *const p1[] = {g1};
  char id[PL_PROJECT_ID_MAX], rel[PATH_MAX];
  project(f, "p1", p1, 1, id);
  snprintf(rel, sizeof rel, "projects/%s/generations/1.manifest", id);
  char path[PATH_MAX + 256];
  snprintf(path, sizeof path, "%s/%s", f->state, rel);
  assert_int_equal(unlink(path), 0);
  cache_tree(f, KEY_A);
  cache_tree(f, KEY_D);
  put(f, "cache/trees/.tmp-" KEY_D "-0000000000000001/half", "");
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_true(r.cache_kept);
  assert_true(exists(f, "cache/trees/" KEY_D "/lib/mod.py"));
  assert_true(exists(f, "cache/wheels/" SHA_D ".whl"));
  /* Leftovers have no builder whatever the live set: they go. */
  assert_false(exists(f, "cache/trees/.tmp-" KEY_D "-0000000000000001"));
  assert_int_equal(r.trees + r.wheels, 0);
}

static void test_gc_leaves_a_project_being_changed_as_it_is(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, NULL}, *const g2[] = {KEY_B, NULL},
                           *const g3[] = {KEY_C, NULL};
  static const char *const *const p1[] = {g1, g2, g3};
  char id[PL_PROJECT_ID_MAX], rel[PATH_MAX];
  project(f, "p1", p1, 3, id);
  cache_tree(f, KEY_A);
  cleanup_close int pfd = open_project(f, id);
  cleanup_close int held = pl_gen_lock(pfd, NULL, NULL, &f->err);
  assert_true(held >= 0);
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.busy, 1);
  assert_int_equal(r.generations, 0);
  snprintf(rel, sizeof rel, "projects/%s/generations/1", id);
  assert_true(exists(f, rel));
  assert_true(exists(f, "cache/trees/" KEY_A "/lib/mod.py"));
}

/* An install killed after its commit and before its switch: generation 4
 * goes with pylock.toml but is neither current nor previous.  gc keeps it
 * (and the trees it names) for the next change to finish; a record it
 * cannot read keeps every generation. */
static void test_gc_keeps_the_generations_of_a_change_a_killed_command_left(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, NULL}, *const g2[] = {KEY_B, NULL},
                           *const g3[] = {KEY_C, NULL}, *const g4[] = {KEY_D, NULL};
  static const char *const *const p1[] = {g1, g2, g3, g4};
  char id[PL_PROJECT_ID_MAX], rel[PATH_MAX];
  project(f, "p1", p1, 4, id);
  cleanup_close int pfd = open_project(f, id);
  assert_int_equal(pl_gen_switch(pfd, 2, &f->err), 0); /* current 2, previous 4 */
  assert_int_equal(pl_gen_switch(pfd, 1, &f->err), 0); /* current 1, previous 2 */
  cache_tree(f, KEY_C);
  cache_tree(f, KEY_D);
  struct pl_change c = {.gen = 4, .prev = 1};
  snprintf(c.tmp, sizeof c.tmp, ".pylock.toml.tmp0123456789abcdef");
  assert_int_equal(pl_change_record(pfd, &c, &f->err), 0);
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.generations, 1);
  snprintf(rel, sizeof rel, "projects/%s/generations/4/lib/mod.py", id);
  assert_true(exists(f, rel));
  snprintf(rel, sizeof rel, "projects/%s/generations/3", id);
  assert_false(exists(f, rel));
  assert_true(exists(f, "cache/trees/" KEY_D "/lib/mod.py"));
  assert_false(exists(f, "cache/trees/" KEY_C));
  snprintf(rel, sizeof rel, "projects/%s/%s", id, PL_CHANGE_FILE);
  put(f, rel, "not a record\n");
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.generations, 0);
  snprintf(rel, sizeof rel, "projects/%s/generations/4/lib/mod.py", id);
  assert_true(exists(f, rel));
}

/* Set the orphan mark of project id to `days` ago. */
static void age_mark(struct fx *f, const char *id, unsigned days) {
  char rel[PATH_MAX], text[32];
  snprintf(rel, sizeof rel, "projects/%s/%s", id, PL_GC_ORPHAN_MARK);
  snprintf(text, sizeof text, "%lld\n", (long long)time(NULL) - (long long)days * 86400);
  put(f, rel, text);
}

static void test_gc_removes_an_orphan_only_after_its_grace_period(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, NULL}, *const q1[] = {KEY_B, NULL};
  static const char *const *const p1[] = {g1}, *const *const p2[] = {q1};
  char id[PL_PROJECT_ID_MAX], other[PL_PROJECT_ID_MAX], rel[PATH_MAX], path[PATH_MAX];
  project(f, "gone", p1, 1, id);
  project(f, "here", p2, 1, other);
  cache_tree(f, KEY_A);
  cache_tree(f, KEY_B);
  snprintf(path, sizeof path, "%s/gone/pylock.toml", f->dir);
  assert_int_equal(unlink(path), 0); /* no longer a project */
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.orphans_waiting, 1);
  assert_int_equal(r.orphans, 0);
  snprintf(rel, sizeof rel, "projects/%s/%s", id, PL_GC_ORPHAN_MARK);
  assert_true(exists(f, rel));
  assert_true(exists(f, "cache/trees/" KEY_A "/lib/mod.py")); /* still its generation's */
  /* 29 days on: still within the grace period. */
  age_mark(f, id, 29);
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.orphans, 0);
  /* 30 days on: removed, and the trees only it used with it. */
  age_mark(f, id, 30);
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.orphans, 1);
  snprintf(rel, sizeof rel, "projects/%s", id);
  assert_false(exists(f, rel));
  assert_false(exists(f, "cache/trees/" KEY_A));
  assert_true(exists(f, "cache/trees/" KEY_B "/lib/mod.py"));
  snprintf(rel, sizeof rel, "projects/%s/generations/1", other);
  assert_true(exists(f, rel));
}

static void test_gc_orphans_after_zero_removes_at_once_and_each_kind_is_found(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, NULL};
  static const char *const *const p1[] = {g1};
  char gone[PL_PROJECT_ID_MAX], moved[PL_PROJECT_ID_MAX], nopath[PL_PROJECT_ID_MAX];
  char path[PATH_MAX], rel[PATH_MAX], cmd[PATH_MAX * 2];
  project(f, "gone", p1, 1, gone);
  project(f, "moved", p1, 1, moved);
  project(f, "nopath", p1, 1, nopath);
  snprintf(cmd, sizeof cmd, "rm -rf %s/gone", f->dir); /* the directory is gone */
  assert_int_equal(system(cmd), 0);
  /* moved: now reached through a symlink, so its canonical path (and state) differ. */
  snprintf(cmd, sizeof cmd, "mv %s/moved %s/moved.real && ln -s moved.real %s/moved", f->dir,
           f->dir, f->dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof path, "%s/projects/%s/path", f->state, nopath);
  assert_int_equal(unlink(path), 0);
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 0, 0, &r), 0);
  assert_int_equal(r.orphans, 3);
  snprintf(rel, sizeof rel, "projects/%s", gone);
  assert_false(exists(f, rel));
  snprintf(rel, sizeof rel, "projects/%s", moved);
  assert_false(exists(f, rel));
  snprintf(rel, sizeof rel, "projects/%s", nopath);
  assert_false(exists(f, rel));
}

static void test_gc_orphan_that_came_back_loses_its_mark(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, NULL};
  static const char *const *const p1[] = {g1};
  char id[PL_PROJECT_ID_MAX], rel[PATH_MAX], path[PATH_MAX];
  project(f, "back", p1, 1, id);
  snprintf(path, sizeof path, "%s/back/pylock.toml", f->dir);
  assert_int_equal(unlink(path), 0);
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.orphans_waiting, 1);
  age_mark(f, id, 40);
  FILE *t = fopen(path, "w"); /* it is back before the next gc */
  assert_non_null(t);
  fclose(t);
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.orphans + r.orphans_waiting, 0);
  snprintf(rel, sizeof rel, "projects/%s/%s", id, PL_GC_ORPHAN_MARK);
  assert_false(exists(f, rel));
  snprintf(rel, sizeof rel, "projects/%s/generations/1/lib/mod.py", id);
  assert_true(exists(f, rel));
}

/* ---- the cache lock -------------------------------------------------------------------- */

/* A child holding the cache lock for `ms` milliseconds (0: until killed);
 * returns once it holds it. */
static pid_t holder(struct fx *f, long ms) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    pl_error_t e = NULL;
    int fd = pl_gc_hold_cache(&f->s, NULL, NULL, &e);
    if (write(p[1], fd >= 0 ? "y" : "n", 1) != 1) _exit(1);
    if (ms == 0) pause();
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
    _exit(0);
  }
  close(p[1]);
  char c = 0;
  assert_int_equal(read(p[0], &c, 1), 1);
  close(p[0]);
  assert_int_equal(c, 'y');
  return pid;
}

static void test_gc_cache_lock_file_is_neither_readable_nor_writable_by_others(void **state) {
  struct fx *f = *state;
  cleanup_close int fd = pl_gc_hold_cache(&f->s, NULL, NULL, &f->err);
  assert_true(fd >= 0);
  char path[PATH_MAX];
  struct stat st;
  snprintf(path, sizeof path, "%s/cache/%s", f->state, PL_GC_CACHE_LOCK);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0200);
  /* A read-only descriptor can take no lock that conflicts with it. */
  if (geteuid() != 0) {
    assert_int_equal(open(path, O_RDONLY), -1);
    assert_int_equal(errno, EACCES);
  }
}

static void test_gc_gives_up_in_time_while_a_sync_holds_the_cache(void **state) {
  struct fx *f = *state;
  cache_tree(f, KEY_D); /* garbage, but held */
  pid_t pid = holder(f, 0);
  struct pl_gc_result r;
  assert_int_equal(run_gc(f, 30, 1, &r), -1);
  assert_true(pl_error_is(f->err, EBUSY));
  assert_non_null(strstr(f->err->msg, "1 sync(s)"));
  assert_non_null(strstr(f->err->msg, "nothing was removed"));
  assert_non_null(strstr(f->err->hint, "pylock gc --wait"));
  assert_true(exists(f, "cache/trees/" KEY_D "/lib/mod.py"));
  pl_error_free(&f->err);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_false(exists(f, "cache/trees/" KEY_D));
}

static void note(void *ctx, const char *msg) {
  if (strstr(msg, "waiting for 1 sync(s)")) (*(int *)ctx)++;
}

static void test_gc_waits_for_a_sync_to_let_go_of_the_cache(void **state) {
  struct fx *f = *state;
  cache_tree(f, KEY_D);
  pid_t pid = holder(f, 1500);
  int noted = 0;
  struct pl_gc_opts o = {
      .orphan_days = 30, .wait_seconds = 20, .progress = note, .progress_ctx = &noted};
  struct pl_gc_result r;
  assert_int_equal(pl_gc_run(&f->s, &o, &r, &f->err), 0);
  assert_int_equal(noted, 1);
  assert_false(exists(f, "cache/trees/" KEY_D));
  waitpid(pid, NULL, 0);
}

static void test_gc_holders_share_the_cache(void **state) {
  struct fx *f = *state;
  pid_t a = holder(f, 0), b = holder(f, 0);
  cleanup_close int mine = pl_gc_hold_cache(&f->s, NULL, NULL, &f->err);
  assert_true(mine >= 0);
  kill(a, SIGKILL);
  kill(b, SIGKILL);
  waitpid(a, NULL, 0);
  waitpid(b, NULL, 0);
}

/* ---- cache clean ----------------------------------------------------------------- */

/* A progress callback keeping the last message in ctx (512 bytes). */
static void remember(void *ctx, const char *msg) {
  snprintf(ctx, 512, "%s", msg);
}

static void test_gc_clean_cache_removes_every_tree_and_wheel_and_keeps_the_lock(void **state) {
  struct fx *f = *state;
  cache_tree(f, KEY_A);
  cache_tree(f, KEY_B);
  put(f, "cache/quarantine/x-1/file", "damaged");
  put(f, "cache/trees/.tmp-123/partial", "half");
  put(f, "cache/trees/README", "not a tree");
  put(f, "cache/wheels/.fetch.tmp0000000000000001", "");
  close(pl_gc_hold_cache(&f->s, NULL, NULL, &f->err)); /* makes cache/lock */
  struct pl_gc_opts o = {.wait_seconds = 1};
  struct pl_gc_result r;
  assert_int_equal(pl_gc_clean_cache(&f->s, &o, &r, &f->err), 0);
  assert_int_equal(r.trees, 2);
  assert_int_equal(r.wheels, 2);
  assert_int_equal(r.leftovers, 4); /* partial tree, README, temporary wheel, quarantine */
  assert_int_equal(r.trees_kept, 0);
  assert_false(r.cache_kept);
  assert_true(r.bytes > 0);
  assert_false(exists(f, "cache/trees/" KEY_A));
  assert_false(exists(f, "cache/trees/.tmp-123"));
  assert_false(exists(f, "cache/trees/README"));
  assert_false(exists(f, "cache/wheels/" SHA_A ".whl"));
  assert_false(exists(f, "cache/quarantine"));
  assert_true(exists(f, "cache/trees"));
  assert_true(exists(f, "cache/wheels"));
  assert_true(exists(f, "cache/lock"));
}

/* A generation's package directories may be symlinks into its trees
 * (envgen.h): every tree a generation left in the state root names stays,
 * whether gc would keep that generation or not (clean removes none); every
 * wheel goes, theirs too. */
static void test_gc_clean_cache_keeps_every_tree_a_generation_names(void **state) {
  struct fx *f = *state;
  /* p1: 1 (A, B) neither current nor previous, 2 (A), 3 (A.src); p2: 1 (C). */
  static const char *const g1[] = {KEY_A, KEY_B, NULL}, *const g2[] = {KEY_A, NULL},
                           *const g3[] = {KEY_A ".src", NULL}, *const q1[] = {KEY_C, NULL};
  static const char *const *const p1[] = {g1, g2, g3}, *const *const p2[] = {q1};
  char id1[PL_PROJECT_ID_MAX], id2[PL_PROJECT_ID_MAX], rel[PATH_MAX];
  project(f, "p1", p1, 3, id1);
  project(f, "p2", p2, 1, id2);
  cache_tree(f, KEY_A);
  cache_tree(f, KEY_A ".src");
  cache_tree(f, KEY_B);
  cache_tree(f, KEY_C);
  cache_tree(f, KEY_D);        /* nobody's */
  cache_tree(f, KEY_D ".src"); /* nobody's */
  /* A partial generation names nothing: its change was killed. */
  snprintf(rel, sizeof rel, "projects/%s/generations/.4.tmp/x", id2);
  put(f, rel, "");
  snprintf(rel, sizeof rel, "projects/%s/generations/4.manifest", id2);
  static const char *const g4[] = {KEY_D, NULL};
  cleanup_free char *m = manifest(g4);
  put(f, rel, m);
  struct pl_gc_opts o = {.wait_seconds = 1};
  struct pl_gc_result r;
  assert_int_equal(pl_gc_clean_cache(&f->s, &o, &r, &f->err), 0);
  assert_int_equal(r.trees_kept, 4);
  assert_int_equal(r.trees, 2);
  assert_int_equal(r.wheels, 4); /* A, B, C, D: every wheel */
  assert_false(r.cache_kept);
  assert_true(exists(f, "cache/trees/" KEY_A "/lib/mod.py"));
  assert_true(exists(f, "cache/trees/" KEY_A ".src/lib/mod.py"));
  assert_true(exists(f, "cache/trees/" KEY_B "/lib/mod.py"));
  assert_true(exists(f, "cache/trees/" KEY_C "/lib/mod.py"));
  assert_false(exists(f, "cache/trees/" KEY_D));
  assert_false(exists(f, "cache/trees/" KEY_D ".src"));
  assert_false(exists(f, "cache/wheels/" SHA_A ".whl"));
  assert_false(exists(f, "cache/wheels/" SHA_C ".whl"));
  /* No generation was touched. */
  snprintf(rel, sizeof rel, "projects/%s/generations/1/lib/mod.py", id1);
  assert_true(exists(f, rel));
  snprintf(rel, sizeof rel, "projects/%s/generations/1.manifest", id1);
  assert_true(exists(f, rel));
  /* Once gc removes generation 1, B goes with it; a clean after that finds
   * nothing more to remove. */
  assert_int_equal(run_gc(f, 30, 0, &r), 0);
  assert_int_equal(r.generations, 1);
  assert_false(exists(f, "cache/trees/" KEY_B));
  assert_int_equal(pl_gc_clean_cache(&f->s, &o, &r, &f->err), 0);
  assert_int_equal(r.trees + r.wheels + r.leftovers, 0);
  assert_int_equal(r.trees_kept, 3);
}

/* A generation whose trees cannot be told (no manifest, or one that does
 * not parse) keeps every tree, as for gc; wheels and leftovers still go. */
static void test_gc_clean_cache_keeps_every_tree_for_a_generation_without_manifest(void **state) {
  struct fx *f = *state;
  static const char *const g1[] = {KEY_A, NULL};
  static const char *const *const p1[] = {g1};
  char id[PL_PROJECT_ID_MAX], rel[PATH_MAX];
  project(f, "p1", p1, 1, id);
  snprintf(rel, sizeof rel, "projects/%s/generations/2/lib/mod.py", id); /* an older pylock's */
  put(f, rel, "");
  cache_tree(f, KEY_A);
  cache_tree(f, KEY_D);
  put(f, "cache/trees/.tmp-" KEY_D "-0000000000000001/half", "");
  put(f, "cache/trees/not-a-key", "");
  char said[512] = "";
  struct pl_gc_opts o = {.wait_seconds = 1, .progress = remember, .progress_ctx = said};
  struct pl_gc_result r;
  assert_int_equal(pl_gc_clean_cache(&f->s, &o, &r, &f->err), 0);
  assert_true(r.cache_kept);
  assert_non_null(strstr(said, "kept every cache tree"));
  assert_non_null(strstr(said, "generation 2"));
  assert_int_equal(r.trees, 0);
  assert_int_equal(r.trees_kept, 2);
  assert_int_equal(r.wheels, 2);
  assert_int_equal(r.leftovers, 2);
  assert_true(exists(f, "cache/trees/" KEY_A "/lib/mod.py"));
  assert_true(exists(f, "cache/trees/" KEY_D "/lib/mod.py"));
  assert_false(exists(f, "cache/wheels/" SHA_A ".whl"));
  assert_false(exists(f, "cache/trees/.tmp-" KEY_D "-0000000000000001"));
  assert_false(exists(f, "cache/trees/not-a-key"));
}

static void test_gc_clean_cache_gives_up_while_a_sync_holds_the_cache(void **state) {
  struct fx *f = *state;
  cache_tree(f, KEY_A);
  cleanup_close int held = pl_gc_hold_cache(&f->s, NULL, NULL, &f->err);
  assert_true(held >= 0);
  /* The holder is this process's open file description: gc's own locks on
   * another description conflict with it (OFD locks). */
  struct pl_gc_opts o = {.wait_seconds = 0, .command = "pylock cache clean"};
  struct pl_gc_result r;
  assert_int_equal(pl_gc_clean_cache(&f->s, &o, &r, &f->err), -1);
  assert_non_null(strstr(f->err->hint, "pylock cache clean --wait"));
  assert_true(exists(f, "cache/trees/" KEY_A));
  assert_true(exists(f, "cache/wheels/" SHA_A ".whl"));
}

/* In a user and mount namespace of its own (where this user may mount),
 * bind a directory from outside into the cache: clean must remove nothing
 * in it.  Exit status of the child: 0 as expected, 77 cannot mount here. */
static int clean_beside_a_bind_mount(struct fx *f, const char *victim) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return 77;
  char map[64];
  int fd = open("/proc/self/setgroups", O_WRONLY);
  if (fd >= 0) (void)!write(fd, "deny", 4), close(fd);
  snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
  fd = open("/proc/self/uid_map", O_WRONLY);
  if (fd < 0 || write(fd, map, strlen(map)) < 0) return 77;
  close(fd);
  snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
  fd = open("/proc/self/gid_map", O_WRONLY);
  if (fd < 0 || write(fd, map, strlen(map)) < 0) return 77;
  close(fd);
  char at[PATH_MAX + 64];
  snprintf(at, sizeof at, "%s/cache/trees/" KEY_C, f->state);
  if (mkdir(at, 0700) < 0 || mount(victim, at, NULL, MS_BIND, NULL) < 0) return 77;
  /* The state opened again: f->s.fd still points into the old mounts (and
   * pl_state_open would refuse "/" owned by an unmapped root here). */
  struct pl_state s = {.path = f->state, .fd = open(f->state, O_RDONLY | O_DIRECTORY)};
  struct pl_gc_opts o = {.wait_seconds = 1};
  struct pl_gc_result r;
  pl_error_t err = NULL;
  if (s.fd < 0) return 2;
  if (pl_gc_clean_cache(&s, &o, &r, &err) != -1 || err->errnum != EXDEV) return 1;
  return 0;
}

static void test_gc_clean_cache_never_removes_what_a_mount_inside_shows(void **state) {
  struct fx *f = *state;
  cache_tree(f, KEY_A);
  char victim[128], file[160];
  snprintf(victim, sizeof victim, "%s/victim", f->dir);
  snprintf(file, sizeof file, "%s/precious", victim);
  assert_int_equal(mkdir(victim, 0700), 0);
  FILE *out = fopen(file, "w");
  assert_non_null(out);
  fputs("precious", out);
  fclose(out);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(clean_beside_a_bind_mount(f, victim));
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) skip();
  assert_int_equal(WEXITSTATUS(status), 0);
  struct stat st;
  assert_int_equal(stat(file, &st), 0);
}

static void test_gc_holder_lines_match_device_and_inode(void **state) {
  (void)state;
  /* /proc/locks prints the device as hex major:minor, then the inode. */
  assert_true(pl_gc_locks_line_holds("1: OFDLCK ADVISORY  WRITE -1 fe:01:1234 5 5", 0xfe, 1, 1234));
  assert_true(
      pl_gc_locks_line_holds("7: OFDLCK ADVISORY  WRITE -1 103:1a2b3:77 9 9", 0x103, 0x1a2b3, 77));
  /* The same inode on another filesystem (a tmpfs of one's own): not ours. */
  assert_false(
      pl_gc_locks_line_holds("1: OFDLCK ADVISORY  WRITE -1 00:2a:1234 5 5", 0xfe, 1, 1234));
  assert_false(
      pl_gc_locks_line_holds("1: OFDLCK ADVISORY  WRITE -1 fe:02:1234 5 5", 0xfe, 1, 1234));
  assert_false(
      pl_gc_locks_line_holds("1: OFDLCK ADVISORY  WRITE -1 ff:01:1234 5 5", 0xfe, 1, 1234));
  /* Another inode of the same filesystem. */
  assert_false(
      pl_gc_locks_line_holds("1: OFDLCK ADVISORY  WRITE -1 fe:01:12345 5 5", 0xfe, 1, 1234));
  assert_false(pl_gc_locks_line_holds("1: OFDLCK ADVISORY  WRITE -1 fe:01:123 5 5", 0xfe, 1, 1234));
  /* A waiter, the gate, a read lock, other kinds of lock, junk: no holder. */
  assert_false(
      pl_gc_locks_line_holds("1: -> OFDLCK ADVISORY  WRITE -1 fe:01:1234 5 5", 0xfe, 1, 1234));
  assert_false(
      pl_gc_locks_line_holds("1: OFDLCK ADVISORY  WRITE -1 fe:01:1234 0 0", 0xfe, 1, 1234));
  assert_false(pl_gc_locks_line_holds("1: OFDLCK ADVISORY  READ -1 fe:01:1234 5 5", 0xfe, 1, 1234));
  assert_false(
      pl_gc_locks_line_holds("1: POSIX  ADVISORY  WRITE 42 fe:01:1234 5 5", 0xfe, 1, 1234));
  assert_false(
      pl_gc_locks_line_holds("1: FLOCK  ADVISORY  WRITE 42 fe:01:1234 0 EOF", 0xfe, 1, 1234));
  assert_false(pl_gc_locks_line_holds("", 0xfe, 1, 1234));
  assert_false(pl_gc_locks_line_holds("1: OFDLCK ADVISORY  WRITE -1 fe:01", 0xfe, 1, 1234));
}

/* How many lines of the real /proc/locks match (maj, min, ino). */
static size_t holders_in_proc(unsigned maj, unsigned min, unsigned long long ino) {
  FILE *fp = fopen("/proc/locks", "r");
  if (fp == NULL) return SIZE_MAX;
  char line[512];
  size_t n = 0;
  while (fgets(line, sizeof line, fp))
    if (pl_gc_locks_line_holds(line, maj, min, ino)) n++;
  fclose(fp);
  return n;
}

static void test_gc_holder_lines_match_what_the_kernel_prints(void **state) {
  (void)state;
  char path[] = "/tmp/pl-test-gc-locks-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
  if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
    close(fd);
    skip();
  }
  size_t n = holders_in_proc(major(st.st_dev), minor(st.st_dev), st.st_ino);
  if (n == SIZE_MAX) {
    close(fd);
    skip();
  }
  assert_int_equal(n, 1);
  assert_int_equal(holders_in_proc(major(st.st_dev), minor(st.st_dev) + 1, st.st_ino), 0);
  assert_int_equal(holders_in_proc(major(st.st_dev) + 1, minor(st.st_dev), st.st_ino), 0);
  close(fd);
  assert_int_equal(holders_in_proc(major(st.st_dev), minor(st.st_dev), st.st_ino), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_gc_live_keeps_the_trees_a_manifest_names_and_their_wheels),
      T(test_gc_live_manifest_that_does_not_parse_keeps_the_whole_cache),
      T(test_gc_live_is_every_generation_of_every_project),
      T(test_gc_live_generation_without_manifest_keeps_the_whole_cache),
      T(test_gc_live_project_without_generations_names_nothing),
      T(test_gc_removes_what_no_kept_generation_uses_and_nothing_else),
      T(test_gc_keeps_source_trees_a_kept_generation_names_and_removes_the_rest),
      T(test_gc_keeps_the_whole_cache_for_a_generation_without_manifest),
      T(test_gc_leaves_a_project_being_changed_as_it_is),
      T(test_gc_keeps_the_generations_of_a_change_a_killed_command_left),
      T(test_gc_removes_an_orphan_only_after_its_grace_period),
      T(test_gc_orphans_after_zero_removes_at_once_and_each_kind_is_found),
      T(test_gc_orphan_that_came_back_loses_its_mark),
      T(test_gc_cache_lock_file_is_neither_readable_nor_writable_by_others),
      T(test_gc_gives_up_in_time_while_a_sync_holds_the_cache),
      T(test_gc_waits_for_a_sync_to_let_go_of_the_cache),
      T(test_gc_holders_share_the_cache),
      T(test_gc_clean_cache_removes_every_tree_and_wheel_and_keeps_the_lock),
      T(test_gc_clean_cache_keeps_every_tree_a_generation_names),
      T(test_gc_clean_cache_keeps_every_tree_for_a_generation_without_manifest),
      T(test_gc_clean_cache_gives_up_while_a_sync_holds_the_cache),
      T(test_gc_clean_cache_never_removes_what_a_mount_inside_shows),
      T(test_gc_holder_lines_match_device_and_inode),
      T(test_gc_holder_lines_match_what_the_kernel_prints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
