/* pylock — garbage collection and the cache lock; see gc.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "gc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cache.h"
#include "change.h"
#include "cleanup.h"
#include "file.h"
#include "generations.h"
#include "interrupt.h"
#include "manifest.h"
#include "pause.h"
#include "project.h"

#define GATE_BYTE 0
#define SLOT_SPAN ((off_t)1 << 62)  /* holders' bytes: 1 .. 2^62 */
#define LOCKS_MAX ((size_t)4 << 20) /* /proc/locks, read to count holders */
#define QUIET_MS 1000               /* wait this long before saying so */
#define NOTE_EVERY_MS 10000
#define POLL_MS 20
#define REMOVE_DEPTH_MAX 256
#define NEW_STATE_AGE 600 /* seconds: a `.new-*` project state whose maker is gone */

/* progress(ctx, printf(fmt, ...)), when there is a progress callback. */
static void say(void (*progress)(void *, const char *), void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(void (*progress)(void *, const char *), void *ctx, const char *fmt, ...) {
  if (progress == NULL) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  progress(ctx, buf);
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {
  }
}

/* ---- the cache lock ---------------------------------------------------------- */

/* A write lock (or unlock) on [start, start+len) of fd, waiting or not;
 * len 0 reaches to the end of any file.  -1 with errno EAGAIN when held. */
static int range_lock(int fd, short type, off_t start, off_t len, bool wait) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  for (;;) {
    if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0) return 0;
    if (errno == EACCES) errno = EAGAIN;
    if (errno != EINTR || !wait || pl_interrupted()) return -1; /* Ctrl-C: stop waiting */
  }
}

/* STATE/cache/lock, opened for writing only (see gc.h for why it is 0200). */
static int open_lock_file(const struct pl_state *s, pl_error_t *err) {
  cleanup_close int dfd = pl_state_subdir(s, PL_STATE_CACHE, true, err);
  if (dfd < 0) return -1;
  int fd = openat(dfd, PL_GC_CACHE_LOCK, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0200);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return pl_fail(err, e, "open %s/%s/%s", s->path, PL_STATE_CACHE, PL_GC_CACHE_LOCK);
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != getuid() ||
      ((st.st_mode & 07777) != 0200 && fchmod(fd, 0200) < 0)) {
    close(fd);
    return pl_fail(err, PL_REFUSED, "%s/%s/%s is not a file of yours that pylock can lock", s->path,
                   PL_STATE_CACHE, PL_GC_CACHE_LOCK);
  }
  return fd;
}

bool pl_gc_locks_line_holds(const char *line, unsigned dev_major, unsigned dev_minor,
                            unsigned long long ino) {
  char kind[16], type[16];
  unsigned maj = 0, min = 0;
  unsigned long long got = 0, start = 0;
  /* "1: OFDLCK ADVISORY  WRITE -1 fe:00:1234 5 5"; a waiter's line has "->"
   * for kind.  The device too: an inode number alone is anyone's to match
   * with a lock on a file of their own on another filesystem (a tmpfs in
   * their own namespaces), to make gc wait for holders that are not there. */
  return sscanf(line, "%*d: %15s %*s %15s %*d %x:%x:%llu %llu", kind, type, &maj, &min, &got,
                &start) == 6 &&
         strcmp(kind, "OFDLCK") == 0 && strcmp(type, "WRITE") == 0 && maj == dev_major &&
         min == dev_minor && got == ino && start > GATE_BYTE;
}

/* How many holders (OFD write locks above the gate) the lock file at fd
 * has, from /proc/locks; 0 when it cannot tell. */
static size_t count_holders(int fd) {
  struct stat st;
  cleanup_free char *text = NULL;
  if (fstat(fd, &st) < 0 ||
      pl_read_file_at(AT_FDCWD, "/proc/locks", LOCKS_MAX, &text, NULL, NULL) < 0)
    return 0;
  size_t n = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    if (pl_gc_locks_line_holds(line, major(st.st_dev), minor(st.st_dev), st.st_ino)) n++;
  }
  return n;
}

/* Hold the gate: at once if free; else (a gc holds it) say so after a
 * moment and wait. */
static int take_gate(int fd, void (*progress)(void *, const char *), void *ctx) {
  long long until = now_ms() + QUIET_MS;
  while (range_lock(fd, F_WRLCK, GATE_BYTE, 1, false) < 0) {
    if (errno != EAGAIN) return -1;
    if (now_ms() >= until) {
      say(progress, ctx, "pylock: waiting for pylock gc to finish with the shared cache...");
      return range_lock(fd, F_WRLCK, GATE_BYTE, 1, true);
    }
    sleep_ms(POLL_MS / 4);
  }
  return 0;
}

