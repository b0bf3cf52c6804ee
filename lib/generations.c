/* pylock — generations, rollback history, the change lock; see generations.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "generations.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "interp.h"
#include "interrupt.h"
#include "file.h"
#include "project.h"
#include "state.h"

/* The change lock can stall every change of a project, so no code pylock
 * runs may take it.  Sandboxes see the state root read-only, and flock()
 * needs no write access: a lock file anyone could open would be theirs to
 * hold forever (an older pylock's `lock`, mode 0644, was).  This one is mode
 * 0200, opened write-only: in a sandbox it can be opened neither for
 * writing (read-only mount) nor for reading (its mode).  A new name, so
 * that no descriptor a sandbox opened on the old file before the change
 * reaches it.  The compile lock is made the same way: held by a sandbox, it
 * would stall every compile after a switch, or fake one for verify. */
static int open_lock(int state_fd, const char *what, const char *name, int flags, pl_error_t *err) {
  int fd = openat(state_fd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | flags, 0200);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return pl_fail(err, e, "open the %s %s", what, name);
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != getuid() ||
      ((st.st_mode & 07777) != 0200 && fchmod(fd, 0200) < 0)) {
    close(fd);
    return pl_fail(err, PL_REFUSED, "the %s %s is not a file of yours that pylock can lock", what,
                   name);
  }
  return fd;
}

static int open_change_lock(int state_fd, pl_error_t *err) {
  return open_lock(state_fd, "change lock", PL_CHANGE_LOCK, O_CREAT, err);
}

/* The pid holding a flock() on the file open at fd, from /proc/locks; 0
 * when it cannot tell. */
static pid_t flock_holder(int fd) {
  struct stat st;
  cleanup_free char *text = NULL;
  if (fstat(fd, &st) < 0 ||
      pl_read_file_at(AT_FDCWD, "/proc/locks", (size_t)4 << 20, &text, NULL, NULL) < 0)
    return 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    char kind[16];
    long pid = 0;
    unsigned maj = 0, min = 0;
    unsigned long long ino = 0;
    /* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"; a waiter's has "->".
     * The device too: an inode number alone is anyone's to match with a
     * file of their own on another filesystem (a tmpfs in their own
     * namespaces), to show "compiling" or a pid of their choosing. */
    if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", kind, &pid, &maj, &min, &ino) == 5 &&
        strcmp(kind, "FLOCK") == 0 && ino == (unsigned long long)st.st_ino &&
        maj == major(st.st_dev) && min == minor(st.st_dev) && pid > 0)
      return (pid_t)pid;
  }
  return 0;
}

int pl_gen_lock(int state_fd, void (*waiting)(pid_t holder, void *ctx), void *ctx,
                pl_error_t *err) {
  int fd = open_change_lock(state_fd, err);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK) {
      int e = errno;
      close(fd);
      return pl_fail(err, e, "lock %s", PL_CHANGE_LOCK);
    }
    if (waiting) waiting(flock_holder(fd), ctx);
    while (flock(fd, LOCK_EX) < 0) {
      if (errno == EINTR && !pl_interrupted()) continue; /* Ctrl-C: stop waiting */
      int e = errno;
      close(fd);
      return pl_fail(err, e, "lock %s", PL_CHANGE_LOCK);
    }
  }
  unlinkat(state_fd, PL_CHANGE_LOCK_OLD, 0); /* an older pylock's, which a sandbox could hold */
  return fd;
}

int pl_gen_lock_try(int state_fd) {
  pl_error_t ignored = NULL;
  int fd = open_change_lock(state_fd, &ignored);
  pl_error_free(&ignored);
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
    close(fd);
    return -1;
  }
  if (fd >= 0) unlinkat(state_fd, PL_CHANGE_LOCK_OLD, 0);
  return fd;
}

