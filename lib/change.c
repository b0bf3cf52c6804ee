/* pylock — generation records and lock+environment transactions; see change.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "change.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"
#include "generations.h"
#include "lockfile.h"
#include "project.h"

#define CHANGE_MAX 512

static int meta_name(unsigned n, char *buf, size_t cap) {
  int w = snprintf(buf, cap, "%s/%u.meta", PL_GENERATIONS_DIR, n);
  return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* The value of "key=" in a record of lines, or NULL. */
static const char *field(const char *text, const char *key) {
  size_t k = strlen(key);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp(p, key, k) == 0 && p[k] == '=') return p + k + 1;
  return NULL;
}

static bool copy_hex(char *out, const char *v, size_t len) {
  if (v == NULL) return false;
  for (size_t i = 0; i < len; i++)
    if (!isxdigit((unsigned char)v[i])) return false;
  if (v[len] != '\n' && v[len] != '\0') return false;
  memcpy(out, v, len);
  out[len] = '\0';
  return true;
}

static int parse_meta(const char *text, struct pl_gen_meta *m) {
  memset(m, 0, sizeof *m);
  const char *v;
  if (!copy_hex(m->lock_sha256, field(text, "lock-sha256"), 64)) return -1;
  if ((v = field(text, "packages"))) m->packages = strtoul(v, NULL, 10);
  m->strict = (v = field(text, "strict")) && *v == '1';
  m->no_network = (v = field(text, "no-network")) && *v == '1';
  if ((v = field(text, "lock-size"))) m->lock_size = strtoll(v, NULL, 10);
  if ((v = field(text, "lock-mtime"))) {
    char *end;
    m->lock_mtime_sec = strtoll(v, &end, 10);
    if (*end == '.') m->lock_mtime_nsec = strtol(end + 1, NULL, 10);
  }
  if ((v = field(text, "lock-ino"))) m->lock_ino = strtoull(v, NULL, 10);
  if (!copy_hex(m->stat, field(text, "stat"), PL_STAT_DIGEST_LEN)) m->stat[0] = '\0';
  if ((v = field(text, "selection"))) {
    size_t n = strcspn(v, "\n");
    if (n >= sizeof m->selection) return -1;
    memcpy(m->selection, v, n);
    m->selection[n] = '\0';
  }
  m->no_bytecode = (v = field(text, "bytecode")) && strncmp(v, "no\n", 3) == 0;
  return 0;
}

int pl_meta_read(int state_fd, unsigned n, struct pl_gen_meta *m, pl_error_t *err) {
  char name[64];
  cleanup_free char *text = NULL;
  if (meta_name(n, name, sizeof name) < 0) return pl_fail(err, EINVAL, "generation %u", n);
  if (pl_read_file_at(state_fd, name, PL_META_MAX, &text, NULL, err) < 0) return -1;
  if (parse_meta(text, m) < 0)
    return pl_fail(err, EINVAL, "%s: not a record of what generation %u was built from", name, n);
  return 0;
}

int pl_meta_bytecode(int state_fd, unsigned n, enum pl_bytecode *b, pid_t *holder,
                     pl_error_t *err) {
  struct pl_gen_meta m;
  *b = PL_BYTECODE_COMPILED;
  *holder = 0;
  if (pl_meta_read(state_fd, n, &m, err) < 0) return -1;
  if (m.no_bytecode)
    *b = pl_gen_compiling(state_fd, holder) ? PL_BYTECODE_COMPILING : PL_BYTECODE_PENDING;
  return 0;
}

const char *pl_bytecode_name(enum pl_bytecode b) {
  switch (b) {
  case PL_BYTECODE_COMPILED: return "compiled";
  case PL_BYTECODE_PENDING: return "pending";
  case PL_BYTECODE_COMPILING: return "compiling";
  }
  return "unknown";
}

