/* pylock — locating shims and the programs they stand for; see shim.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

bool pl_shim_name(const char *name, bool *is_pip) {
  const char *rest;
  if (strncmp(name, "python", 6) == 0) {
    *is_pip = false;
    rest = name + 6;
  } else if (strncmp(name, "pip", 3) == 0) {
    *is_pip = true;
    rest = name + 3;
  } else {
    return false;
  }
  if (*rest == '\0') return true; /* python, pip */
  if (rest[0] != '3') return false;
  if (rest[1] == '\0') return true; /* python3, pip3 */
  if (rest[1] != '.' || rest[2] == '\0') return false;
  for (const char *p = rest + 2; *p; p++) /* python3.12, pip3.12 */
    if (*p < '0' || *p > '9') return false;
  return strlen(rest + 2) <= 3;
}

/* The first entry of a manifest named what a lookup wants, as it stands in
 * the text: copied out only once every line has been checked. */
struct manifest_hit {
  const char *real; /* NULL: none yet */
  size_t rlen;
  bool module_pip;
};

/* Walk a manifest's entries, checking every one.  With want NULL, each is
 * copied to out[n] (at most max); else the first one named want is noted
 * in *hit and nothing is copied, so that a lookup touches one entry, not
 * max of them: each is a page of memory, and in a shim's start-up each
 * page is a fault.  Returns the number of entries, or -1 when a line is
 * malformed or there are more than max. */
static int manifest_walk(const char *text, size_t size, const char *want, struct pl_shim_entry *out,
                         int max, struct manifest_hit *hit) {
  /* A NUL would end the text for C strings while lines follow it: a
   * manifest pylock wrote has none. */
  if (memchr(text, '\0', size)) return -1;
  int n = 0;
  const char *p = text, *end = text + size;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    size_t len = (size_t)(eol - p);
    if (len > 0 && p[0] != '#') {
      const char *tab = memchr(p, '\t', len);
      if (tab == NULL || n >= max) return -1;
      size_t nlen = (size_t)(tab - p);
      const char *real = tab + 1;
      const char *tab2 = memchr(real, '\t', (size_t)(eol - real));
      size_t rlen = (size_t)((tab2 ? tab2 : eol) - real);
      char name[sizeof out->name];
      bool is_pip;
      if (nlen == 0 || nlen >= sizeof name || rlen == 0 || rlen >= sizeof out->real ||
          real[0] != '/')
        return -1;
      memcpy(name, p, nlen);
      name[nlen] = '\0';
      bool module_pip = tab2 && (size_t)(eol - tab2 - 1) == 6 && memcmp(tab2 + 1, "-m pip", 6) == 0;
      if (tab2 && !module_pip) return -1;
      if (!pl_shim_name(name, &is_pip) || strchr(name, '/')) return -1;
      if (want == NULL) {
        memcpy(out[n].name, name, nlen + 1);
        memcpy(out[n].real, real, rlen);
        out[n].real[rlen] = '\0';
        out[n].module_pip = module_pip;
      } else if (hit->real == NULL && strcmp(name, want) == 0) {
        *hit = (struct manifest_hit){real, rlen, module_pip};
      }
      n++;
    }
    p = eol < end ? eol + 1 : end;
  }
  return n;
}

int pl_shim_manifest_parse(const char *text, size_t size, struct pl_shim_entry *out, int max) {
  return manifest_walk(text, size, NULL, out, max, NULL);
}

int pl_shim_manifest_find(const char *text, size_t size, const char *name,
                          struct pl_shim_entry *entry) {
  struct manifest_hit hit = {0};
  if (manifest_walk(text, size, name, NULL, PL_SHIM_MAX, &hit) < 0) return -1;
  if (hit.real == NULL) return 1;
  /* name is the entry's, checked: shorter than entry->name. */
  memcpy(entry->name, name, strlen(name) + 1);
  memcpy(entry->real, hit.real, hit.rlen);
  entry->real[hit.rlen] = '\0';
  entry->module_pip = hit.module_pip;
  return 0;
}