int pl_gc_hold_cache(const struct pl_state *s, void (*progress)(void *ctx, const char *msg),
                     void *ctx, pl_error_t *err) {
  int fd = open_lock_file(s, err);
  if (fd < 0) return -1;
  uint64_t rnd = 0;
  if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd ^= (uint64_t)getpid() << 20;
  off_t slot = GATE_BYTE + 1 + (off_t)(rnd % (uint64_t)SLOT_SPAN);
  if (take_gate(fd, progress, ctx) < 0 || range_lock(fd, F_WRLCK, slot, 1, true) < 0 ||
      range_lock(fd, F_UNLCK, GATE_BYTE, 1, false) < 0) {
    int e = errno;
    close(fd);
    return pl_fail(err, e, "lock %s/%s/%s", s->path, PL_STATE_CACHE, PL_GC_CACHE_LOCK);
  }
  return fd;
}

/* Take [start, start+len) of fd before deadline (ms, monotonic), polling,
 * and say whom gc waits for (holders counted when `count`) once a moment
 * has passed.  1 taken, 0 not in time, -1 on error (errno). */
static int take_until(int fd, off_t start, off_t len, long long deadline,
                      const struct pl_gc_opts *o, bool count) {
  long long began = now_ms(), noted = 0;
  size_t last = 0;
  for (;;) {
    if (range_lock(fd, F_WRLCK, start, len, false) == 0) return 1;
    if (errno != EAGAIN) return -1;
    long long t = now_ms();
    if (t >= deadline) return 0;
    size_t n = count ? count_holders(fd) : 0;
    if (t - began >= QUIET_MS && (noted == 0 || t - noted >= NOTE_EVERY_MS || n != last)) {
      if (count)
        say(o->progress, o->progress_ctx,
            "pylock: waiting for %zu sync(s) to finish with the shared cache...", n);
      else
        say(o->progress, o->progress_ctx, "pylock: waiting for another pylock gc to finish...");
      noted = t;
      last = n;
    }
    sleep_ms(POLL_MS);
  }
}

/* gc's hold: the gate, then every holder's byte, within o->wait_seconds. */
static int take_exclusive(const struct pl_state *s, const struct pl_gc_opts *o, pl_error_t *err) {
  int fd = open_lock_file(s, err);
  if (fd < 0) return -1;
  long long deadline = now_ms() + (long long)o->wait_seconds * 1000;
  int r = take_until(fd, GATE_BYTE, 1, deadline, o, false);
  if (r == 1) r = take_until(fd, GATE_BYTE + 1, 0, deadline, o, true);
  if (r == 1) return fd;
  int e = errno;
  size_t n = r == 0 ? count_holders(fd) : 0;
  close(fd);
  if (r < 0) return pl_fail(err, e, "lock %s/%s/%s", s->path, PL_STATE_CACHE, PL_GC_CACHE_LOCK);
  pl_fail(err, -EBUSY,
          "the shared cache is still in use (%zu sync(s) or another gc) after %u s; nothing was "
          "removed from it",
          n, o->wait_seconds);
  return pl_error_set_hint(err,
                           "run it again when they are done, or wait longer: %s --wait SECONDS",
                           o->command ? o->command : "pylock gc");
}

/* ---- the live set -------------------------------------------------------------- */

void pl_gc_live_free(struct pl_gc_live *l) {
  for (size_t i = 0; i < l->ntrees; i++)
    free(l->trees[i]);
  free(l->trees);
  free(l->keep_all);
  memset(l, 0, sizeof *l);
}

/* Record the first reason the whole cache must stay. */
static int keep_all(struct pl_gc_live *l, pl_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int keep_all(struct pl_gc_live *l, pl_error_t *err, const char *fmt, ...) {
  if (l->keep_all) return 0;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&l->keep_all, fmt, ap);
  va_end(ap);
  if (n < 0) {
    l->keep_all = NULL;
    return pl_fail(err, ENOMEM, "gc");
  }
  return 0;
}

static int add_tree(struct pl_gc_live *l, const char *key, pl_error_t *err) {
  if (l->ntrees == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    char **t = realloc(l->trees, cap * sizeof *t);
    if (t == NULL) return pl_fail(err, ENOMEM, "gc");
    l->trees = t;
    l->cap = cap;
  }
  if ((l->trees[l->ntrees] = strdup(key)) == NULL) return pl_fail(err, ENOMEM, "gc");
  l->ntrees++;
  return 0;
}

int pl_gc_live_add_manifest(struct pl_gc_live *l, const char *text, size_t len, const char *what,
                            pl_error_t *err) {
  struct pl_gen_manifest g;
  pl_error_t bad = NULL;
  if (pl_gen_manifest_parse(text, len, what, &g, &bad) < 0) {
    if (bad->errnum == ENOMEM) {
      pl_error_free(err);
      *err = bad;
      return -1;
    }
    int r = keep_all(l, err, "%s", bad->msg);
    pl_error_free(&bad);
    return r;
  }
  int r = 0;
  for (size_t i = 0; r == 0 && i < g.ntrees; i++)
    r = add_tree(l, g.trees[i].key, err);
  pl_gen_manifest_free(&g);
  return r;
}

