/* pylock — registry writer; see registry.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonjson.h"
#include "cleanup.h"
#include "sha.h"
#include "file.h"
#include "log.h"
#include "distname.h"
#include "metadata.h"
#include "pep508.h"
#include "pause.h"
#include "projindex.h"
#include "state.h"
#include "tags.h"
#include "version.h"
#include "tuf.h"
#include "tuf_meta.h"
#include "wheel.h"

#define PUBLISH_LOCK ".pylock-publish.lock" /* see take_publish_lock */

struct reg {
  const char *dir;
  int fd;      /* DIR, opened once without following a link; checked */
  int lock;    /* DIR/PUBLISH_LOCK, held (flock) until the change is published; -1 */
  bool marked; /* our pid is in the lock file: we may leave temporary files */
  int targets; /* DIR/targets, likewise (-1 until init makes it, or if absent) */
  const struct pl_registry_opts *o;
  time_t now;
  json_t *body[PL_TUF_NROLES];
  bool consistent; /* root's consistent_snapshot: VERSION.ROLE.json, targets/SHA256.NAME */
  /* Hashed bins (TAP 15 succinct_roles of the top-level targets), or none
   * (bin_bits 0).  A bin's body is read only when a change touches it. */
  unsigned bin_bits;
  const char *bin_prefix;
  const json_t *bin_role; /* keyids and threshold, borrowed from body[TARGETS] */
  json_t **bins;
  bool *bin_dirty;
  bool project_index; /* publishes per-project index targets (PL_PROJINDEX_MARKER) */
  int simple;         /* DIR/targets/simple, once a change writes there */
  /* DIR/targets/simple/<project>/ directories a change writes into, open
   * until it is published (staged files borrow the handle and name). */
  int *subfds;
  char **subdirs;
  size_t nsub;
  /* What pylock last signed of this registry (STATE/published/<hash>/,
   * out of every sandbox's reach): the anchor of root, the floor of
   * timestamp's version, what sign compares hand edits with.  -1: none
   * yet (a registry first published elsewhere, or made by an older pylock). */
  int rec;
  char *rec_path;           /* where it is, for messages */
  char *raw[PL_TUF_NROLES]; /* each top-level role as read (and vouched for) */
  size_t rawlen[PL_TUF_NROLES];
  bool sign_edits;        /* sign: a targets role edited by hand is compared, not refused */
  size_t additions;       /* targets added or changed by hand (sign_edits) */
  bool no_record;         /* ... and counted so for want of a record */
  bool targets_edited;    /* top-level targets was, so its raw is not what was signed */
  json_t *signed_targets; /* ... and the body pylock last signed of it (record), or NULL */
  /* root.json reached by rotations read from DIR from the root pylock last
   * signed or the one given (--root): that root (its signed body), whose
   * keys alone (and those given to sign with) a new root may carry forward,
   * and which stays the record of root.  NULL: root.json is it, or was
   * vouched for by the keys given. */
  json_t *rotated_base;
  bool base_is_anchor; /* ... and it is the root given */
};

static void reg_close(struct reg *r) {
  for (int i = 0; i < PL_TUF_NROLES; i++) {
    pl_json_decref(r->body[i]);
    free(r->raw[i]);
  }
  for (size_t i = 0; r->bins && i < ((size_t)1 << r->bin_bits); i++)
    pl_json_decref(r->bins[i]);
  free(r->bins);
  free(r->bin_dirty);
  for (size_t i = 0; i < r->nsub; i++) {
    close(r->subfds[i]);
    free(r->subdirs[i]);
  }
  free(r->subfds);
  free(r->subdirs);
  if (r->simple >= 0) close(r->simple);
  if (r->fd >= 0) close(r->fd);
  if (r->rec >= 0) close(r->rec);
  free(r->rec_path);
  pl_json_decref(r->signed_targets);
  pl_json_decref(r->rotated_base);
  if (r->targets >= 0) close(r->targets);
  /* Every temporary file is gone (change_free, staged_free): nothing for
   * the next publisher to sweep.  A clear lost in a crash costs it a sweep. */
  if (r->lock >= 0 && r->marked && ftruncate(r->lock, 0) < 0)
    pl_log(PL_LOG_DEBUG, "registry %s: clear %s: %s", r->dir, PUBLISH_LOCK, strerror(errno));
  if (r->lock >= 0) close(r->lock);
}

/* ---- temporary files: recognisable, and swept after a dead publisher ---- */

static int open_own_dir_at(int parent, const char *name, const char *what, bool create, bool top,
                           pl_error_t *err);

#define TEMP_HEX 16

bool pl_registry_is_temp_name(const char *name) {
  size_t n = strlen(PL_REGISTRY_TEMP_PREFIX);
  if (strncmp(name, PL_REGISTRY_TEMP_PREFIX, n) != 0) return false;
  for (size_t i = n; i < n + TEMP_HEX; i++)
    if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f'))) return false;
  return name[n + TEMP_HEX] == '\0';
}

/* Create a new temporary file (pl_registry_is_temp_name) in dirfd, mode
 * exactly `mode`; its name in *tmpname (malloc'd).  Renamed over its final
 * name in the same directory when published. */
static int temp_open(int dirfd, const char *dir, mode_t mode, char **tmpname, pl_error_t *err) {
  for (int attempt = 0; attempt < 16; attempt++) {
    unsigned long long rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
      rnd ^= ((unsigned long long)getpid() << 32) ^ (unsigned long long)attempt;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s%016llx", PL_REGISTRY_TEMP_PREFIX, rnd) < 0)
      return pl_fail(err, ENOMEM, "registry %s", dir);
    int fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0 && fchmod(fd, mode) == 0) {
      *tmpname = tmp;
      return fd;
    }
    int e = errno;
    if (fd >= 0) {
      close(fd);
      unlinkat(dirfd, tmp, 0);
    }
    free(tmp);
    if (fd >= 0 || e != EEXIST) return pl_fail(err, e, "registry %s: a temporary file", dir);
  }
  return pl_fail(err, EEXIST, "registry %s: a temporary file", dir);
}

/* Remove the temporary files in the directory open at dfd (`rel` in the
 * registry): regular files of ours with a temporary name, no other entry
 * (unlinkat follows no link), each said through o->swept. */
static void sweep_dir(struct reg *r, int dfd, const char *rel, long pid) {
  int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    if (fd >= 0) close(fd);
    return;
  }
  /* Collected first: unlinking while reading may skip entries. */
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!pl_registry_is_temp_name(de->d_name)) continue;
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      char **nn = reallocarray(names, ncap, sizeof *nn);
      if (nn == NULL) break;
      names = nn;
      cap = ncap;
    }
    if ((names[n] = strdup(de->d_name)) != NULL) n++;
  }
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        st.st_uid == geteuid() && unlinkat(dirfd(d), names[i], 0) == 0 && r->o->swept) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
      r->o->swept(r->o->ctx, r->dir, path, pid);
    }
    free(names[i]);
  }
  free(names);
  closedir(d);
}

/* Open directory name beneath parent for a sweep: the caller's alone, never
 * through a link (open_own_dir_at); -1 when it is not that. */
static int sweep_open(int parent, const char *name, const char *what) {
  pl_error_t ignored = NULL;
  int fd = open_own_dir_at(parent, name, what, false, false, &ignored);
  pl_error_free(&ignored);
  return fd;
}

/* A publisher that did not finish (its pid still in the lock file we now
 * hold) may have left temporary files wherever one is written: DIR,
 * targets/, targets/simple/ and its project directories.  Removed. */
static void sweep_dead(struct reg *r, long pid) {
  char what[PATH_MAX];
  sweep_dir(r, r->fd, "", pid);
  snprintf(what, sizeof what, "%s/targets", r->dir);
  cleanup_close int targets = sweep_open(r->fd, "targets", what);
  if (targets < 0) return;
  sweep_dir(r, targets, "targets", pid);
  snprintf(what, sizeof what, "%s/targets/simple", r->dir);
  cleanup_close int simple = sweep_open(targets, "simple", what);
  if (simple < 0) return;
  sweep_dir(r, simple, "targets/simple", pid);
  int fd = openat(simple, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    if (fd >= 0) close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) continue; /* links: not followed */
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    char rel[NAME_MAX + 32];
    snprintf(what, sizeof what, "%s/targets/simple/%s", r->dir, de->d_name);
    snprintf(rel, sizeof rel, "targets/simple/%s", de->d_name);
    cleanup_close int sub = sweep_open(simple, de->d_name, what);
    if (sub >= 0) sweep_dir(r, sub, rel, pid);
  }
  closedir(d);
}

/* Holding the publish lock: sweep what a dead publisher left (its pid in
 * the lock file), then put ours there, durably, before writing anything. */
static int publisher_begin(struct reg *r, pl_error_t *err) {
  char buf[32];
  ssize_t n = pread(r->lock, buf, sizeof buf - 1, 0);
  if (n > 0) {
    buf[n] = '\0';
    long pid = strncmp(buf, "pid ", 4) == 0 ? strtol(buf + 4, NULL, 10) : 0;
    sweep_dead(r, pid > 0 ? pid : 0);
  }
  int len = snprintf(buf, sizeof buf, "pid %ld\n", (long)getpid());
  if (pwrite(r->lock, buf, (size_t)len, 0) != (ssize_t)len || ftruncate(r->lock, len) < 0 ||
      fsync(r->lock) < 0)
    return pl_fail(err, errno, "write %s/%s", r->dir, PUBLISH_LOCK);
  r->marked = true;
  return 0;
}

/* One publisher at a time: two adds (or an add and an index) that both
 * read the registry, then both publish, would each drop what the other
 * added.  The lock file is the publisher's alone (0600, not followed if a
 * link): another user who can read the registry (it is served) could flock
 * the directory itself, and so stall or fail every publication. */
