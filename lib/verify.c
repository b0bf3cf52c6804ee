/* pylock — a generation against pylock's manifest and its RECORDs; see verify.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "archive_path.h"
#include "cache.h"
#include "cleanup.h"
#include "digest.h"
#include "envgen.h"
#include "file.h"
#include "manifest.h"
#include "record.h"

#define WALK_DEPTH_MAX (PL_PATH_DEPTH_MAX + 8)
#define HASH_BLOCK (128 * 1024)

/* A fold: <lib>/<name> a symbolic link pl_envgen_fold_open accepted, and
 * the directory of the tree it names, opened then and used from then on in
 * its place (the link itself is never followed). */
struct fold {
  char *path; /* <lib>/<name>, relative to the prefix */
  int fd;     /* the tree's directory; -1: the link names a tree that could not be opened */
  int errnum; /* why not */
};

struct verifier {
  int gen_fd;
  struct fold *folds; /* sorted by path */
  size_t nfolds, foldcap;
  struct pl_verify_report *r;
  const struct pl_manifest *expected; /* pylock's, or NULL */
  struct pl_manifest actual;          /* every regular file found, hashed */
  char **claimed;                     /* every path some RECORD lists, relative to the prefix */
  size_t nclaimed, cap;
  char path[PL_PATH_MAX + 1];
  char *buf;
};

const char *pl_verify_kind_name(enum pl_verify_kind kind) {
  switch (kind) {
  case PL_VERIFY_MODIFIED: return "modified";
  case PL_VERIFY_MISSING: return "missing";
  case PL_VERIFY_UNLISTED: return "unlisted";
  }
  return "?";
}

void pl_verify_report_free(struct pl_verify_report *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->nissues; i++) {
    free(r->issues[i].path);
    free(r->issues[i].detail);
  }
  free(r->issues);
  memset(r, 0, sizeof *r);
}

static int issue(struct verifier *v, enum pl_verify_kind kind, const char *path, const char *detail,
                 pl_error_t *err) {
  struct pl_verify_report *r = v->r;
  if (kind == PL_VERIFY_MODIFIED) r->modified++;
  if (kind == PL_VERIFY_MISSING) r->missing++;
  if (kind == PL_VERIFY_UNLISTED) r->unlisted++;
  if (r->nissues >= PL_VERIFY_ISSUES_MAX) return 0;
  struct pl_verify_issue *n = realloc(r->issues, (r->nissues + 1) * sizeof *n);
  if (n == NULL) return pl_fail(err, ENOMEM, "verify");
  r->issues = n;
  struct pl_verify_issue *i = &r->issues[r->nissues];
  i->kind = kind;
  i->path = strdup(path);
  i->detail = strdup(detail ? detail : "");
  if (i->path == NULL || i->detail == NULL) {
    free(i->path);
    free(i->detail);
    return pl_fail(err, ENOMEM, "verify");
  }
  r->nissues++;
  return 0;
}

/* Open a file of the generation without leaving it or following a symlink:
 * openat2's RESOLVE_BENEATH, or component by component where the kernel
 * lacks it. */
