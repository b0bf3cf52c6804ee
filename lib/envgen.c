/* pylock — creating and switching environment generations; see envgen.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "envgen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_path.h"
#include "cleanup.h"
#include "digest.h"
#include "file.h"
#include "generations.h"
#include "install.h"
#include "manifest.h"
#include "project.h"
#include "record.h"

#define LINK_DEPTH_MAX (PL_PATH_DEPTH_MAX + 8)
#define OWNER_SEARCH_DEPTH 8 /* .dist-info directories sit at purelib/platlib depth */

/* pl_envgen_create_at, its directory fsynced when `sync`. */
static int create(int state_fd, const char *gen, const struct pl_interp *in, bool sync,
                  pl_error_t *err) {
  if (pl_mkdir_p_at(state_fd, gen, 0755, err) < 0) return -1;
  cleanup_close int gfd = openat(state_fd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gfd < 0) return pl_fail(err, errno, "open %s", gen);
  const char *dirs[] = {
#define REL(name) pl_interp_relative(in, in->name),
      PL_SCHEME_DIRS(REL)
#undef REL
  };
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    if (dirs[i] == NULL) return pl_fail(err, EINVAL, "scheme path outside the prefix");
    if (dirs[i][0] && pl_mkdir_p_at(gfd, dirs[i], 0755, err) < 0)
      return pl_error_wrap(err, "%s", gen);
  }
  if (sync && fsync(gfd) < 0) return pl_fail(err, errno, "fsync %s", gen);
  return 0;
}

int pl_envgen_switch(int state_fd, unsigned n, pl_error_t *err) {
  char target[64], tmp[64];
  snprintf(target, sizeof target, "%s/%u", PL_GENERATIONS_DIR, n);
  snprintf(tmp, sizeof tmp, ".%s.tmp.%d", PL_CURRENT_LINK, (int)getpid());
  unlinkat(state_fd, tmp, 0);
  if (symlinkat(target, state_fd, tmp) < 0) return pl_fail(err, errno, "symlink %s", tmp);
  if (renameat(state_fd, tmp, state_fd, PL_CURRENT_LINK) < 0) {
    int e = errno;
    unlinkat(state_fd, tmp, 0);
    return pl_fail(err, e, "switch to generation %u", n);
  }
  if (fsync(state_fd) < 0) return pl_fail(err, errno, "fsync .pylock");
  return 0;
}

int pl_envgen_create_at(int state_fd, const char *gen, const struct pl_interp *in,
                        pl_error_t *err) {
  return create(state_fd, gen, in, false, err);
}

int pl_envgen_create(int state_fd, unsigned n, const struct pl_interp *in, pl_error_t *err) {
  char gen[64];
  snprintf(gen, sizeof gen, "%s/%u", PL_GENERATIONS_DIR, n);
  return create(state_fd, gen, in, true, err);
}

/* ---- linking a cache tree into a generation -------------------------------- */

struct linker {
  int gen_fd, tree_fd;
  struct pl_link_stats *stats;
  struct pl_link_print *print;
  bool no_hardlink; /* a link failed with EXDEV/EPERM/EMLINK: stop trying */
  bool no_reflink;
  bool no_copy_range;         /* copy_file_range failed with EXDEV/EINVAL/ENOSYS: read and write */
  const struct pl_fold *fold; /* or NULL */
  char path[PL_PATH_MAX + 1]; /* the entry being linked, relative to the prefix */
};

static int conflict(struct linker *l, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], theirs[256], ours[256];
  const char *q = pl_path_quote(qb, sizeof qb, l->path, strlen(l->path));
  bool known = pl_envgen_find_owner(l->tree_fd, l->path, NULL, ours, sizeof ours);
  if (!known) snprintf(ours, sizeof ours, "the distribution being linked");
  /* The generation may already hold part of ours: look for another owner. */
  if (pl_envgen_find_owner(l->gen_fd, l->path, known ? ours : NULL, theirs, sizeof theirs))
    return pl_fail_hint(err, EEXIST, "remove one of the two from the requirements",
                        "conflicting files: %s is shipped by both %s and %s", q, theirs, ours);
  if (known && pl_envgen_find_owner(l->gen_fd, l->path, NULL, theirs, sizeof theirs))
    return pl_fail(err, EEXIST, "%s of %s is in the generation already (linked twice?)", q, ours);
  return pl_fail(err, EEXIST, "conflicting files: %s of %s is in the generation already", q, ours);
}