int pl_gen_compile_lock(int state_fd, pl_error_t *err) {
  int fd = open_lock(state_fd, "compile lock", PL_COMPILE_LOCK, O_CREAT, err);
  if (fd < 0) return -1;
  /* Only a pylock asking pl_gen_compiling holds it otherwise, for an instant. */
  while (flock(fd, LOCK_EX) < 0) {
    if (errno == EINTR) continue;
    int e = errno;
    close(fd);
    return pl_fail(err, e, "lock %s", PL_COMPILE_LOCK);
  }
  return fd;
}

bool pl_gen_compiling(int state_fd, pid_t *holder) {
  *holder = 0;
  pl_error_t ignored = NULL;
  cleanup_close int fd = open_lock(state_fd, "compile lock", PL_COMPILE_LOCK, 0, &ignored);
  pl_error_free(&ignored);
  if (fd < 0) return false; /* never compiled after a switch here */
  *holder = flock_holder(fd);
  if (*holder > 0) return true;
  /* /proc/locks said nothing (another pid namespace): ask the lock. */
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return false; /* released by the close */
  return errno == EWOULDBLOCK;
}

int pl_gen_lock_adopt(int fd, pl_error_t *err) {
  /* Converting a flock on the same open file description replaces it under
   * the kernel's lock-list spinlock: exclusive to shared to exclusive, it is
   * never free, and no pylock asks for a shared one (nor can code in a
   * sandbox open the file), so neither conversion can block or lose it.
   * Each new lock records the pid taking it. */
  if (flock(fd, LOCK_SH | LOCK_NB) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
    return pl_fail(err, errno, "take over a lock");
  return 0;
}

/* "N" → N; anything else → 0. */
static unsigned parse_gen(const char *s) {
  if (!isdigit((unsigned char)s[0]) || s[0] == '0') return 0;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  return *end == '\0' && v < 1000000000UL ? (unsigned)v : 0;
}

static int read_link_gen(int state_fd, const char *link, unsigned *n, pl_error_t *err) {
  char target[64];
  ssize_t len = readlinkat(state_fd, link, target, sizeof target - 1);
  *n = 0;
  if (len < 0)
    return errno == ENOENT ? 0 : pl_fail(err, errno, "%s is not a link to a generation", link);
  target[len] = '\0';
  const char *prefix = PL_GENERATIONS_DIR "/";
  if (strncmp(target, prefix, strlen(prefix)) == 0) *n = parse_gen(target + strlen(prefix));
  if (*n == 0) return pl_fail(err, 0, "%s points to '%s', not to a generation", link, target);
  return 0;
}

int pl_gen_current(int state_fd, unsigned *n, pl_error_t *err) {
  return read_link_gen(state_fd, PL_CURRENT_LINK, n, err);
}

int pl_gen_previous(int state_fd, unsigned *n, pl_error_t *err) {
  return read_link_gen(state_fd, PL_PREVIOUS_LINK, n, err);
}

static int cmp_unsigned(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return (x > y) - (x < y);
}

/* Scan generations/: complete numbers into *nums (if given), and the largest
 * number seen, partial ones included, into *max. */
static int scan(int state_fd, unsigned **nums, size_t *n, unsigned *max, pl_error_t *err) {
  int dfd = openat(state_fd, PL_GENERATIONS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0) return pl_fail(err, errno, "open %s", PL_GENERATIONS_DIR);
  cleanup_dir DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return pl_fail(err, errno, "read %s", PL_GENERATIONS_DIR);
  }
  size_t count = 0, cap = 0;
  cleanup_free unsigned *list = NULL;
  *max = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const char *name = e->d_name;
    bool partial = name[0] == '.';
    char num[32];
    if (partial) {
      const char *dot = strchr(name + 1, '.');
      if (dot == NULL || strcmp(dot, ".tmp") != 0 || (size_t)(dot - name - 1) >= sizeof num)
        continue;
      memcpy(num, name + 1, (size_t)(dot - name - 1));
      num[dot - name - 1] = '\0';
    } else {
      if (strlen(name) >= sizeof num) continue;
      memcpy(num, name, strlen(name) + 1);
    }
    unsigned g = parse_gen(num);
    if (g == 0) continue;
    if (g > *max) *max = g;
    if (partial || nums == NULL) continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 16;
      unsigned *l = realloc(list, cap * sizeof *l);
      if (l == NULL) return pl_fail(err, ENOMEM, "list generations");
      list = l;
    }
    list[count++] = g;
  }
  if (nums) {
    if (count) qsort(list, count, sizeof *list, cmp_unsigned);
    *nums = steal_pointer(&list);
    *n = count;
  }
  return 0;
}

