/* pylock — the shared cache of wheels and installed trees; see cache.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "cache.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive_path.h"
#include "cleanup.h"
#include "envgen.h"
#include "state.h"
#include "file.h"
#include "log.h"
#include "install.h"
#include "manifest.h"
#include "pause.h"

#define MARKER_MAX 8192
#define TREE_DEPTH_MAX (PL_PATH_DEPTH_MAX + 8)
#define COPY_BLOCK (128 * 1024)
#define STAGE_AGE 60 /* seconds: a stage (file.h) older than this was a killed maker's */

static int open_subdir(int dirfd, const char *name, const char *root, pl_error_t *err) {
  if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
    return pl_fail(err, errno, "mkdir %s/%s", root, name);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return pl_fail(err, errno, "open %s/%s", root, name);
  char shown[4200];
  snprintf(shown, sizeof shown, "%s/%s", root, name);
  if (pl_state_check_owned(fd, shown, err) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int pl_cache_open(struct pl_cache *c, const char *path, pl_error_t *err) {
  memset(c, 0, sizeof *c);
  c->fd = c->wheels_fd = c->trees_fd = -1;
  if (pl_mkdir_p(path, 0700, err) < 0) return pl_error_wrap(err, "cache");
  /* Canonical: byte-code is compiled at the tree's real path. */
  c->path = realpath(path, NULL);
  if (c->path == NULL) return pl_fail(err, errno, "cache %s", path);
  c->fd = open(c->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (c->fd < 0 || pl_state_check_owned(c->fd, c->path, err) < 0) {
    if (c->fd < 0) pl_fail(err, errno, "open cache %s", c->path);
    pl_cache_close(c);
    return -1;
  }
  c->wheels_fd = open_subdir(c->fd, "wheels", c->path, err);
  c->trees_fd = c->wheels_fd < 0 ? -1 : open_subdir(c->fd, "trees", c->path, err);
  if (c->trees_fd < 0) {
    pl_cache_close(c);
    return -1;
  }
  return 0;
}

void pl_cache_close(struct pl_cache *c) {
  if (c->fd >= 0) close(c->fd);
  if (c->wheels_fd >= 0) close(c->wheels_fd);
  if (c->trees_fd >= 0) close(c->trees_fd);
  free(c->path);
  memset(c, 0, sizeof *c);
  c->fd = c->wheels_fd = c->trees_fd = -1;
}

int pl_cache_interp_key(const struct pl_interp *in, char key[PL_INTERP_KEY_LEN + 1],
                        pl_error_t *err) {
  cleanup_free char *rec = pl_interp_format(in);
  if (rec == NULL) return pl_fail(err, ENOMEM, "interpreter key");
  char hex[PL_SHA256_HEX];
  if (pl_sha256_hex(rec, strlen(rec), hex, err) < 0) return -1;
  memcpy(key, hex, PL_INTERP_KEY_LEN);
  key[PL_INTERP_KEY_LEN] = '\0';
  return 0;
}

static int check_sha(const char *sha256, pl_error_t *err) {
  size_t n = 0;
  for (; sha256[n]; n++)
    if (!((sha256[n] >= '0' && sha256[n] <= '9') || (sha256[n] >= 'a' && sha256[n] <= 'f'))) break;
  if (n != 64 || sha256[n])
    return pl_fail(err, EINVAL, "\"%.80s\" is not a sha256 (64 lowercase hex digits)", sha256);
  return 0;
}

int pl_cache_wheel_path(const struct pl_cache *c, const char *sha256, char **path,
                        pl_error_t *err) {
  if (check_sha(sha256, err) < 0) return -1;
  if (asprintf(path, "%s/wheels/%s.whl", c->path, sha256) < 0)
    return pl_fail(err, ENOMEM, "wheel path");
  return 0;
}

/* Hash fd from its start; optionally copy the bytes to out_fd. */
static int hash_fd(int fd, int out_fd, char hex[PL_SHA256_HEX], pl_error_t *err) {
  if (lseek(fd, 0, SEEK_SET) < 0) return pl_fail(err, errno, "seek");
  cleanup_free char *buf = malloc(COPY_BLOCK);
  if (buf == NULL) return pl_fail(err, ENOMEM, "hash");
  struct pl_sha d;
  if (pl_sha_init(&d, err) < 0) return -1;
  for (;;) {
    ssize_t n = read(fd, buf, COPY_BLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      pl_sha_free(&d);
      return pl_fail(err, errno, "read");
    }
    if (n == 0) break;
    if (pl_sha_update(&d, buf, (size_t)n, err) < 0 ||
        (out_fd >= 0 && pl_write_all(out_fd, buf, (size_t)n) < 0 &&
         pl_fail(err, errno, "write") < 0)) {
      pl_sha_free(&d);
      return -1;
    }
  }
  return pl_sha_final(&d, hex, NULL, err);
}

int pl_cache_wheel_store(struct pl_cache *c, int src_fd, const char *sha256, pl_error_t *err) {
  if (check_sha(sha256, err) < 0) return -1;
  char name[80], hex[PL_SHA256_HEX];
  snprintf(name, sizeof name, "%s.whl", sha256);
  cleanup_free char *tmp = NULL;
  /* Mode 0200 and locked while it is written, as a fetch's file: a
   * pylock killed meanwhile leaves a file pl_cache_sweep can tell is
   * abandoned (and code in a sandbox cannot open it to fake a live one);
   * read-only just before it takes its name, once synced: the sync is the
   * slow step, and a 0444 file is one no sweep can open to test. */
  int fd = pl_tmpfile_open_locked_at(c->wheels_fd, name, 0200, &tmp, err);
  if (fd < 0) return pl_error_wrap(err, "cache");
  pl_pause("wheel-store-named"); /* tests: what another sync's sweep sees now */
  bool ok = hash_fd(src_fd, fd, hex, err) == 0 &&
            (strcmp(hex, sha256) == 0 ||
             pl_fail(err, 0, "wheel bytes hash to sha256 %s, expected %s", hex, sha256) == 0);
  if (ok) {
    pl_pause("wheel-store-sync"); /* the crash tests' kill point: a slow fsync */
    ok = fsync(fd) == 0 && fchmod(fd, 0444) == 0;
  }
  if (!ok) {
    if (err && *err == NULL) pl_fail(err, errno, "cache %s/wheels/%s", c->path, tmp);
    close(fd);
    unlinkat(c->wheels_fd, tmp, 0);
    return pl_error_wrap(err, "cache %s", name);
  }
  /* Its fsync again finds nothing left to write. */
  return pl_tmpfile_commit_at(c->wheels_fd, fd, tmp, name, err);
}

int pl_cache_wheel_open(struct pl_cache *c, const char *sha256, pl_error_t *err) {
  if (check_sha(sha256, err) < 0) return -1;
  char name[80];
  snprintf(name, sizeof name, "%s.whl", sha256);
  int fd = openat(c->wheels_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return pl_fail(err, errno, "open %s/wheels/%s", c->path, name);
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return pl_fail(err, EINVAL, "%s/wheels/%s is not a regular file", c->path, name);
  }
  return fd;
}

/* ---- directory walks ----------------------------------------------------- */

int pl_cache_remove_tree(int dirfd, const char *name, pl_error_t *err) {
  return pl_remove_tree_at(dirfd, name, err);
}

/* Make every file 0444 (0555 when it has an x bit) and every directory
 * below the root 0555; count the files. */
static int seal(int fd, int depth, uint64_t *files, pl_error_t *err) {
  if (depth > TREE_DEPTH_MAX) return pl_fail(err, ELOOP, "tree too deep");
  int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dfd < 0) return pl_fail(err, errno, "seal");
  cleanup_dir DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return pl_fail(err, errno, "seal");
  }
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return pl_fail(err, errno, "stat %s", e->d_name);
    if (S_ISDIR(st.st_mode)) {
      cleanup_close int sub =
          openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) return pl_fail(err, errno, "open %s", e->d_name);
      if (seal(sub, depth + 1, files, err) < 0) return pl_error_wrap(err, "%s", e->d_name);
      if (fchmod(sub, 0555) < 0) return pl_fail(err, errno, "chmod %s", e->d_name);
    } else if (S_ISREG(st.st_mode)) {
      mode_t mode = (st.st_mode & 0111) ? 0555 : 0444;
      if ((st.st_mode & 07777) != mode && fchmodat(fd, e->d_name, mode, 0) < 0)
        return pl_fail(err, errno, "chmod %s", e->d_name);
      (*files)++;
    } else {
      return pl_fail(err, 0, "%s: not a regular file or directory", e->d_name);
    }
  }
  if (errno) return pl_fail(err, errno, "read directory");
  return 0;
}