static int take_publish_lock(struct reg *r, pl_error_t *err) {
  r->lock = openat(r->fd, PUBLISH_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (r->lock < 0) return pl_fail(err, errno, "%s/%s", r->dir, PUBLISH_LOCK);
  struct stat st;
  if (fstat(r->lock, &st) < 0) return pl_fail(err, errno, "%s/%s", r->dir, PUBLISH_LOCK);
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
    return pl_fail_hint(err, PL_REFUSED, "remove it; pylock makes it again",
                        "%s/%s is not a lock file of yours alone (owner uid %u, mode %04o)", r->dir,
                        PUBLISH_LOCK, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
  if (flock(r->lock, LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK) return pl_fail(err, errno, "lock %s", r->dir);
    if (r->o->waiting) r->o->waiting(r->o->ctx, r->dir);
    while (flock(r->lock, LOCK_EX) < 0)
      if (errno != EINTR) return pl_fail(err, errno, "lock %s", r->dir);
  }
  return publisher_begin(r, err);
}

static time_t expiry(const struct reg *r, bool root) {
  unsigned d = r->o->expires_days ? r->o->expires_days : PL_REGISTRY_EXPIRES_DAYS;
  if (root && d < PL_REGISTRY_ROOT_EXPIRES_DAYS) d = PL_REGISTRY_ROOT_EXPIRES_DAYS;
  return r->now + (time_t)d * 86400;
}

/* ---- the directories: the caller's alone, opened once ---- */

/* Everything pylock signs is read from these directories and written into
 * them, so they must be the caller's alone (git's safe.directory rule, plus
 * the write bits): whoever else owns or may write one can plant links and
 * files among what gets signed, or point targets/ at the maintainer's own
 * files.  The check is on the open handle, the one every later read and
 * write goes through, so renaming paths afterwards changes nothing. */
static int check_own_dir(int fd, const char *what, pl_error_t *err) {
  struct stat st;
  if (fstat(fd, &st) < 0) return pl_fail(err, errno, "stat %s", what);
  unsigned mode = (unsigned)st.st_mode & 07777;
  if (st.st_uid != geteuid()) {
    char owner[300], me[300];
    pl_owner_name(st.st_uid, owner, sizeof owner);
    pl_owner_name(geteuid(), me, sizeof me);
    return pl_fail(err, 0,
                   "registry directory %s is owned by %s with mode %04o, not by you (%s): "
                   "use a directory of your own for the registry",
                   what, owner, mode, me);
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return pl_fail(err, 0,
                   "registry directory %s (yours, mode %04o) is writable by %s, who could plant "
                   "files among what you sign: run chmod go-w %s",
                   what, mode, st.st_mode & S_IWOTH ? "others" : "its group", what);
  return 0;
}

/* Open directory name beneath parent (creating it 0755 when create is set
 * and it is missing), never through a symbolic link, and check it is the
 * caller's alone.  `what` names it in errors. */
static int open_own_dir_at(int parent, const char *name, const char *what, bool create, bool top,
                           pl_error_t *err) {
  bool created = false;
  if (create) {
    if (mkdirat(parent, name, 0755) == 0)
      created = true;
    else if (errno != EEXIST)
      return pl_fail(err, errno, "mkdir %s", what);
  }
  cleanup_close int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
      return pl_fail(err, 0, "%s is a symbolic link: a registry is never written through one; %s",
                     what, top ? "name the directory it points to" : "remove it");
    pl_fail(err, e, "open %s", what);
    if (e == ENOENT && top && !create)
      pl_error_set_hint(err, "create it first: pylock registry init %s --key FILE", what);
    return -1;
  }
  /* What we made is exactly 0755, whatever the umask. */
  if (created && fchmod(fd, 0755) < 0) return pl_fail(err, errno, "chmod %s", what);
  if (check_own_dir(fd, what, err) < 0) return -1;
  return steal_fd(&fd);
}

/* Open the registry directory dir: its parent as the user names it (links
 * in the path are theirs), its last component without following a link. */
static int open_registry_dir(const char *dir, bool create, pl_error_t *err) {
  size_t n = strlen(dir);
  if (n == 0 || n >= PATH_MAX) return pl_fail(err, ENAMETOOLONG, "registry directory \"%s\"", dir);
  char path[PATH_MAX];
  memcpy(path, dir, n + 1);
  while (n > 1 && path[n - 1] == '/') /* "reg/" would follow a link named reg */
    path[--n] = '\0';
  char *slash = strrchr(path, '/');
  const char *parent = ".", *name = path;
  if (slash == path && path[1] == '\0') {
    parent = "/";
    name = ".";
  } else if (slash) {
    *slash = '\0';
    parent = slash == path ? "/" : path;
    name = slash + 1;
  }
  cleanup_close int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0 && errno == ENOENT && create) {
    if (pl_mkdir_p(parent, 0755, err) < 0) return -1;
    pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  if (pfd < 0) return pl_fail(err, errno, "open %s", parent);
  return open_own_dir_at(pfd, name, dir, create, true, err);
}

/* ---- keys: never inside what gets published ---- */

/* path made absolute (from the working directory) with ".", ".." and
 * repeated slashes resolved textually: the directories the user named. */
static int lexical_abs(const char *path, char out[PATH_MAX], pl_error_t *err) {
  char buf[2 * PATH_MAX], cwd[PATH_MAX];
  if (path[0] != '/' && getcwd(cwd, sizeof cwd) == NULL)
    return pl_fail(err, errno, "working directory");
  int w = path[0] == '/' ? snprintf(buf, sizeof buf, "%s", path)
                         : snprintf(buf, sizeof buf, "%s/%s", cwd, path);
  if (w < 0 || (size_t)w >= sizeof buf) return pl_fail(err, ENAMETOOLONG, "%s", path);
  size_t n = 0;
  out[0] = '\0';
  char *save = NULL;
  for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (strcmp(c, ".") == 0) continue;
    if (strcmp(c, "..") == 0) {
      char *s = strrchr(out, '/');
      n = s ? (size_t)(s - out) : 0;
      out[n] = '\0';
      continue;
    }
    w = snprintf(out + n, PATH_MAX - n, "/%s", c);
    if (w < 0 || (size_t)w >= PATH_MAX - n) return pl_fail(err, ENAMETOOLONG, "%s", path);
    n += (size_t)w;
  }
  if (n == 0) snprintf(out, PATH_MAX, "/");
  return 0;
}

/* path with its directory resolved (realpath), and its last component too
 * when the whole path resolves: where the file is, or would be.  Returns 1
 * when its directory does not exist. */
static int resolved_abs(const char *path, char out[PATH_MAX], pl_error_t *err) {
  if (realpath(path, out)) return 0;
  const char *slash = strrchr(path, '/');
  char dir[PATH_MAX], rdir[PATH_MAX];
  int w = slash == NULL   ? snprintf(dir, sizeof dir, ".")
          : slash == path ? snprintf(dir, sizeof dir, "/")
                          : snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  if (w < 0 || (size_t)w >= sizeof dir) return pl_fail(err, ENAMETOOLONG, "%s", path);
  if (realpath(dir, rdir) == NULL) return 1;
  w = snprintf(out, PATH_MAX, "%s/%s", strcmp(rdir, "/") ? rdir : "", slash ? slash + 1 : path);
  if (w < 0 || w >= PATH_MAX) return pl_fail(err, ENAMETOOLONG, "%s", path);
  return 0;
}

/* What a walk up from a key looks for, and where it found it. */
struct key_walk {
  const struct stat *reg; /* this registry's directory, or NULL */
  bool reg_only;          /* look for reg alone, not for any registry */
  char found[PATH_MAX];
  bool is_reg;
};

/* True if dir holds a registry: a root.json that is TUF root metadata. */
static bool holds_registry(const char *dir) {
  cleanup_close int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstatat(fd, "root.json", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
    return false;
  cleanup_free char *raw = NULL;
  size_t len;
  pl_error_t e = NULL;
  cleanup_json json_t *doc = NULL;
  if (pl_read_file_at(fd, "root.json", PL_TUF_ROOT_MAX, &raw, &len, &e) < 0 ||
      pl_json_parse(raw, len, "root.json", &doc, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  const char *type = json_string_value(json_object_get(json_object_get(doc, "signed"), "_type"));
  return type && strcmp(type, "root") == 0;
}

/* Walk up from abs (modified), nearest directory first, to /. */
static bool walk_up(char *abs, struct key_walk *w) {
  for (;;) {
    char *slash = strrchr(abs, '/');
    if (slash == NULL || (slash == abs && abs[1] == '\0')) return false;
    if (slash == abs)
      abs[1] = '\0';
    else
      *slash = '\0';
    struct stat st;
    if (w->reg && stat(abs, &st) == 0 && st.st_dev == w->reg->st_dev && st.st_ino == w->reg->st_ino)
      w->is_reg = true;
    if (w->is_reg || (!w->reg_only && holds_registry(abs))) {
      snprintf(w->found, sizeof w->found, "%s", abs);
      return true;
    }
  }
}

/* A private key in a directory that gets published is published with it.
 * The key's directories are compared by device and inode, not by name,
 * both along the path as given and along the path it resolves to. */
static int check_key_outside(const char *keyfile, const struct stat *reg, const char *regdir,
                             pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0) return -1;
  struct key_walk w = {.reg = reg};
  char given[PATH_MAX], real[PATH_MAX];
  if (lexical_abs(keyfile, given, err) < 0) return -1;
  int r = resolved_abs(keyfile, real, err);
  if (r < 0) return -1;
  if (!walk_up(given, &w) && !(r == 0 && walk_up(real, &w))) return 0;
  return pl_fail_hint(
      err, 0,
      "keep signing keys outside every registry, e.g. in ~/.config/pylock/keys (the default)",
      "refusing the private key %s: it is inside %s, %s, and publishing the directory would "
      "publish the key",
      keyfile, w.is_reg ? regdir : w.found,
      w.is_reg ? "the registry directory" : "which holds a registry (root.json)");
}

int pl_registry_check_key_path(const char *keyfile, pl_error_t *err) {
  return check_key_outside(keyfile, NULL, NULL, err);
}

/* The root given to anchor to (--root, --trusted) must lie outside the
 * registry: whoever can write the directory wrote that file too, and a root
 * of theirs would then vouch for itself.  (A copy in a directory of its
 * own named root.json, as trust stores keep it, is no registry here.) */
static int check_anchor_outside(struct reg *r, const struct stat *reg, pl_error_t *err) {
  const char *file = r->o->anchor_root_name;
  if (r->o->anchor_root == NULL || file == NULL) return 0;
  struct key_walk w = {.reg = reg, .reg_only = true};
  char given[PATH_MAX], real[PATH_MAX];
  if (lexical_abs(file, given, err) < 0) return -1;
  int rc = resolved_abs(file, real, err);
  if (rc < 0) return -1;
  if (!walk_up(given, &w) && !(rc == 0 && walk_up(real, &w))) return 0;
  pl_fail(err, PL_REFUSED,
          "registry %s: refusing the root %s: it is inside the registry directory, which others "
          "may write, so it vouches for nothing; nothing was signed",
          r->dir, file);
  return pl_error_set_hint(err,
                           "give the copy of your root you keep outside %s (the newest root you "
                           "signed), or a trusted root: --trusted NAME (see pylock trust list)",
                           r->dir);
}

/* Every key file given must lie outside the registry (and any other), and
 * so must the root given to anchor to. */
static int check_keys(struct reg *r, pl_error_t *err) {
  struct stat st;
  if (fstat(r->fd, &st) < 0) return pl_fail(err, errno, "stat %s", r->dir);
  for (size_t i = 0; i < r->o->nkey_files; i++)
    if (strcmp(r->o->key_files[i], "-") != 0 && /* standard input: in no directory */
        check_key_outside(r->o->key_files[i], &st, r->dir, err) < 0)
      return -1;
  return check_anchor_outside(r, &st, err);
}

/* ---- reading the registry's own files ---- */

/* dirfd/name must be a regular file, or absent (*exists false): a planted
 * link at a name the registry reads or writes is refused, never followed nor
 * replaced.  The directory may be written by others (a sandbox, an object
 * store) who could swap the name between the check and the open: the
 * registry's files are read without following a link (pl_read_file_nofollow_at)
 * and written by renaming over the name, which replaces a link, never
 * follows it. */
static int check_regular_at(int dirfd, const char *dirname, const char *name, bool *exists,
                            pl_error_t *err) {
  struct stat st;
  *exists = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!*exists && errno != ENOENT) return pl_fail(err, errno, "stat %s/%s", dirname, name);
  if (*exists && !S_ISREG(st.st_mode))
    return pl_fail(err, 0,
                   "%s/%s is %s, not a file: pylock never reads or writes a registry through "
                   "one; remove it",
                   dirname, name, S_ISLNK(st.st_mode) ? "a symbolic link" : "something else");
  return 0;
}

/* The file a role's version is published under: VERSION.ROLE.json with
 * consistent snapshots (but root.json and timestamp.json), else ROLE.json. */
static void role_file(const struct reg *r, const char *role, int64_t version, char *out,
                      size_t cap) {
  if (r->consistent && strcmp(role, "root") != 0 && strcmp(role, "timestamp") != 0)
    snprintf(out, cap, "%" PRId64 ".%s.json", version, role);
  else
    snprintf(out, cap, "%s.json", role);
}

/* The version of role.json a snapshot or timestamp body lists (0: none). */
static int64_t listed_version(const json_t *body, const char *role) {
  char name[PL_TUF_ROLE_NAME_MAX + 8];
  snprintf(name, sizeof name, "%s.json", role);
  const json_t *v =
      json_object_get(json_object_get(json_object_get(body, "meta"), name), "version");
  return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The "signed" body of dir/name, which must be TUF metadata of type, and
 * the bytes it was read from (to be vouched for: vouch). */
static int read_body(struct reg *r, const char *name, const char *type, json_t **out, char **rawp,
                     size_t *lenp, pl_error_t *err) {
  cleanup_free char *raw = NULL;
  size_t len;
  json_t *doc = NULL;
  bool exists;
  if (check_regular_at(r->fd, r->dir, name, &exists, err) < 0) return -1;
  if (pl_read_file_nofollow_at(r->fd, name, PL_TUF_TARGETS_MAX, &raw, &len, err) < 0 ||
      pl_json_parse(raw, len, name, &doc, err) < 0)
    return pl_error_wrap(err, "registry %s", r->dir);
  json_t *body = json_object_get(doc, "signed");
  const char *t = json_string_value(json_object_get(body, "_type"));
  if (t == NULL || strcmp(t, type) != 0) {
    pl_json_decref(doc);
    return pl_fail(err, 0, "registry %s: %s is not TUF %s metadata", r->dir, name, type);
  }
  *out = json_incref(body);
  pl_json_decref(doc);
  *rawp = steal_pointer(&raw);
  *lenp = len;
  return 0;
}

/* ---- what is signed again must be what was signed ---- */

/* Every routine change (add, index, withdraw) signs again documents it
 * reads from the directory: targets or its bins, snapshot, timestamp.  The
 * directory may be written by others than the maintainer (code in a
 * sandbox of a project that holds it, the object store it is synced from),
 * and a target written into a document there would be signed for every
 * client by the maintainer's next change.  So each document is checked
 * first as a client checks it, and one that changed since it was signed is
 * refused before anything is written.  Root, which holds every other key,
 * is anchored to the root pylock last signed for this directory (in the
 * user's state root, which no sandbox can write), not to itself. */

static const json_t *root_role(const json_t *root, const char *role);
static const struct pl_key *given_key(const struct pl_registry_opts *o, size_t i);
static bool role_has_key(const json_t *role, const char *keyid);

/* Open the record of what pylock last signed of this registry (r->rec),
 * made when create; none yet is not an error.  It is looked up by the
 * path the maintainer names (made absolute, not resolved) first: whoever
 * can write a directory above the registry can make that path resolve
 * elsewhere (a link put in place of a directory), to a copy with no
 * record of its own, and so shed the anchor of root and the floor of
 * timestamp.  Only when that path has no record is the one of the real
 * path used (the same registry named through another path). */
static int open_record(struct reg *r, bool create, pl_error_t *err) {
  char keys[2][PATH_MAX];
  if (lexical_abs(r->dir, keys[0], err) < 0) return pl_error_wrap(err, "registry %s", r->dir);
  if (realpath(r->dir, keys[1]) == NULL) return pl_fail(err, errno, "registry %s", r->dir);
  struct pl_state st;
  if (pl_state_open(&st, err) < 0)
    return pl_error_wrap(err, "registry %s: what pylock signed of it is kept in its state", r->dir);
  int nkeys = strcmp(keys[0], keys[1]) == 0 ? 1 : 2;
  pl_error_t e = NULL;
  const char *key = keys[0];
  for (int i = 0; i < nkeys && r->rec < 0; i++) {
    pl_error_free(&e);
    key = keys[i];
    r->rec = pl_state_published_dir(&st, key, false, &e);
    if (r->rec < 0 && !pl_error_is(e, ENOENT)) break;
  }
  if (r->rec < 0 && create && pl_error_is(e, ENOENT)) {
    pl_error_free(&e);
    key = keys[0];
    r->rec = pl_state_published_dir(&st, key, true, &e);
  }
  char hash[PL_SHA256_HEX];
  free(r->rec_path);
  r->rec_path = NULL;
  if (pl_sha256_hex(key, strlen(key), hash, NULL) == 0 &&
      asprintf(&r->rec_path, "%s/%s/%.32s", st.path, PL_STATE_PUBLISHED, hash) < 0)
    r->rec_path = NULL;
  pl_state_close(&st);
  if (r->rec >= 0) {
    pl_error_free(&e);
    return 0;
  }
  if (!create && pl_error_is(e, ENOENT)) {
    pl_error_free(&e);
    return 0;
  }
  *err = e;
  return -1;
}

/* The signed body of the record of role (NULL: none). */
static int record_body(struct reg *r, const char *role, json_t **out, pl_error_t *err) {
  *out = NULL;
  if (r->rec < 0) return 0;
  char name[PL_TUF_ROLE_NAME_MAX + 8];
  snprintf(name, sizeof name, "%s.json", role);
  bool exists;
  if (check_regular_at(r->rec, "pylock's record", name, &exists, err) < 0) return -1;
  if (!exists) return 0;
  cleanup_free char *raw = NULL;
  size_t len;
  cleanup_json json_t *doc = NULL;
  if (pl_read_file_at(r->rec, name, PL_TUF_TARGETS_MAX, &raw, &len, err) < 0 ||
      pl_json_parse(raw, len, name, &doc, err) < 0)
    return pl_error_wrap(err, "registry %s: what pylock last signed of it", r->dir);
  json_t *body = json_object_get(doc, "signed");
  if (!json_is_object(body))
    return pl_fail(err, 0, "registry %s: pylock's record of %s is damaged", r->dir, name);
  *out = json_incref(body);
  return 0;
}

/* Keep file (as just published) as what pylock last signed of its role.
 * A record lost costs only a later sign of hand edits its comparison: said
 * with -v, not fatal (the publication is done). */
static void record_file(struct reg *r, const char *file, const char *data, size_t len) {
  pl_error_t e = NULL;
  const char *role = file, *p = file;
  while (*p >= '0' && *p <= '9')
    p++;
  if (p != file && *p == '.') role = p + 1; /* VERSION.ROLE.json */
  if ((r->rec < 0 && open_record(r, true, &e) < 0) ||
      pl_write_file_atomic_at(r->rec, role, data, len, 0600, &e) < 0) {
    cleanup_free char *msg = pl_error_string(e);
    pl_log(PL_LOG_VERBOSE, "registry %s: keep a copy of %s: %s", r->dir, file, msg);
    pl_error_free(&e);
  }
}

/* init: a registry made again at a path pylock published before starts
 * with no record of the old one (its bins, its timestamp's version). */
static void record_clear(struct reg *r) {
  pl_error_t e = NULL;
  if (r->rec < 0 && open_record(r, false, &e) < 0) pl_error_free(&e);
  int fd = r->rec >= 0 ? openat(r->rec, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    if (fd >= 0) close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (de->d_type == DT_REG) unlinkat(r->rec, de->d_name, 0);
  closedir(d);
}

/* Refuse file, which changed since it was signed (why says how). */
static int changed_since_signed(struct reg *r, const char *file, pl_error_t *why, pl_error_t *err) {
  cleanup_free char *msg = pl_error_string(*why);
  pl_error_free(why);
  pl_fail(err, PL_REFUSED, "registry %s: %s changed since it was signed (%s); nothing was signed",
          r->dir, file, msg);
  /* Root is never signed again as found: sign's edits are targets'. */
  if (strcmp(file, "root.json") == 0)
    return pl_error_set_hint(
        err,
        "restore root.json and the N.root.json files from your own copy of the newest root you "
        "signed (where pylock has no record of %s, give that copy with --root FILE); root's "
        "keys change only with 'pylock registry sign %s --add-root-key FILE' or "
        "'--remove-root-key KEYID'",
        r->dir, r->dir);
  return pl_error_set_hint(
      err,
      "review it; if the change is not yours, restore it from your own copy.  Sign your own "
      "edits with 'pylock registry sign %s' (it lists them), withdraw wheels with 'pylock "
      "registry withdraw %s WHEEL...'",
      r->dir, r->dir);
}

static bool same_json(const json_t *a, const json_t *b) {
  cleanup_free char *x = NULL, *y = NULL;
  size_t xl = 0, yl = 0;
  pl_error_t e = NULL;
  bool same = a && b && pl_json_canonical(a, &x, &xl, &e) == 0 &&
              pl_json_canonical(b, &y, &yl, &e) == 0 && xl == yl && memcmp(x, y, xl) == 0;
  pl_error_free(&e);
  return same;
}

static void said(struct reg *r, const char *file, enum pl_registry_edit kind, const char *target) {
  if (kind == PL_REGISTRY_EDIT_ADDED || kind == PL_REGISTRY_EDIT_CHANGED) r->additions++;
  if (r->o->edit) r->o->edit(r->o->ctx, file, kind, target);
}

/* sign: targets role `role` (file, body as it stands) changed since it was
 * signed.  Compared with the copy pylock last signed: each target removed,
 * added or changed is said, and anything else changed (its delegations).
 * Without a copy every target counts as added: what was signed is unknown,
 * and a target someone else planted must never pass unseen. */
static int compare_with_record(struct reg *r, const char *file, const char *role,
                               const json_t *body, pl_error_t *err) {
  cleanup_json json_t *old = NULL;
  if (record_body(r, role, &old, err) < 0) return -1;
  if (old == NULL) r->no_record = true;
  json_t *now_t = json_object_get(body, "targets"), *old_t = json_object_get(old, "targets");
  for (void *it = json_object_iter(now_t); it; it = json_object_iter_next(now_t, it)) {
    const char *name = json_object_iter_key(it);
    const json_t *was = json_object_get(old_t, name);
    if (was == NULL)
      said(r, file, PL_REGISTRY_EDIT_ADDED, name);
    else if (!same_json(was, json_object_iter_value(it)))
      said(r, file, PL_REGISTRY_EDIT_CHANGED, name);
  }
  for (void *it = json_object_iter(old_t); it; it = json_object_iter_next(old_t, it))
    if (json_object_get(now_t, json_object_iter_key(it)) == NULL)
      said(r, file, PL_REGISTRY_EDIT_REMOVED, json_object_iter_key(it));
  if (old == NULL) { /* its delegations may have changed too: unknown, so counted */
    said(r, file, PL_REGISTRY_EDIT_CHANGED, NULL);
    return 0;
  }
  cleanup_json json_t *a = json_deep_copy(body);
  cleanup_json json_t *b = json_deep_copy(old);
  if (a == NULL || b == NULL) return pl_fail(err, ENOMEM, "registry %s", r->dir);
  static const char *const own[] = {"targets", "version", "expires"};
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
    json_object_del(a, own[i]);
    json_object_del(b, own[i]);
  }
  if (!same_json(a, b)) said(r, file, PL_REGISTRY_EDIT_CHANGED, NULL);
  return 0;
}

/* Is raw, byte for byte, the copy of role pylock last signed (its record)?
 * Then it has not changed since it was signed, whatever lists it: no parse
 * and no signature check, which cost seconds on a targets.json of 100,000
 * targets. */
static bool as_recorded(struct reg *r, const char *role, const char *raw, size_t len) {
  if (r->rec < 0) return false;
  char name[PL_TUF_ROLE_NAME_MAX + 8];
  snprintf(name, sizeof name, "%s.json", role);
  int fd = openat(r->rec, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len;
  char buf[1 << 16];
  for (size_t off = 0; same && off < len;) {
    ssize_t n = read(fd, buf, len - off < sizeof buf ? len - off : sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    same = n > 0 && memcmp(buf, raw + off, (size_t)n) == 0;
    off += n > 0 ? (size_t)n : 0;
  }
  close(fd);
  return same;
}

/* Is raw (file: the document of `role`, of type, read as body) signed by a
 * threshold of the keys role_obj names, and at the version and with the
 * hashes `from` lists for it in meta?  Else refused, but for sign, which
 * compares a targets role edited by hand (compare_with_record). */
static int vouch(struct reg *r, const char *file, const char *role, const char *type,
                 const char *raw, size_t len, const json_t *keys, const json_t *role_obj,
                 const json_t *meta, const char *from, const json_t *body, pl_error_t *err) {
  pl_error_t why = NULL;
  if (as_recorded(r, role, raw, len)) return 0;
  if (from && meta == NULL)
    pl_fail(&why, 0, "%s lists no %s.json", from, role);
  else if (pl_tuf_check_signed(raw, len, file, type, keys, role_obj, meta, from, &why) == 0)
    return 0;
  if (r->sign_edits && strcmp(type, "targets") == 0) {
    pl_error_free(&why);
    if (strcmp(role, "targets") == 0) r->targets_edited = true;
    return compare_with_record(r, file, role, body, err);
  }
  return changed_since_signed(r, file, &why, err);
}

/* Is prev (a root body, owned, taken) the current root r->body[ROOT], of
 * version v, or reached from it by N.root.json files each signed by a
 * threshold of the previous root's keys and of its own, as a client
 * rotates?  `whose` names prev in the refusal. */
static int rotated_from(struct reg *r, json_t *prev, int64_t v, const char *whose,
                        pl_error_t *err) {
  pl_error_t why = NULL;
  cleanup_json json_t *cur = prev;
  int64_t pv = pl_tuf_get_version(cur);
  if (pv > v || v - pv > PL_TUF_MAX_ROOT_ROTATIONS) {
    pl_fail(&why, 0, "version %" PRId64 ", and %s is version %" PRId64, v, whose, pv);
    return changed_since_signed(r, "root.json", &why, err);
  }
  for (int64_t n = pv + 1; n <= v; n++) {
    char name[40];
    snprintf(name, sizeof name, "%" PRId64 ".root.json", n);
    cleanup_free char *nraw = NULL;
    size_t nlen = 0;
    json_t *body = NULL;
    if (read_body(r, name, "root", &body, &nraw, &nlen, &why) < 0 ||
        pl_tuf_check_signed(nraw, nlen, name, "root", json_object_get(cur, "keys"),
                            root_role(cur, "root"), NULL, NULL, &why) < 0 ||
        pl_tuf_check_root(nraw, nlen, name, NULL, NULL, &why) < 0) {
      pl_json_decref(body);
      return changed_since_signed(r, "root.json", &why, err);
    }
    pl_json_decref(cur);
    cur = body;
  }
  if (!same_json(cur, r->body[PL_TUF_ROOT])) {
    pl_fail(&why, 0, "not %s (version %" PRId64 ") nor a rotation from it", whose, pv);
    return changed_since_signed(r, "root.json", &why, err);
  }
  return 0;
}

/* Does root (raw) carry a valid signature by one of the keys given to sign
 * with (--key, --online-key; not --add-root-key, a key root does not hold
 * yet)?  Checked against those keys' own public halves, never against the
 * key table of the root being judged (which could pair a keyid of ours
 * with a key of someone else's). */
static bool signed_by_given_key(struct reg *r, const char *raw, size_t len) {
  size_t n = r->o->nkeys + r->o->nonline_keys;
  cleanup_json json_t *keys = json_object(), *ids = json_array();
  if (keys == NULL || ids == NULL) return false;
  for (size_t i = 0; i < n; i++) {
    const struct pl_key *k = given_key(r->o, i);
    if (json_object_set_new(keys, k->keyid, pl_key_to_json(k)) < 0 ||
        json_array_append_new(ids, json_string(k->keyid)) < 0)
      return false;
  }
  cleanup_json json_t *role = json_object();
  if (role == NULL || json_object_set_new(role, "keyids", json_incref(ids)) < 0 ||
      json_object_set_new(role, "threshold", json_integer(1)) < 0)
    return false;
  pl_error_t e = NULL;
  bool ok =
      n > 0 && pl_tuf_check_signed(raw, len, "root.json", "root", keys, role, NULL, NULL, &e) == 0;
  pl_error_free(&e);
  return ok;
}

/* Is id, in root's key table as key, the same key (keyid and public half)
 * as one given to sign with (with_added: --add-root-key too), or as one
 * the root `also` (may be NULL) gives a role? */
static bool known_key(struct reg *r, const char *id, const json_t *key, bool with_added,
                      const json_t *also) {
  struct pl_key k;
  pl_error_t e = NULL;
  if (pl_key_from_json(key, &k, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  size_t n = r->o->nkeys + r->o->nonline_keys + (with_added ? r->o->nadd_root_keys : 0);
  for (size_t i = 0; i < n; i++) {
    const struct pl_key *g = given_key(r->o, i);
    if (strcmp(g->keyid, id) == 0 && memcmp(g->pub, k.pub, sizeof k.pub) == 0) return true;
  }
  const json_t *roles = json_object_get(also, "roles"), *role;
  const char *name;
  struct pl_key a;
  json_object_foreach((json_t *)roles, name, role) {
    if (!role_has_key(role, id)) continue;
    if (pl_key_from_json(json_object_get(json_object_get(also, "keys"), id), &a, &e) == 0 &&
        memcmp(a.pub, k.pub, sizeof k.pub) == 0)
      return true;
    pl_error_free(&e);
  }
  return false;
}

/* The first keyid root gives a role that is not a known_key (NULL: none). */
static const char *stranger_key(struct reg *r, const json_t *root, bool with_added,
                                const json_t *also) {
  const json_t *roles = json_object_get(root, "roles"), *role, *id;
  const json_t *keys = json_object_get(root, "keys");
  const char *name;
  size_t i;
  json_object_foreach((json_t *)roles, name, role) {
    json_array_foreach(json_object_get(role, "keyids"), i, id) {
      const char *s = json_string_value(id);
      if (s == NULL) return "(not a string)";
      if (!known_key(r, s, json_object_get(keys, s), with_added, also)) return s;
    }
  }
  return NULL;
}

/* Root: signed by a threshold of its own keys, and the root pylock last
 * signed for this registry or reached from it by rotation (and, when one
 * is given with --root or --trusted, from that one too).  With no record
 * (pylock has not signed this registry on this machine at this path: a new
 * machine, a registry first published elsewhere), root as it stands is
 * someone else's word: whoever writes the directory could have put in a
 * root that lists keys of theirs, and the maintainer's next change would
 * sign under it.  So it must then be vouched for otherwise: reached from the
 * root the maintainer names (--root, --trusted), or signed by a key given
 * to sign with and giving no role to any other key.  A signature alone is
 * not enough: an older root of the maintainer's own (from before a key was
 * removed) or the root of another registry signed with the same key bear
 * it too, and would hand that key back its role. */
static int vouch_root(struct reg *r, const char *raw, size_t len, pl_error_t *err) {
  pl_error_t why = NULL;
  int64_t v = 0;
  json_t *prev = NULL;
  if (pl_tuf_check_root(raw, len, "root.json", &v, NULL, &why) < 0)
    return changed_since_signed(r, "root.json", &why, err);
  if (record_body(r, "root", &prev, err) < 0) return -1;
  const struct pl_registry_opts *o = r->o;
  if (prev != NULL) {
    if (pl_tuf_get_version(prev) < v) r->rotated_base = json_incref(prev);
    if (rotated_from(r, prev, v, "the root pylock last signed", err) < 0) return -1;
  }
  if (o->anchor_root != NULL) {
    cleanup_json json_t *doc = NULL;
    if (pl_tuf_check_root(o->anchor_root, o->anchor_root_len, o->anchor_root_name, NULL, NULL,
                          err) < 0 ||
        pl_json_parse(o->anchor_root, o->anchor_root_len, o->anchor_root_name, &doc, err) < 0)
      return -1;
    json_t *given = json_object_get(doc, "signed");
    char whose[PATH_MAX + 16];
    snprintf(whose, sizeof whose, "the root you gave (%s)", o->anchor_root_name);
    if (rotated_from(r, json_incref(given), v, whose, err) < 0) return -1;
    /* Of the record and the root given, the newer is the base. */
    int64_t gv = pl_tuf_get_version(given);
    if (prev == NULL || gv > pl_tuf_get_version(prev)) {
      pl_json_decref(r->rotated_base);
      r->rotated_base = gv < v ? json_incref(given) : NULL;
      r->base_is_anchor = gv < v;
    }
    return 0;
  }
  if (prev != NULL) return 0;
  if (!signed_by_given_key(r, raw, len)) {
    pl_fail(err, PL_REFUSED,
            "registry %s: pylock has no record of signing it here, and root.json is not signed "
            "by any key you gave; nothing was signed",
            r->dir);
    return pl_error_set_hint(
        err,
        "whoever can write %s could have put in a root that lists keys of theirs.  Name the "
        "root you keep: --root YOUR-ROOT.json (or --trusted NAME, see pylock trust list); "
        "pylock then checks root.json is it or a rotation from it, and keeps a record from "
        "then on",
        r->dir);
  }
  const char *other = stranger_key(r, r->body[PL_TUF_ROOT], false, NULL);
  if (other == NULL) return 0;
  pl_fail(err, PL_REFUSED,
          "registry %s: pylock has no record of signing it here, and root.json, though signed by "
          "a key you gave, gives a role to key %.16s..., which you did not give: an older root "
          "of yours (from before that key was removed) or the root of another registry signed "
          "with the same key reads the same; nothing was signed",
          r->dir, other);
  return pl_error_set_hint(
      err,
      "name the newest root you signed for %s: --root YOUR-ROOT.json (or --trusted NAME, see "
      "pylock trust list), or give every key root lists with --key/--online-key",
      r->dir);
}

/* Timestamp, snapshot or targets (index i, read from file as raw): signed
 * by a threshold of the keys root gives its role, and listed by the one
 * before it; timestamp no older than the one pylock last signed (a whole
 * older registry put back). */
static int vouch_top(struct reg *r, int i, const char *file, const char *raw, size_t len,
                     pl_error_t *err) {
  const char *role = pl_tuf_role_names[i];
  if (i == PL_TUF_ROOT) return vouch_root(r, raw, len, err);
  const json_t *root = r->body[PL_TUF_ROOT];
  const char *from = i == PL_TUF_SNAPSHOT  ? "timestamp.json"
                     : i == PL_TUF_TARGETS ? "snapshot.json"
                                           : NULL;
  const json_t *listing = i == PL_TUF_SNAPSHOT  ? r->body[PL_TUF_TIMESTAMP]
                          : i == PL_TUF_TARGETS ? r->body[PL_TUF_SNAPSHOT]
                                                : NULL;
  char listed[32];
  snprintf(listed, sizeof listed, "%s.json", role);
  const json_t *meta = json_object_get(json_object_get(listing, "meta"), listed);
  if (vouch(r, file, role, role, raw, len, json_object_get(root, "keys"), root_role(root, role),
            meta, from, r->body[i], err) < 0)
    return -1;
  cleanup_json json_t *old = NULL;
  if (i != PL_TUF_TIMESTAMP) return 0;
  if (record_body(r, "timestamp", &old, err) < 0) return -1;
  if (old == NULL || pl_tuf_get_version(old) <= pl_tuf_get_version(r->body[i])) return 0;
  pl_error_t why = NULL;
  pl_fail(&why, 0, "version %" PRId64 ", older than version %" PRId64 " pylock signed last",
          pl_tuf_get_version(r->body[i]), pl_tuf_get_version(old));
  changed_since_signed(r, file, &why, err);
  /* A whole older registry put back: by someone else (who may bring back
   * what was withdrawn), or by the maintainer restoring a backup. */
  return pl_error_set_hint(err,
                           "if you put an older copy of the registry back yourself, remove "
                           "pylock's record of what it signed last (rm -r %s) and run the "
                           "command again; otherwise restore the registry you published last",
                           r->rec_path ? r->rec_path : "STATE/published/HASH");
}

/* Hashed bins the top-level targets delegate to, as pylock writes them
 * (TAP 15 succinct_roles); any other delegation is not pylock's to edit. */
static int find_bins(struct reg *r, pl_error_t *err) {
  const json_t *d = json_object_get(r->body[PL_TUF_TARGETS], "delegations");
  if (d == NULL) return 0;
  const json_t *sr = json_object_get(d, "succinct_roles");
  const json_t *bits = json_object_get(sr, "bit_length");
  r->bin_prefix = json_string_value(json_object_get(sr, "name_prefix"));
  if (sr == NULL || json_object_get(d, "roles") || !json_is_integer(bits) ||
      json_integer_value(bits) < 1 || json_integer_value(bits) > 16 || r->bin_prefix == NULL)
    return pl_fail(err, 0,
                   "registry %s: targets delegate otherwise than to succinct hash bins "
                   "(2 to %d of them), which pylock does not edit",
                   r->dir, PL_REGISTRY_BINS_MAX);
  /* The prefix becomes file names written into DIR: a plain name only. */
  size_t plen = strlen(r->bin_prefix);
  bool plain = plen > 0 && plen <= PL_TUF_ROLE_NAME_MAX - 8 && r->bin_prefix[0] != '.';
  for (size_t i = 0; plain && i < plen; i++)
    plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
                   r->bin_prefix[i]) != NULL;
  if (!plain)
    return pl_fail(err, 0, "registry %s: the bins' name_prefix \"%s\" is not a plain name", r->dir,
                   r->bin_prefix);
  r->bin_bits = (unsigned)json_integer_value(bits);
  r->bin_role = sr;
  size_t n = (size_t)1 << r->bin_bits;
  r->bins = calloc(n, sizeof *r->bins);
  r->bin_dirty = calloc(n, sizeof *r->bin_dirty);
  if (r->bins == NULL || r->bin_dirty == NULL) return pl_fail(err, ENOMEM, "registry %s", r->dir);
  return 0;
}

static void bin_name(const struct reg *r, uint32_t bin, char *out, size_t cap) {
  pl_tuf_succinct_name(r->bin_prefix, r->bin_bits, bin, out, cap);
}

/* Bin `bin`'s body, read at the version snapshot lists when first needed. */
static int load_bin(struct reg *r, uint32_t bin, json_t **out, pl_error_t *err) {
  if (r->bins[bin] == NULL) {
    char name[PL_TUF_ROLE_NAME_MAX + 1], file[PL_TUF_ROLE_NAME_MAX + 32];
    bin_name(r, bin, name, sizeof name);
    int64_t v = listed_version(r->body[PL_TUF_SNAPSHOT], name);
    if (v < 1) return pl_fail(err, 0, "registry %s: snapshot lists no %s.json", r->dir, name);
    role_file(r, name, v, file, sizeof file);
    cleanup_free char *raw = NULL;
    size_t len = 0;
    char listed[sizeof name + 8];
    snprintf(listed, sizeof listed, "%s.json", name);
    const json_t *d = json_object_get(r->body[PL_TUF_TARGETS], "delegations");
    const json_t *role = r->bin_role;
    if (r->targets_edited) {
      /* sign, targets.json edited by hand: its delegation may name keys
       * someone else holds, so the bins are checked against the one pylock
       * signed (none: every bin is compared, its targets all counted). */
      if (r->signed_targets == NULL && record_body(r, "targets", &r->signed_targets, err) < 0)
        return -1;
      d = json_object_get(r->signed_targets, "delegations");
      role = json_object_get(d, "succinct_roles");
    }
    if (read_body(r, file, "targets", &r->bins[bin], &raw, &len, err) < 0 ||
        vouch(r, file, name, "targets", raw, len, json_object_get(d, "keys"), role,
              json_object_get(json_object_get(r->body[PL_TUF_SNAPSHOT], "meta"), listed),
              "snapshot.json", r->bins[bin], err) < 0)
      return -1;
  }
  *out = r->bins[bin];
  return 0;
}

/* The targets role body that lists (or is to list) target name: the
 * top-level one, or that of name's bin, marked as changed when `change`. */
static int targets_for(struct reg *r, const char *name, bool change, json_t **out,
                       pl_error_t *err) {
  json_t *body = r->body[PL_TUF_TARGETS];
  if (r->bin_bits) {
    uint32_t bin = pl_tuf_succinct_bin(name, r->bin_bits, err);
    if (bin == UINT32_MAX || load_bin(r, bin, &body, err) < 0) return -1;
    if (change) r->bin_dirty[bin] = true;
  }
  if (!json_is_object(json_object_get(body, "targets")))
    return pl_fail(err, 0, "registry %s: a targets role lists no targets", r->dir);
  *out = body;
  return 0;
}

/* The sha256 published for target name, or NULL when it is not published. */
static int published_sha(struct reg *r, const char *name, const char **sha, bool *exists,
                         pl_error_t *err) {
  json_t *body;
  if (targets_for(r, name, false, &body, err) < 0) return -1;
  json_t *e = json_object_get(json_object_get(body, "targets"), name);
  *exists = e != NULL;
  *sha = json_string_value(json_object_get(json_object_get(e, "hashes"), "sha256"));
  return 0;
}

/* The file target name with sha256 is published as in targets/. */
static void target_file(const struct reg *r, const char *name, const char *sha256, char *out,
                        size_t cap) {
  if (r->consistent)
    snprintf(out, cap, "%s.%s", sha256, name);
  else
    snprintf(out, cap, "%s", name);
}

/* The registry's own files: the maintainer's directory, read back to be
 * extended; the keys that sign the result are what clients check. */
static int reg_open(struct reg *r, const char *dir, const struct pl_registry_opts *o,
                    bool sign_edits, pl_error_t *err) {
  memset(r, 0, sizeof *r);
  r->sign_edits = sign_edits;
  r->dir = dir;
  r->o = o;
  r->targets = -1;
  r->simple = -1;
  r->lock = -1;
  r->rec = -1;
  r->now = o->now ? o->now : time(NULL);
  r->fd = open_registry_dir(dir, false, err);
  if (r->fd < 0 || check_keys(r, err) < 0 || take_publish_lock(r, err) < 0 ||
      open_record(r, false, err) < 0)
    return -1;
  /* targets/ is checked whenever it exists: what it holds is published too. */
  char tdir[PATH_MAX];
  snprintf(tdir, sizeof tdir, "%s/targets", dir);
  bool absent =
      fstatat(r->fd, "targets", &(struct stat){0}, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
  if (!absent && (r->targets = open_own_dir_at(r->fd, "targets", tdir, false, false, err)) < 0)
    return -1;
  bool exists;
  if (check_regular_at(r->fd, dir, "root.json", &exists, err) < 0) return -1;
  if (!exists) {
    pl_fail(err, ENOENT, "registry %s: no root.json", dir);
    return pl_error_set_hint(err, "create it first: pylock registry init %s --key FILE", dir);
  }
  /* root and timestamp, then each role at the version the one before lists. */
  for (int i = 0; i < PL_TUF_NROLES; i++) {
    const char *role = pl_tuf_role_names[i];
    int64_t v = i == PL_TUF_SNAPSHOT  ? listed_version(r->body[PL_TUF_TIMESTAMP], role)
                : i == PL_TUF_TARGETS ? listed_version(r->body[PL_TUF_SNAPSHOT], role)
                                      : 0;
    char name[64];
    role_file(r, role, v, name, sizeof name);
    if (read_body(r, name, role, &r->body[i], &r->raw[i], &r->rawlen[i], err) < 0) return -1;
    if (i == PL_TUF_ROOT)
      r->consistent = json_is_true(json_object_get(r->body[i], "consistent_snapshot"));
    if (vouch_top(r, i, name, r->raw[i], r->rawlen[i], err) < 0) return -1;
  }
  if (find_bins(r, err) < 0) return -1;
  const char *sha;
  return published_sha(r, PL_PROJINDEX_MARKER, &sha, &r->project_index, err);
}

/* ---- a change: staged in full, then published ---- */

/* One file of a change, written in full under a temporary name beside its
 * final name, renamed over it only once the whole change is staged. */
struct staged_file {
  int dirfd;       /* r->fd or r->targets (borrowed) */
  const char *dir; /* its name, for errors */
  char *name;
  char *tmp;   /* NULL once renamed */
  bool is_new; /* nothing was at name: undoing the rename is unlinking it */
};

struct change {
  struct staged_file *f;
  size_t n, cap;
};

/* Take over tmp (a complete, synced temporary file in dirfd) as name. */
static int change_push(struct change *c, int dirfd, const char *dir, const char *name, char *tmp,
                       pl_error_t *err) {
  bool exists;
  if (check_regular_at(dirfd, dir, name, &exists, err) < 0) {
    unlinkat(dirfd, tmp, 0);
    free(tmp);
    return -1;
  }
  if (c->n == c->cap) {
    size_t ncap = c->cap ? 2 * c->cap : 16;
    struct staged_file *nf = realloc(c->f, ncap * sizeof *nf);
    if (nf == NULL) {
      unlinkat(dirfd, tmp, 0);
      free(tmp);
      return pl_fail(err, ENOMEM, "registry %s", dir);
    }
    c->f = nf;
    c->cap = ncap;
  }
  char *copy = strdup(name);
  if (copy == NULL) {
    unlinkat(dirfd, tmp, 0);
    free(tmp);
    return pl_fail(err, ENOMEM, "registry %s", dir);
  }
  c->f[c->n++] =
      (struct staged_file){.dirfd = dirfd, .dir = dir, .name = copy, .tmp = tmp, .is_new = !exists};
  return 0;
}

/* Write data under a temporary name beside dirfd/name and queue it (made
 * durable, with everything else staged, before the first rename). */
static int change_stage(struct change *c, int dirfd, const char *dir, const char *name,
                        const void *data, size_t len, pl_error_t *err) {
  bool exists;
  if (check_regular_at(dirfd, dir, name, &exists, err) < 0) return -1;
  char *tmp = NULL;
  cleanup_close int fd = temp_open(dirfd, dir, 0644, &tmp, err);
  if (fd < 0) return -1;
  if (pl_write_all(fd, data, len) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    free(tmp);
    return pl_fail(err, e, "registry %s: write %s", dir, name);
  }
  return change_push(c, dirfd, dir, name, tmp, err);
}

/* Rename every staged file over its name, in order.  Only an I/O error can
 * fail a rename within one directory; then the files that were new are
 * removed again, so that at worst a replaced file stays replaced. */
static int change_publish(struct change *c, pl_error_t *err) {
  pl_pause("registry-publish");
  /* Every staged file on disk before any rename makes one visible: one
   * syncfs per directory rather than an fsync per file (an init with
   * 16,384 bins writes as many files). */
  for (size_t i = 0; i < c->n; i++)
    if ((i == 0 || c->f[i].dirfd != c->f[i - 1].dirfd) && syncfs(c->f[i].dirfd) < 0)
      return pl_fail(err, errno, "registry %s: sync", c->f[i].dir);
  for (size_t i = 0; i < c->n; i++) {
    struct staged_file *f = &c->f[i];
    if (renameat(f->dirfd, f->tmp, f->dirfd, f->name) < 0) {
      pl_fail(err, errno, "registry %s: publish %s", f->dir, f->name);
      for (size_t j = 0; j < i; j++)
        if (c->f[j].is_new) unlinkat(c->f[j].dirfd, c->f[j].name, 0);
      return -1;
    }
    free(steal_pointer(&f->tmp));
  }
  for (size_t i = 0; i < c->n; i++) /* durable: each directory once is enough, twice is harmless */
    if (i == 0 || c->f[i].dirfd != c->f[i - 1].dirfd) fsync(c->f[i].dirfd);
  return 0;
}

/* Remove whatever is still staged. */
static void change_free(struct change *c) {
  for (size_t i = 0; i < c->n; i++) {
    if (c->f[i].tmp) unlinkat(c->f[i].dirfd, c->f[i].tmp, 0);
    free(c->f[i].tmp);
    free(c->f[i].name);
  }
  free(c->f);
  memset(c, 0, sizeof *c);
}

/* Signed files, rendered in memory and written only once every one of them
 * could be signed: a key missing for one role leaves the registry as it was. */
struct pending {
  char name[PL_TUF_ROLE_NAME_MAX + 32];
  char *data;
  size_t len;
};
struct batch {
  struct pending *f;
  int n, cap;
};

static void batch_free(struct batch *b) {
  for (int i = 0; i < b->n; i++)
    free(b->f[i].data);
  free(b->f);
  memset(b, 0, sizeof *b);
}

/* Room for one more signed file. */
static int batch_reserve(struct batch *b, pl_error_t *err) {
  if (b->n < b->cap) return 0;
  int cap = b->cap ? 2 * b->cap : 8;
  struct pending *nf = reallocarray(b->f, (size_t)cap, sizeof *nf);
  if (nf == NULL) return pl_fail(err, ENOMEM, "sign");
  b->f = nf;
  b->cap = cap;
  return 0;
}

static void record_file(struct reg *r, const char *file, const char *data, size_t len);

/* Once a change is published: keep what it signed, and the top-level roles
 * it started from (vouched for), as what pylock last signed. */
static void record_published(struct reg *r, const struct batch *b) {
  for (int i = 0; i < PL_TUF_NROLES; i++) {
    char file[32];
    snprintf(file, sizeof file, "%s.json", pl_tuf_role_names[i]);
    if (i == PL_TUF_ROOT && r->rotated_base) {
      /* Rotations read from DIR are not taken as the anchor: the root they
       * started from stays it (a new root signed below replaces it). */
      if (r->base_is_anchor) record_file(r, file, r->o->anchor_root, r->o->anchor_root_len);
      continue;
    }
    if (r->raw[i] && !(i == PL_TUF_TARGETS && r->targets_edited))
      record_file(r, file, r->raw[i], r->rawlen[i]);
  }
  for (int i = 0; i < b->n; i++)
    record_file(r, b->f[i].name, b->f[i].data, b->f[i].len);
}

/* Stage every signed file into the change, in the order they publish. */
static int stage_batch(struct reg *r, struct change *c, const struct batch *b, pl_error_t *err) {
  for (int i = 0; i < b->n; i++)
    if (change_stage(c, r->fd, r->dir, b->f[i].name, b->f[i].data, b->f[i].len, err) < 0) return -1;
  return 0;
}

static bool role_has_key(const json_t *role, const char *keyid) {
  const json_t *ids = json_object_get(role, "keyids");
  for (size_t i = 0; i < json_array_size(ids); i++)
    if (strcmp(json_string_value(json_array_get(ids, i)) ?: "", keyid) == 0) return true;
  return false;
}

static int64_t role_threshold(const json_t *role) {
  const json_t *t = json_object_get(role, "threshold");
  return json_is_integer(t) ? json_integer_value(t) : 0;
}

static const json_t *root_role(const json_t *root, const char *role) {
  return root ? json_object_get(json_object_get(root, "roles"), role) : NULL;
}

/* The i-th key given to sign with: --key, then --online-key, then
 * --add-root-key. */
static const struct pl_key *given_key(const struct pl_registry_opts *o, size_t i) {
  if (i < o->nkeys) return &o->keys[i];
  i -= o->nkeys;
  if (i < o->nonline_keys) return &o->online_keys[i];
  return &o->add_root_keys[i - o->nonline_keys];
}

/* Sign body for role (its keyids and threshold in role_obj, and in
 * old_obj too for a new root) with every given key listed for it, after
 * checking they reach each threshold; queue it as name. */
static int sign_with(struct reg *r, struct batch *b, const char *name, const json_t *body,
                     const char *role, const json_t *role_obj, const json_t *old_obj,
                     pl_error_t *err) {
  size_t n = r->o->nkeys + r->o->nonline_keys + r->o->nadd_root_keys, k = 0;
  cleanup_free const struct pl_key **keys = calloc(n ? n : 1, sizeof *keys);
  if (keys == NULL) return pl_fail(err, ENOMEM, "sign %s", name);
  int64_t have_new = 0, have_old = 0;
  for (size_t i = 0; i < n; i++) {
    const struct pl_key *key = given_key(r->o, i);
    bool dup = false;
    for (size_t j = 0; j < k; j++)
      dup = dup || strcmp(keys[j]->keyid, key->keyid) == 0;
    bool in_new = role_has_key(role_obj, key->keyid);
    bool in_old = old_obj && role_has_key(old_obj, key->keyid);
    if (dup || !(in_new || in_old)) continue;
    keys[k++] = key;
    have_new += in_new;
    have_old += in_old;
  }
  int64_t need = role_threshold(role_obj);
  if (have_new < need)
    return pl_fail_hint(err, 0, "pass the private key(s) of that role with --key FILE",
                        "cannot sign %s: the %s role needs %" PRId64 " signature(s), and %" PRId64
                        " of the given keys hold it",
                        name, role, need, have_new);
  if (old_obj && have_old < role_threshold(old_obj))
    return pl_fail_hint(err, 0, "a new root must be signed by the current root keys too",
                        "cannot sign %s: the current root role needs %" PRId64
                        " signature(s), and %" PRId64 " of the given keys hold it",
                        name, role_threshold(old_obj), have_old);
  if (batch_reserve(b, err) < 0) return -1;
  struct pending *p = &b->f[b->n];
  snprintf(p->name, sizeof p->name, "%s", name);
  if (pl_tuf_sign(body, keys, k, &p->data, &p->len, err) < 0) return -1;
  b->n++;
  return 0;
}

/* Sign body for a top-level role with the keys root (and old_root, for a
 * new root) lists for it. */
static int sign_body(struct reg *r, struct batch *b, const char *name, const json_t *body,
                     const char *role, const json_t *root, const json_t *old_root,
                     pl_error_t *err) {
  return sign_with(r, b, name, body, role, root_role(root, role), root_role(old_root, role), err);
}

/* Each changed bin one version up, signed by the keys the delegation
 * lists, and listed (version only: snapshot stays small) in snap. */
static int resign_bins(struct reg *r, struct batch *b, json_t *snap, pl_error_t *err) {
  for (uint32_t i = 0; r->bin_bits && i < ((uint32_t)1 << r->bin_bits); i++) {
    if (!r->bin_dirty[i]) continue;
    char name[PL_TUF_ROLE_NAME_MAX + 1], file[PL_TUF_ROLE_NAME_MAX + 32], listed[sizeof name + 8];
    bin_name(r, i, name, sizeof name);
    json_t *body = r->bins[i];
    snprintf(listed, sizeof listed, "%s.json", name);
    /* One up from the version snapshot lists, not from the body's own: a
     * bin edited by hand (sign) may say any version. */
    pl_tuf_set_version(body, listed_version(r->body[PL_TUF_SNAPSHOT], name) + 1);
    pl_tuf_set_expires(body, expiry(r, false));
    role_file(r, name, pl_tuf_get_version(body), file, sizeof file);
    if (sign_with(r, b, file, body, name, r->bin_role, NULL, err) < 0 ||
        pl_tuf_meta_set(snap, listed, pl_tuf_get_version(body), NULL, 0, err) < 0)
      return -1;
  }
  return 0;
}

/* targets (when sign_targets) and the changed bins -> snapshot ->
 * timestamp, each one version up. */
static int resign_tail(struct reg *r, struct batch *b, bool sign_targets, pl_error_t *err) {
  json_t *root = r->body[PL_TUF_ROOT];
  json_t *tg = r->body[PL_TUF_TARGETS];
  char file[64];
  int64_t snapv = pl_tuf_get_version(r->body[PL_TUF_SNAPSHOT]) + 1;
  /* The snapshot lists every role: a new one starts from the last one. */
  cleanup_json json_t *snap = json_deep_copy(r->body[PL_TUF_SNAPSHOT]);
  if (snap == NULL) return pl_fail(err, ENOMEM, "snapshot");
  pl_tuf_set_version(snap, snapv);
  pl_tuf_set_expires(snap, expiry(r, false));
  if (sign_targets) {
    /* One up from what snapshot lists, as for bins (resign_bins). */
    pl_tuf_set_version(tg, listed_version(r->body[PL_TUF_SNAPSHOT], "targets") + 1);
    pl_tuf_set_expires(tg, expiry(r, r->bin_bits != 0));
    role_file(r, "targets", pl_tuf_get_version(tg), file, sizeof file);
    if (sign_body(r, b, file, tg, "targets", root, NULL, err) < 0) return -1;
    /* Length and hashes of targets.json: a client checks them before it
     * parses a byte of it, and reads no more than that length. */
    const struct pending *tp = &b->f[b->n - 1];
    if (pl_tuf_meta_set(snap, "targets.json", pl_tuf_get_version(tg), tp->data, tp->len, err) < 0)
      return -1;
  }
  if (resign_bins(r, b, snap, err) < 0) return -1;
  role_file(r, "snapshot", snapv, file, sizeof file);
  if (sign_body(r, b, file, snap, "snapshot", root, NULL, err) < 0) return -1;

  const struct pending *sp = &b->f[b->n - 1];
  int64_t tsv = pl_tuf_get_version(r->body[PL_TUF_TIMESTAMP]) + 1;
  cleanup_json json_t *ts =
      pl_tuf_new_timestamp(tsv, expiry(r, false), snapv, sp->data, sp->len, err);
  if (ts == NULL) return -1;
  return sign_body(r, b, "timestamp.json", ts, "timestamp", root, NULL, err);
}

/* N.root.json, then root.json with the same bytes. */
static int sign_root(struct reg *r, struct batch *b, const json_t *root, const json_t *old_root,
                     pl_error_t *err) {
  char name[40];
  snprintf(name, sizeof name, "%" PRId64 ".root.json", pl_tuf_get_version(root));
  if (sign_body(r, b, name, root, "root", root, old_root, err) < 0 || batch_reserve(b, err) < 0)
    return -1;
  struct pending *p = &b->f[b->n];
  snprintf(p->name, sizeof p->name, "root.json");
  p->data = malloc(b->f[b->n - 1].len);
  if (p->data == NULL) return pl_fail(err, ENOMEM, "root");
  memcpy(p->data, b->f[b->n - 1].data, b->f[b->n - 1].len);
  p->len = b->f[b->n - 1].len;
  b->n++;
  return 0;
}

/* Fail before touching anything if the keys cannot sign the roles that
 * every change re-signs. */
static int check_can_sign(struct reg *r, pl_error_t *err) {
  struct batch b = {0};
  /* With bins, an add signs bins, never the top-level targets. */
  const char *roles[] = {r->bin_bits ? r->bin_prefix : "targets", "snapshot", "timestamp"};
  int ret = 0;
  for (int i = 0; i < 3 && ret == 0; i++) {
    char name[PL_TUF_ROLE_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s.json", roles[i]);
    const json_t *obj =
        i == 0 && r->bin_bits ? r->bin_role : root_role(r->body[PL_TUF_ROOT], roles[i]);
    ret = sign_with(r, &b, name, r->body[PL_TUF_TARGETS], roles[i], obj, NULL, err);
    batch_free(&b);
  }
  return ret;
}

/* ---- per-project index targets (lib/projindex.h) ---- */

/* DIR/targets/simple, created when missing, open for the change. */
static int open_simple(struct reg *r, pl_error_t *err) {
  if (r->simple >= 0) return 0;
  char what[PATH_MAX];
  snprintf(what, sizeof what, "%s/targets/simple", r->dir);
  r->simple = open_own_dir_at(r->targets, "simple", what, true, false, err);
  return r->simple < 0 ? -1 : 0;
}

/* DIR/targets/simple/<project> (normalized: a plain name), created when
 * missing, open until the change is published; its handle and name. */
static int open_project_dir(struct reg *r, const char *project, int *fd, const char **name,
                            pl_error_t *err) {
  if (open_simple(r, err) < 0) return -1;
  char what[PATH_MAX];
  snprintf(what, sizeof what, "%s/targets/simple/%s", r->dir, project);
  int *nf = reallocarray(r->subfds, r->nsub + 1, sizeof *nf);
  if (nf) r->subfds = nf;
  char **nd = nf ? reallocarray(r->subdirs, r->nsub + 1, sizeof *nd) : NULL;
  if (nd) r->subdirs = nd;
  char *copy = nd ? strdup(what) : NULL;
  if (copy == NULL) return pl_fail(err, ENOMEM, "registry %s", r->dir);
  int dfd = open_own_dir_at(r->simple, project, what, true, false, err);
  if (dfd < 0) {
    free(copy);
    return -1;
  }
  r->subfds[r->nsub] = dfd;
  r->subdirs[r->nsub++] = copy;
  *fd = dfd;
  *name = copy;
  return 0;
}

/* Stage bytes as target `name` (simple/..., its file in dirfd under its
 * last segment) and list it in the role that carries it. */
static int stage_index_target(struct reg *r, struct change *c, int dirfd, const char *dirname,
                              const char *name, const char *data, size_t len, pl_error_t *err) {
  char sha[PL_SHA256_HEX], file[NAME_MAX + 1];
  json_t *tg;
  const char *base = strrchr(name, '/') + 1;
  if (pl_sha256_hex(data, len, sha, err) < 0) return -1;
  target_file(r, base, sha, file, sizeof file);
  if (change_stage(c, dirfd, dirname, file, data, len, err) < 0 ||
      targets_for(r, name, true, &tg, err) < 0)
    return -1;
  /* An index target changes with every add to its project: replaced, not
   * refused as a wheel's would be. */
  return pl_tuf_targets_add(tg, name, len, sha, err);
}

/* The layout marker: this registry keeps an index target for every project. */
static int stage_marker(struct reg *r, struct change *c, pl_error_t *err) {
  char what[PATH_MAX];
  snprintf(what, sizeof what, "%s/targets/simple", r->dir);
  const char *m = pl_projindex_marker_content();
  if (open_simple(r, err) < 0 ||
      stage_index_target(r, c, r->simple, what, PL_PROJINDEX_MARKER, m, strlen(m), err) < 0)
    return -1;
  r->project_index = true;
  return 0;
}

/* Delegate the top-level targets to o->bins empty succinct hash bins held
 * by the online keys (or the keys), each to be signed at version 1. */
static int init_bins(struct reg *r, unsigned threshold, pl_error_t *err) {
  const struct pl_registry_opts *o = r->o;
  bool online = o->nonline_keys > 0;
  size_t nk = online ? o->nonline_keys : o->nkeys;
  cleanup_free const struct pl_key **keys = calloc(nk, sizeof *keys);
  if (keys == NULL) return pl_fail(err, ENOMEM, "registry init");
  for (size_t i = 0; i < nk; i++)
    keys[i] = online ? &o->online_keys[i] : &o->keys[i];
  unsigned bits = 0;
  while (((unsigned)1 << bits) < o->bins)
    bits++;
  if (pl_tuf_delegate_succinct(r->body[PL_TUF_TARGETS], keys, nk, threshold, bits,
                               PL_REGISTRY_BIN_PREFIX, err) < 0 ||
      find_bins(r, err) < 0)
    return -1;
  for (uint32_t i = 0; i < o->bins; i++) {
    if ((r->bins[i] = pl_tuf_new_targets(0, 0)) == NULL) return pl_fail(err, ENOMEM, "bins");
    r->bin_dirty[i] = true;
  }
  r->consistent = true;
  json_object_set_new(r->body[PL_TUF_ROOT], "consistent_snapshot", json_true());
  return 0;
}

int pl_registry_init(const char *dir, const struct pl_registry_opts *o, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  unsigned threshold = o->threshold ? o->threshold : 1;
  if (o->nkeys == 0) return pl_fail(err, 0, "no signing key");
  if (threshold > o->nkeys || (o->nonline_keys && threshold > o->nonline_keys))
    return pl_fail(err, 0, "threshold %u needs at least %u keys of each kind, got %zu and %zu",
                   threshold, threshold, o->nkeys, o->nonline_keys);
  if (o->bins && (o->bins < 2 || o->bins > PL_REGISTRY_BINS_MAX || (o->bins & (o->bins - 1))))
    return pl_fail(err, EINVAL, "--bins wants a power of two from 2 to %d, got %u",
                   PL_REGISTRY_BINS_MAX, o->bins);
  struct reg r = {.dir = dir,
                  .o = o,
                  .now = o->now ? o->now : time(NULL),
                  .targets = -1,
                  .simple = -1,
                  .lock = -1,
                  .rec = -1};
  struct change c = {0};
  struct batch b = {0};
  int ret = -1;
  r.fd = open_registry_dir(dir, true, err);
  if (r.fd < 0 || check_keys(&r, err) < 0 || take_publish_lock(&r, err) < 0) goto out;
  if (fstatat(r.fd, "root.json", &(struct stat){0}, AT_SYMLINK_NOFOLLOW) == 0) {
    pl_fail_hint(err, EEXIST, "use 'pylock registry sign' to renew or rotate keys",
                 "%s already holds a registry (root.json)", dir);
    goto out;
  }
  r.body[PL_TUF_ROOT] = pl_tuf_new_root(1, expiry(&r, true));
  /* Versions 0 so that resign_tail publishes version 1 of each. */
  r.body[PL_TUF_TARGETS] = pl_tuf_new_targets(0, 0);
  r.body[PL_TUF_SNAPSHOT] = pl_tuf_new_snapshot(0, 0, 0, NULL, 0, err);
  r.body[PL_TUF_TIMESTAMP] = pl_tuf_new_timestamp(0, 0, 0, NULL, 0, err);
  for (int i = 0; i < PL_TUF_NROLES; i++)
    if (r.body[i] == NULL) {
      pl_fail(err, ENOMEM, "registry init");
      goto out;
    }
  for (int i = 0; i < PL_TUF_NROLES; i++) {
    /* Online keys, when given, hold what every add re-signs; the keys hold
     * root and targets, which can then stay offline. */
    bool on = o->nonline_keys && (i == PL_TUF_TIMESTAMP || i == PL_TUF_SNAPSHOT);
    for (size_t k = 0; k < (on ? o->nonline_keys : o->nkeys); k++)
      if (pl_tuf_root_add_key(r.body[PL_TUF_ROOT], pl_tuf_role_names[i],
                              on ? &o->online_keys[k] : &o->keys[k], err) < 0)
        goto out;
    pl_tuf_root_set_threshold(r.body[PL_TUF_ROOT], pl_tuf_role_names[i], threshold);
  }
  char tdir[PATH_MAX];
  snprintf(tdir, sizeof tdir, "%s/targets", dir);
  if ((o->bins && init_bins(&r, threshold, err) < 0) ||
      (r.targets = open_own_dir_at(r.fd, "targets", tdir, true, false, err)) < 0 ||
      (o->project_index && stage_marker(&r, &c, err) < 0) ||
      sign_root(&r, &b, r.body[PL_TUF_ROOT], NULL, err) < 0 || resign_tail(&r, &b, true, err) < 0 ||
      stage_batch(&r, &c, &b, err) < 0)
    goto out;
  if (change_publish(&c, err) == 0) {
    record_clear(&r);
    record_published(&r, &b);
    ret = 0;
  }
out:
  batch_free(&b);
  change_free(&c);
  reg_close(&r);
  return ret;
}

/* ---- wheels ---- */

/* Wheel file names become target names and URLs: keep them boring, and
 * well-formed, so that every client can parse what it is offered; and short
 * enough that the .metadata target and every temporary file fit NAME_MAX. */
static int check_wheel_name(const char *base, pl_error_t *err) {
  size_t n = strlen(base);
  if (n < 5 || strcmp(base + n - 4, ".whl") != 0 || base[0] == '.')
    return pl_fail(err, 0, "%s: not a wheel file name (NAME-VERSION-...-TAG.whl)", base);
  if (n > PL_REGISTRY_WHEEL_NAME_MAX)
    return pl_fail(err, 0,
                   "%.40s...: a wheel file name of %zu characters is too long: a registry takes "
                   "at most %d (its .metadata target and temporary files must fit in 255)",
                   base, n, PL_REGISTRY_WHEEL_NAME_MAX);
  for (const char *c = base; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
          strchr("._-+!", *c)))
      return pl_fail(err, 0, "%s: unexpected character '%c' in a wheel file name", base, *c);
  struct pl_wheel_filename fn;
  if (pl_wheel_filename_parse(base, &fn, err) < 0) return -1;
  pl_wheel_filename_free(&fn);
  return 0;
}

/* The normalized project of wheel file base (a checked wheel name). */
static int project_of(const char *base, char *out, size_t cap, pl_error_t *err) {
  struct pl_wheel_filename fn;
  if (pl_wheel_filename_parse(base, &fn, err) < 0) return -1;
  int r = pl_distname_normalize(fn.name, strlen(fn.name), out, cap);
  pl_wheel_filename_free(&fn);
  return r < 0 ? pl_fail(err, EINVAL, "%s: no project name", base) : 0;
}

/* A wheel of this add, copied into DIR/targets/ under a temporary name and
 * verified there, waiting until every wheel of the add has passed. */
struct staged {
  const char *base;
  char *tmp; /* a temporary name in targets/, or NULL once handed on or dropped */
  uint64_t length;
  char sha256[PL_SHA256_HEX];
  char *metadata; /* its METADATA, to publish as <base>.metadata */
  size_t metadata_len;
  char **hooks; /* its startup hooks */
  size_t nhooks;
  bool publish; /* false: the registry already holds these very bytes */
};

static void staged_free(struct reg *r, struct staged *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i].tmp) unlinkat(r->targets, s[i].tmp, 0);
    free(s[i].tmp);
    free(s[i].metadata);
    for (size_t j = 0; j < s[i].nhooks; j++)
      free(s[i].hooks[j]);
    free(s[i].hooks);
  }
  free(s);
}

/* Copy src beside DIR/targets/<base>, hashing as it goes, then verify the
 * copy: what is checked is what will be published, whatever happens to src
 * meanwhile.  A wheel a client would refuse is never signed. */
static int stage_wheel(struct reg *r, const char *src, struct staged *s, pl_error_t *err) {
  cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (in < 0) return pl_fail(err, errno, "open %s", src);
  struct stat st;
  if (fstat(in, &st) < 0) return pl_fail(err, errno, "stat %s", src);
  if (!S_ISREG(st.st_mode)) return pl_fail(err, 0, "%s: not a regular file", src);
  char tdir[PATH_MAX];
  snprintf(tdir, sizeof tdir, "%s/targets", r->dir);
  cleanup_close int out = temp_open(r->targets, tdir, 0644, &s->tmp, err);
  if (out < 0) return -1;
  struct pl_sha d;
  if (pl_sha_init(&d, err) < 0) return -1;
  char buf[65536];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      pl_sha_free(&d);
      return pl_fail(err, errno, "read %s", src);
    }
    if (n == 0) break;
    if (d.length + (uint64_t)n > PL_REGISTRY_WHEEL_MAX) {
      pl_sha_free(&d);
      return pl_fail(err, EFBIG, "%s: larger than %" PRIu64 " bytes", src, PL_REGISTRY_WHEEL_MAX);
    }
    if (pl_sha_update(&d, buf, (size_t)n, err) < 0) {
      pl_sha_free(&d);
      return -1;
    }
    if (pl_write_all(out, buf, (size_t)n) < 0) {
      pl_sha_free(&d);
      return pl_fail(err, errno, "write %s/targets/%s", r->dir, s->tmp);
    }
  }
  s->length = d.length;
  if (pl_sha_final(&d, s->sha256, NULL, err) < 0) return -1;
  struct pl_wheel_info info = {0};
  if (pl_wheel_verify(out, s->base, NULL, &info, err) < 0 ||
      pl_requires_dist_check(info.metadata, info.metadata_len, s->base, err) < 0) {
    pl_wheel_info_free(&info);
    return pl_error_set_hint(err,
                             "a client would refuse it: fix or rebuild the wheel, then add it");
  }
  s->metadata = steal_pointer(&info.metadata);
  s->metadata_len = info.metadata_len;
  s->hooks = steal_pointer(&info.startup_hooks);
  s->nhooks = info.nstartup_hooks;
  info.nstartup_hooks = 0;
  pl_wheel_info_free(&info);
  if (fsync(out) < 0) return pl_fail(err, errno, "write %s/targets/%s", r->dir, s->tmp);
  return 0;
}

/* A published name must keep its bytes forever: clients and caches key on it. */
static int add_target(struct reg *r, const char *name, uint64_t length, const char *sha256,
                      pl_error_t *err) {
  json_t *tg;
  if (targets_for(r, name, true, &tg, err) < 0) return -1;
  json_t *old = json_object_get(json_object_get(tg, "targets"), name);
  const char *old_sha =
      json_string_value(json_object_get(json_object_get(old, "hashes"), "sha256"));
  if (old && (old_sha == NULL || strcmp(old_sha, sha256) != 0))
    return pl_fail_hint(err, EEXIST, "a published file never changes: build a new version",
                        "%s is already in the registry with different content", name);
  return pl_tuf_targets_add(tg, name, length, sha256, err);
}

/* Before a byte is written: every wheel's name is valid and short enough,
 * and no name it will be published under is a link or a directory. */
static int check_names(struct reg *r, const char *const *wheels, size_t nwheels, struct staged *st,
                       const char *tdir, pl_error_t *err) {
  for (size_t i = 0; i < nwheels; i++) {
    const char *base = strrchr(wheels[i], '/');
    st[i].base = base ? base + 1 : wheels[i];
    char md[NAME_MAX + 1];
    bool exists;
    if (check_wheel_name(st[i].base, err) < 0) return -1;
    /* Consistent snapshots publish SHA256.NAME: 65 characters more. */
    if (r->consistent && strlen(st[i].base) > PL_REGISTRY_WHEEL_NAME_MAX - 65)
      return pl_fail(err, 0,
                     "%.40s...: a wheel file name of %zu characters is too long for a registry "
                     "with consistent snapshots: it takes at most %d",
                     st[i].base, strlen(st[i].base), PL_REGISTRY_WHEEL_NAME_MAX - 65);
    snprintf(md, sizeof md, "%s.metadata", st[i].base);
    if (check_regular_at(r->targets, tdir, st[i].base, &exists, err) < 0 ||
        check_regular_at(r->targets, tdir, md, &exists, err) < 0)
      return -1;
  }
  return 0;
}

/* Before a wheel is copied: every role the add will sign again (the bins
 * of each wheel, its .metadata and its project's page) is read, and so
 * vouched for (load_bin).  Without bins reg_open did it already. */
static int vouch_touched(struct reg *r, const struct staged *st, size_t n, pl_error_t *err) {
  for (size_t i = 0; r->bin_bits && i < n; i++) {
    char md[NAME_MAX + 1], project[PL_DISTNAME_MAX + 1], page[PL_PROJINDEX_TARGET_MAX];
    const char *sha;
    bool exists;
    snprintf(md, sizeof md, "%s.metadata", st[i].base);
    if (published_sha(r, st[i].base, &sha, &exists, err) < 0 ||
        published_sha(r, md, &sha, &exists, err) < 0)
      return -1;
    if (r->project_index && (project_of(st[i].base, project, sizeof project, err) < 0 ||
                             pl_projindex_target(project, page, sizeof page, err) < 0 ||
                             published_sha(r, page, &sha, &exists, err) < 0))
      return -1;
  }
  return 0;
}

/* Every wheel is copied and verified before anything is published: one bad
 * wheel leaves the registry as it was. */
static int stage_all(struct reg *r, const char *const *wheels, size_t nwheels, struct staged *st,
                     pl_error_t *err) {
  for (size_t i = 0; i < nwheels; i++) {
    struct staged *s = &st[i];
    if (stage_wheel(r, wheels[i], s, err) < 0) return -1;
    s->publish = true;
    const char *old_sha;
    bool exists;
    if (published_sha(r, s->base, &old_sha, &exists, err) < 0) return -1;
    if (exists && (old_sha == NULL || strcmp(old_sha, s->sha256)))
      return pl_fail_hint(err, EEXIST, "a published file never changes: build a new version",
                          "%s is already in the registry with different content", s->base);
    for (size_t j = 0; j < i && s->publish; j++)
      if (strcmp(st[j].base, s->base) == 0) {
        if (strcmp(st[j].sha256, s->sha256) != 0)
          return pl_fail(err, EEXIST, "%s is given twice, with different content", s->base);
        s->publish = false;
      }
    if (old_sha) s->publish = false;
    if (!s->publish) {
      unlinkat(r->targets, s->tmp, 0);
      free(steal_pointer(&s->tmp));
    }
  }
  return 0;
}

/* Queue each new wheel and its .metadata (staged too), and list both. */
static int stage_targets(struct reg *r, struct change *c, struct staged *st, size_t n,
                         const char *tdir, pl_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    struct staged *s = &st[i];
    if (!s->publish) continue;
    char mdname[NAME_MAX + 1], mdsha[PL_SHA256_HEX], wfile[PATH_MAX], mdfile[PATH_MAX];
    snprintf(mdname, sizeof mdname, "%s.metadata", s->base);
    if (pl_sha256_hex(s->metadata, s->metadata_len, mdsha, err) < 0) return -1;
    target_file(r, s->base, s->sha256, wfile, sizeof wfile);
    target_file(r, mdname, mdsha, mdfile, sizeof mdfile);
    if (change_push(c, r->targets, tdir, wfile, steal_pointer(&s->tmp), err) < 0 ||
        change_stage(c, r->targets, tdir, mdfile, s->metadata, s->metadata_len, err) < 0 ||
        add_target(r, s->base, s->length, s->sha256, err) < 0 ||
        add_target(r, mdname, s->metadata_len, mdsha, err) < 0)
      return -1;
  }
  return 0;
}

/* The published index of project (empty when it has none yet), read from
 * targets/ and checked against the sha256 its role signed. */
static int read_project_index(struct reg *r, int dfd, const char *dirname, const char *target,
                              const char *project, struct pl_projindex *ix, pl_error_t *err) {
  const char *sha;
  bool exists;
  if (published_sha(r, target, &sha, &exists, err) < 0) return -1;
  if (!exists) return pl_projindex_init(ix, project, err);
  char file[NAME_MAX + 1], got[PL_SHA256_HEX];
  cleanup_free char *raw = NULL;
  size_t len = 0;
  target_file(r, "index.json", sha ? sha : "", file, sizeof file);
  if (sha == NULL || check_regular_at(dfd, dirname, file, &exists, err) < 0 || !exists ||
      pl_read_file_nofollow_at(dfd, file, PL_PROJINDEX_MAX, &raw, &len, err) < 0 ||
      pl_sha256_hex(raw, len, got, err) < 0 || strcmp(got, sha) != 0) {
    if (*err == NULL) pl_fail(err, 0, "%s/%s: not the index the registry signed", dirname, file);
    pl_error_wrap(err, "registry %s", r->dir);
    return pl_error_set_hint(err, "the published index of %s is damaged: restore it from a backup",
                             project);
  }
  return pl_projindex_parse(raw, len, project, ix, err);
}

/* The published page of project, to be rewritten: its index target's name,
 * its directory (made when missing) and its index as the registry signed it.
 * The role that lists the page is vouched for (published_sha) before the
 * directory is made. */
static int open_project_page(struct reg *r, const char *project,
                             char target[PL_PROJINDEX_TARGET_MAX], int *dfd, const char **dirname,
                             struct pl_projindex *ix, pl_error_t *err) {
  const char *sha;
  bool listed;
  if (pl_projindex_target(project, target, PL_PROJINDEX_TARGET_MAX, err) < 0 ||
      published_sha(r, target, &sha, &listed, err) < 0 ||
      open_project_dir(r, project, dfd, dirname, err) < 0)
    return -1;
  return read_project_index(r, *dfd, *dirname, target, project, ix, err);
}

/* Rewrite the index target of each project the add publishes a wheel of:
 * its last index and the new files, nothing of any other project. */
static int stage_project_indexes(struct reg *r, struct change *c, const struct staged *st, size_t n,
                                 pl_error_t *err) {
  for (size_t i = 0; r->project_index && i < n; i++) {
    if (!st[i].publish) continue;
    char project[PL_DISTNAME_MAX + 1], target[PL_PROJINDEX_TARGET_MAX];
    if (project_of(st[i].base, project, sizeof project, err) < 0) return -1;
    bool done = false;
    for (size_t j = 0; j < i && !done; j++) {
      char other[PL_DISTNAME_MAX + 1];
      done = st[j].publish && project_of(st[j].base, other, sizeof other, err) == 0 &&
             strcmp(other, project) == 0;
    }
    if (done) continue;
    int dfd = -1;
    const char *dirname = NULL;
    struct pl_projindex ix;
    if (open_project_page(r, project, target, &dfd, &dirname, &ix, err) < 0) return -1;
    int ret = 0;
    for (size_t j = i; ret == 0 && j < n; j++) {
      char other[PL_DISTNAME_MAX + 1];
      if (!st[j].publish || project_of(st[j].base, other, sizeof other, err) < 0 ||
          strcmp(other, project) != 0)
        continue;
      cleanup_free char *rp = NULL;
      struct pl_projindex_file f = {
          .filename = (char *)st[j].base, .size = st[j].length, .metadata = true};
      memcpy(f.sha256, st[j].sha256, PL_SHA256_HEX);
      ret = pl_projindex_requires_python(st[j].metadata, st[j].metadata_len, &rp, err);
      f.requires_python = rp;
      if (ret == 0) ret = pl_sha256_hex(st[j].metadata, st[j].metadata_len, f.metadata_sha256, err);
      if (ret == 0) ret = pl_projindex_add(&ix, &f, err);
    }
    cleanup_free char *page = NULL;
    size_t len = 0;
    if (ret == 0) ret = pl_projindex_render(&ix, r->consistent, &page, &len, err);
    pl_projindex_free(&ix);
    /* A page clients would refuse is never published. */
    if (ret == 0 && len > PL_PROJINDEX_MAX)
      ret = pl_fail(err, E2BIG,
                    "%s: the index of %s would take %zu bytes, more than the %zu a "
                    "client reads",
                    r->dir, project, len, PL_PROJINDEX_MAX);
    if (ret < 0 || stage_index_target(r, c, dfd, dirname, target, page, len, err) < 0) return -1;
  }
  return 0;
}

int pl_registry_add(const char *dir, const struct pl_registry_opts *o, const char *const *wheels,
                    size_t nwheels, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  struct reg r;
  struct change c = {0};
  struct batch b = {0};
  int ret = -1;
  char tdir[PATH_MAX];
  snprintf(tdir, sizeof tdir, "%s/targets", dir);
  struct staged *st = calloc(nwheels ? nwheels : 1, sizeof *st);
  if (st == NULL) return pl_fail(err, ENOMEM, "registry add");
  if (reg_open(&r, dir, o, false, err) < 0) goto out;
  if (r.targets < 0) {
    pl_fail(err, ENOENT, "registry %s has no targets directory", dir);
    goto out;
  }
  if (check_can_sign(&r, err) < 0 || check_names(&r, wheels, nwheels, st, tdir, err) < 0 ||
      vouch_touched(&r, st, nwheels, err) < 0 || stage_all(&r, wheels, nwheels, st, err) < 0 ||
      stage_targets(&r, &c, st, nwheels, tdir, err) < 0 ||
      stage_project_indexes(&r, &c, st, nwheels, err) < 0)
    goto out;
  /* Targets before the metadata that lists them.  With bins, only the bins
   * the wheels fall in are signed again, and top-level targets is not. */
  if (resign_tail(&r, &b, r.bin_bits == 0, err) == 0 && stage_batch(&r, &c, &b, err) == 0 &&
      change_publish(&c, err) == 0) {
    record_published(&r, &b);
    ret = 0;
  }
  for (size_t i = 0; ret == 0 && o->startup_hooks && i < nwheels; i++)
    if (st[i].nhooks) o->startup_hooks(o->ctx, st[i].base, st[i].hooks, st[i].nhooks);
out:
  batch_free(&b);
  change_free(&c);
  staged_free(&r, st, nwheels);
  reg_close(&r);
  return ret;
}

/* How many of the given keys role_obj lists, at least its threshold. */
static bool holds_role(const struct reg *r, const json_t *role_obj) {
  size_t n = r->o->nkeys + r->o->nonline_keys + r->o->nadd_root_keys;
  int64_t have = 0;
  for (size_t i = 0; i < n; i++)
    have += role_has_key(role_obj, given_key(r->o, i)->keyid);
  return have >= role_threshold(role_obj);
}

/* sign, with bins: every bin is signed again (their expiry renewed in
 * bulk); the top-level targets, which may be kept offline, only when its
 * keys are given, and then it must outlive what is signed now. */
static int renew_bins(struct reg *r, bool *sign_targets, pl_error_t *err) {
  for (uint32_t i = 0; i < ((uint32_t)1 << r->bin_bits); i++) {
    json_t *body;
    if (load_bin(r, i, &body, err) < 0) return -1;
    r->bin_dirty[i] = true;
  }
  *sign_targets = holds_role(r, root_role(r->body[PL_TUF_ROOT], "targets"));
  time_t exp = 0;
  pl_tuf_parse_time(json_string_value(json_object_get(r->body[PL_TUF_TARGETS], "expires")), &exp);
  if (!*sign_targets && exp <= expiry(r, false))
    return pl_fail_hint(err, 0, "pass the targets key too: --key FILE",
                        "registry %s: targets.json expires before the roles signed now", r->dir);
  return 0;
}

/* sign found targets added or changed by hand (said through o->edit). */
static int refuse_edits(struct reg *r, pl_error_t *err) {
  pl_fail(err, PL_REFUSED,
          "registry %s: %zu target(s) or field(s) added or changed by hand since pylock signed "
          "them%s; nothing was signed",
          r->dir, r->additions,
          r->no_record ? " (pylock has no record of what it signed of this registry here, so "
                         "every target of an edited role counts as added)"
                       : "");
  return pl_error_set_hint(err,
                           "review each one listed: a target you did not add is someone "
                           "else's; sign them with 'pylock registry sign %s --accept-edits', "
                           "or restore the registry from your own copy",
                           r->dir);
}

int pl_registry_sign(const char *dir, const struct pl_registry_opts *o, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  struct reg r;
  struct batch b = {0};
  struct change c = {0};
  int ret = -1;
  if (reg_open(&r, dir, o, true, err) < 0) goto out;
  json_t *old = r.body[PL_TUF_ROOT];
  time_t root_exp = 0;
  pl_tuf_parse_time(json_string_value(json_object_get(old, "expires")), &root_exp);
  bool rotate = o->nadd_root_keys || o->nremove_root_keyids;
  if (rotate || o->renew_root || root_exp <= expiry(&r, false)) {
    cleanup_json json_t *root = json_deep_copy(old);
    if (root == NULL) {
      pl_fail(err, ENOMEM, "sign");
      goto out;
    }
    for (size_t i = 0; i < o->nadd_root_keys; i++)
      if (pl_tuf_root_add_key(root, "root", &o->add_root_keys[i], err) < 0) goto out;
    for (size_t i = 0; i < o->nremove_root_keyids; i++) {
      if (!pl_tuf_root_has_key(root, "root", o->remove_root_keyids[i])) {
        pl_fail(err, ENOENT, "key %s is not a root key of %s", o->remove_root_keyids[i], dir);
        goto out;
      }
      pl_tuf_root_remove_key(root, "root", o->remove_root_keyids[i]);
    }
    json_t *ids =
        json_object_get(json_object_get(json_object_get(root, "roles"), "root"), "keyids");
    if ((int64_t)json_array_size(ids) < pl_tuf_root_threshold(root, "root")) {
      pl_fail(err, 0, "the new root would list %zu root key(s), fewer than its threshold %" PRId64,
              json_array_size(ids), pl_tuf_root_threshold(root, "root"));
      goto out;
    }
    /* root.json reached by rotations read from DIR (from the root pylock
     * last signed, or the one given) may be an older one of them put back,
     * from before a key was removed: the new root, which every client
     * takes, carries forward no key that neither that root nor the keys
     * given hold. */
    const char *other = r.rotated_base ? stranger_key(&r, root, true, r.rotated_base) : NULL;
    if (other) {
      pl_fail(err, PL_REFUSED,
              "registry %s: the new root would give a role to key %.16s..., which neither %s "
              "(version %" PRId64 ") nor the keys you gave hold: root.json (version %" PRId64
              ") may be an older root put back, from before that key was removed; nothing was "
              "signed",
              dir, other, r.base_is_anchor ? "the root you gave" : "the root pylock last signed",
              pl_tuf_get_version(r.rotated_base), pl_tuf_get_version(old));
      pl_error_set_hint(err,
                        "give the newest root you signed for %s with --root FILE (or "
                        "--trusted NAME), or give that key with --key if it is yours",
                        dir);
      goto out;
    }
    pl_tuf_set_version(root, pl_tuf_get_version(old) + 1);
    pl_tuf_set_expires(root, expiry(&r, true));
    if (sign_root(&r, &b, root, old, err) < 0) goto out;
    pl_json_decref(r.body[PL_TUF_ROOT]);
    r.body[PL_TUF_ROOT] = steal_pointer(&root);
  }
  bool sign_targets = true;
  if (r.bin_bits && renew_bins(&r, &sign_targets, err) < 0) goto out;
  if (r.additions && !o->accept_edits) {
    refuse_edits(&r, err);
    goto out;
  }
  if (resign_tail(&r, &b, sign_targets, err) == 0 && stage_batch(&r, &c, &b, err) == 0 &&
      change_publish(&c, err) == 0) {
    record_published(&r, &b);
    ret = 0;
  }
out:
  batch_free(&b);
  change_free(&c);
  reg_close(&r);
  return ret;
}

/* ---- index: a page for every project of an existing registry ---- */

/* Records (text lines) spilled to unlinked temporary files by key, so that
 * a pass over a registry of any size holds one bucket in memory at a time,
 * about 1/SPILL_N of the records. */
#define SPILL_N 128
#define SPILL_LINE_MAX (PL_REGISTRY_WHEEL_NAME_MAX + PL_DISTNAME_MAX + 2 * PL_SHA256_HEX + 64)
struct spill {
  FILE *f[SPILL_N];
};

static void spill_free(struct spill *s) {
  for (int i = 0; i < SPILL_N; i++)
    if (s->f[i]) fclose(s->f[i]);
  memset(s, 0, sizeof *s);
}

static uint32_t spill_hash(const char *key) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *key; key++)
    h = (h ^ (unsigned char)*key) * 16777619u;
  return h;
}