int pl_gen_list(int state_fd, unsigned **nums, size_t *n, pl_error_t *err) {
  unsigned max;
  return scan(state_fd, nums, n, &max, err);
}

int pl_gen_next(int state_fd, unsigned *n, pl_error_t *err) {
  unsigned max, cur = 0;
  if (scan(state_fd, NULL, NULL, &max, err) < 0) return -1;
  pl_gen_current(state_fd, &cur, NULL);
  if (cur > max) max = cur;
  *n = max + 1;
  return 0;
}

static int set_link(int state_fd, const char *link, unsigned n, pl_error_t *err) {
  char target[64], tmp[64];
  snprintf(target, sizeof target, "%s/%u", PL_GENERATIONS_DIR, n);
  snprintf(tmp, sizeof tmp, ".%s.tmp.%d", link, (int)getpid());
  unlinkat(state_fd, tmp, 0);
  if (symlinkat(target, state_fd, tmp) < 0) return pl_fail(err, errno, "symlink %s", tmp);
  if (renameat(state_fd, tmp, state_fd, link) < 0) {
    int e = errno;
    unlinkat(state_fd, tmp, 0);
    return pl_fail(err, e, "point %s at generation %u", link, n);
  }
  return 0;
}

int pl_gen_switch(int state_fd, unsigned n, pl_error_t *err) {
  unsigned cur = 0;
  /* A `current` that is no link to a generation is replaced, not kept as previous. */
  pl_error_t ignored = NULL;
  if (pl_gen_current(state_fd, &cur, &ignored) < 0) pl_error_free(&ignored);
  /* previous first: a crash between the two renames leaves previous ==
   * current, which rollback reports as nothing to roll back to. */
  if (cur && cur != n && set_link(state_fd, PL_PREVIOUS_LINK, cur, err) < 0) return -1;
  if (set_link(state_fd, PL_CURRENT_LINK, n, err) < 0) return -1;
  if (fsync(state_fd) < 0) return pl_fail(err, errno, "fsync the project's state");
  return 0;
}

int pl_gen_replace(int state_fd, unsigned n, pl_error_t *err) {
  if (set_link(state_fd, PL_CURRENT_LINK, n, err) < 0) return -1;
  if (fsync(state_fd) < 0) return pl_fail(err, errno, "fsync the project's state");
  return 0;
}

/* ---- folds (envgen.h) ------------------------------------------------------- */

int pl_gen_fold_read(int lib_fd, const char *lib, const char *name, const char *trees_path,
                     char *target, const char **key, size_t *klen) {
  ssize_t n = readlinkat(lib_fd, name, target, PATH_MAX);
  if (n < 0) return -1; /* EINVAL: not a symbolic link */
  if (n >= PATH_MAX) return errno = EINVAL, -1;
  target[n] = '\0';
  size_t tl = strlen(trees_path), ll = strlen(lib);
  if ((size_t)n <= tl + 1 || strncmp(target, trees_path, tl) != 0 || target[tl] != '/')
    return errno = EINVAL, -1;
  const char *k = target + tl + 1, *slash = strchr(k, '/');
  if (slash == NULL || slash == k || k[0] == '.' || strncmp(slash + 1, lib, ll) != 0 ||
      slash[1 + ll] != '/' || strcmp(slash + 2 + ll, name) != 0)
    return errno = EINVAL, -1;
  *key = k;
  *klen = (size_t)(slash - k);
  return 0;
}