static int open_beneath(int root, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  long fd = syscall(SYS_openat2, root, path, &how, sizeof how);
  if (fd >= 0 || errno != ENOSYS) return (int)fd;
  char buf[PL_PATH_MAX + 1];
  snprintf(buf, sizeof buf, "%s", path);
  int cur = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char *save = NULL, *c = strtok_r(buf, "/", &save);
  while (cur >= 0 && c) {
    char *next = strtok_r(NULL, "/", &save);
    int nfd = strcmp(c, "..") == 0 ? (errno = EXDEV, -1)
                                   : openat(cur, c,
                                            next ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
                                                 : flags | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(cur);
    errno = e;
    cur = nfd;
    c = next;
  }
  return cur;
}

/* The first n bytes of a path against a fold's (bsearch over v->folds). */
struct span {
  const char *s;
  size_t n;
};

static int cmp_fold(const void *key, const void *elem) {
  const struct span *k = key;
  const struct fold *f = elem;
  int c = strncmp(k->s, f->path, k->n);
  return c ? c : f->path[k->n] ? -1 : 0;
}

static const struct fold *find_fold(const struct verifier *v, const char *path, size_t n) {
  struct span k = {path, n};
  return v->nfolds ? bsearch(&k, v->folds, v->nfolds, sizeof *v->folds, cmp_fold) : NULL;
}

/* open_beneath for a path of the generation: under a fold, the rest of it
 * beneath the fold's directory, the same way. */
static int open_in_gen(const struct verifier *v, const char *path, int flags) {
  for (const char *s = strchr(path, '/'); s && v->nfolds; s = strchr(s + 1, '/')) {
    const struct fold *f = find_fold(v, path, (size_t)(s - path));
    if (f && f->fd < 0) return errno = f->errnum, -1;
    if (f) return open_beneath(f->fd, s + 1, flags);
  }
  const struct fold *f = find_fold(v, path, strlen(path));
  if (f && f->fd >= 0) return openat(f->fd, ".", flags | O_CLOEXEC);
  return open_beneath(v->gen_fd, path, flags);
}

static int check_row(struct verifier *v, const char *path, const struct pl_record_entry *row,
                     pl_error_t *err) {
  cleanup_close int fd = open_in_gen(v, path, O_RDONLY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
    return issue(v, PL_VERIFY_MISSING, path,
                 fd < 0 && errno != ENOENT ? strerror(errno) : "listed in RECORD, not installed",
                 err);
  if (row->algo == PL_HASH_NONE) return 0; /* byte-code, RECORD: present is all RECORD says */
  /* Hashed once already, by the walk: compare, do not read again. */
  const struct pl_manifest_entry *seen = pl_manifest_find(&v->actual, path);
  if (seen && row->algo == PL_HASH_SHA256) {
    unsigned char raw[32];
    v->r->checked++;
    if (row->has_size && row->size != seen->size) {
      char why[96];
      snprintf(why, sizeof why, "size mismatch: RECORD says %llu bytes, got %llu",
               (unsigned long long)row->size, (unsigned long long)seen->size);
      return issue(v, PL_VERIFY_MODIFIED, path, why, err);
    }
    if (!pl_hex_decode(seen->sha256, raw, sizeof raw) || row->digest_len != sizeof raw ||
        memcmp(raw, row->digest, sizeof raw) != 0)
      return issue(v, PL_VERIFY_MODIFIED, path, "hash mismatch: RECORD says otherwise", err);
    return 0;
  }
  struct pl_digest d;
  if (pl_digest_init(&d, row->algo, err) < 0) return -1;
  for (;;) {
    ssize_t n = read(fd, v->buf, HASH_BLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      pl_digest_release(&d);
      return issue(v, PL_VERIFY_MODIFIED, path, strerror(e), err);
    }
    if (n == 0) break;
    if (pl_digest_update(&d, v->buf, (size_t)n, err) < 0) {
      pl_digest_release(&d);
      return -1;
    }
  }
  v->r->checked++;
  pl_error_t mismatch = NULL;
  if (pl_digest_check(&d, row, &mismatch) == 0) return 0;
  int r = issue(v, PL_VERIFY_MODIFIED, path, mismatch->msg, err);
  pl_error_free(&mismatch);
  return r;
}

static int claim(struct verifier *v, const char *path, pl_error_t *err) {
  if (v->nclaimed == v->cap) {
    size_t ncap = v->cap ? v->cap * 2 : 1024;
    char **n = realloc(v->claimed, ncap * sizeof *n);
    if (n == NULL) return pl_fail(err, ENOMEM, "verify");
    v->claimed = n;
    v->cap = ncap;
  }
  v->claimed[v->nclaimed] = strdup(path);
  if (v->claimed[v->nclaimed] == NULL) return pl_fail(err, ENOMEM, "verify");
  v->nclaimed++;
  return 0;
}

/* One distribution: base is its lib directory, name its .dist-info. */
static int check_dist(struct verifier *v, int lib_fd, const char *base, const char *name,
                      pl_error_t *err) {
  char rel[PL_PATH_MAX + 1], got[PL_PATH_MAX + 1];
  snprintf(rel, sizeof rel, "%s/RECORD", name);
  v->r->dists++;
  cleanup_free char *text = NULL;
  size_t len;
  pl_error_t e = NULL;
  char where[2 * PL_PATH_MAX + 8];
  snprintf(where, sizeof where, "%s%s%s", base, base[0] ? "/" : "", rel);
  if (pl_read_file_at(lib_fd, rel, PL_RECORD_MAX_BYTES, &text, &len, &e) < 0) {
    int r =
        issue(v, e->errnum == ENOENT ? PL_VERIFY_MISSING : PL_VERIFY_MODIFIED, where, e->msg, err);
    pl_error_free(&e);
    return r;
  }
  struct pl_record rec = {0};
  if (pl_record_parse_installed(text, len, &rec, &e) < 0) {
    int r = issue(v, PL_VERIFY_MODIFIED, where, e->msg, err);
    pl_error_free(&e);
    return r;
  }
  int r = 0;
  for (size_t i = 0; i < rec.n && r == 0; i++) {
    if (!pl_record_resolve(base, rec.entries[i].path, got, sizeof got)) {
      r = issue(v, PL_VERIFY_MODIFIED, where, "a RECORD row points outside the prefix", err);
      continue;
    }
    r = claim(v, got, err);
    if (r == 0) r = check_row(v, got, &rec.entries[i], err);
  }
  pl_record_free(&rec);
  return r;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_claimed(struct verifier *v, const char *path) {
  const char *key = path;
  return v->nclaimed && bsearch(&key, v->claimed, v->nclaimed, sizeof key, cmp_str) != NULL;
}

/* A symbolic link that is no fold (f NULL), or one whose tree could not be
 * opened: never followed. */
static int unlisted_link(struct verifier *v, const struct fold *f, pl_error_t *err) {
  char why[128] = "a symbolic link";
  if (f)
    snprintf(why, sizeof why, "a symbolic link to a cache tree that cannot be opened: %s",
             strerror(f->errnum));
  return issue(v, PL_VERIFY_UNLISTED, v->path, why, err);
}

/* Every entry of the generation: regular files are hashed into v->actual
 * and held against pylock's manifest; nothing else may be there.  A fold
 * is walked as the generation's own directory at its path (`folded`: dfd
 * is in one, where no link is a fold). */
static int walk(struct verifier *v, int dfd, size_t plen, int depth, bool folded, pl_error_t *err) {
  if (depth > WALK_DEPTH_MAX) return issue(v, PL_VERIFY_UNLISTED, v->path, "too deep", err);
  int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return pl_fail(err, errno, "open %s", plen ? v->path : "generation");
  cleanup_dir DIR *d = fdopendir(rfd);
  if (d == NULL) {
    close(rfd);
    return pl_fail(err, errno, "read %s", v->path);
  }
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) continue;
    size_t nl = strlen(n);
    if (plen + 1 + nl > PL_PATH_MAX) return pl_fail(err, ENAMETOOLONG, "path in generation");
    if (plen) v->path[plen] = '/';
    memcpy(v->path + plen + (plen ? 1 : 0), n, nl + 1);
    size_t sub = plen + (plen ? 1 : 0) + nl;
    struct stat st;
    if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) return pl_fail(err, errno, "%s", v->path);
    int r = 0;
    if (S_ISDIR(st.st_mode)) {
      cleanup_close int sfd = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sfd < 0) return pl_fail(err, errno, "open %s", v->path);
      r = walk(v, sfd, sub, depth + 1, folded, err);
    } else if (S_ISLNK(st.st_mode)) {
      const struct fold *f = folded ? NULL : find_fold(v, v->path, sub);
      r = f && f->fd >= 0 ? walk(v, f->fd, sub, depth + 1, true, err) : unlisted_link(v, f, err);
    } else if (!S_ISREG(st.st_mode)) {
      r = issue(v, PL_VERIFY_UNLISTED, v->path, "not a regular file", err);
    } else {
      char hex[PL_SHA256_HEX];
      uint64_t size;
      mode_t mode;
      pl_error_t e2 = NULL;
      if (pl_manifest_hash_file(dfd, n, hex, &size, &mode, &e2) < 0) {
        r = issue(v, PL_VERIFY_MODIFIED, v->path, e2->msg, err);
        pl_error_free(&e2);
      } else {
        r = pl_manifest_add(&v->actual, v->path, size, mode, hex, err);
        const struct pl_manifest_entry *want =
            v->expected ? pl_manifest_find(v->expected, v->path) : NULL;
        if (r == 0 && v->expected && want == NULL)
          r = issue(v, PL_VERIFY_UNLISTED, v->path, "not in pylock's manifest", err);
        else if (r == 0 && want && (want->size != size || strcmp(want->sha256, hex) != 0))
          r = issue(v, PL_VERIFY_MODIFIED, v->path, "its sha256 is not the one pylock installed",
                    err);
        else if (r == 0 && want && (want->mode & 0111) != (mode & 0111))
          r = issue(v, PL_VERIFY_MODIFIED, v->path, "its mode is not the one pylock installed",
                    err);
      }
    }
    v->path[plen] = '\0';
    if (r < 0) return -1;
  }
  if (errno) return pl_fail(err, errno, "read %s", v->path);
  return 0;
}