/* Up to `max` bytes from in to out by read/write; bytes copied, 0 at EOF, -1. */
static ssize_t copy_by_reading(int in, int out, off_t max) {
  char buf[64 * 1024];
  size_t want = max < (off_t)sizeof buf ? (size_t)max : sizeof buf;
  ssize_t n;
  do
    n = read(in, buf, want);
  while (n < 0 && errno == EINTR);
  if (n > 0 && pl_write_all(out, buf, (size_t)n) < 0) return -1;
  return n;
}

/* Copy src to a new dst with the same mode and times: FICLONE first (no
 * data copied on btrfs/XFS), else copy_file_range.  *src: the source as it
 * was once copied, *made: the copy. */
static int copy_file(struct linker *l, int sdir, int ddir, const char *name, struct stat *src,
                     struct stat *made, pl_error_t *err) {
  cleanup_close int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (in < 0 || fstat(in, &st) < 0) return pl_fail(err, errno, "open %s", l->path);
  if (!S_ISREG(st.st_mode)) return pl_fail(err, EINVAL, "%s is not a regular file", l->path);
  cleanup_close int out =
      openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
  if (out < 0 && errno == EEXIST) return conflict(l, err);
  if (out < 0) return pl_fail(err, errno, "create %s", l->path);
  bool cloned = !l->no_reflink && ioctl(out, FICLONE, in) == 0;
  if (!cloned) {
    l->no_reflink = true;
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n;
      if (l->no_copy_range) {
        n = copy_by_reading(in, out, left);
      } else {
        n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (n < 0 && errno == EINTR) continue;
        /* Across filesystems of different types (Linux 5.19+), or where
         * the filesystem has no copy_file_range: plain reads and writes. */
        if (n < 0 &&
            (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
          l->no_copy_range = true;
          n = copy_by_reading(in, out, left);
        }
      }
      if (n <= 0) {
        int e = n < 0 ? errno : EIO;
        unlinkat(ddir, name, 0);
        return pl_fail(err, e, "copy %s", l->path);
      }
      left -= n;
    }
  }
  /* The byte-code records its source's mtime: keep it, or Python would
   * find every .pyc stale. */
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (fchmod(out, st.st_mode & 0777) < 0 || futimens(out, times) < 0 || fstat(out, made) < 0 ||
      fstat(in, src) < 0)
    return pl_fail(err, errno, "copy %s", l->path);
  if (l->stats) {
    if (cloned)
      l->stats->reflinked++;
    else
      l->stats->copied++;
  }
  return 0;
}