/* ---- trees ----------------------------------------------------------------- */

void pl_cache_tree_release(struct pl_cache_tree *t) {
  if (t == NULL) return;
  if (t->fd >= 0) close(t->fd);
  free(t->dist_info);
  memset(t, 0, sizeof *t);
  t->fd = -1;
}

/* A complete tree: open it and read its marker.  1 if found, 0 if absent,
 * -1 on error; a directory without a marker is moved aside and removed. */
/* tree_open without its repairs: 1 open (out filled), 0 absent, 2 without
 * a marker, 3 a marker that does not parse (2 and 3: out->fd and out->key
 * only), 4 not a directory (nothing moved: the caller decides), -1. */
static int tree_read(struct pl_cache *c, const char *key, struct pl_cache_tree *out,
                     pl_error_t *err) {
  int fd = openat(c->trees_fd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    /* A symbolic link or a file under a tree's name: no tree pylock built. */
    if (errno == ENOTDIR || errno == ELOOP) return 4;
    return pl_fail(err, errno, "open %s/trees/%s", c->path, key);
  }
  cleanup_free char *marker = NULL;
  pl_error_t e = NULL;
  snprintf(out->key, sizeof out->key, "%s", key);
  if (pl_read_file_at(fd, PL_TREE_MARKER, MARKER_MAX, &marker, NULL, &e) < 0) {
    bool absent = e->errnum == ENOENT;
    if (!absent && err) {
      close(fd);
      *err = e;
      return -1;
    }
    pl_error_free(&e);
    if (!absent) {
      close(fd);
      return -1;
    }
    out->fd = fd;
    return 2;
  }
  const char *di = strstr(marker, "dist_info=");
  const char *files = strstr(marker, "\nfiles=");
  const char *man = strstr(marker, "\nmanifest=");
  if (di != marker || files == NULL || man == NULL || strlen(man) < 10 + 64 + 1 ||
      man[74] != '\n') {
    out->fd = fd;
    return 3;
  }
  out->dist_info = strndup(di + 10, (size_t)(files - di - 10));
  out->files = strtoull(files + 7, NULL, 10);
  memcpy(out->manifest, man + 10, 64);
  out->manifest[64] = '\0';
  const char *st = strstr(marker, "\nstat=");
  if (st && strlen(st + 6) > PL_STAT_DIGEST_LEN && st[6 + PL_STAT_DIGEST_LEN] == '\n') {
    memcpy(out->stat, st + 6, PL_STAT_DIGEST_LEN);
    out->stat[PL_STAT_DIGEST_LEN] = '\0';
  }
  size_t kl = strlen(key), sl = strlen(PL_CACHE_SOURCE_SUFFIX);
  out->source = kl > sl && strcmp(key + kl - sl, PL_CACHE_SOURCE_SUFFIX) == 0;
  out->fd = fd;
  out->built = false;
  if (out->dist_info == NULL) {
    pl_cache_tree_release(out);
    return pl_fail(err, ENOMEM, "tree");
  }
  return 1;
}