/* What no RECORD lists (a dist-info's REQUESTED aside), and what pylock's
 * manifest lists but the generation lacks. */
static int unlisted_and_missing(struct verifier *v, pl_error_t *err) {
  for (size_t i = 0; i < v->actual.n; i++) {
    const char *p = v->actual.e[i].path, *slash = strrchr(p, '/');
    bool requested = slash && strcmp(slash + 1, "REQUESTED") == 0 && slash - p > 10 &&
                     memcmp(slash - 10, ".dist-info", 10) == 0;
    bool reported = v->expected && pl_manifest_find(v->expected, p) == NULL; /* by the walk */
    if (!is_claimed(v, p) && !requested && !reported &&
        issue(v, PL_VERIFY_UNLISTED, p, "listed in no RECORD", err) < 0)
      return -1;
  }
  for (size_t i = 0; v->expected && i < v->expected->n; i++)
    if (pl_manifest_find(&v->actual, v->expected->e[i].path) == NULL &&
        issue(v, PL_VERIFY_MISSING, v->expected->e[i].path, "in pylock's manifest, not installed",
              err) < 0)
      return -1;
  return 0;
}

static int open_lib(const struct verifier *v, const char *lib) {
  return lib[0] ? open_beneath(v->gen_fd, lib, O_RDONLY | O_DIRECTORY)
                : openat(v->gen_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* The entries of lib: *fd its directory, *d a listing of its own; 0 with
 * *d NULL when there is no such lib. */
static int list_lib(const struct verifier *v, const char *lib, int *fd, DIR **d, pl_error_t *err) {
  *d = NULL;
  *fd = open_lib(v, lib);
  if (*fd < 0) return errno == ENOENT ? 0 : pl_fail(err, errno, "open %s", lib);
  int rfd = openat(*fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return pl_fail(err, errno, "open %s", lib);
  if ((*d = fdopendir(rfd)) == NULL) {
    close(rfd);
    return pl_fail(err, errno, "read %s", lib);
  }
  return 0;
}

static int add_fold(struct verifier *v, const char *lib, const char *name, int fd, int errnum,
                    pl_error_t *err) {
  if (v->nfolds == v->foldcap) {
    size_t cap = v->foldcap ? v->foldcap * 2 : 64;
    struct fold *n = realloc(v->folds, cap * sizeof *n);
    if (n == NULL) return pl_fail(err, ENOMEM, "verify");
    v->folds = n;
    v->foldcap = cap;
  }
  struct fold *n = v->folds;
  if (asprintf(&n[v->nfolds].path, "%s%s%s", lib, lib[0] ? "/" : "", name) < 0)
    return pl_fail(err, ENOMEM, "verify");
  n[v->nfolds].fd = fd;
  n[v->nfolds].errnum = errnum;
  v->nfolds++;
  return 0;
}

/* The folds of one lib directory: each symbolic link at its top that
 * pl_envgen_fold_open takes for one (it alone decides: nothing else is
 * followed), its tree's directory opened once, here. */
static int find_folds(struct verifier *v, const char *lib, int trees_fd, const char *trees_path,
                      pl_error_t *err) {
  cleanup_close int fd = -1;
  cleanup_dir DIR *d = NULL;
  if (list_lib(v, lib, &fd, &d, err) < 0) return -1;
  if (d == NULL) return 0;
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    struct stat st;
    if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) continue;
    char key[PL_CACHE_TREE_KEY_MAX];
    int tfd = pl_envgen_fold_open(fd, lib, e->d_name, trees_fd, trees_path, key, sizeof key);
    if (tfd < 0 && errno == EINVAL) continue; /* not a fold: the walk reports it */
    if (add_fold(v, lib, e->d_name, tfd, tfd < 0 ? errno : 0, err) < 0) {
      if (tfd >= 0) close(tfd);
      return -1;
    }
  }
  if (errno) return pl_fail(err, errno, "read %s", lib);
  return 0;
}

static int cmp_fold_path(const void *a, const void *b) {
  return strcmp(((const struct fold *)a)->path, ((const struct fold *)b)->path);
}

static int scan_lib(struct verifier *v, const char *lib, pl_error_t *err) {
  cleanup_close int fd = -1;
  cleanup_dir DIR *d = NULL;
  if (list_lib(v, lib, &fd, &d, err) < 0) return -1;
  if (d == NULL) return 0;
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    size_t nl = strlen(e->d_name);
    if (nl <= 10 || strcmp(e->d_name + nl - 10, ".dist-info") != 0) continue;
    struct stat st;
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) continue;
    if (check_dist(v, fd, lib, e->d_name, err) < 0) return -1;
  }
  if (errno) return pl_fail(err, errno, "read %s", lib);
  return 0;
}