char *pl_shim_manifest_format(const struct pl_shim_entry *e, int n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL) return NULL;
  fputs("# pylock shims: made by pylock shim install; do not edit\n", f);
  for (int i = 0; i < n; i++)
    fprintf(f, "%s\t%s%s\n", e[i].name, e[i].real, e[i].module_pip ? "\t-m pip" : "");
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

int pl_self_identity(dev_t *dev, ino_t *ino) {
  static dev_t sdev;
  static ino_t sino;
  static bool known;
  if (!known) {
    struct stat st;
    if (stat("/proc/self/exe", &st) < 0) return -1;
    sdev = st.st_dev;
    sino = st.st_ino;
    known = true;
  }
  *dev = sdev;
  *ino = sino;
  return 0;
}

/* The installed layout: PREFIX/bin/{pylock,pylock-shim} and the full program
 * PREFIX/lib/pylock/pylock (see the Makefile).  dir: where this program is. */
#define FULL_DIR "/lib/pylock"

int pl_program_path(enum pl_program which, char *out, size_t cap) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self);
  if (n <= 0 || (size_t)n >= sizeof self) {
    if (n > 0) errno = ENAMETOOLONG;
    return -1;
  }
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash == NULL) return errno = ENOENT, -1;
  *slash = '\0'; /* self: this program's directory */
  /* The full program's directory is PREFIX/lib/pylock, a front end's
   * PREFIX/bin (or whatever directory holds it): PREFIX is one up. */
  size_t dlen = (size_t)(slash - self), flen = strlen(FULL_DIR);
  bool in_full = dlen >= flen && strcmp(self + dlen - flen, FULL_DIR) == 0;
  if (in_full) self[dlen - flen] = '\0';
  const char *tail;
  if (which == PL_PROGRAM_FULL)
    tail = in_full ? FULL_DIR "/pylock" : "/.." FULL_DIR "/pylock";
  else if (which == PL_PROGRAM_CMD)
    tail = in_full ? "/bin/pylock" : "/pylock";
  else
    tail = in_full ? "/bin/pylock-shim" : "/pylock-shim";
  int w = snprintf(out, cap, "%s%s", self, tail);
  if (w < 0 || (size_t)w >= cap) return errno = ENAMETOOLONG, -1;
  return 0;
}

/* In a user namespace (a sandbox), an owner that has no uid in it (root,
 * outside) shows as the kernel's overflow uid: is `uid` that, here? */
static bool unmapped_owner(uid_t uid) {
  char buf[64];
  /* The kernel's default (65534) where the sysctl cannot be read: a
   * container's, or a tmpfs over /proc/sys/kernel. */
  unsigned long overflow = 65534;
  cleanup_close int fd = open("/proc/sys/kernel/overflowuid", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    overflow = strtoul(buf, NULL, 10);
  }
  if (overflow != uid) return false;
  /* The initial user namespace maps every uid: the overflow uid is then a
   * user of its own (nobody), who may not have put pylock there. */
  cleanup_close int mfd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  n = mfd < 0 ? -1 : read(mfd, buf, sizeof buf - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  unsigned long inside, outside, count;
  return sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) == 3 && count != 4294967295UL;
}

/* Is the directory holding `path` (absolute, real) writable by its owner
 * alone, so that only its owner can have made `path` there? */