int pl_gc_live_add_project(struct pl_gc_live *l, int project_fd, const char *shown,
                           pl_error_t *err) {
  cleanup_free unsigned *gens = NULL;
  size_t n = 0;
  pl_error_t e2 = NULL;
  if (pl_gen_list(project_fd, &gens, &n, &e2) < 0) {
    bool none = e2->errnum == ENOENT;
    int r = none ? 0 : keep_all(l, err, "%s: %s", shown, e2->msg);
    pl_error_free(&e2);
    return r;
  }
  for (size_t i = 0; i < n; i++) {
    char name[64], what[PATH_MAX + 96];
    cleanup_free char *text = NULL;
    size_t len = 0;
    snprintf(name, sizeof name, "%s/%u.manifest", PL_GENERATIONS_DIR, gens[i]);
    snprintf(what, sizeof what, "%s/%s", shown, name);
    if (pl_read_file_at(project_fd, name, PL_MANIFEST_MAX_BYTES, &text, &len, &e2) < 0) {
      int r = keep_all(l, err, "generation %u of %s has no manifest (%s)", gens[i], shown, e2->msg);
      pl_error_free(&e2);
      if (r < 0) return -1;
      continue;
    }
    if (pl_gc_live_add_manifest(l, text, len, what, err) < 0) return -1;
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void pl_gc_live_sort(struct pl_gc_live *l) {
  if (l->ntrees == 0) return;
  qsort(l->trees, l->ntrees, sizeof *l->trees, cmp_str);
  size_t w = 1;
  for (size_t i = 1; i < l->ntrees; i++) {
    if (strcmp(l->trees[i], l->trees[w - 1]) == 0)
      free(l->trees[i]);
    else
      l->trees[w++] = l->trees[i];
  }
  l->ntrees = w;
}

/* Index of the first key not below `key` (the list is sorted). */
static size_t lower_bound(const struct pl_gc_live *l, const char *key) {
  size_t lo = 0, hi = l->ntrees;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(l->trees[mid], key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

bool pl_gc_live_has_tree(const struct pl_gc_live *l, const char *key) {
  size_t i = lower_bound(l, key);
  return i < l->ntrees && strcmp(l->trees[i], key) == 0;
}

bool pl_gc_live_has_wheel(const struct pl_gc_live *l, const char *sha256) {
  size_t n = strlen(sha256);
  /* Keys are <wheel sha256>-<interpreter key>: the first key not below
   * the sha256 is one of its trees if it has any. */
  size_t i = lower_bound(l, sha256);
  return n > 0 && i < l->ntrees && strncmp(l->trees[i], sha256, n) == 0 && l->trees[i][n] == '-';
}

/* ---- removing, and counting what it frees ------------------------------------- */

/* Bytes removing dirfd/name would free: its directories, and its files no
 * link outside keeps (a file a generation also links frees nothing). */
static uint64_t freed_by(int dirfd, const char *name, int depth) {
  struct stat st;
  if (depth > REMOVE_DEPTH_MAX || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return 0;
  uint64_t bytes = (uint64_t)st.st_blocks * 512;
  if (!S_ISDIR(st.st_mode)) return st.st_nlink > 1 ? 0 : bytes;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return bytes;
  cleanup_dir DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return bytes;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      bytes += freed_by(fd, e->d_name, depth + 1);
  return bytes;
}

/* Remove dirfd/name (a file or a tree), adding what it frees to *bytes.
 * 1 removed, 0 already gone, -1 on error. */
static int remove_counted(int dirfd, const char *name, uint64_t *bytes, pl_error_t *err) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : pl_fail(err, errno, "stat %s", name);
  uint64_t freed = freed_by(dirfd, name, 0);
  if (pl_remove_tree_at(dirfd, name, err) < 0) return -1;
  *bytes += freed;
  return 1;
}

/* Is the process `pid` gone?  (Not when it cannot tell.) */
static bool pid_gone(const char *digits) {
  char *end;
  errno = 0;
  long pid = strtol(digits, &end, 10);
  if (errno || end == digits || (*end != '\0' && *end != '-') || pid <= 0 || pid > INT_MAX)
    return false;
  return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static bool all_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

/* trees/<64 hex>-<16 hex>, and .src after it: the name of a tree or a
 * source tree (cache.h). */
static bool is_tree_key(const char *name) {
  size_t n = strlen(name), k = 64 + 1 + PL_INTERP_KEY_LEN;
  return (n == k || (n == k + strlen(PL_CACHE_SOURCE_SUFFIX) &&
                     strcmp(name + k, PL_CACHE_SOURCE_SUFFIX) == 0)) &&
         all_hex(name, 64) && name[64] == '-' && all_hex(name + 65, PL_INTERP_KEY_LEN);
}

/* wheels/<64 hex>.whl; its sha256 into sha. */
static bool is_wheel_name(const char *name, char sha[PL_SHA256_HEX]) {
  if (strlen(name) != 64 + 4 || strcmp(name + 64, ".whl") != 0 || !all_hex(name, 64)) return false;
  memcpy(sha, name, 64);
  sha[64] = '\0';
  return true;
}

/* ---- projects ------------------------------------------------------------------ */

struct gc_run {
  const struct pl_state *s;
  const struct pl_gc_opts *o;
  struct pl_gc_result *res;
  struct pl_gc_live live;
  int projects_fd;
  char own_id[PL_PROJECT_ID_MAX]; /* "" if none */
  time_t now;
};

#define SAY(g, ...) say((g)->o->progress, (g)->o->progress_ctx, __VA_ARGS__)

/* Absolute path of generation n of project `id` (what an overlay names). */
static void layer_path(const struct gc_run *g, const char *id, unsigned n, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s/%s/%s/%u", g->s->path, PL_STATE_PROJECTS, id, PL_GENERATIONS_DIR, n);
}

/* Remove generation n (its directory, record and manifest) of project `id`. */
static int remove_generation(struct gc_run *g, int pfd, unsigned n, pl_error_t *err) {
  char name[64];
  cleanup_close int gfd =
      openat(pfd, PL_GENERATIONS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gfd < 0) return pl_fail(err, errno, "open %s", PL_GENERATIONS_DIR);
  snprintf(name, sizeof name, "%u", n);
  g->res->bytes += freed_by(gfd, name, 0);
  if (pl_gen_remove(pfd, name, err) < 0) return -1;
  const char *ext[] = {"meta", "manifest"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(name, sizeof name, "%u.%s", n, ext[i]);
    if (remove_counted(gfd, name, &g->res->bytes, err) < 0) return -1;
  }
  return 0;
}

/* Remove the generations of a project (whose change lock gc holds) other
 * than current and previous that no running environment uses, and the
 * partial ones a crashed change left. */
static int prune_generations(struct gc_run *g, int pfd, const char *id, pl_error_t *err) {
  if (faccessat(pfd, PL_GENERATIONS_DIR, F_OK, AT_SYMLINK_NOFOLLOW) < 0) return 0;
  unsigned cur = 0, prev = 0;
  pl_error_t unsure = NULL;
  /* current or previous unreadable: which generation is which is unknown; keep all. */
  if (pl_gen_current(pfd, &cur, &unsure) < 0 || pl_gen_previous(pfd, &prev, &unsure) < 0) {
    SAY(g, "pylock: kept every generation of %s/%s: %s", g->s->path, id, unsure->msg);
    pl_error_free(&unsure);
    return 0;
  }
  /* A change a killed command left recorded: its new generation may be
   * the one that goes with pylock.toml already (change.h), current or not;
   * the next change of the project finishes or undoes it.  Both stay. */
  struct pl_change pending;
  int rec = pl_change_pending(pfd, &pending);
  if (rec < 0) {
    SAY(g, "pylock: kept every generation of %s/%s: its %s record cannot be read", g->s->path, id,
        PL_CHANGE_FILE);
    return 0;
  }
  if (pl_gen_remove_partials(pfd, err) < 0) return -1;
  cleanup_free unsigned *gens = NULL;
  size_t n = 0;
  if (pl_gen_list(pfd, &gens, &n, err) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    if (gens[i] == cur || gens[i] == prev ||
        (rec == 1 && (gens[i] == pending.gen || gens[i] == pending.prev)))
      continue;
    char layer[PATH_MAX];
    layer_path(g, id, gens[i], layer, sizeof layer);
    if (pl_gen_in_use(layer)) {
      g->res->generations_in_use++;
      continue;
    }
    if (remove_generation(g, pfd, gens[i], err) < 0) return pl_error_wrap(err, "%s", layer);
    g->res->generations++;
  }
  return 0;
}

/* Is the project state open at pfd an orphan (see gc.h)?  *why says how. */
static bool is_orphan(int pfd, const char *id, char *why, size_t cap) {
  char recorded[PATH_MAX + 2], toml[PATH_MAX + 32], other[PL_PROJECT_ID_MAX];
  cleanup_close int fd = openat(pfd, PL_PROJECT_PATH_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, recorded, sizeof recorded - 1);
  if (n <= 1 || recorded[n - 1] != '\n' || recorded[0] != '/' ||
      memchr(recorded, '\0', (size_t)n)) {
    snprintf(why, cap, "its %s file names no project directory", PL_PROJECT_PATH_FILE);
    return true;
  }
  recorded[n - 1] = '\0';
  cleanup_free char *real = realpath(recorded, NULL);
  if (real == NULL) {
    /* Unreadable is not gone (a disk not mounted now, permissions). */
    if (errno != ENOENT && errno != ENOTDIR) return false;
    snprintf(why, cap, "%s no longer exists", recorded);
    return true;
  }
  pl_project_id(real, other);
  if (strcmp(real, recorded) != 0 || strcmp(other, id) != 0) {
    snprintf(why, cap, "%s is now %s, whose state is another", recorded, real);
    return true;
  }
  snprintf(toml, sizeof toml, "%s/%s", real, PL_LOCK_FILE);
  if (faccessat(AT_FDCWD, toml, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
      (errno == ENOENT || errno == ENOTDIR)) {
    snprintf(why, cap, "%s holds no %s", recorded, PL_LOCK_FILE);
    return true;
  }
  /* A directory pylock would refuse (another user's, or one others can
   * write: a project deleted from /tmp and made again there by someone
   * else) is not this state's project, whatever it holds. */
  pl_error_t refused = NULL;
  cleanup_free char *again = NULL;
  if (pl_project_find(real, &again, &refused) < 0 && refused->errnum == PL_REFUSED) {
    snprintf(why, cap, "%s is no longer a project pylock would use (%s)", recorded, refused->msg);
    pl_error_free(&refused);
    return true;
  }
  pl_error_free(&refused);
  return false;
}

/* When the project was first seen orphaned: its mark, made now if missing. */
static int orphan_since(struct gc_run *g, int pfd, time_t *since, pl_error_t *err) {
  char text[64];
  cleanup_close int fd = openat(pfd, PL_GC_ORPHAN_MARK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
  if (n > 0) {
    text[n] = '\0';
    char *end;
    errno = 0;
    long long t = strtoll(text, &end, 10);
    if (errno == 0 && end != text && *end == '\n' && t > 0 && t <= (long long)g->now) {
      *since = (time_t)t;
      return 0;
    }
  }
  *since = g->now;
  int len = snprintf(text, sizeof text, "%lld\n", (long long)g->now);
  return pl_write_file_atomic_at(pfd, PL_GC_ORPHAN_MARK, text, (size_t)len, 0600, err);
}

/* Is any generation of the project `id` mounted by a running environment? */
static bool any_generation_in_use(const struct gc_run *g, int pfd, const char *id) {
  cleanup_free unsigned *gens = NULL;
  size_t n = 0;
  pl_error_t e2 = NULL;
  if (pl_gen_list(pfd, &gens, &n, &e2) < 0) {
    bool none = e2->errnum == ENOENT;
    pl_error_free(&e2);
    return !none;
  }
  for (size_t i = 0; i < n; i++) {
    char layer[PATH_MAX];
    layer_path(g, id, gens[i], layer, sizeof layer);
    if (pl_gen_in_use(layer)) return true;
  }
  return false;
}

/* Remove the orphan project `id` (gc holds its change lock): moved aside in
 * one rename, so that no half-removed state keeps its name, then removed. */
static int remove_project(struct gc_run *g, const char *id, pl_error_t *err) {
  char aside[PL_PROJECT_ID_MAX + 40];
  uint64_t rnd = 0;
  if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd ^= (uint64_t)getpid();
  snprintf(aside, sizeof aside, ".gc-%s-%016llx", id, (unsigned long long)rnd);
  pl_pause("orphan");
  if (renameat(g->projects_fd, id, g->projects_fd, aside) < 0)
    return pl_fail(err, errno, "move %s/%s/%s aside", g->s->path, PL_STATE_PROJECTS, id);
  if (remove_counted(g->projects_fd, aside, &g->res->bytes, err) < 0) return -1;
  g->res->orphans++;
  return 0;
}

/* An orphan: marked, or removed once its grace period is over. *removed
 * tells which. */
static int handle_orphan(struct gc_run *g, int pfd, const char *id, const char *why, bool *removed,
                         pl_error_t *err) {
  time_t since;
  *removed = false;
  if (orphan_since(g, pfd, &since, err) < 0) return -1;
  char day[32];
  strftime(day, sizeof day, "%Y-%m-%d", localtime(&since));
  time_t grace = (time_t)g->o->orphan_days * 86400;
  if (g->now - since < grace) {
    long left = (long)((grace - (g->now - since) + 86399) / 86400);
    SAY(g,
        "pylock: %s/%s/%s is an orphan since %s (%s); it is removed in %ld day(s) (now: pylock "
        "gc --orphans-after 0)",
        g->s->path, PL_STATE_PROJECTS, id, day, why, left);
    g->res->orphans_waiting++;
    return 0;
  }
  if (any_generation_in_use(g, pfd, id)) {
    SAY(g, "pylock: kept the orphan %s/%s/%s (%s): a running environment uses it", g->s->path,
        PL_STATE_PROJECTS, id, why);
    g->res->orphans_waiting++;
    return 0;
  }
  if (remove_project(g, id, err) < 0) return -1;
  SAY(g, "pylock: removed %s/%s/%s, an orphan since %s (%s)", g->s->path, PL_STATE_PROJECTS, id,
      day, why);
  *removed = true;
  return 0;
}

/* One project's state: an orphan marked or removed, or its old generations
 * pruned.  One whose change lock another pylock holds is left as it is. */
static int gc_project(struct gc_run *g, const char *id, pl_error_t *err) {
  cleanup_close int pfd =
      openat(g->projects_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (pfd < 0) return 0; /* not a directory: not a project's state */
  char shown[PATH_MAX];
  snprintf(shown, sizeof shown, "%s/%s/%s", g->s->path, PL_STATE_PROJECTS, id);
  pl_error_t foreign = NULL;
  if (pl_state_check_owned(pfd, shown, &foreign) < 0) {
    /* pylock would refuse it: not touched (and what it names stays live). */
    SAY(g, "pylock: left %s as it is: %s", shown, foreign->msg);
    pl_error_free(&foreign);
    g->res->busy++;
    return 0;
  }
  bool own = strcmp(id, g->own_id) == 0;
  cleanup_close int lock = own ? -1 : pl_gen_lock_try(pfd);
  if (!own && lock < 0) {
    g->res->busy++;
    return 0;
  }
  char why[PATH_MAX + 128];
  if (!own && is_orphan(pfd, id, why, sizeof why)) {
    bool removed;
    if (handle_orphan(g, pfd, id, why, &removed, err) < 0) return pl_error_wrap(err, "%s", shown);
    if (removed) return 0;
  } else if (unlinkat(pfd, PL_GC_ORPHAN_MARK, 0) == 0) {
    SAY(g, "pylock: %s is a project again: its orphan mark is removed", shown);
  }
  if (prune_generations(g, pfd, id, err) < 0) return pl_error_wrap(err, "%s", shown);
  return 0;
}

/* What a crash left in projects/: a removal cut short (.gc-*), a state being
 * made by a pylock that is gone (.new-<id>-<pid>). */
static int gc_project_leftover(struct gc_run *g, const char *name, pl_error_t *err) {
  struct stat st;
  bool dead = strncmp(name, ".gc-", 4) == 0;
  if (!dead && strncmp(name, ".new-", 5) == 0) {
    const char *dash = strrchr(name, '-');
    dead = dash && fstatat(g->projects_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           g->now - st.st_mtime > NEW_STATE_AGE && pid_gone(dash + 1);
  }
  if (!dead) return 0;
  int r = remove_counted(g->projects_fd, name, &g->res->bytes, err);
  if (r > 0) g->res->leftovers++;
  return r < 0 ? -1 : 0;
}

/* Names in the directory open at fd (copied, so that renames during the
 * walk do not matter). */
static int list_names(int fd, char ***names, size_t *n, pl_error_t *err) {
  int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
  if (d == NULL) {
    if (dfd >= 0) close(dfd);
    return pl_fail(err, errno, "read a directory");
  }
  rewinddir(d);
  char **list = NULL;
  size_t count = 0;
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char **l = realloc(list, (count + 1) * sizeof *l);
    if (l == NULL || (l[count] = strdup(e->d_name)) == NULL) {
      if (l) list = l;
      rc = pl_fail(err, ENOMEM, "gc");
      break;
    }
    list = l;
    count++;
  }
  closedir(d);
  *names = list;
  *n = count;
  return rc;
}

static void free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static int gc_projects(struct gc_run *g, pl_error_t *err) {
  char **names = NULL;
  size_t n = 0;
  int rc = list_names(g->projects_fd, &names, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = names[i][0] == '.' ? gc_project_leftover(g, names[i], err) : gc_project(g, names[i], err);
  free_names(names, n);
  return rc;
}

/* The live set: every generation left in every project's state (gc holds
 * the cache lock, so no change is between its cache and its switch). */
static int collect_live(struct gc_run *g, pl_error_t *err) {
  char **names = NULL;
  size_t n = 0;
  int rc = list_names(g->projects_fd, &names, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (names[i][0] == '.') continue; /* being made or removed: names nothing */
    cleanup_close int pfd =
        openat(g->projects_fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0) continue;
    char shown[PATH_MAX];
    snprintf(shown, sizeof shown, "%s/%s/%s", g->s->path, PL_STATE_PROJECTS, names[i]);
    rc = pl_gc_live_add_project(&g->live, pfd, shown, err);
  }
  free_names(names, n);
  if (rc == 0) pl_gc_live_sort(&g->live);
  return rc;
}

/* ---- the cache and scratch ------------------------------------------------------- */

/* trees/: partial trees (their builders are gone: gc holds the cache lock)
 * and trees no kept generation names. */
static int sweep_trees(struct gc_run *g, int trees_fd, pl_error_t *err) {
  char **names = NULL;
  size_t n = 0;
  int rc = list_names(trees_fd, &names, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    bool leftover = names[i][0] == '.';
    if (pl_dir_sweep_stage(trees_fd, names[i], 0)) { /* a killed builder's (file.h) */
      g->res->leftovers++;
      continue;
    }
    if (!leftover &&
        (!is_tree_key(names[i]) || g->live.keep_all || pl_gc_live_has_tree(&g->live, names[i])))
      continue;
    int r = remove_counted(trees_fd, names[i], &g->res->bytes, err);
    if (r > 0) (*(leftover ? &g->res->leftovers : &g->res->trees))++;
    if (r < 0) rc = pl_error_wrap(err, "cache tree %s", names[i]);
  }
  free_names(names, n);
  return rc;
}

/* wheels/: temporary files (their writers are gone) and wheels no kept
 * tree was built from. */
static int sweep_wheels(struct gc_run *g, int wheels_fd, pl_error_t *err) {
  char **names = NULL;
  size_t n = 0;
  int rc = list_names(wheels_fd, &names, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char sha[PL_SHA256_HEX];
    bool leftover = names[i][0] == '.';
    if (!leftover &&
        (!is_wheel_name(names[i], sha) || g->live.keep_all || pl_gc_live_has_wheel(&g->live, sha)))
      continue;
    int r = remove_counted(wheels_fd, names[i], &g->res->bytes, err);
    if (r > 0) (*(leftover ? &g->res->leftovers : &g->res->wheels))++;
    if (r < 0) rc = pl_error_wrap(err, "cached wheel %s", names[i]);
  }
  free_names(names, n);
  return rc;
}

/* quarantine/: what syncs found damaged and moved aside, kept for a look
 * until now. */
static int sweep_quarantine(struct gc_run *g, int cache_fd, pl_error_t *err) {
  cleanup_close int fd =
      openat(cache_fd, PL_CACHE_QUARANTINE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : pl_fail(err, errno, "open %s", PL_CACHE_QUARANTINE);
  char **names = NULL;
  size_t n = 0;
  int rc = list_names(fd, &names, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    int r = remove_counted(fd, names[i], &g->res->bytes, err);
    if (r > 0) g->res->leftovers++;
    if (r < 0) rc = pl_error_wrap(err, "%s/%s", PL_CACHE_QUARANTINE, names[i]);
  }
  free_names(names, n);
  return rc;
}

static int sweep_cache(struct gc_run *g, pl_error_t *err) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/%s", g->s->path, PL_STATE_CACHE) < 0) return pl_fail(err, ENOMEM, "gc");
  struct pl_cache c;
  if (pl_cache_open(&c, path, err) < 0) return -1;
  int r = sweep_trees(g, c.trees_fd, err);
  if (r == 0) r = sweep_wheels(g, c.wheels_fd, err);
  if (r == 0) r = sweep_quarantine(g, c.fd, err);
  pl_cache_close(&c);
  return r;
}

/* ---- the whole run -------------------------------------------------------------- */

static void waiting_for_project(pid_t holder, void *ctx) {
  const struct pl_gc_opts *o = ctx;
  if (holder > 0)
    say(o->progress, o->progress_ctx,
        "pylock: waiting for another pylock (pid %d) to finish changing this environment...",
        (int)holder);
  else
    say(o->progress, o->progress_ctx,
        "pylock: waiting for another pylock to finish changing this environment...");
}

/* The change lock of the project gc was asked for: its fd, -2 when the
 * project has no state yet, -1 on error. */
static int lock_own_project(struct gc_run *g, pl_error_t *err) {
  cleanup_close int pfd = pl_project_state_open(g->s, g->o->project, false, NULL, err);
  if (pfd < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    /* A first sync may make it meanwhile: then it is one like any other. */
    pl_error_free(err);
    return -2;
  }
  cleanup_close int fd = pl_gen_lock(pfd, waiting_for_project, (void *)g->o, err);
  if (fd < 0) return -1;
  pl_project_id(g->o->project, g->own_id);
  /* A change a killed command left: finished or undone first, as every
   * command that takes the lock does (change.h). */
  cleanup_close int root_fd = open(g->o->project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  enum pl_change_outcome outcome;
  unsigned gen = 0;
  if (root_fd < 0) return pl_fail(err, errno, "open %s", g->o->project);
  if (pl_change_recover(root_fd, pfd, &outcome, &gen, err) < 0) return -1;
  char said[256];
  if (pl_change_describe(outcome, gen, said, sizeof said)) SAY(g, "%s", said);
  return steal_fd(&fd);
}

int pl_gc_run(const struct pl_state *s, const struct pl_gc_opts *o, struct pl_gc_result *res,
              pl_error_t *err) {
  memset(res, 0, sizeof *res);
  struct gc_run g = {.s = s, .o = o, .res = res, .projects_fd = -1, .now = time(NULL)};
  cleanup_close int own_lock = -1;
  if (o->project && (own_lock = lock_own_project(&g, err)) == -1) return -1;
  g.projects_fd = pl_state_subdir(s, PL_STATE_PROJECTS, true, err);
  if (g.projects_fd < 0) return -1;
  /* Generations and orphans under the projects' own locks; the cache under
   * its lock, which syncs wait for only while gc reads and removes there. */
  cleanup_close int cache_lock = -1;
  int rc = gc_projects(&g, err);
  if (rc == 0 && (cache_lock = take_exclusive(s, o, err)) < 0) rc = -1;
  if (rc == 0) rc = collect_live(&g, err);
  if (rc == 0 && g.live.keep_all) {
    res->cache_kept = true;
    SAY(&g, "pylock: kept every cache tree and wheel: %s; a sync of that project writes one",
        g.live.keep_all);
  }
  if (rc == 0) rc = sweep_cache(&g, err);
  if (rc == 0) pl_state_sweep_scratch(s); /* each scratch directory's maker holds it */
  close(g.projects_fd);
  pl_gc_live_free(&g.live);
  return rc;
}

/* ---- cache clean ------------------------------------------------------------------ */

/* Remove dirfd/name, which must not reach outside the cache's mount, adding
 * what it frees to *bytes and 1 to *count. */
static int clean_entry(int dirfd, const char *name, size_t *count, uint64_t *bytes,
                       pl_error_t *err) {
  uint64_t freed = freed_by(dirfd, name, 0);
  if (pl_remove_tree_within_at(dirfd, name, err) < 0) return -1;
  *bytes += freed;
  (*count)++;
  return 0;
}

/* Everything in the directory `sub` of the cache (trees/, wheels/) but the
 * trees the live set keeps, the directory itself kept.  Tree keys and wheel
 * names count as trees and wheels, anything else as a leftover. */
static int clean_dir(struct gc_run *g, int cache_fd, const char *sub, bool trees, pl_error_t *err) {
  cleanup_close int fd = openat(cache_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : pl_fail(err, errno, "open %s", sub);
  char **names = NULL;
  size_t n = 0;
  int rc = list_names(fd, &names, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char sha[PL_SHA256_HEX];
    size_t *count = &g->res->leftovers;
    if (trees && is_tree_key(names[i])) {
      if (g->live.keep_all || pl_gc_live_has_tree(&g->live, names[i])) {
        g->res->trees_kept++;
        continue;
      }
      count = &g->res->trees;
    } else if (!trees && is_wheel_name(names[i], sha)) {
      count = &g->res->wheels;
    }
    if ((rc = clean_entry(fd, names[i], count, &g->res->bytes, err)) < 0)
      pl_error_wrap(err, "%s/%s", sub, names[i]);
  }
  free_names(names, n);
  return rc;
}

/* The live set of the generations in STATE/projects, if there is one. */
static int clean_collect_live(struct gc_run *g, pl_error_t *err) {
  g->projects_fd = pl_state_subdir(g->s, PL_STATE_PROJECTS, false, err);
  if (g->projects_fd < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    pl_error_free(err); /* no project yet: no generation names anything */
    return 0;
  }
  int rc = collect_live(g, err);
  close(g->projects_fd);
  g->projects_fd = -1;
  return rc;
}

int pl_gc_clean_cache(const struct pl_state *s, const struct pl_gc_opts *o,
                      struct pl_gc_result *res, pl_error_t *err) {
  memset(res, 0, sizeof *res);
  struct gc_run g = {.s = s, .o = o, .res = res, .projects_fd = -1, .now = time(NULL)};
  cleanup_close int cache_fd = pl_state_subdir(s, PL_STATE_CACHE, false, err);
  if (cache_fd < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    pl_error_free(err); /* no cache: nothing to remove */
    return 0;
  }
  /* Exclusive, as for gc: no sync is between its cache lookups and its
   * generation in place, no resolver reads wheels, while this runs; so the
   * manifests read now name every tree an environment uses or will. */
  cleanup_close int lock = take_exclusive(s, o, err);
  if (lock < 0) return -1;
  int rc = clean_collect_live(&g, err);
  if (rc == 0 && g.live.keep_all) {
    res->cache_kept = true;
    SAY(&g, "pylock: kept every cache tree: %s; a sync of that project writes one",
        g.live.keep_all);
  }
  char **names = NULL;
  size_t n = 0;
  if (rc == 0) rc = list_names(cache_fd, &names, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const char *name = names[i];
    if (strcmp(name, PL_GC_CACHE_LOCK) == 0) continue; /* others hold it, or wait on it */
    if (strcmp(name, "trees") == 0 || strcmp(name, "wheels") == 0)
      rc = clean_dir(&g, cache_fd, name, strcmp(name, "trees") == 0, err);
    else if ((rc = clean_entry(cache_fd, name, &res->leftovers, &res->bytes, err)) < 0)
      pl_error_wrap(err, "%s", name);
  }
  free_names(names, n);
  pl_gc_live_free(&g.live);
  if (rc < 0) pl_error_wrap(err, "clean %s/%s", s->path, PL_STATE_CACHE);
  return rc;
}