int pl_cache_tree_mark_damaged(const struct pl_cache_tree *t, pl_error_t *err) {
  /* Through the directory itself, never its name: another sync may have
   * put the tree built again there already. */
  struct stat st;
  if (fstat(t->fd, &st) < 0) return pl_fail(err, errno, "tree %s", t->key);
  if (fchmod(t->fd, (st.st_mode & 07777) | 0700) < 0)
    return pl_fail(err, errno, "unseal tree %s", t->key);
  int r = 0;
  if (unlinkat(t->fd, PL_TREE_MARKER, 0) < 0 && errno != ENOENT)
    r = pl_fail(err, errno, "remove the marker of tree %s", t->key);
  if (fchmod(t->fd, 0555) < 0 && r == 0) r = pl_fail(err, errno, "seal tree %s", t->key);
  return r;
}

int pl_cache_tree_peek(struct pl_cache *c, const char *key, struct pl_cache_tree *out,
                       pl_error_t *err) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  int r = tree_read(c, key, out, err);
  if (r == 2 || r == 3) pl_cache_tree_release(out);
  return r < 0 ? -1 : r == 1;
}

static int tree_open(struct pl_cache *c, const char *key, struct pl_cache_tree *out,
                     pl_error_t *err) {
  int r = tree_read(c, key, out, err);
  if (r == 1) {
    /* A crash between a batch's rename and the root's seal (batch_place). */
    struct stat rst;
    if (fstat(out->fd, &rst) == 0 && (rst.st_mode & 07777) != 0555) fchmod(out->fd, 0555);
  }
  if (r == 4) {
    /* Removed itself, never followed; built anew. */
    if (unlinkat(c->trees_fd, key, 0) < 0 && errno != ENOENT)
      return pl_fail(err, errno, "remove %s/trees/%s (not a directory)", c->path, key);
    return 0;
  }
  /* Without a marker that parses: damaged (only complete trees, marker
   * and all, are renamed into place), yet generations may fold into it.
   * Left where it is for the caller, who has it replaced in one step. */
  return r == 2 || r == 3 ? 2 : r;
}

/* The cache's name of the tree of (wheel, interpreter). */
static int tree_key(const char *wheel_sha256, const struct pl_interp *interp, char *key, size_t cap,
                    pl_error_t *err) {
  char ik[PL_INTERP_KEY_LEN + 1];
  if (check_sha(wheel_sha256, err) < 0 || pl_cache_interp_key(interp, ik, err) < 0) return -1;
  snprintf(key, cap, "%s-%s", wheel_sha256, ik);
  return 0;
}

/* The cache's name of the source tree of (wheel, interpreter). */
static int source_key(const char *wheel_sha256, const struct pl_interp *interp, char *key,
                      size_t cap, pl_error_t *err) {
  char base[PL_CACHE_TREE_KEY_MAX];
  if (tree_key(wheel_sha256, interp, base, sizeof base, err) < 0) return -1;
  int n = snprintf(key, cap, "%s%s", base, PL_CACHE_SOURCE_SUFFIX);
  return n < 0 || (size_t)n >= cap ? pl_fail(err, ENAMETOOLONG, "tree key") : 0;
}

int pl_cache_tree_find(struct pl_cache *c, const char *wheel_sha256, const struct pl_interp *interp,
                       struct pl_cache_tree *out, pl_error_t *err) {
  char key[PL_CACHE_TREE_KEY_MAX];
  memset(out, 0, sizeof *out);
  out->fd = -1;
  if (tree_key(wheel_sha256, interp, key, sizeof key, err) < 0) return -1;
  return tree_open(c, key, out, err);
}