int pl_gen_check_folds(int gen_fd, const char *const libs[2], const char *trees_path,
                       int (*each)(void *ctx, const char *key, size_t klen), void *ctx,
                       pl_error_t *err) {
  for (size_t i = 0; i < 2; i++) {
    if (libs[i] == NULL) continue;
    pl_error_t absent = NULL;
    int fd = pl_open_dir_beneath(gen_fd, libs[i], &absent);
    if (fd < 0) {
      int e = absent->errnum;
      pl_error_free(&absent);
      if (e == ENOENT) continue; /* nothing folded there */
      return pl_fail(err, e, "open %s", libs[i]);
    }
    cleanup_dir DIR *d = fdopendir(fd);
    if (d == NULL) {
      close(fd);
      return pl_fail(err, errno, "read %s", libs[i]);
    }
    struct dirent *de;
    while ((errno = 0, de = readdir(d)) != NULL) {
      struct stat st;
      bool link = de->d_type == DT_LNK ||
                  (de->d_type == DT_UNKNOWN &&
                   fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
      if (!link) continue;
      char target[PATH_MAX] = "";
      const char *key;
      size_t kl;
      if (pl_gen_fold_read(fd, libs[i], de->d_name, trees_path, target, &key, &kl) == 0) {
        if (each && each(ctx, key, kl) < 0)
          return pl_fail(err, errno, "%s/%s", libs[i], de->d_name);
        continue;
      }
      if (errno != EINVAL) return pl_fail(err, errno, "read the link %s/%s", libs[i], de->d_name);
      return pl_fail_hint(
          err, 0, "rebuild it where the state is now with: pylock sync",
          "%s/%s leads to %s, outside pylock's cache %s: the state was moved or copied since",
          libs[i], de->d_name, target, trees_path);
    }
    if (errno) return pl_fail(err, errno, "read %s", libs[i]);
  }
  return 0;
}

/* Where path is, not following a link: its file system and (Linux 5.8+)
 * its mount, with its inode and type; errno ENOENT when it is not there. */
struct where {
  uint64_t dev, ino, mnt;
  mode_t mode;
  bool has_mnt;
};

static int where_is(const char *path, struct where *w) {
  struct statx sx;
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
    return -1;
  w->dev = ((uint64_t)sx.stx_dev_major << 32) | sx.stx_dev_minor;
  w->ino = sx.stx_ino;
  w->mode = sx.stx_mode;
  w->has_mnt = (sx.stx_mask & STATX_MNT_ID) != 0;
  w->mnt = w->has_mnt ? sx.stx_mnt_id : 0;
  return 0;
}

/* The first n bytes of path (the state root's cache, or its trees/) name a
 * directory on the mount of the one above it, not a link, a mount put
 * there (a bind of ~/.cache/..., a FUSE bindfs) or anything else; or
 * nothing at all. */
static int cache_dir_real(const char *path, size_t n, pl_error_t *err) {
  char p[PATH_MAX];
  if (n >= sizeof p) return pl_fail(err, ENAMETOOLONG, "%.*s", (int)n, path);
  memcpy(p, path, n);
  p[n] = '\0';
  struct where here, above;
  if (where_is(p, &here) < 0) /* none: nothing to fold into */
    return errno == ENOENT ? 0 : pl_fail(err, errno, "%s", p);
  const char *hint = "pylock follows no link in its state, nor a mount: move the cache back "
                     "under the state root (or set state-dir, pylock-config(5)), then: pylock sync";
  if (!S_ISDIR(here.mode)) return pl_fail_hint(err, ENOTDIR, hint, "%s is not a directory", p);
  *strrchr(p, '/') = '\0';
  if (where_is(p, &above) < 0) return pl_fail(err, errno, "%s", p);
  p[strlen(p)] = '/';
  if (here.dev != above.dev || (here.has_mnt && above.has_mnt && here.mnt != above.mnt))
    return pl_fail_hint(err, PL_REFUSED, hint, "%s is a mount point", p);
  return 0;
}

int pl_gen_check_folds_of(int state_fd, const char *state_path, const char *gen,
                          const char *state_root, const struct pl_interp *in,
                          int (*each)(void *ctx, const char *key, size_t klen), void *ctx,
                          pl_error_t *err) {
  const char *libs[2];
  if (pl_interp_libs(in, libs) < 0)
    return pl_fail(err, EINVAL, "install scheme of %s is outside its prefix", in->python);
  cleanup_close int gen_fd = openat(state_fd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gen_fd < 0) return pl_fail(err, errno, "open %s/%s", state_path, gen);
  cleanup_free char *trees = NULL;
  if (asprintf(&trees, "%s/%s/trees", state_root, PL_STATE_CACHE) < 0)
    return pl_fail(err, ENOMEM, "%s/%s", state_path, gen);
  /* The folds are followed from their text: through the cache and its
   * trees/ as they are, which a sync never takes for a link (pl_cache_open),
   * so neither may a run.  A cache moved and linked back from elsewhere (a
   * bigger disk, ~/.cache) is where a sandbox may write. */
  if (cache_dir_real(trees, strlen(trees) - strlen("/trees"), err) < 0 ||
      cache_dir_real(trees, strlen(trees), err) < 0)
    return -1;
  if (pl_gen_check_folds(gen_fd, libs, trees, each, ctx, err) < 0)
    return pl_error_wrap(err, "%s/%s", state_path, gen);
  return 0;
}

static uint64_t stamp_mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; i++, v >>= 8) {
    h ^= v & 0xff;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t pl_gen_folds_stamp(int state_fd, const char *gen, const char *state_root,
                            const struct pl_interp *in) {
  const char *libs[2];
  if (pl_interp_libs(in, libs) < 0) return 0;
  cleanup_close int gen_fd = openat(state_fd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gen_fd < 0) return 0;
  uint64_t h = 0xcbf29ce484222325ULL;
  /* The cache and its trees/, as the folds are followed through them
   * (pl_gen_check_folds_of): what each is, not a link or a mount put there
   * since. */
  char path[PATH_MAX];
  for (int i = 0; i < 2; i++) {
    int n = snprintf(path, sizeof path, "%s/%s%s", state_root, PL_STATE_CACHE, i ? "/trees" : "");
    struct where w;
    if (n < 0 || (size_t)n >= sizeof path) return 0;
    if (where_is(path, &w) < 0) {
      if (errno != ENOENT) return 0;
      h = stamp_mix(h, 0);
      continue;
    }
    h = stamp_mix(h, w.dev);
    h = stamp_mix(h, w.ino);
    h = stamp_mix(h, (uint64_t)w.mode);
    h = stamp_mix(h, w.mnt); /* a mount put over it since */
  }
  for (size_t i = 0; i < 2; i++) {
    if (libs[i] == NULL) continue;
    pl_error_t e = NULL;
    cleanup_close int fd = pl_open_dir_beneath(gen_fd, libs[i], &e);
    bool absent = fd < 0 && e->errnum == ENOENT; /* as pl_gen_check_folds */
    pl_error_free(&e);
    struct stat st;
    if (fd < 0 ? !absent : fstat(fd, &st) < 0) return 0;
    if (absent) {
      h = stamp_mix(h, 0);
      continue;
    }
    h = stamp_mix(h, (uint64_t)st.st_dev);
    h = stamp_mix(h, (uint64_t)st.st_ino);
    h = stamp_mix(h, (uint64_t)st.st_ctim.tv_sec);
    h = stamp_mix(h, (uint64_t)st.st_ctim.tv_nsec);
    h = stamp_mix(h, (uint64_t)st.st_mtim.tv_sec);
    h = stamp_mix(h, (uint64_t)st.st_mtim.tv_nsec);
  }
  return h ? h : 1;
}

/* path as overlayfs shows an option's value in mountinfo (seq_show_option):
 * ',', ' ', tab, newline and '\\' as \ooo.  false if it does not fit. */
static bool mountinfo_escape(const char *path, char *out, size_t cap) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if (n + 5 > cap) return false;
    if (strchr(", \t\n\\", *p))
      n += (size_t)snprintf(out + n, cap - n, "\\%03o", *p);
    else
      out[n++] = (char)*p;
  }
  out[n] = '\0';
  return true;
}