static bool parent_closed(const char *path) {
  char dir[PATH_MAX];
  struct stat st;
  const char *slash = strrchr(path, '/');
  if (slash == NULL || (size_t)(slash - path) >= sizeof dir) return false;
  size_t len = slash == path ? 1 : (size_t)(slash - path);
  memcpy(dir, path, len);
  dir[len] = '\0';
  return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

int pl_program_safe(const char *path, char *culprit, size_t cap) {
  /* The full program is found one directory above a front end's own
   * (DIR/../lib/pylock): a front end copied into /tmp/x/bin would run
   * whatever another user put in /tmp/x/../lib.  Each directory on its real
   * path, and the file, must be owned by root, the caller or the front
   * end's own owner (a Homebrew prefix), and not writable by every user (a
   * sticky directory excepted: nobody else can rename what is not theirs in
   * it).  A group's write is accepted: /usr/local is root:staff 2775 on
   * Debian, and the front end's directory is as much the group's.  In a
   * sandbox, root's files show as the overflow uid: accepted there, but so
   * does every other user's, so only where no one but the parent's owner
   * could have made it: in a parent writable by nobody else (not /tmp, not
   * a group's), itself checked next. */
  char real[PATH_MAX];
  struct stat st;
  if (realpath(path, real) == NULL || stat("/proc/self/exe", &st) < 0) return -1;
  uid_t me = getuid(), front = st.st_uid;
  /* A front end shown as the overflow uid is root's or anyone's: its owner
   * vouches for nothing more than the overflow uid itself does (below). */
  bool front_known = !unmapped_owner(front);
  for (size_t len = strlen(real);;) {
    if (lstat(real, &st) < 0) return -1;
    bool anyone = (st.st_mode & S_IWOTH) && !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX));
    bool owner = st.st_uid == 0 || st.st_uid == me || (front_known && st.st_uid == front);
    if (!owner && !anyone && unmapped_owner(st.st_uid)) owner = parent_closed(real);
    if (!owner || anyone) {
      snprintf(culprit, cap, "%s", real);
      return errno = EPERM, -1;
    }
    if (len == 1) return 0;
    char *slash = strrchr(real, '/');
    len = slash == real ? 1 : (size_t)(slash - real);
    real[len] = '\0';
  }
}

/* dev/ino of pylock's program `which`, cached; -1 if there is none. */
static int program_identity(enum pl_program which, dev_t *dev, ino_t *ino) {
  static struct {
    dev_t dev;
    ino_t ino;
    signed char state; /* 0 unknown, 1 known, -1 none */
  } cache[PL_PROGRAM_SHIM + 1];
  if (cache[which].state == 0) {
    char path[PATH_MAX];
    struct stat st;
    cache[which].state = -1;
    if (pl_program_path(which, path, sizeof path) == 0 && stat(path, &st) == 0) {
      cache[which].dev = st.st_dev;
      cache[which].ino = st.st_ino;
      cache[which].state = 1;
    }
  }
  *dev = cache[which].dev;
  *ino = cache[which].ino;
  return cache[which].state > 0 ? 0 : -1;
}

bool pl_shim_is_pylock(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return false;
  dev_t dev;
  ino_t ino;
  if (pl_self_identity(&dev, &ino) == 0 && st.st_dev == dev && st.st_ino == ino) return true;
  for (int which = PL_PROGRAM_FULL; which <= PL_PROGRAM_SHIM; which++)
    if (program_identity(which, &dev, &ino) == 0 && st.st_dev == dev && st.st_ino == ino)
      return true;
  return false;
}

bool pl_shim_dir_trusted(const struct stat *dir, uid_t me) {
  return (dir->st_uid == me || dir->st_uid == 0) && !(dir->st_mode & (S_IWGRP | S_IWOTH));
}

enum pl_shim_trust pl_shim_manifest_trust(const struct stat *dir, const struct stat *file,
                                          uid_t me) {
  if (!pl_shim_dir_trusted(dir, me)) return PL_SHIM_BAD_DIR;
  if (!S_ISREG(file->st_mode) || (file->st_uid != me && file->st_uid != 0) ||
      (file->st_mode & (S_IWGRP | S_IWOTH)))
    return PL_SHIM_BAD_FILE;
  return PL_SHIM_TRUSTED;
}