bool pl_cache_tree_named(struct pl_cache *c, const char *wheel_sha256,
                         const struct pl_interp *interp) {
  char key[PL_CACHE_TREE_KEY_MAX];
  pl_error_t e = NULL;
  struct stat st;
  bool named = false;
  if (source_key(wheel_sha256, interp, key, sizeof key, &e) == 0) {
    named = fstatat(c->trees_fd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    key[strlen(key) - strlen(PL_CACHE_SOURCE_SUFFIX)] = '\0'; /* the complete tree's */
    named =
        named || (fstatat(c->trees_fd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
  }
  pl_error_free(&e);
  return named;
}

int pl_cache_tree_find_source(struct pl_cache *c, const char *wheel_sha256,
                              const struct pl_interp *interp, struct pl_cache_tree *out,
                              pl_error_t *err) {
  char key[PL_CACHE_TREE_KEY_MAX];
  memset(out, 0, sizeof *out);
  out->fd = -1;
  if (source_key(wheel_sha256, interp, key, sizeof key, err) < 0) return -1;
  return tree_open(c, key, out, err);
}

/* ---- batches: trees built together ------------------------------------------ */

void pl_cache_batch_init(struct pl_cache_batch *b, struct pl_cache *c,
                         const struct pl_interp *interp) {
  memset(b, 0, sizeof *b);
  b->c = c;
  b->interp = interp;
  b->fd = -1;
}

/* trees/.tmp-batch-RANDOM, made and locked from before it has its name
 * (pl_dir_make_locked_at), so that no sweep (nor code in a sandbox, which
 * could flock it) takes it; the lock is held while the batch lives. */
static int batch_dir(struct pl_cache_batch *b, pl_error_t *err) {
  struct pl_cache *c = b->c;
  unsigned long long rnd = 0;
  if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd ^= (unsigned long long)getpid();
  snprintf(b->name, sizeof b->name, ".tmp-batch-%016llx", rnd);
  b->fd = pl_dir_make_locked_at(c->trees_fd, b->name, 0700, err);
  if (b->fd < 0) {
    b->name[0] = '\0';
    return pl_error_wrap(err, "%s/trees", c->path);
  }
  pl_pause("tree-made");
  if (asprintf(&b->path, "%s/trees/%s", c->path, b->name) < 0) {
    b->path = NULL;
    return pl_fail(err, ENOMEM, "tree");
  }
  return 0;
}

/* Check the wheel's bytes against the sha256 the signed target named. */
static int check_wheel(int wheel_fd, const char *wheel_sha256, const char *wheel_filename,
                       pl_error_t *err) {
  /* The cache is only as good as what we check when reading it back: the
   * bytes must still be the ones the signed target named. */
  char hex[PL_SHA256_HEX];
  if (hash_fd(wheel_fd, -1, hex, err) < 0) return pl_error_wrap(err, "wheel %s", wheel_filename);
  if (strcmp(hex, wheel_sha256) != 0)
    return pl_fail_hint(err, EBADMSG, "fetch it again with: pylock sync --repair",
                        "wheel %s: its bytes hash to sha256 %s, expected %s (tampered or corrupt)",
                        wheel_filename, hex, wheel_sha256);
  return 0;
}

/* A new, empty tree `key` in the batch (made with the first): *out, and
 * its absolute path into *path (caller frees). */
static int batch_entry(struct pl_cache_batch *b, const char *key, struct pl_cache_batch_tree **out,
                       char **path, pl_error_t *err) {
  if (b->fd < 0 && batch_dir(b, err) < 0) return -1;
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 16;
    struct pl_cache_batch_tree *v = realloc(b->t, ncap * sizeof *v);
    if (v == NULL) return pl_fail(err, ENOMEM, "tree");
    b->t = v;
    b->cap = ncap;
  }
  struct pl_cache_batch_tree *t = &b->t[b->n];
  memset(t, 0, sizeof *t);
  t->fd = -1;
  snprintf(t->key, sizeof t->key, "%s", key);
  if (mkdirat(b->fd, key, 0755) < 0) return pl_fail(err, errno, "mkdir %s/%s", b->path, key);
  b->n++;
  t->fd = openat(b->fd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (t->fd < 0) return pl_fail(err, errno, "open %s/%s", b->path, key);
  if (asprintf(path, "%s/%s", b->path, key) < 0) {
    *path = NULL;
    return pl_fail(err, ENOMEM, "tree");
  }
  *out = t;
  return 0;
}

/* The key batch b gives the tree of wheel_sha256. */
static int batch_key(const struct pl_cache_batch *b, const char *wheel_sha256, char *key,
                     size_t cap, pl_error_t *err) {
  return b->source_only ? source_key(wheel_sha256, b->interp, key, cap, err)
                        : tree_key(wheel_sha256, b->interp, key, cap, err);
}

/* Does batch b hold tree `key` already? */
static bool batch_has(const struct pl_cache_batch *b, const char *key) {
  for (size_t i = 0; i < b->n; i++)
    if (strcmp(b->t[i].key, key) == 0) return true;
  return false;
}

int pl_cache_batch_add(struct pl_cache_batch *b, const char *wheel_sha256, int wheel_fd,
                       const char *wheel_filename, pl_error_t *err) {
  struct pl_cache *c = b->c;
  char key[PL_CACHE_TREE_KEY_MAX];
  if (batch_key(b, wheel_sha256, key, sizeof key, err) < 0) return -1;
  if (batch_has(b, key)) return 0; /* one tree serves both */
  cleanup_close int own_fd = -1;
  if (wheel_fd < 0) {
    own_fd = pl_cache_wheel_open(c, wheel_sha256, err);
    if (own_fd < 0) return -1;
    wheel_fd = own_fd;
  }
  if (check_wheel(wheel_fd, wheel_sha256, wheel_filename, err) < 0) return -1;
  struct pl_cache_batch_tree *t = NULL;
  cleanup_free char *tree_path = NULL;
  if (batch_entry(b, key, &t, &tree_path, err) < 0) return -1;
  return pl_install_unpack(t->fd, tree_path, wheel_fd, wheel_filename, b->interp, &t->install, err);
}

/* The source tree's files are linked, not copied: the complete tree shares
 * their inodes (and so their mtimes, which its byte-code records) with the
 * source tree and every generation made of it.  The compiler reads them
 * in its sandbox, where the state root is read-only; only pylock, outside
 * any sandbox, moves byte-code in beside them and writes the new RECORD
 * (a new file: the linked one is unlinked first, never written). */
int pl_cache_batch_add_source(struct pl_cache_batch *b, const struct pl_cache_tree *src,
                              pl_error_t *err) {
  char key[PL_CACHE_TREE_KEY_MAX];
  size_t kl = strlen(src->key), sl = strlen(PL_CACHE_SOURCE_SUFFIX);
  if (b->source_only || !src->source || kl <= sl || kl - sl >= sizeof key)
    return pl_fail(err, EINVAL, "tree %s is not a source tree for this batch", src->key);
  memcpy(key, src->key, kl - sl);
  key[kl - sl] = '\0';
  if (batch_has(b, key)) return 0;
  struct pl_cache_batch_tree *t = NULL;
  cleanup_free char *tree_path = NULL;
  if (batch_entry(b, key, &t, &tree_path, err) < 0) return -1;
  struct pl_link_stats st = {0};
  if (pl_envgen_link_tree(t->fd, src->fd, NULL, &st, NULL, err) < 0)
    return pl_error_wrap(err, "link %s/trees/%s", b->c->path, src->key);
  return pl_install_from_source(t->fd, tree_path, src->dist_info, b->interp, &t->install, err);
}

/* Tree t of the batch, byte-compiled: its RECORD, every file sealed, its
 * manifest and stat fingerprint; the marker's text into *marker. */
static int batch_seal(struct pl_cache_batch *b, struct pl_cache_batch_tree *t, char **marker,
                      pl_error_t *err) {
  struct pl_install_result res = {0};
  if (pl_install_complete(&t->install, &res, err) < 0) return -1;
  uint64_t files = 0;
  if (seal(t->fd, 0, &files, err) < 0) {
    pl_install_result_free(&res);
    return pl_error_wrap(err, "seal %s/%s", b->path, t->key);
  }
  /* pylock's own list of what the tree holds, byte-code included. */
  struct pl_manifest m;
  static const char *const skip[] = {PL_TREE_MARKER, PL_TREE_MANIFEST, NULL};
  cleanup_free char *mtext = NULL;
  size_t mlen = 0;
  char mhash[PL_SHA256_HEX];
  int r = pl_manifest_build(t->fd, skip, &m, err);
  if (r == 0) {
    r = pl_manifest_format(&m, &mtext, &mlen, err);
    pl_manifest_free(&m);
  }
  if (r == 0) r = pl_sha256_hex(mtext, mlen, mhash, err);
  if (r == 0) r = pl_write_file_atomic_at(t->fd, PL_TREE_MANIFEST, mtext, mlen, 0444, err);
  /* The stat fingerprint once every file is sealed: later a cheap check
   * that nothing in the tree was written since (pl_cache_tree_check). */
  char stat[PL_STAT_DIGEST_LEN + 1];
  if (r == 0) r = pl_manifest_stat_digest(t->fd, skip, stat, err);
  int n = r < 0 ? 0
                : asprintf(marker, "dist_info=%s\nfiles=%llu\nmanifest=%s\nstat=%s\n",
                           res.dist_info, (unsigned long long)res.files, mhash, stat);
  pl_install_result_free(&res);
  if (r < 0) return pl_error_wrap(err, "manifest of %s/%s", b->path, t->key);
  if (n < 0) {
    *marker = NULL;
    return pl_fail(err, ENOMEM, "tree");
  }
  return 0;
}

int pl_cache_batch_replace(struct pl_cache_batch *b, const char *key, const struct stat *st,
                           pl_error_t *err) {
  struct pl_cache_damaged *v = realloc(b->damaged, (b->ndamaged + 1) * sizeof *v);
  if (v == NULL) return pl_fail(err, ENOMEM, "tree");
  b->damaged = v;
  struct pl_cache_damaged *d = &v[b->ndamaged++];
  snprintf(d->key, sizeof d->key, "%s", key);
  d->dev = st->st_dev;
  d->ino = st->st_ino;
  return 0;
}

static int quarantine(struct pl_cache *c, int from_fd, const char *name, pl_error_t *err);

/* Tree t, built, where trees/<key> is taken: if that is the damaged tree
 * pl_cache_batch_replace named, swapped with it (the damaged one then moved
 * from the batch into quarantine/).  1 replaced, 0 not the damaged one (or
 * no longer: another builder's, as good as ours), -1. */
static int batch_replace(struct pl_cache_batch *b, struct pl_cache_batch_tree *t, pl_error_t *err) {
  struct pl_cache *c = b->c;
  const struct pl_cache_damaged *d = NULL;
  for (size_t i = 0; i < b->ndamaged && d == NULL; i++)
    if (strcmp(b->damaged[i].key, t->key) == 0) d = &b->damaged[i];
  if (d == NULL) return 0;
  /* A directory moves to another parent only while writable (its "..").
   * Another pylock opening the tree meanwhile seals its root again
   * (tree_open): while the name still holds the damaged tree, unseal and
   * try again; it is never taken for another builder's. */
  int e = 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    struct stat st;
    if (fstatat(c->trees_fd, t->key, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
        st.st_dev != d->dev || st.st_ino != d->ino)
      return 0; /* no longer the damaged tree: another builder's, as good as ours */
    if (fchmodat(c->trees_fd, t->key, (st.st_mode & 07777) | 0700, 0) < 0) {
      /* the exchange below says why it failed */
    }
    pl_pause("replace");
    if (renameat2(b->fd, t->key, c->trees_fd, t->key, RENAME_EXCHANGE) == 0)
      return quarantine(c, b->fd, t->key, err) < 0 ? -1 : 1;
    e = errno;
    if (e != EACCES && e != EPERM) break;
  }
  if (e == EACCES || e == EPERM) {
    struct stat st;
    if (fstatat(c->trees_fd, t->key, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == d->dev &&
        st.st_ino == d->ino && fchmodat(c->trees_fd, t->key, 0555, 0) < 0) {
      /* sealed again by whoever keeps sealing it, or by its next opener */
    }
    return pl_fail_hint(err, e, "run `pylock sync --repair` again once other pylock commands end",
                        "replace the damaged tree %s/trees/%s: it keeps being sealed again",
                        c->path, t->key);
  }
  if (e != EINVAL && e != ENOSYS)
    return pl_fail(err, e, "replace %s/trees/%s with the tree built again", c->path, t->key);
  /* No RENAME_EXCHANGE on this filesystem: out of the way, then in place. */
  if (quarantine(c, c->trees_fd, t->key, err) < 0) return -1;
  pl_pause("replace-moved"); /* the name is empty until the rename: a kill leaves it so */
  if (renameat2(b->fd, t->key, c->trees_fd, t->key, RENAME_NOREPLACE) == 0) return 1;
  e = errno;
  if (e == EINVAL || e == ENOSYS) e = renameat(b->fd, t->key, c->trees_fd, t->key) < 0 ? errno : 0;
  if (e == 0) return 1;
  if (e == EEXIST || e == ENOTEMPTY) return 0;
  return pl_fail(err, e, "rename %s/%s into %s/trees", b->path, t->key, c->path);
}

/* Tree t, sealed and on disk: its marker, then into trees/ under its key
 * (RENAME_NOREPLACE: of two builders the loser discards its copy), then its
 * root sealed (a directory moves to another parent only while writable;
 * tree_open seals a root a crash left writable). */
static int batch_place(struct pl_cache_batch *b, struct pl_cache_batch_tree *t, const char *marker,
                       pl_error_t *err) {
  struct pl_cache *c = b->c;
  cleanup_close int mfd =
      openat(t->fd, PL_TREE_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (mfd < 0 || pl_write_all(mfd, marker, strlen(marker)) < 0 || fsync(mfd) < 0)
    return pl_fail(err, errno, "write %s/%s/%s", b->path, t->key, PL_TREE_MARKER);
  if (renameat2(b->fd, t->key, c->trees_fd, t->key, RENAME_NOREPLACE) < 0) {
    int e = errno;
    if (e == EINVAL || e == ENOSYS) /* no RENAME_NOREPLACE here: a full target is refused anyway */
      e = renameat(b->fd, t->key, c->trees_fd, t->key) < 0 ? errno : 0;
    if (e == EEXIST || e == ENOTEMPTY) {
      int r = batch_replace(b, t, err);
      if (r < 0) return -1;
      if (r == 0) {
        t->lost = true; /* another builder won the race: theirs is as good */
        return 0;
      }
    } else if (e != 0) {
      return pl_fail(err, e, "rename %s/%s into %s/trees", b->path, t->key, c->path);
    }
  }
  if (fchmod(t->fd, 0555) < 0 || fsync(t->fd) < 0)
    return pl_fail(err, errno, "seal %s/trees/%s", c->path, t->key);
  return 0;
}

int pl_cache_batch_finish(struct pl_cache_batch *b, pl_error_t *err) {
  if (b->n == 0) return 0;
  struct pl_install **ins = calloc(b->n, sizeof *ins);
  if (ins == NULL) return pl_fail(err, ENOMEM, "tree");
  for (size_t i = 0; i < b->n; i++)
    ins[i] = b->t[i].install;
  double mark = pl_log_clock_ms();
  /* A source-only batch runs no compiler: RECORD lists no byte-code. */
  int r = b->source_only ? 0 : pl_install_compile(ins, b->n, b->path, b->fd, err);
  free(ins);
  if (r < 0) return -1;
  if (!b->source_only) {
    pl_pause("compiled");
    pl_log_phase(&mark, "byte-compiled");
  }
  char **markers = calloc(b->n, sizeof *markers);
  if (markers == NULL) return pl_fail(err, ENOMEM, "tree");
  for (size_t i = 0; i < b->n && r == 0; i++)
    r = batch_seal(b, &b->t[i], &markers[i], err);
  /* The markers last, once every byte of every tree is on disk. */
  if (r == 0) pl_log_phase(&mark, "trees sealed, their files hashed into manifests");
  if (r == 0 && syncfs(b->fd) < 0) r = pl_fail(err, errno, "sync %s", b->path);
  if (r == 0) pl_log_phase(&mark, "trees synced to disk");
  for (size_t i = 0; i < b->n && r == 0; i++)
    r = batch_place(b, &b->t[i], markers[i], err);
  if (r == 0 && fsync(b->c->trees_fd) < 0) r = pl_fail(err, errno, "fsync %s/trees", b->c->path);
  if (r == 0) pl_log_phase(&mark, "trees put in place");
  for (size_t i = 0; i < b->n; i++)
    free(markers[i]);
  free(markers);
  return r;
}

int pl_cache_batch_tree(struct pl_cache_batch *b, const char *wheel_sha256,
                        struct pl_cache_tree *out, pl_error_t *err) {
  char key[PL_CACHE_TREE_KEY_MAX];
  memset(out, 0, sizeof *out);
  out->fd = -1;
  if (batch_key(b, wheel_sha256, key, sizeof key, err) < 0) return -1;
  bool built = false;
  for (size_t i = 0; i < b->n; i++)
    if (strcmp(b->t[i].key, key) == 0) built = !b->t[i].lost;
  int r = tree_open(b->c, key, out, err);
  if (r <= 0) return r < 0 ? -1 : pl_fail(err, ENOENT, "tree %s vanished after its build", key);
  if (r == 2) {
    pl_cache_tree_release(out);
    return pl_fail_hint(err, EAGAIN, "run `pylock sync --repair` again",
                        "tree %s/trees/%s has no marker that parses", b->c->path, key);
  }
  /* What another builder put there, never the damaged tree this batch was
   * to replace. */
  struct stat st;
  for (size_t i = 0; i < b->ndamaged; i++)
    if (strcmp(b->damaged[i].key, key) == 0 &&
        (fstat(out->fd, &st) < 0 ||
         (st.st_dev == b->damaged[i].dev && st.st_ino == b->damaged[i].ino))) {
      pl_cache_tree_release(out);
      return pl_fail_hint(err, EAGAIN, "run `pylock sync --repair` again",
                          "tree %s/trees/%s is still the damaged one", b->c->path, key);
    }
  out->built = built;
  return 0;
}

void pl_cache_batch_release(struct pl_cache_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    pl_install_free(b->t[i].install);
    if (b->t[i].fd >= 0) close(b->t[i].fd);
  }
  free(b->t);
  /* What was not put in place: trees that failed, or lost a race. */
  if (b->name[0]) {
    pl_error_t ignored = NULL;
    pl_cache_remove_tree(b->c->trees_fd, b->name, &ignored);
    pl_error_free(&ignored);
  }
  if (b->fd >= 0) close(b->fd);
  free(b->path);
  free(b->damaged);
  bool source_only = b->source_only;
  pl_cache_batch_init(b, b->c, b->interp);
  b->source_only = source_only;
}

int pl_cache_tree_get_or_build(struct pl_cache *c, const char *wheel_sha256, int wheel_fd,
                               const char *wheel_filename, const struct pl_interp *interp,
                               struct pl_cache_tree *out, pl_error_t *err) {
  int r = pl_cache_tree_find(c, wheel_sha256, interp, out, err);
  if (r == 2) {
    char key[PL_CACHE_TREE_KEY_MAX];
    snprintf(key, sizeof key, "%s", out->key);
    pl_cache_tree_release(out);
    if (pl_cache_quarantine_tree(c, key, err) < 0) return -1;
  } else if (r != 0) {
    return r < 0 ? -1 : 0;
  }
  struct pl_cache_batch b;
  pl_cache_batch_init(&b, c, interp);
  r = pl_cache_batch_add(&b, wheel_sha256, wheel_fd, wheel_filename, err);
  if (r == 0) r = pl_cache_batch_finish(&b, err);
  if (r == 0) r = pl_cache_batch_tree(&b, wheel_sha256, out, err);
  pl_cache_batch_release(&b);
  return r;
}

int pl_cache_tree_check(struct pl_cache *c, const struct pl_cache_tree *t, bool full, char *why,
                        size_t cap, pl_error_t *err) {
  static const char *const skip[] = {PL_TREE_MARKER, PL_TREE_MANIFEST, NULL};
  char stat[PL_STAT_DIGEST_LEN + 1];
  why[0] = '\0';
  if (t->stat[0] == '\0') {
    snprintf(why, cap, "it was built by an earlier pylock");
    return 1;
  }
  pl_error_t e = NULL;
  if (pl_manifest_stat_digest(t->fd, skip, stat, &e) < 0) {
    cleanup_free char *msg = pl_error_string(e);
    pl_error_free(&e);
    snprintf(why, cap, "%s", msg ? msg : "unreadable");
    return 1;
  }
  if (strcmp(stat, t->stat) != 0) {
    snprintf(why, cap, "a file in it was written, added or removed since it was built");
    return 1;
  }
  /* The manifest the marker names (small: read in any case to link). */
  cleanup_free char *text = NULL;
  size_t len = 0;
  char hex[PL_SHA256_HEX];
  if (pl_read_file_at(t->fd, PL_TREE_MANIFEST, PL_MANIFEST_MAX_BYTES, &text, &len, &e) < 0 ||
      pl_sha256_hex(text, len, hex, &e) < 0) {
    cleanup_free char *msg = pl_error_string(e);
    pl_error_free(&e);
    snprintf(why, cap, "its manifest: %s", msg ? msg : "unreadable");
    return 1;
  }
  if (strcmp(hex, t->manifest) != 0) {
    snprintf(why, cap, "its manifest is not the one it was built with");
    return 1;
  }
  if (!full) return 0;
  /* Every byte, against that manifest. */
  struct pl_manifest want, have;
  if (pl_manifest_parse(text, len, "tree manifest", &want, err) < 0) return -1;
  if (pl_manifest_build(t->fd, skip, &have, &e) < 0) {
    cleanup_free char *msg = pl_error_string(e);
    pl_error_free(&e);
    snprintf(why, cap, "%s", msg ? msg : "unreadable");
    pl_manifest_free(&want);
    return 1;
  }
  int r = 0;
  for (size_t i = 0; i < want.n && r == 0; i++) {
    const struct pl_manifest_entry *h = pl_manifest_find(&have, want.e[i].path);
    if (h == NULL || strcmp(h->sha256, want.e[i].sha256) != 0 || h->size != want.e[i].size) {
      snprintf(why, cap, "%s %s", want.e[i].path, h ? "does not match its hash" : "is missing");
      r = 1;
    }
  }
  if (r == 0 && have.n != want.n) {
    snprintf(why, cap, "it holds files its manifest does not list");
    r = 1;
  }
  pl_manifest_free(&want);
  pl_manifest_free(&have);
  return r;
}

/* quarantine/<name>-<time>-<random>: out of the way of every later sync, kept for a
 * look until gc removes it. */
static int quarantine(struct pl_cache *c, int from_fd, const char *name, pl_error_t *err) {
  cleanup_close int qfd = open_subdir(c->fd, PL_CACHE_QUARANTINE, c->path, err);
  if (qfd < 0) return -1;
  char aside[256];
  unsigned long long rnd = 0;
  if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd ^= (unsigned long long)getpid();
  snprintf(aside, sizeof aside, "%.160s-%lld-%08llx", name, (long long)time(NULL),
           rnd & 0xffffffffULL);
  /* A sealed directory must be writable to move to another parent (its ".."). */
  struct stat st;
  if (fstatat(from_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
    if (fchmodat(from_fd, name, (st.st_mode & 07777) | 0700, 0) < 0) {
      /* the rename below says why it failed */
    }
  if (renameat(from_fd, name, qfd, aside) < 0 && errno != ENOENT)
    return pl_fail(err, errno, "move %s into %s/%s", name, c->path, PL_CACHE_QUARANTINE);
  return 0;
}

int pl_cache_quarantine_tree(struct pl_cache *c, const char *key, pl_error_t *err) {
  return quarantine(c, c->trees_fd, key, err);
}

int pl_cache_quarantine_wheel(struct pl_cache *c, const char *sha256, pl_error_t *err) {
  char name[80];
  if (check_sha(sha256, err) < 0) return -1;
  snprintf(name, sizeof name, "%s.whl", sha256);
  return quarantine(c, c->wheels_fd, name, err);
}

/* Is `name` in dirfd one of ours left by a process that is gone?  Its maker
 * holds a lock on it while alive.  Returns the fd holding that lock, to be
 * kept until it is removed (a maker that locks it meanwhile would build in
 * what is being removed), or -1. */
static int abandoned(int dirfd, const char *name, bool dir) {
  /* A fetch's file is mode 0200 (env.c): opened for writing. */
  int fd = openat(dirfd, name,
                  (dir ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* n hex digits at s? */
static bool all_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i])) return false;
  return true;
}

/* ".fetch.tmp" and 16 hex digits (env.c's fetch_wheels). */
static bool is_fetch_tmp(const char *name) {
  return strncmp(name, ".fetch.tmp", 10) == 0 && strlen(name) == 26 && all_hex(name + 10, 16);
}

/* "." SHA256 ".whl.tmp" and 16 hex digits (pl_cache_wheel_store). */
static bool is_store_tmp(const char *name) {
  return name[0] == '.' && strlen(name) == 1 + 64 + 8 + 16 && all_hex(name + 1, 64) &&
         memcmp(name + 65, ".whl.tmp", 8) == 0 && all_hex(name + 73, 16);
}

void pl_cache_sweep(struct pl_cache *c) {
  DIR *d = fdopendir(dup(c->trees_fd));
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (pl_dir_sweep_stage(c->trees_fd, e->d_name, STAGE_AGE)) continue;
    if (strncmp(e->d_name, ".tmp-", 5) != 0) continue;
    cleanup_close int held = abandoned(c->trees_fd, e->d_name, true);
    if (held < 0) continue;
    pl_error_t ignored = NULL;
    pl_cache_remove_tree(c->trees_fd, e->d_name, &ignored);
    pl_error_free(&ignored);
  }
  if (d) closedir(d);
  d = fdopendir(dup(c->wheels_fd));
  while (d && (e = readdir(d)) != NULL) {
    /* A fetch's temporary file, ".fetch.tmp" and 16 hex digits, or a
     * stored wheel's, "." SHA256 ".whl.tmp" and 16 hex digits. */
    if (!is_fetch_tmp(e->d_name) && !is_store_tmp(e->d_name)) continue;
    cleanup_close int held = abandoned(c->wheels_fd, e->d_name, false);
    if (held >= 0) unlinkat(c->wheels_fd, e->d_name, 0);
  }
  if (d) closedir(d);
}