bool pl_gen_in_use(const char *layer) {
  cleanup_dir DIR *proc = opendir("/proc");
  char shown[PATH_MAX * 4 + 1], needle[PATH_MAX * 4 + 16], legacy[PATH_MAX * 4 + 16];
  /* A layer whose name is not found as the kernel shows it would be taken
   * for one nobody uses, and removed under a running environment. */
  if (proc == NULL || !mountinfo_escape(layer, shown, sizeof shown))
    return true; /* cannot tell: assume it is */
  snprintf(needle, sizeof needle, "lowerdir+=%s,", shown);
  snprintf(legacy, sizeof legacy, "lowerdir=%s:", shown);
  struct dirent *e;
  while ((e = readdir(proc)) != NULL) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/mountinfo", e->d_name);
    cleanup_free char *info = NULL;
    if (pl_read_file_at(AT_FDCWD, path, 16u << 20, &info, NULL, NULL) < 0) continue;
    if (strstr(info, needle) || strstr(info, legacy)) return true;
  }
  return false;
}

int pl_gen_remove(int state_fd, const char *name, pl_error_t *err) {
  unsigned g = parse_gen(name), cur = 0, prev = 0;
  pl_gen_current(state_fd, &cur, NULL);
  pl_gen_previous(state_fd, &prev, NULL);
  if (g && (g == cur || g == prev))
    return pl_fail(err, EBUSY, "generation %u is %s", g, g == cur ? "current" : "previous");
  cleanup_close int gfd =
      openat(state_fd, PL_GENERATIONS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gfd < 0) return pl_fail(err, errno, "open %s", PL_GENERATIONS_DIR);
  return pl_remove_tree_at(gfd, name, err);
}