/* Fill *why for the manifest of dir (or dir itself) and return -1. */
static int refuse(struct pl_shim_refusal *why, const char *dir, bool is_dir, int errnum,
                  const struct stat *st) {
  int w = snprintf(why->path, sizeof why->path, "%s%s%s", dir, is_dir ? "" : "/",
                   is_dir ? "" : PL_SHIM_MANIFEST);
  if (w < 0 || (size_t)w >= sizeof why->path) snprintf(why->path, sizeof why->path, "%s", dir);
  why->is_dir = is_dir;
  why->is_link = st && S_ISLNK(st->st_mode);
  why->errnum = errnum;
  if (st) why->st = *st;
  return -1;
}

/* Does dir/.pylock-shims list `name`: 0 (*entry filled), 1 when there is
 * no manifest or it does not, -1 when there is one that cannot be trusted
 * (*why).  The manifest names what runs as whoever uses the shim, so it
 * must be beyond every other user's reach (shim.h); it is judged by the
 * descriptors it is read through, one fstat each, so that nothing can be
 * swapped between the check and the read.  O_NONBLOCK and O_NOCTTY: a
 * FIFO or a terminal planted under the name must not hang or adopt us
 * before it is refused. */
static int manifest_entry(const char *dir, const char *name, struct pl_shim_entry *entry,
                          struct pl_shim_refusal *why) {
  char text[PL_SHIM_MANIFEST_MAX + 1]; /* not a C string: its length is read's */
  /* openat, not open: musl's open adds an fcntl for O_CLOEXEC. */
  cleanup_close int dfd = openat(AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 1; /* no directory to hold one */
  cleanup_close int fd =
      openat(dfd, PL_SHIM_MANIFEST, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  struct stat dst, fst;
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return 1;
    if (e == ELOOP && fstatat(dfd, PL_SHIM_MANIFEST, &fst, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(fst.st_mode))
      return refuse(why, dir, false, 0, &fst);
    return refuse(why, dir, false, e, NULL);
  }
  if (fstat(dfd, &dst) < 0) return refuse(why, dir, true, errno, NULL);
  if (fstat(fd, &fst) < 0) return refuse(why, dir, false, errno, NULL);
  switch (pl_shim_manifest_trust(&dst, &fst, getuid())) {
  case PL_SHIM_BAD_DIR: return refuse(why, dir, true, 0, &dst);
  case PL_SHIM_BAD_FILE: return refuse(why, dir, false, 0, &fst);
  case PL_SHIM_TRUSTED: break;
  }
  /* One byte more than a manifest may hold: a longer one, cut where the
   * read ends, could end in a line naming a prefix of its real path.  It
   * is not one pylock wrote: it claims nothing, like a malformed one. */
  ssize_t n = read(fd, text, PL_SHIM_MANIFEST_MAX + 1);
  if (n < 0) return refuse(why, dir, false, errno, NULL);
  if (n > PL_SHIM_MANIFEST_MAX) return 1;
  return pl_shim_manifest_find(text, (size_t)n, name, entry) == 0 ? 0 : 1;
}

int pl_shim_locate(const char *argv0, const char *name, char *dir, size_t cap,
                   struct pl_shim_entry *entry, struct pl_shim_refusal *why) {
  char cur[PATH_MAX];
  if (strchr(argv0, '/') == NULL) {
    /* Run by name: the shell took the first PATH entry holding it. */
    const char *path = getenv("PATH");
    if (path == NULL) return 1;
    const char *p = path;
    cur[0] = '\0';
    while (*p) {
      const char *end = strchrnul(p, ':');
      int w = snprintf(cur, sizeof cur, "%.*s/%s", (int)(end - p), p, name);
      if (end > p && w > 0 && (size_t)w < sizeof cur && pl_shim_is_pylock(cur)) break;
      cur[0] = '\0';
      p = *end ? end + 1 : end;
    }
    if (cur[0] == '\0') return 1;
  } else if (snprintf(cur, sizeof cur, "%s", argv0) >= (int)sizeof cur) {
    return 1;
  }
  /* Follow symlinks (a shim may be linked from elsewhere) until a directory
   * whose manifest lists the link's own name; one that cannot be trusted
   * on the way ends the search: nothing runs. */
  for (int hops = 0; hops < 16; hops++) {
    char *slash = strrchr(cur, '/');
    const char *base = slash ? slash + 1 : cur;
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%.*s", slash ? (int)(slash - cur) : 1, slash ? cur : ".");
    if (d[0] == '\0') snprintf(d, sizeof d, "/");
    int r = manifest_entry(d, base, entry, why);
    if (r <= 0) {
      if (r == 0 && snprintf(dir, cap, "%s", d) >= (int)cap) return 1;
      return r;
    }
    char target[PATH_MAX];
    ssize_t n = readlink(cur, target, sizeof target - 1);
    if (n <= 0) return 1;
    target[n] = '\0';
    if (target[0] == '/')
      snprintf(cur, sizeof cur, "%s", target);
    else if (snprintf(cur, sizeof cur, "%s/%s", d, target) >= (int)sizeof cur)
      return 1;
  }
  return 1;
}

int pl_shim_find_real(const char *name, const char *skip_dir, char *out, size_t cap) {
  const char *path = getenv("PATH");
  if (path == NULL || *path == '\0') path = "/usr/local/bin:/usr/bin:/bin";
  char skip[PATH_MAX] = "";
  if (skip_dir && realpath(skip_dir, skip) == NULL) skip[0] = '\0';
  const char *p = path;
  while (*p) {
    const char *end = strchrnul(p, ':');
    char cand[PATH_MAX], dirreal[PATH_MAX];
    int w = snprintf(cand, sizeof cand, "%.*s/%s", (int)(end - p), p, name);
    p = *end ? end + 1 : end;
    if (w <= 0 || (size_t)w >= sizeof cand || cand[0] != '/') continue;
    if (access(cand, X_OK) < 0 || pl_shim_is_pylock(cand)) continue;
    char dirpart[PATH_MAX];
    snprintf(dirpart, sizeof dirpart, "%s", cand);
    *strrchr(dirpart, '/') = '\0';
    if (skip[0] && realpath(dirpart[0] ? dirpart : "/", dirreal) && strcmp(dirreal, skip) == 0)
      continue;
    if (snprintf(out, cap, "%s", cand) >= (int)cap) return -1;
    return 0;
  }
  return -1;
}

/* `real -m pip ARGS` as pip's own script runs it: without the working
 * directory first on sys.path.  `python -m` puts it there, so a pip/ in the
 * directory pip is run from (/tmp, ~/.cache: code in any sandbox writes
 * there) would be imported as pip, outside every sandbox; pip's script
 * (/usr/bin/pip) has its own directory there instead.  pip's __main__ then
 * runs as -m runs it (runpy, sys.argv[0] its file). */
static const char pip_main[] = "import runpy, sys\n"
                               "if sys.path and sys.path[0] == '':\n"
                               "    del sys.path[0]\n"
                               "runpy.run_module('pip', run_name='__main__', alter_sys=True)\n";

void pl_shim_exec_real(const struct pl_shim_entry *e, char **argv) {
  if (!e->module_pip) {
    argv[0] = (char *)e->real;
    execv(e->real, argv);
    return;
  }
  int argc = 0;
  while (argv[argc])
    argc++;
  char **nargv = calloc((size_t)argc + 3, sizeof *nargv);
  if (nargv == NULL) return; /* errno ENOMEM */
  nargv[0] = (char *)e->real;
  nargv[1] = "-c";
  nargv[2] = (char *)pip_main;
  for (int i = 1; i < argc; i++)
    nargv[i + 2] = argv[i];
  execv(e->real, nargv);
  int err = errno;
  free(nargv);
  errno = err;
}