/* Append one line (fields joined by tabs) to bucket `bucket`. */
static int spill_put(struct spill *s, uint32_t bucket, pl_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int spill_put(struct spill *s, uint32_t bucket, pl_error_t *err, const char *fmt, ...) {
  FILE **f = &s->f[bucket % SPILL_N];
  if (*f == NULL && (*f = tmpfile()) == NULL) return pl_fail(err, errno, "temporary file");
  va_list ap;
  va_start(ap, fmt);
  int n = vfprintf(*f, fmt, ap);
  va_end(ap);
  if (n < 0 || fputc('\n', *f) == EOF) return pl_fail(err, errno ? errno : EIO, "temporary file");
  return 0;
}

static int cmp_line(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Bucket i's lines, sorted (*buf holds them, *lines points into it). */
static int spill_read(struct spill *s, int i, char **buf, char ***lines, size_t *n,
                      pl_error_t *err) {
  *buf = NULL, *lines = NULL, *n = 0;
  FILE *f = s->f[i];
  if (f == NULL) return 0;
  long size = ftell(f);
  if (fflush(f) == EOF || size < 0 || fseek(f, 0, SEEK_SET) < 0)
    return pl_fail(err, errno, "temporary file");
  char *b = malloc((size_t)size + 1);
  size_t count = 0;
  if (b == NULL) return pl_fail(err, ENOMEM, "index");
  if (fread(b, 1, (size_t)size, f) != (size_t)size) {
    free(b);
    return pl_fail(err, EIO, "temporary file");
  }
  b[size] = '\0';
  for (long k = 0; k < size; k++)
    count += b[k] == '\n';
  char **l = calloc(count ? count : 1, sizeof *l);
  if (l == NULL) {
    free(b);
    return pl_fail(err, ENOMEM, "index");
  }
  size_t j = 0;
  for (char *p = b, *nl; j < count && (nl = strchr(p, '\n')); p = nl + 1) {
    *nl = '\0';
    l[j++] = p;
  }
  qsort(l, j, sizeof *l, cmp_line);
  *buf = b, *lines = l, *n = j;
  return 0;
}

/* Split line into at most max tab-separated fields (in place). */
static size_t split_tabs(char *line, char **field, size_t max) {
  size_t n = 0;
  for (char *p = line; n < max; n++) {
    field[n] = p;
    char *t = strchr(p, '\t');
    if (t == NULL) return n + 1;
    *t = '\0';
    p = t + 1;
  }
  return n;
}

/* The bucket key of target name in pass 3: its bin. */
static uint32_t bin_key(const struct reg *r, const char *name, pl_error_t *err) {
  return r->bin_bits ? pl_tuf_succinct_bin(name, r->bin_bits, err) : 0;
}

/* Pass 1: one record per wheel ("P W FILE LENGTH SHA"), .metadata ("P M
 * WHEEL LENGTH SHA") and page ("P G - LENGTH SHA") of targets role body,
 * bucketed by project. */
static int collect_role(struct reg *r, const json_t *body, struct spill *s, struct spill *bins,
                        size_t *removed, pl_error_t *err) {
  const json_t *tg = json_object_get(body, "targets");
  for (void *it = json_object_iter((json_t *)tg); it;
       it = json_object_iter_next((json_t *)tg, it)) {
    const char *name = json_object_iter_key(it);
    const json_t *v = json_object_iter_value(it);
    const char *sha = json_string_value(json_object_get(json_object_get(v, "hashes"), "sha256"));
    const json_t *len = json_object_get(v, "length");
    size_t nl = strlen(name);
    char project[PL_DISTNAME_MAX + 1], wheel[NAME_MAX + 1];
    int kind = pl_projindex_target_project(name, project, sizeof project);
    if (kind < 0 && !strpbrk(name, "\t\n")) {
      /* Under simple/ but at no project's normalized name: no client reads
       * it, and `registry verify --targets` refuses it.  Withdrawn. */
      uint32_t key = bin_key(r, name, err);
      if (key == UINT32_MAX || spill_put(bins, key, err, "%08" PRIx32 "\tD\t%s", key, name) < 0)
        return -1;
      ++*removed;
    }
    if (kind != 0) {
      if (kind > 0 && sha && json_is_integer(len) &&
          spill_put(s, spill_hash(project), err, "%s\tG\t-\t%" PRId64 "\t%s", project,
                    (int64_t)json_integer_value(len), sha) < 0)
        return -1;
      continue;
    }
    bool is_md = nl > 13 && strcmp(name + nl - 13, ".whl.metadata") == 0;
    if (!is_md && (nl < 5 || strcmp(name + nl - 4, ".whl") != 0)) continue;
    snprintf(wheel, sizeof wheel, "%.*s", (int)(is_md ? nl - 9 : nl), name);
    pl_error_t ignored = NULL;
    if (strchr(name, '/') || nl > NAME_MAX || check_wheel_name(wheel, &ignored) < 0 ||
        project_of(wheel, project, sizeof project, &ignored) < 0) {
      pl_error_free(&ignored); /* not offered to pip as a wheel: no page lists it */
      continue;
    }
    if (sha == NULL || !json_is_integer(len) || json_integer_value(len) < 0)
      return pl_fail(err, 0, "registry %s: target %s has no sha256 or length", r->dir, name);
    if (spill_put(s, spill_hash(project), err, "%s\t%c\t%s\t%" PRId64 "\t%s", project,
                  is_md ? 'M' : 'W', wheel, (int64_t)json_integer_value(len), sha) < 0)
      return -1;
  }
  return 0;
}

/* Pass 1 over every targets role: the top-level one, or each bin, read
 * and dropped one at a time. */
static int collect_targets(struct reg *r, struct spill *s, struct spill *bins, size_t *removed,
                           pl_error_t *err) {
  if (r->bin_bits == 0) return collect_role(r, r->body[PL_TUF_TARGETS], s, bins, removed, err);
  uint32_t nbins = (uint32_t)1 << r->bin_bits;
  pl_progress_begin("reading the targets of %s", r->dir);
  for (uint32_t i = 0; i < nbins; i++) {
    json_t *body;
    pl_progress_item(i + 1, nbins, "reading bin %u of %u", i + 1, nbins);
    if (load_bin(r, i, &body, err) < 0 || collect_role(r, body, s, bins, removed, err) < 0) {
      pl_progress_end();
      return -1;
    }
    pl_json_decref(steal_pointer(&r->bins[i]));
  }
  pl_progress_end();
  return 0;
}

/* Write data at dirfd/name right away (under a temporary name, then
 * renamed): for a name no signed metadata lists yet, so that nothing a
 * client reads changes before the publication.  A file already there is
 * kept when its name is its content's hash (by_hash), else replaced (a
 * version an interrupted run wrote, never listed).  Made durable with the
 * rest of the publication. */
static int write_unlisted(int dirfd, const char *dirname, const char *name, const char *data,
                          size_t len, bool by_hash, pl_error_t *err) {
  bool exists;
  if (check_regular_at(dirfd, dirname, name, &exists, err) < 0) return -1;
  if (exists && by_hash) return 0;
  char *tmp = NULL;
  cleanup_close int fd = temp_open(dirfd, dirname, 0644, &tmp, err);
  if (fd < 0) return -1;
  int w = pl_write_all(fd, data, len);
  if (w == 0) pl_pause("registry-unlisted"); /* the crash tests' kill point */
  if (w < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    free(tmp);
    return pl_fail(err, e, "registry %s: write %s", dirname, name);
  }
  free(tmp);
  return 0;
}

/* A page (or the marker) as target `target`, its file `base` in the
 * directory `sub` of targets/simple ("" for simple/ itself): written now
 * when nothing published can read it yet, else staged into the change. */
static int put_page_file(struct reg *r, struct change *c, const char *sub, const char *base,
                         const char *data, size_t len, const char *sha, pl_error_t *err) {
  char file[NAME_MAX + 1], what[PATH_MAX];
  target_file(r, base, sha, file, sizeof file);
  if (open_simple(r, err) < 0) return -1;
  if (sub[0] == '\0') {
    snprintf(what, sizeof what, "%s/targets/simple", r->dir);
    bool exists;
    if (check_regular_at(r->simple, what, file, &exists, err) < 0) return -1;
    return exists && !r->consistent
               ? change_stage(c, r->simple, what, file, data, len, err)
               : write_unlisted(r->simple, what, file, data, len, r->consistent, err);
  }
  snprintf(what, sizeof what, "%s/targets/simple/%s", r->dir, sub);
  cleanup_close int dfd = open_own_dir_at(r->simple, sub, what, true, false, err);
  bool exists;
  if (dfd < 0 || check_regular_at(dfd, what, file, &exists, err) < 0) return -1;
  if (!exists || r->consistent)
    return write_unlisted(dfd, what, file, data, len, r->consistent, err);
  /* A plain index.json clients read now: replaced only at publication. */
  int kept;
  const char *dirname;
  if (open_project_dir(r, sub, &kept, &dirname, err) < 0) return -1;
  return change_stage(c, kept, dirname, file, data, len, err);
}

/* The Requires-Python of wheel (its .metadata target, with sha msha),
 * read from targets/ and checked against the signed sha256. */
static int local_requires_python(struct reg *r, const char *wheel, const char *msha, char **out,
                                 pl_error_t *err) {
  char name[NAME_MAX + 1], file[PATH_MAX], got[PL_SHA256_HEX], tdir[PATH_MAX];
  snprintf(name, sizeof name, "%s.metadata", wheel);
  target_file(r, name, msha, file, sizeof file);
  snprintf(tdir, sizeof tdir, "%s/targets", r->dir);
  cleanup_free char *raw = NULL;
  size_t len = 0;
  bool exists;
  if (check_regular_at(r->targets, tdir, file, &exists, err) < 0) return -1;
  if (!exists)
    return pl_fail_hint(err, ENOENT, "restore the registry's files from a backup",
                        "registry %s: targets/%s, a signed target, is missing", r->dir, file);
  if (pl_read_file_nofollow_at(r->targets, file, (size_t)16 << 20, &raw, &len, err) < 0 ||
      pl_sha256_hex(raw, len, got, err) < 0)
    return pl_error_wrap(err, "registry %s", r->dir);
  if (strcmp(got, msha) != 0)
    return pl_fail_hint(err, 0, "restore the registry's files from a backup",
                        "registry %s: targets/%s is not the file the registry signed", r->dir,
                        file);
  return pl_projindex_requires_python(raw, len, out, err);
}

/* One project's records (lines[0..n), split): its page rendered from its
 * file targets; written, and its target queued for pass 3, unless the
 * signed page has these bytes already; a page without files withdrawn. */
static int index_project(struct reg *r, struct change *c, struct spill *out, char *(*rec)[5],
                         size_t n, struct pl_registry_index_stats *stats, pl_error_t *err) {
  const char *project = rec[0][0], *old_sha = NULL;
  char target[PL_PROJINDEX_TARGET_MAX];
  snprintf(target, sizeof target, "simple/%s/index.json", project);
  uint32_t key = bin_key(r, target, err);
  if (key == UINT32_MAX) return -1;
  struct pl_projindex ix;
  if (pl_projindex_init(&ix, project, err) < 0) return -1;
  int ret = 0;
  /* Sorted: the page (G), then .metadata (M) and wheels (W), each by file
   * name, so that each wheel's .metadata is found by one merge walk. */
  size_t m = 0;
  while (m < n && rec[m][1][0] != 'M')
    m++;
  for (size_t i = 0; ret == 0 && i < n; i++) {
    if (rec[i][1][0] == 'G') old_sha = rec[i][4];
    if (rec[i][1][0] != 'W') continue;
    struct pl_projindex_file f = {.filename = rec[i][2]};
    cleanup_free char *rp = NULL;
    snprintf(f.sha256, sizeof f.sha256, "%s", rec[i][4]);
    f.size = strtoull(rec[i][3], NULL, 10);
    while (m < n && rec[m][1][0] == 'M' && strcmp(rec[m][2], f.filename) < 0)
      m++;
    if (m < n && rec[m][1][0] == 'M' && strcmp(rec[m][2], f.filename) == 0) {
      f.metadata = true;
      snprintf(f.metadata_sha256, sizeof f.metadata_sha256, "%s", rec[m][4]);
      ret = local_requires_python(r, f.filename, rec[m][4], &rp, err);
    }
    f.requires_python = rp;
    if (ret == 0) ret = pl_projindex_add(&ix, &f, err);
  }
  cleanup_free char *page = NULL;
  size_t len = 0;
  char sha[PL_SHA256_HEX];
  if (ret == 0 && ix.n == 0) { /* a page of a project without files */
    pl_projindex_free(&ix);
    stats->pages_removed++;
    return spill_put(out, key, err, "%08" PRIx32 "\tD\t%s", key, target);
  }
  if (ret == 0) ret = pl_projindex_render(&ix, r->consistent, &page, &len, err);
  pl_projindex_free(&ix);
  if (ret < 0) return pl_error_wrap(err, "registry %s", r->dir);
  if (len > PL_PROJINDEX_MAX)
    return pl_fail(err, E2BIG,
                   "%s: the page of %s would take %zu bytes, more than the %zu a client reads",
                   r->dir, project, len, PL_PROJINDEX_MAX);
  if (pl_sha256_hex(page, len, sha, err) < 0) return -1;
  if (old_sha && strcmp(old_sha, sha) == 0) return 0;
  stats->pages_written++;
  if (put_page_file(r, c, project, "index.json", page, len, sha, err) < 0) return -1;
  return spill_put(out, key, err, "%08" PRIx32 "\tT\t%s\t%zu\t%s", key, target, len, sha);
}

/* Pass 2: the pages, bucket by bucket. */
static int index_pages(struct reg *r, struct change *c, struct spill *in, struct spill *out,
                       struct pl_registry_index_stats *stats, pl_error_t *err) {
  pl_progress_begin("writing the pages of %s", r->dir);
  int ret = 0;
  for (int b = 0; ret == 0 && b < SPILL_N; b++) {
    pl_progress_item((size_t)b + 1, SPILL_N, "writing pages: part %d of %d", b + 1, SPILL_N);
    cleanup_free char *buf = NULL;
    cleanup_free char **lines = NULL;
    size_t n;
    if (spill_read(in, b, &buf, &lines, &n, err) < 0) {
      ret = -1;
      break;
    }
    char *(*rec)[5] = calloc(n ? n : 1, sizeof *rec);
    if (rec == NULL) {
      ret = pl_fail(err, ENOMEM, "index");
      break;
    }
    for (size_t i = 0; ret == 0 && i < n; i++)
      if (split_tabs(lines[i], rec[i], 5) != 5)
        ret = pl_fail(err, EINVAL, "index: a malformed record");
    for (size_t i = 0, j; ret == 0 && i < n; i = j) {
      for (j = i + 1; j < n && strcmp(rec[j][0], rec[i][0]) == 0; j++)
        ;
      ret = index_project(r, c, out, rec + i, j - i, stats, err);
    }
    free(rec);
  }
  pl_progress_end();
  return ret;
}

/* Apply one pass-3 record to the role that lists its target. */
static int apply_page_record(struct reg *r, char **f, size_t nf, pl_error_t *err) {
  json_t *tg;
  if (targets_for(r, f[2], true, &tg, err) < 0) return -1;
  if (f[1][0] == 'D') {
    json_object_del(json_object_get(tg, "targets"), f[2]);
    return 0;
  }
  if (nf != 5) return pl_fail(err, EINVAL, "index: a malformed record");
  return pl_tuf_targets_add(tg, f[2], strtoull(f[3], NULL, 10), f[4], err);
}

/* Sign bin `bin` one version up, write it (a new versioned name: no
 * client reads it before the snapshot that lists it) and drop its body. */
static int flush_bin(struct reg *r, uint32_t bin, pl_error_t *err) {
  char name[PL_TUF_ROLE_NAME_MAX + 1], file[PL_TUF_ROLE_NAME_MAX + 32], listed[sizeof name + 8];
  struct batch b = {0};
  bin_name(r, bin, name, sizeof name);
  json_t *body = r->bins[bin];
  pl_tuf_set_version(body, pl_tuf_get_version(body) + 1);
  pl_tuf_set_expires(body, expiry(r, false));
  role_file(r, name, pl_tuf_get_version(body), file, sizeof file);
  snprintf(listed, sizeof listed, "%s.json", name);
  int ret = sign_with(r, &b, file, body, name, r->bin_role, NULL, err);
  if (ret == 0) ret = write_unlisted(r->fd, r->dir, file, b.f[0].data, b.f[0].len, false, err);
  if (ret == 0) record_file(r, file, b.f[0].data, b.f[0].len); /* see record_published */
  if (ret == 0)
    ret = pl_tuf_meta_set(r->body[PL_TUF_SNAPSHOT], listed, pl_tuf_get_version(body), NULL, 0, err);
  batch_free(&b);
  pl_json_decref(steal_pointer(&r->bins[bin]));
  r->bin_dirty[bin] = false;
  return ret;
}

/* Pass 3: each targets role the pages changed, bin by bin. */
static int index_bins(struct reg *r, struct spill *in, size_t *nbins, pl_error_t *err) {
  pl_progress_begin("signing the bins of %s", r->dir);
  int ret = 0;
  for (int b = 0; ret == 0 && b < SPILL_N; b++) {
    pl_progress_item((size_t)b + 1, SPILL_N, "signing bins: part %d of %d", b + 1, SPILL_N);
    cleanup_free char *buf = NULL;
    cleanup_free char **lines = NULL;
    size_t n;
    if (spill_read(in, b, &buf, &lines, &n, err) < 0) {
      ret = -1;
      break;
    }
    uint32_t cur = UINT32_MAX;
    for (size_t i = 0; ret == 0 && i <= n; i++) {
      char *f[5];
      size_t nf = i < n ? split_tabs(lines[i], f, 5) : 0;
      uint32_t bin = i < n ? (uint32_t)strtoul(f[0], NULL, 16) : UINT32_MAX;
      if (r->bin_bits && cur != UINT32_MAX && bin != cur) {
        ret = flush_bin(r, cur, err);
        ++*nbins;
      }
      cur = bin;
      if (ret == 0 && i < n)
        ret = nf >= 3 ? apply_page_record(r, f, nf, err)
                      : pl_fail(err, EINVAL, "index: a malformed record");
    }
  }
  pl_progress_end();
  return ret;
}

int pl_registry_index(const char *dir, const struct pl_registry_opts *o,
                      struct pl_registry_index_stats *stats, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  memset(stats, 0, sizeof *stats);
  struct reg r;
  struct change c = {0};
  struct batch b = {0};
  struct spill projects = {0}, bins = {0};
  int ret = -1;
  if (reg_open(&r, dir, o, false, err) < 0) goto out;
  if (r.targets < 0) {
    pl_fail(err, ENOENT, "registry %s has no targets directory", dir);
    goto out;
  }
  /* Bins are written before the snapshot that lists them, under new
   * versioned names: only consistent snapshots make that invisible. */
  if (r.bin_bits && !r.consistent) {
    pl_fail(err, 0, "registry %s: hashed bins without consistent snapshots: not pylock's to index",
            dir);
    goto out;
  }
  if (check_can_sign(&r, err) < 0 ||
      collect_targets(&r, &projects, &bins, &stats->pages_removed, err) < 0 ||
      index_pages(&r, &c, &projects, &bins, stats, err) < 0)
    goto out;
  stats->already = r.project_index;
  if (!r.project_index) {
    const char *m = pl_projindex_marker_content();
    char sha[PL_SHA256_HEX];
    uint32_t key = bin_key(&r, PL_PROJINDEX_MARKER, err);
    if (key == UINT32_MAX || pl_sha256_hex(m, strlen(m), sha, err) < 0 ||
        put_page_file(&r, &c, "", "index-layout.json", m, strlen(m), sha, err) < 0 ||
        spill_put(&bins, key, err, "%08" PRIx32 "\tT\t%s\t%zu\t%s", key, PL_PROJINDEX_MARKER,
                  strlen(m), sha) < 0)
      goto out;
  }
  if (r.project_index && stats->pages_written == 0 && stats->pages_removed == 0) {
    ret = 0; /* every page is current: nothing to sign */
    goto out;
  }
  if (index_bins(&r, &bins, &stats->bins_signed, err) < 0) goto out;
  /* What was written in place must be on disk before the snapshot that
   * lists it is. */
  if (syncfs(r.targets) < 0 || syncfs(r.fd) < 0) {
    pl_fail(err, errno, "registry %s: sync", dir);
    goto out;
  }
  if (resign_tail(&r, &b, r.bin_bits == 0, err) == 0 && stage_batch(&r, &c, &b, err) == 0 &&
      change_publish(&c, err) == 0) {
    record_published(&r, &b);
    ret = 0;
  }
out:
  spill_free(&projects);
  spill_free(&bins);
  batch_free(&b);
  change_free(&c);
  reg_close(&r);
  return ret;
}

/* ---- withdraw: wheels out of the registry, signed ---- */

/* The wheels withdraw takes out, and the files to remove once it is
 * published. */
struct withdrawal {
  char **wheels;
  size_t n;
  char **files; /* in targets/: wheels and .metadata */
  size_t nfiles;
};

static void withdrawal_free(struct withdrawal *w) {
  for (size_t i = 0; i < w->n; i++)
    free(w->wheels[i]);
  for (size_t i = 0; i < w->nfiles; i++)
    free(w->files[i]);
  free(w->wheels);
  free(w->files);
}

static int push_name(char ***list, size_t *n, const char *name, pl_error_t *err) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*list)[i], name) == 0) return 0;
  char **nl = reallocarray(*list, *n + 1, sizeof *nl);
  if (nl == NULL) return pl_fail(err, ENOMEM, "withdraw");
  *list = nl;
  if ((nl[*n] = strdup(name)) == NULL) return pl_fail(err, ENOMEM, "withdraw");
  ++*n;
  return 0;
}