/* A change killed between its symlink and its rename leaves .current.tmp.PID
 * or .previous.tmp.PID beside current: never followed, just litter. */
static void remove_link_leftovers(int state_fd) {
  int dfd = fcntl(state_fd, F_DUPFD_CLOEXEC, 0);
  if (dfd < 0) return;
  DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, "." PL_CURRENT_LINK ".tmp.", sizeof PL_CURRENT_LINK + 5) == 0 ||
        strncmp(e->d_name, "." PL_PREVIOUS_LINK ".tmp.", sizeof PL_PREVIOUS_LINK + 5) == 0)
      unlinkat(state_fd, e->d_name, 0);
  closedir(d);
}

/* ".N.manifest.tmp<16 hex>" and the like: the temporary file of an atomic
 * write (file.c) whose writer died before renaming it.  Every writer of
 * generations/ holds the change lock, as the caller does. */
static bool atomic_write_leftover(const char *name, size_t len) {
  if (len < 1 + 4 + 16) return false;
  const char *tail = name + len - 16;
  if (memcmp(tail - 4, ".tmp", 4) != 0) return false;
  for (int i = 0; i < 16; i++)
    if (!isxdigit((unsigned char)tail[i])) return false;
  return true;
}

int pl_gen_remove_partials(int state_fd, pl_error_t *err) {
  remove_link_leftovers(state_fd);
  int dfd = openat(state_fd, PL_GENERATIONS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0) return pl_fail(err, errno, "open %s", PL_GENERATIONS_DIR);
  cleanup_dir DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return pl_fail(err, errno, "read %s", PL_GENERATIONS_DIR);
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] != '.' || len < 6) continue;
    if (strcmp(e->d_name + len - 4, ".tmp") != 0 && !atomic_write_leftover(e->d_name, len))
      continue;
    if (pl_remove_tree_at(dirfd(d), e->d_name, err) < 0) return -1;
  }
  return 0;
}