/* Remember directory `path` of the generation, made by linking. */
static int print_dir(struct pl_link_print *p, const char *path, pl_error_t *err) {
  if (p->ndirs == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    char **v = realloc(p->dirs, cap * sizeof *v);
    if (v == NULL) return pl_fail(err, ENOMEM, "link");
    p->dirs = v;
    p->cap = cap;
  }
  if ((p->dirs[p->ndirs] = strdup(path)) == NULL) return pl_fail(err, ENOMEM, "link");
  p->ndirs++;
  return 0;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Directory `name` of the tree, at l->path (its parent the first plen bytes,
 * itself `sub`): 0 not to be folded, 1 folded (the link made), 2 the name
 * is taken in the generation (a conflict), -1 with errno. */
static int fold_here(struct linker *l, int ddir, size_t plen, const char *name, size_t sub) {
  const struct pl_fold *f = l->fold;
  /* plen 0: a lib that is the prefix itself, whose top holds lib/, bin/...
   * of the base too: never folded over. */
  if (f == NULL || plen == 0 || ends_with(name, ".dist-info")) return 0;
  bool lib = false;
  for (size_t i = 0; i < 2 && !lib; i++)
    lib = f->libs[i] && strlen(f->libs[i]) == plen && memcmp(l->path, f->libs[i], plen) == 0;
  if (!lib || (f->nshared && bsearch(&name, f->shared, f->nshared, sizeof name, cmp_name)))
    return 0;
  char target[PATH_MAX];
  int n = snprintf(target, sizeof target, "%s/%.*s", f->tree, (int)sub, l->path);
  if (n < 0 || (size_t)n >= sizeof target) return 0; /* too long to fold: linked */
  if (symlinkat(target, ddir, name) == 0) return 1;
  return errno == EEXIST ? 2 : -1;
}

/* Link the entries of sdir (read from its offset: a descriptor of this walk's
 * own) into ddir; ddir -1: inside a fold, the entries only stat'ed. */
static int link_dir(struct linker *l, int sdir, int ddir, size_t plen, int depth, pl_error_t *err) {
  if (depth > LINK_DEPTH_MAX) return pl_fail(err, ELOOP, "%s: too deep", l->path);
  cleanup_free struct pl_dirents *rd = malloc(sizeof *rd);
  if (rd == NULL) return pl_fail(err, ENOMEM, "link");
  pl_dirents_init(rd, sdir);
  const char *name;
  unsigned type;
  int more;
  while ((more = pl_dirents_next(rd, &name, &type)) > 0) {
    if (depth == 0 && (strcmp(name, PL_TREE_MARKER) == 0 || strcmp(name, PL_TREE_MANIFEST) == 0))
      continue;
    size_t nl = strlen(name);
    if (plen + 1 + nl > PL_PATH_MAX) return pl_fail(err, ENAMETOOLONG, "path in tree");
    if (plen) l->path[plen] = '/';
    memcpy(l->path + plen + (plen ? 1 : 0), name, nl + 1);
    size_t sub = plen + (plen ? 1 : 0) + nl;
    struct stat st;
    if (type == DT_UNKNOWN) {
      if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return pl_fail(err, errno, "stat %s", l->path);
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    /* The fingerprints take each entry as it is once linked, never as it
     * was before: a file of the tree written, or another renamed over it,
     * between the two would reach the generation with the tree's sealed
     * fingerprint intact.  A directory is taken after its entries, so an
     * entry renamed into it, added or removed meanwhile changes it too. */
    int f = ddir >= 0 && type == DT_DIR ? fold_here(l, ddir, plen, name, sub) : 0;
    if (f < 0) return pl_fail(err, errno, "symlink %s", l->path);
    if (f == 2) return conflict(l, err);
    if (f == 1 || (ddir < 0 && type == DT_DIR)) {
      /* Folded (or inside a fold): the tree's entries stat'ed, not linked. */
      if (f == 1 && l->print) {
        if (fstatat(ddir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
          return pl_fail(err, errno, "stat %s", l->path);
        pl_stat_sum_add(&l->print->gen, l->path, &st);
      }
      cleanup_close int s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s2 < 0) return pl_fail(err, errno, "open %s in the tree", l->path);
      if (link_dir(l, s2, -1, sub, depth + 1, err) < 0) return -1;
      if (l->print) {
        if (fstat(s2, &st) < 0) return pl_fail(err, errno, "stat %s", l->path);
        pl_stat_sum_add(&l->print->tree, l->path, &st);
      }
    } else if (ddir < 0) {
      if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return pl_fail(err, errno, "stat %s", l->path);
      if (!S_ISREG(st.st_mode))
        return pl_fail(err, EINVAL, "%s in the tree is not a regular file or directory", l->path);
      if (l->print) pl_stat_sum_add(&l->print->tree, l->path, &st);
    } else if (type == DT_DIR) {
      bool made = mkdirat(ddir, name, 0755) == 0;
      if (!made && errno != EEXIST) return pl_fail(err, errno, "mkdir %s", l->path);
      if (made && l->stats) l->stats->dirs++;
      if (made && l->print && print_dir(l->print, l->path, err) < 0) return -1;
      cleanup_close int s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s2 < 0) return pl_fail(err, errno, "open %s in the tree", l->path);
      cleanup_close int d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d2 < 0 && (errno == ENOTDIR || errno == ELOOP)) return conflict(l, err);
      if (d2 < 0) return pl_fail(err, errno, "open %s", l->path);
      if (link_dir(l, s2, d2, sub, depth + 1, err) < 0) return -1;
      if (l->print) {
        if (fstat(s2, &st) < 0) return pl_fail(err, errno, "stat %s", l->path);
        pl_stat_sum_add(&l->print->tree, l->path, &st);
      }
    } else if (type == DT_REG) {
      if (!l->no_hardlink) {
        /* linkat without AT_SYMLINK_FOLLOW links the entry itself, never a
         * symlink's target. */
        if (linkat(sdir, name, ddir, name, 0) == 0) {
          if (l->stats) l->stats->hardlinked++;
          /* The generation's entry is the tree's inode: what stat says of
           * it there (its link count and ctime aside) is what it says here. */
          if (l->print) {
            if (fstatat(ddir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
              return pl_fail(err, errno, "stat %s", l->path);
            pl_stat_sum_add(&l->print->tree, l->path, &st);
            pl_stat_sum_add(&l->print->gen, l->path, &st);
          }
          continue;
        }
        if (errno == EEXIST) return conflict(l, err);
        if (errno != EXDEV && errno != EPERM && errno != EMLINK)
          return pl_fail(err, errno, "link %s", l->path);
        l->no_hardlink = true;
      }
      struct stat made;
      if (copy_file(l, sdir, ddir, name, &st, &made, err) < 0) return -1;
      if (l->print) {
        pl_stat_sum_add(&l->print->tree, l->path, &st);
        pl_stat_sum_add(&l->print->gen, l->path, &made);
      }
    } else {
      return pl_fail(err, EINVAL, "%s in the tree is not a regular file or directory", l->path);
    }
    l->path[plen] = '\0';
  }
  if (more < 0) return pl_fail(err, errno, "read %s", plen ? l->path : "tree");
  l->path[plen] = '\0';
  return 0;
}

int pl_envgen_link_tree(int gen_fd, int tree_fd, const struct pl_fold *fold,
                        struct pl_link_stats *stats, struct pl_link_print *print, pl_error_t *err) {
  struct linker *l = calloc(1, sizeof *l);
  if (l == NULL) return pl_fail(err, ENOMEM, "link");
  l->gen_fd = gen_fd;
  l->tree_fd = tree_fd;
  l->stats = stats;
  l->print = print;
  l->fold = fold;
  /* A fresh open of ".": an offset of the walk's own, unlike a dup of tree_fd.
   * Below, each directory is read through the descriptor its parent opened. */
  int top = openat(tree_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r = top < 0 ? pl_fail(err, errno, "open tree") : link_dir(l, top, gen_fd, 0, 0, err);
  if (top >= 0) close(top);
  free(l);
  return r;
}

int pl_envgen_fold_open(int lib_fd, const char *lib, const char *name, int trees_fd,
                        const char *trees_path, char *key, size_t cap) {
  char target[PATH_MAX];
  const char *k;
  size_t kl;
  if (pl_gen_fold_read(lib_fd, lib, name, trees_path, target, &k, &kl) < 0) return -1;
  if (kl >= cap) return errno = EINVAL, -1;
  memcpy(key, k, kl);
  key[kl] = '\0';
  pl_error_t err = NULL;
  int fd = pl_open_dir_beneath(trees_fd, k, &err);
  int e = err ? err->errnum : 0;
  pl_error_free(&err);
  if (fd < 0) errno = e ? e : EIO;
  return fd;
}

static int cmp_path(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int pl_envgen_print_digest(int gen_fd, const struct pl_interp *in, struct pl_link_print *print,
                           char out[PL_STAT_DIGEST_LEN + 1], pl_error_t *err) {
  /* pl_envgen_create_at's directories, each with its parents. */
  const char *scheme[] = {
#define REL(name) pl_interp_relative(in, in->name),
      PL_SCHEME_DIRS(REL)
#undef REL
  };
  for (size_t i = 0; i < sizeof scheme / sizeof scheme[0]; i++) {
    if (scheme[i] == NULL) return pl_fail(err, EINVAL, "scheme path outside the prefix");
    char path[PL_PATH_MAX + 1];
    int n = snprintf(path, sizeof path, "%s", scheme[i]);
    if (n < 0 || (size_t)n >= sizeof path) return pl_fail(err, ENAMETOOLONG, "scheme path");
    while (n > 0) {
      if (print_dir(print, path, err) < 0) return -1;
      char *slash = strrchr(path, '/');
      if (slash == NULL) break;
      *slash = '\0';
    }
  }
  struct pl_stat_sum sum = print->gen;
  if (print->ndirs) qsort(print->dirs, print->ndirs, sizeof *print->dirs, cmp_path);
  for (size_t i = 0; i < print->ndirs; i++) {
    if (i && strcmp(print->dirs[i], print->dirs[i - 1]) == 0) continue;
    struct stat st;
    if (fstatat(gen_fd, print->dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
      return pl_fail(err, errno, "stat %s", print->dirs[i]);
    pl_stat_sum_add(&sum, print->dirs[i], &st);
  }
  pl_stat_sum_digest(&sum, out);
  return 0;
}

int pl_link_print_take(struct pl_link_print *into, struct pl_link_print *from, pl_error_t *err) {
  if (into->ndirs + from->ndirs > into->cap) {
    size_t cap = into->ndirs + from->ndirs + 64;
    char **v = realloc(into->dirs, cap * sizeof *v);
    if (v == NULL) return pl_fail(err, ENOMEM, "link");
    into->dirs = v;
    into->cap = cap;
  }
  memcpy(into->dirs + into->ndirs, from->dirs, from->ndirs * sizeof *from->dirs);
  into->ndirs += from->ndirs;
  from->ndirs = 0;
  into->tree = from->tree;
  pl_stat_sum_merge(&into->gen, &from->gen);
  pl_link_print_free(from);
  return 0;
}

void pl_link_print_free(struct pl_link_print *print) {
  for (size_t i = 0; i < print->ndirs; i++)
    free(print->dirs[i]);
  free(print->dirs);
  memset(print, 0, sizeof *print);
}

/* Where row "<base>/REQUESTED,..." goes in RECORD text: before the first
 * row whose path sorts after it (strcmp), else at the end; false when a
 * path is quoted (the caller parses the RECORD instead). */
static bool sorted_place(const char *text, size_t len, const char *base, size_t *at) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/REQUESTED", base);
  if (n < 0 || (size_t)n >= sizeof path) return false;
  *at = len;
  for (size_t o = 0; o < len;) {
    const char *line = text + o;
    const char *nl = memchr(line, '\n', len - o);
    size_t ll = nl ? (size_t)(nl - line) + 1 : len - o;
    if (line[0] == '"') return false;
    const char *comma = memchr(line, ',', ll);
    size_t pl = comma ? (size_t)(comma - line) : ll;
    int c = memcmp(line, path, pl < (size_t)n ? pl : (size_t)n);
    if (c > 0 || (c == 0 && pl > (size_t)n)) {
      *at = o;
      return true;
    }
    o += ll;
  }
  return true;
}

/* A REQUESTED found in the generation where pylock was to create its own:
 * the tree's own (linked from tree_fd), or none is expected (tree_fd < 0:
 * written before), else another distribution's file, a conflict whichever
 * of the two was linked first. */
static int requested_found(int gen_fd, int tree_fd, const char *dist_info, pl_error_t *err) {
  char path[PATH_MAX], qb[PL_QUOTE_CAP], theirs[256];
  struct stat st;
  snprintf(path, sizeof path, "%s/REQUESTED", dist_info);
  if (tree_fd < 0 || fstatat(tree_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) return 0;
  const char *q = pl_path_quote(qb, sizeof qb, path, strlen(path));
  if (!pl_envgen_find_owner(gen_fd, path, NULL, theirs, sizeof theirs))
    snprintf(theirs, sizeof theirs, "another distribution");
  return pl_fail_hint(err, EEXIST, "remove one of the two from the requirements",
                      "conflicting files: %s is shipped by %s, and written for pip by pylock", q,
                      theirs);
}

int pl_envgen_mark_requested(int gen_fd, int tree_fd, const char *dist_info, pl_error_t *err) {
  cleanup_close int dfd = pl_open_dir_beneath(gen_fd, dist_info, err);
  if (dfd < 0) return -1;
  const char *base = strrchr(dist_info, '/');
  base = base ? base + 1 : dist_info;
  /* Created, or found: the one system call that decides, so that a file
   * another thread links there a moment later or before is never taken
   * for pylock's. */
  int fd = openat(dfd, "REQUESTED", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (fd < 0 && errno != EEXIST) return pl_fail(err, errno, "create %s/REQUESTED", dist_info);
  if (fd < 0 && requested_found(gen_fd, tree_fd, dist_info, err) < 0) return -1;
  if (fd >= 0) close(fd);
  cleanup_free char *text = NULL, *row = NULL, *out = NULL;
  size_t len, olen;
  if (pl_read_file_at(dfd, "RECORD", PL_RECORD_MAX_BYTES, &text, &len, err) < 0)
    return pl_error_wrap(err, "%s", dist_info);
  /* The usual case, without parsing it: a RECORD that names no REQUESTED
   * at all, no quoted path and a name that needs no quoting get the row
   * inserted where pl_record_format's sort (pip's too) would put it. */
  size_t at = 0;
  if (memmem(text, len, "REQUESTED", 9) == NULL && strpbrk(base, ",\"\r\n") == NULL &&
      sorted_place(text, len, base, &at)) {
    static const char empty_sha256[] = "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
    bool eol = at < len || len == 0 || text[len - 1] == '\n';
    if (asprintf(&row, "%s%s/REQUESTED,%s,0\r\n", eol ? "" : "\r\n", base, empty_sha256) < 0) {
      row = NULL;
      return pl_fail(err, ENOMEM, "REQUESTED");
    }
    size_t rlen = strlen(row);
    if ((out = malloc(len + rlen)) == NULL) return pl_fail(err, ENOMEM, "REQUESTED");
    memcpy(out, text, at);
    memcpy(out + at, row, rlen);
    memcpy(out + at + rlen, text + at, len - at);
    if (pl_write_file_unsynced_at(dfd, "RECORD", out, len + rlen, 0444, err) < 0)
      return pl_error_wrap(err, "%s", dist_info);
    return 0;
  }
  struct pl_record rec = {0};
  if (pl_record_parse_installed(text, len, &rec, err) < 0)
    return pl_error_wrap(err, "%s/RECORD", dist_info);
  if (asprintf(&row, "%s/REQUESTED", base) < 0) {
    pl_record_free(&rec);
    return pl_fail(err, ENOMEM, "REQUESTED");
  }
  if (pl_record_find(&rec, row)) {
    pl_record_free(&rec);
    return 0;
  }
  struct pl_record_entry *v = realloc(rec.entries, (rec.n + 1) * sizeof *v);
  if (v == NULL) {
    pl_record_free(&rec);
    return pl_fail(err, ENOMEM, "REQUESTED");
  }
  rec.entries = v;
  struct pl_record_entry *e = &rec.entries[rec.n];
  memset(e, 0, sizeof *e);
  e->algo = PL_HASH_SHA256;
  e->has_size = true;
  e->path = steal_pointer(&row);
  rec.n++;
  int r = pl_digest_buffer(PL_HASH_SHA256, "", 0, e->digest, &e->digest_len, err);
  if (r == 0) r = pl_record_format(&rec, &out, &olen, err);
  pl_record_free(&rec);
  if (r < 0) return -1;
  /* A new file renamed over the link: the cache's RECORD stays as it was. */
  if (pl_write_file_unsynced_at(dfd, "RECORD", out, olen, 0444, err) < 0)
    return pl_error_wrap(err, "%s", dist_info);
  return 0;
}

/* Does the RECORD of dist-info `name` in dfd (at `base`, relative to the
 * prefix) list `path`? */
static bool record_lists(int dfd, const char *base, const char *name, const char *path) {
  char rel[PL_PATH_MAX + 1], got[PL_PATH_MAX + 1];
  snprintf(rel, sizeof rel, "%s/RECORD", name);
  cleanup_free char *text = NULL;
  size_t len;
  pl_error_t e = NULL;
  if (pl_read_file_at(dfd, rel, PL_RECORD_MAX_BYTES, &text, &len, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  struct pl_record rec = {0};
  if (pl_record_parse_installed(text, len, &rec, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  /* A file at `path`, or one below it: a directory of one distribution
   * where another has a file is theirs too. */
  size_t pn = strlen(path);
  bool found = false;
  for (size_t i = 0; i < rec.n && !found; i++)
    found = pl_record_resolve(base, rec.entries[i].path, got, sizeof got) &&
            strncmp(got, path, pn) == 0 && (got[pn] == '\0' || got[pn] == '/');
  pl_record_free(&rec);
  return found;
}

static bool owner_in(int dfd, char *base, size_t blen, int depth, const char *path,
                     const char *skip, char *out, size_t cap) {
  if (depth > OWNER_SEARCH_DEPTH) return false;
  int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return false;
  cleanup_dir DIR *d = fdopendir(rfd);
  if (d == NULL) {
    close(rfd);
    return false;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    size_t nl = strlen(n);
    if (n[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)) continue;
    if (nl > 10 && strcmp(n + nl - 10, ".dist-info") == 0) {
      if ((skip == NULL || strcmp(n, skip) != 0) && record_lists(dfd, base, n, path)) {
        snprintf(out, cap, "%s", n);
        return true;
      }
      continue;
    }
    if (strcmp(n, "__pycache__") == 0 || blen + 1 + nl > PL_PATH_MAX) continue;
    cleanup_close int sub = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) continue;
    if (blen) base[blen] = '/';
    memcpy(base + blen + (blen ? 1 : 0), n, nl + 1);
    bool found = owner_in(sub, base, blen + (blen ? 1 : 0) + nl, depth + 1, path, skip, out, cap);
    base[blen] = '\0';
    if (found) return true;
  }
  return false;
}

bool pl_envgen_find_owner(int root_fd, const char *path, const char *skip, char *out, size_t cap) {
  char base[PL_PATH_MAX + 1] = "";
  return owner_in(root_fd, base, 0, 0, path, skip, out, cap);
}