/* Does wheel target `name` belong to release project==version (a
 * normalized project, a parsed version)? */
static bool wheel_of(const char *name, const char *project, const struct pl_version *version) {
  size_t nl = strlen(name);
  if (nl < 5 || strcmp(name + nl - 4, ".whl") != 0 || strchr(name, '/')) return false;
  struct pl_wheel_filename fn;
  pl_error_t e = NULL;
  if (pl_wheel_filename_parse(name, &fn, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  char norm[PL_DISTNAME_MAX + 1];
  struct pl_version v;
  bool match = pl_distname_normalize(fn.name, strlen(fn.name), norm, sizeof norm) >= 0 &&
               strcmp(norm, project) == 0 &&
               pl_version_parse(fn.version, strlen(fn.version), &v) == 0 &&
               pl_version_cmp(&v, version) == 0;
  pl_wheel_filename_free(&fn);
  return match;
}

/* NAME==VERSION: every wheel of that release, from every targets role. */
static int find_release(struct reg *r, const char *spec, struct withdrawal *w, pl_error_t *err) {
  const char *eq = strstr(spec, "==");
  char project[PL_DISTNAME_MAX + 1];
  struct pl_version version;
  if (pl_distname_normalize(spec, (size_t)(eq - spec), project, sizeof project) < 0 ||
      pl_version_parse(eq + 2, strlen(eq + 2), &version) < 0)
    return pl_fail(err, EINVAL, "'%s': not NAME==VERSION nor a wheel file name", spec);
  size_t before = w->n;
  uint32_t nroles = r->bin_bits ? (uint32_t)1 << r->bin_bits : 1;
  for (uint32_t i = 0; i < nroles; i++) {
    json_t *body = r->body[PL_TUF_TARGETS];
    if (r->bin_bits && load_bin(r, i, &body, err) < 0) return -1;
    json_t *tg = json_object_get(body, "targets");
    for (void *it = json_object_iter(tg); it; it = json_object_iter_next(tg, it))
      if (wheel_of(json_object_iter_key(it), project, &version) &&
          push_name(&w->wheels, &w->n, json_object_iter_key(it), err) < 0)
        return -1;
  }
  if (w->n == before)
    return pl_fail(err, ENOENT, "registry %s: no wheel of %s %s is published", r->dir, project,
                   eq + 2);
  return 0;
}

/* Each spec, a wheel file name (or a path to one) or NAME==VERSION, as the
 * published wheels it names. */
static int find_wheels(struct reg *r, const char *const *specs, size_t n, struct withdrawal *w,
                       pl_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    const char *slash = strrchr(specs[i], '/');
    const char *base = slash ? slash + 1 : specs[i];
    size_t bl = strlen(base);
    if (strstr(specs[i], "==") && !(bl > 4 && strcmp(base + bl - 4, ".whl") == 0)) {
      if (find_release(r, specs[i], w, err) < 0) return -1;
      continue;
    }
    const char *sha;
    bool exists;
    if (check_wheel_name(base, err) < 0 || published_sha(r, base, &sha, &exists, err) < 0)
      return -1;
    if (!exists)
      return pl_fail_hint(err, ENOENT, "withdraw takes WHEEL file names or NAME==VERSION",
                          "registry %s: %s is not published", r->dir, base);
    if (push_name(&w->wheels, &w->n, base, err) < 0) return -1;
  }
  return 0;
}

/* Delist target name (published, or absent for a .metadata) from its
 * role; its file joins those removed after the publication. */
static int delist(struct reg *r, struct withdrawal *w, const char *name, pl_error_t *err) {
  json_t *tg;
  if (targets_for(r, name, true, &tg, err) < 0) return -1;
  json_t *list = json_object_get(tg, "targets");
  json_t *e = json_object_get(list, name);
  if (e == NULL) return 0;
  const char *sha = json_string_value(json_object_get(json_object_get(e, "hashes"), "sha256"));
  char file[PATH_MAX];
  target_file(r, name, sha ? sha : "", file, sizeof file);
  if (sha && !strchr(file, '/') && push_name(&w->files, &w->nfiles, file, err) < 0) return -1;
  char role[PL_TUF_ROLE_NAME_MAX + 8] = "targets.json", bin[PL_TUF_ROLE_NAME_MAX + 1];
  if (r->bin_bits) {
    bin_name(r, pl_tuf_succinct_bin(name, r->bin_bits, err), bin, sizeof bin);
    snprintf(role, sizeof role, "%s.json", bin);
  }
  said(r, role, PL_REGISTRY_EDIT_WITHDRAWN, name);
  json_object_del(list, name);
  return 0;
}

/* The page of each project a withdrawn wheel was of, without it; a page
 * left without files is withdrawn too. */
static int withdraw_from_pages(struct reg *r, struct change *c, const struct withdrawal *w,
                               pl_error_t *err) {
  for (size_t i = 0; r->project_index && i < w->n; i++) {
    char project[PL_DISTNAME_MAX + 1], other[PL_DISTNAME_MAX + 1], target[PL_PROJINDEX_TARGET_MAX];
    if (project_of(w->wheels[i], project, sizeof project, err) < 0) return -1;
    bool done = false;
    for (size_t j = 0; j < i && !done; j++)
      done = project_of(w->wheels[j], other, sizeof other, err) == 0 && strcmp(other, project) == 0;
    if (done) continue;
    int dfd = -1;
    const char *dirname = NULL;
    struct pl_projindex ix;
    if (open_project_page(r, project, target, &dfd, &dirname, &ix, err) < 0) return -1;
    for (size_t j = i; j < w->n; j++)
      if (project_of(w->wheels[j], other, sizeof other, err) == 0 && strcmp(other, project) == 0)
        pl_projindex_remove(&ix, w->wheels[j]);
    cleanup_free char *page = NULL;
    size_t len = 0;
    int ret = 0;
    json_t *tg;
    if (ix.n == 0)
      ret = targets_for(r, target, true, &tg, err) < 0
                ? -1
                : (json_object_del(json_object_get(tg, "targets"), target), 0);
    else if ((ret = pl_projindex_render(&ix, r->consistent, &page, &len, err)) == 0)
      ret = stage_index_target(r, c, dfd, dirname, target, page, len, err);
    pl_projindex_free(&ix);
    if (ret < 0) return -1;
  }
  return 0;
}

int pl_registry_withdraw(const char *dir, const struct pl_registry_opts *o,
                         const char *const *specs, size_t nspecs, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  struct reg r;
  struct change c = {0};
  struct batch b = {0};
  struct withdrawal w = {0};
  int ret = -1;
  if (reg_open(&r, dir, o, false, err) < 0) goto out;
  if (r.targets < 0) {
    pl_fail(err, ENOENT, "registry %s has no targets directory", dir);
    goto out;
  }
  if (check_can_sign(&r, err) < 0 || find_wheels(&r, specs, nspecs, &w, err) < 0 ||
      withdraw_from_pages(&r, &c, &w, err) < 0)
    goto out;
  for (size_t i = 0; i < w.n; i++) {
    char md[NAME_MAX + 1];
    snprintf(md, sizeof md, "%s.metadata", w.wheels[i]);
    if (delist(&r, &w, w.wheels[i], err) < 0 || delist(&r, &w, md, err) < 0) goto out;
  }
  if (resign_tail(&r, &b, r.bin_bits == 0, err) < 0 || stage_batch(&r, &c, &b, err) < 0 ||
      change_publish(&c, err) < 0)
    goto out;
  record_published(&r, &b);
  /* Delisted and signed: the files go (a client already holding the old
   * metadata fails to fetch them, as it would be refused them). */
  for (size_t i = 0; i < w.nfiles; i++)
    if (unlinkat(r.targets, w.files[i], 0) < 0 && errno != ENOENT)
      pl_log(PL_LOG_VERBOSE, "registry %s: remove targets/%s: %s", dir, w.files[i],
             strerror(errno));
  ret = 0;
out:
  withdrawal_free(&w);
  batch_free(&b);
  change_free(&c);
  reg_close(&r);
  return ret;
}