int pl_meta_write(int state_fd, unsigned n, const struct pl_gen_meta *m, pl_error_t *err) {
  char name[64], text[PL_META_MAX];
  if (meta_name(n, name, sizeof name) < 0) return pl_fail(err, EINVAL, "generation %u", n);
  int w = snprintf(text, sizeof text,
                   "lock-sha256=%s\npackages=%zu\nstrict=%d\nno-network=%d\nlock-size=%lld\n"
                   "lock-mtime=%lld.%09ld\nlock-ino=%llu\n%s%s%s%s%s%sbytecode=%s\n",
                   m->lock_sha256, m->packages, m->strict, m->no_network, m->lock_size,
                   m->lock_mtime_sec, m->lock_mtime_nsec, m->lock_ino, m->stat[0] ? "stat=" : "",
                   m->stat, m->stat[0] ? "\n" : "", m->selection[0] ? "selection=" : "",
                   m->selection, m->selection[0] ? "\n" : "", m->no_bytecode ? "no" : "yes");
  if (w < 0 || (size_t)w >= sizeof text) return pl_fail(err, EOVERFLOW, "%s", name);
  return pl_write_file_atomic_at(state_fd, name, text, (size_t)w, 0600, err);
}

/* Read the regular file root_fd/name (no link followed, no FIFO waited
 * on, at most max bytes) into *text; *st is its stat, unchanged by the
 * read (a file written meanwhile is -1, as a missing one is). */