int pl_verify_generation(int gen_fd, const struct pl_interp *interp,
                         const struct pl_manifest *expected, int trees_fd, const char *trees_path,
                         struct pl_verify_report *out, pl_error_t *err) {
  memset(out, 0, sizeof *out);
  const char *pure = pl_interp_relative(interp, interp->purelib);
  const char *plat = pl_interp_relative(interp, interp->platlib);
  if (pure == NULL || plat == NULL)
    return pl_fail(err, EINVAL, "install scheme of %s is outside its prefix", interp->python);
  struct verifier v = {.gen_fd = gen_fd, .r = out, .expected = expected};
  v.buf = malloc(HASH_BLOCK);
  int r = -1;
  if (v.buf == NULL) {
    pl_fail(err, ENOMEM, "verify");
    goto out;
  }
  v.path[0] = '\0';
  if (trees_fd >= 0 && trees_path &&
      (find_folds(&v, pure, trees_fd, trees_path, err) < 0 ||
       (strcmp(pure, plat) != 0 && find_folds(&v, plat, trees_fd, trees_path, err) < 0)))
    goto out;
  if (v.nfolds) qsort(v.folds, v.nfolds, sizeof *v.folds, cmp_fold_path);
  if (walk(&v, gen_fd, 0, 0, false, err) < 0) goto out;
  pl_manifest_sort(&v.actual);
  out->files = v.actual.n;
  if (scan_lib(&v, pure, err) < 0 || (strcmp(pure, plat) != 0 && scan_lib(&v, plat, err) < 0))
    goto out;
  if (v.nclaimed) qsort(v.claimed, v.nclaimed, sizeof *v.claimed, cmp_str);
  if (unlisted_and_missing(&v, err) < 0) goto out;
  r = 0;
out:
  pl_manifest_free(&v.actual);
  for (size_t i = 0; i < v.nclaimed; i++)
    free(v.claimed[i]);
  free(v.claimed);
  for (size_t i = 0; i < v.nfolds; i++) {
    free(v.folds[i].path);
    if (v.folds[i].fd >= 0) close(v.folds[i].fd);
  }
  free(v.folds);
  free(v.buf);
  if (r < 0) pl_verify_report_free(out);
  return r;
}