static int read_still(int root_fd, const char *name, size_t max, char **text, size_t *len,
                      struct stat *st) {
  cleanup_close int fd =
      openat(root_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat after;
  if (fd < 0 || fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (size_t)st->st_size > max) return -1;
  cleanup_free char *buf = malloc((size_t)st->st_size + 2);
  if (buf == NULL) return -1;
  /* One byte more than stat said: a file growing meanwhile is caught. */
  size_t n = 0, want = (size_t)st->st_size + 1;
  while (n < want) {
    ssize_t r = pread(fd, buf + n, want - n, (off_t)n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    n += (size_t)r;
  }
  if (n != (size_t)st->st_size || fstat(fd, &after) < 0 || after.st_size != st->st_size ||
      after.st_mtim.tv_sec != st->st_mtim.tv_sec || after.st_mtim.tv_nsec != st->st_mtim.tv_nsec)
    return -1;
  buf[n] = '\0';
  *text = steal_pointer(&buf);
  *len = n;
  return 0;
}

int pl_meta_set_lock(struct pl_gen_meta *m, int root_fd, const char *name, const char *text,
                     size_t len, bool *same, pl_error_t *err) {
  /* What the generation was built from, whatever the file holds: the
   * project directory, where it lies, is writable from inside a sandbox. */
  if (pl_sha256_hex(text, len, m->lock_sha256, err) < 0) return -1;
  m->lock_size = -1; /* no file's size: stale for every reader */
  m->lock_mtime_sec = 0;
  m->lock_mtime_nsec = 0;
  m->lock_ino = 0;
  cleanup_free char *have = NULL;
  size_t n = 0;
  struct stat st;
  bool ok = read_still(root_fd, name, len, &have, &n, &st) == 0 && n == len &&
            memcmp(have, text, len) == 0;
  if (ok) {
    m->lock_size = (long long)st.st_size;
    m->lock_mtime_sec = (long long)st.st_mtim.tv_sec;
    m->lock_mtime_nsec = st.st_mtim.tv_nsec;
    m->lock_ino = (unsigned long long)st.st_ino;
  }
  if (same) *same = ok;
  return 0;
}

bool pl_meta_matches(const struct pl_gen_meta *m, const struct stat *st) {
  return m->lock_size == (long long)st->st_size &&
         m->lock_mtime_sec == (long long)st->st_mtim.tv_sec &&
         m->lock_mtime_nsec == st->st_mtim.tv_nsec &&
         (m->lock_ino == 0 || m->lock_ino == (unsigned long long)st->st_ino);
}

/* ---- the change record -------------------------------------------------- */

static int change_read(int state_fd, struct pl_change *c, bool *present, pl_error_t *err) {
  cleanup_free char *text = NULL;
  memset(c, 0, sizeof *c);
  *present = false;
  pl_error_t e = NULL;
  if (pl_read_file_at(state_fd, PL_CHANGE_FILE, CHANGE_MAX, &text, NULL, &e) < 0) {
    if (e->errnum == ENOENT) {
      pl_error_free(&e);
      return 0;
    }
    *err = e;
    return -1;
  }
  const char *g = field(text, "generation"), *p = field(text, "previous"), *t = field(text, "lock");
  size_t tl = t ? strcspn(t, "\n") : 0;
  /* The name is one of ours (pl_tmpfile_open_at's), never a path. */
  if (g == NULL || p == NULL || t == NULL || tl == 0 || tl >= sizeof c->tmp || t[0] != '.' ||
      memchr(t, '/', tl))
    return pl_fail(err, EINVAL, "%s: not a change record", PL_CHANGE_FILE);
  c->gen = (unsigned)strtoul(g, NULL, 10);
  c->prev = (unsigned)strtoul(p, NULL, 10);
  memcpy(c->tmp, t, tl);
  c->tmp[tl] = '\0';
  if (c->gen == 0) return pl_fail(err, EINVAL, "%s: not a change record", PL_CHANGE_FILE);
  *present = true;
  return 0;
}

int pl_change_pending(int state_fd, struct pl_change *c) {
  bool present;
  pl_error_t e = NULL;
  if (change_read(state_fd, c, &present, &e) < 0) {
    pl_error_free(&e);
    return -1;
  }
  return present ? 1 : 0;
}

int pl_change_record(int state_fd, const struct pl_change *c, pl_error_t *err) {
  char text[CHANGE_MAX];
  int w =
      snprintf(text, sizeof text, "generation=%u\nprevious=%u\nlock=%s\n", c->gen, c->prev, c->tmp);
  if (w < 0 || (size_t)w >= sizeof text) return pl_fail(err, EOVERFLOW, "change record");
  if (pl_write_file_atomic_at(state_fd, PL_CHANGE_FILE, text, (size_t)w, 0600, err) < 0) return -1;
  if (fsync(state_fd) < 0) return pl_fail(err, errno, "fsync the project's state");
  return 0;
}

int pl_change_clear(int state_fd, pl_error_t *err) {
  if (unlinkat(state_fd, PL_CHANGE_FILE, 0) < 0 && errno != ENOENT)
    return pl_fail(err, errno, "remove the change record");
  if (fsync(state_fd) < 0) return pl_fail(err, errno, "fsync the project's state");
  return 0;
}

/* Is the change committed: does current name its generation already (it
 * moves only after the commit), or does pylock.toml hold the bytes that
 * generation was built from? */
static bool committed(int root_fd, int state_fd, const struct pl_change *c) {
  unsigned cur = 0;
  struct pl_gen_meta m;
  struct stat st;
  pl_error_t e = NULL;
  if (pl_gen_current(state_fd, &cur, &e) == 0 && cur == c->gen) return true;
  pl_error_free(&e);
  if (pl_meta_read(state_fd, c->gen, &m, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  cleanup_free char *text = NULL;
  size_t len = 0;
  char hex[PL_SHA256_HEX];
  if (read_still(root_fd, PL_LOCK_FILE, PL_LOCK_MAX_BYTES, &text, &len, &st) < 0 ||
      pl_sha256_hex(text, len, hex, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  return strcmp(hex, m.lock_sha256) == 0;
}

int pl_change_effective(int root_fd, int state_fd, unsigned *n, pl_error_t *err) {
  struct pl_change c;
  bool present;
  *n = 0;
  pl_error_t e = NULL;
  /* A record only pylock writes, unreadable: as if absent (the next change
   * removes it). */
  if (change_read(state_fd, &c, &present, &e) < 0) pl_error_free(&e);
  if (!present) return pl_gen_current(state_fd, n, err);
  *n = committed(root_fd, state_fd, &c) ? c.gen : c.prev;
  return 0;
}

/* ".NAME.tmp" and 16 hex digits: pl_tmpfile_open_at's temporary names. */
static bool is_tmp_name(const char *name, const char *base) {
  size_t len = strlen(name);
  if (name[0] != '.' || len < 21 || memcmp(name + len - 20, ".tmp", 4) != 0) return false;
  for (size_t i = len - 16; i < len; i++)
    if (!isxdigit((unsigned char)name[i])) return false;
  return base == NULL || (len - 21 == strlen(base) && memcmp(name + 1, base, strlen(base)) == 0);
}

/* Unlink every temporary file of ours in dir_fd (named after `base` only,
 * if given): what a killed writer left.  Only with the change lock held,
 * so that no writer of this project is alive. */
static void sweep(int dir_fd, const char *base, const char *keep) {
  int dfd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  cleanup_dir DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    if (!is_tmp_name(e->d_name, base) || (keep && strcmp(e->d_name, keep) == 0) ||
        fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
      continue;
    unlinkat(dirfd(d), e->d_name, 0);
  }
}

int pl_change_recover(int root_fd, int state_fd, enum pl_change_outcome *out, unsigned *gen,
                      pl_error_t *err) {
  struct pl_change c;
  bool present;
  *out = PL_CHANGE_NONE;
  *gen = 0;
  pl_error_t e = NULL;
  if (change_read(state_fd, &c, &present, &e) < 0) {
    /* Unreadable (a crash mid-write cannot do this: it is renamed in
     * whole): current stands, the staged lock is swept below. */
    pl_error_free(&e);
    if (pl_change_clear(state_fd, err) < 0) return -1;
    *out = PL_CHANGE_UNDONE;
  } else if (present && committed(root_fd, state_fd, &c)) {
    /* Step 4 happened: the new lock is pylock.toml; its generation goes with it. */
    unsigned cur = 0;
    pl_gen_current(state_fd, &cur, NULL);
    if (cur != c.gen && pl_gen_switch(state_fd, c.gen, err) < 0) return -1;
    *out = PL_CHANGE_FINISHED;
  } else if (present) {
    /* Not committed: pylock.toml is the old lock, and P goes with it. */
    unsigned cur = 0;
    pl_gen_current(state_fd, &cur, NULL);
    if (unlinkat(root_fd, c.tmp, 0) < 0 && errno != ENOENT)
      return pl_fail(err, errno, "remove the unfinished lock %s", c.tmp);
    if (c.prev && cur != c.prev && pl_gen_switch(state_fd, c.prev, err) < 0) return -1;
    char name[32];
    snprintf(name, sizeof name, "%u", c.gen);
    pl_error_t ignored = NULL;
    pl_gen_remove(state_fd, name, &ignored); /* never current: gc would take it anyway */
    pl_error_free(&ignored);
    *out = PL_CHANGE_UNDONE;
  }
  if (present && pl_change_clear(state_fd, err) < 0) return -1;
  sweep(root_fd, PL_LOCK_FILE, NULL);
  sweep(state_fd, NULL, NULL);
  cleanup_close int gfd =
      openat(state_fd, PL_GENERATIONS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gfd >= 0) sweep(gfd, NULL, NULL);
  pl_error_t ignored = NULL;
  if (pl_gen_current(state_fd, gen, &ignored) < 0) pl_error_free(&ignored); /* sync repairs it */
  (void)err;
  return 0;
}

bool pl_change_describe(enum pl_change_outcome o, unsigned gen, char *buf, size_t cap) {
  buf[0] = '\0';
  if (o == PL_CHANGE_FINISHED)
    snprintf(buf, cap, "pylock: finished an interrupted change: %s and generation %u are current",
             PL_LOCK_FILE, gen);
  else if (o == PL_CHANGE_UNDONE)
    snprintf(buf, cap, "pylock: undid an interrupted change: %s and generation %u are as they were",
             PL_LOCK_FILE, gen);
  return buf[0] != '\0';
}

enum pl_env_state pl_env_quick_state(int root_fd, int state_fd, struct pl_env_policy *policy) {
  unsigned n = 0;
  struct pl_gen_meta m;
  struct stat st;
  if (policy) policy->strict = policy->no_network = false;
  if (pl_change_effective(root_fd, state_fd, &n, NULL) < 0 || n == 0) return PL_ENV_MISSING;
  if (pl_meta_read(state_fd, n, &m, NULL) < 0) return PL_ENV_STALE;
  if (policy) {
    policy->strict = m.strict;
    policy->no_network = m.no_network;
  }
  if (fstatat(root_fd, PL_LOCK_FILE, &st, 0) < 0 || !pl_meta_matches(&m, &st)) return PL_ENV_STALE;
  return PL_ENV_FRESH;
}
