/* pylock — installing a wheel into a tree, as pip does; see install.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive_path.h"
#include "child.h"
#include "cleanup.h"
#include "digest.h"
#include "distname.h"
#include "file.h"
#include "manifest.h"
#include "record.h"
#include "wheel.h"

#define SCRIPT_MAX (64u << 20)         /* a .data/scripts file whose shebang is rewritten */
#define COMPILE_OUTPUT_MAX 16384       /* of the compiler's complaints, kept for the error */
#define COMPILE_JOBS ".pylock-compile" /* the compiler's list of files, while it runs */
#define COMPILE_OUT ".pylock-pyc"      /* where the compiler writes, while it runs */

/* One file of the wheel and where it went. */
struct placed {
  const struct pl_record_entry *row; /* its row in the wheel's RECORD */
  char *dest;                        /* relative to the prefix (the tree's root) */
  bool script;                       /* from .data/scripts */
  bool skip;                         /* removed again: an entry-point wrapper, INSTALLER */
  bool changed;                      /* shebang rewritten: digest and size below */
  bool wrapper;                      /* a launcher pylock wrote (from a source tree) */
  unsigned char digest[PL_HASH_MAX];
  size_t digest_len;
  uint64_t size;
};

struct pl_install {
  int tree_fd;
  const struct pl_interp *in;
  const char *purelib, *platlib, *scripts, *data; /* relative to the prefix */
  char *headers;                                  /* <include>/<project name> */
  const char *lib;                                /* purelib or platlib: where RECORD paths start */
  char *dist_info, *data_dir, *record_path, *entry_points_path, *installer_path;
  struct placed *p;
  size_t n, cap;
  int fd; /* the member being written */
  bool in_entry_points;
  char *ep_buf;
  size_t ep_len;
  char *dir_path; /* the last directory opened, and its fd */
  int dir_fd;
  char *tree_path;           /* absolute: where the compiler finds the files */
  char *wheel;               /* its file name, for errors */
  struct pl_wheel_info info; /* the wheel's RECORD, which p[].row points into */
  bool compiled;             /* the byte-code compiler ran over the tree */
  struct pl_record out;      /* rows of the installed RECORD */
  size_t out_cap;
  uint64_t pyc;
  int base_fd;       /* the base interpreter's prefix */
  char *base_dir;    /* the last directory found to be a directory in the base (or absent) */
  char *base_absent; /* a directory the base lacks: nothing below it is looked up */
  bool is_pip;       /* the distribution named pip (pl_wheel_reserved_script) */
};

static void install_free(struct pl_install *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->p[i].dest);
  free(s->p);
  free(s->headers);
  free(s->dist_info);
  free(s->data_dir);
  free(s->record_path);
  free(s->entry_points_path);
  free(s->installer_path);
  free(s->ep_buf);
  free(s->dir_path);
  free(s->tree_path);
  free(s->wheel);
  pl_wheel_info_free(&s->info);
  free(s->base_dir);
  free(s->base_absent);
  if (s->base_fd >= 0) close(s->base_fd);
  if (s->fd >= 0) close(s->fd);
  if (s->dir_fd >= 0) close(s->dir_fd);
  pl_record_free(&s->out);
}

/* Close what reopens on demand: the last directory, the base's prefix. */
static void close_dirs(struct pl_install *s) {
  if (s->dir_fd >= 0) close(s->dir_fd);
  if (s->base_fd >= 0) close(s->base_fd);
  free(s->dir_path);
  s->dir_path = NULL;
  s->dir_fd = s->base_fd = -1;
}

static const char *q(char *buf, const char *s) {
  return pl_path_quote(buf, PL_QUOTE_CAP, s, strlen(s));
}

static char *join(const char *base, const char *rest) {
  char *s = NULL;
  if (asprintf(&s, "%s%s%s", base, base[0] ? "/" : "", rest) < 0) return NULL;
  return s;
}

/* `dest` relative to `lib` (both relative to the prefix), as pip's
 * os.path.relpath: "../../../bin/x" for a script. */
static char *relative_to(const char *lib, const char *dest) {
  /* Skip the whole components both share. */
  size_t c = 0;
  for (size_t i = 0;; i++) {
    bool lend = lib[i] == '\0' || lib[i] == '/', dend = dest[i] == '\0' || dest[i] == '/';
    if (lend && dend) {
      c = i;
      if (lib[i] == '\0' || dest[i] == '\0') break;
    } else if (lib[i] != dest[i]) {
      break;
    }
  }
  const char *l = lib + c, *d = dest + c;
  if (*l == '/') l++;
  if (*d == '/') d++;
  if (c == 0) l = lib, d = dest;
  size_t up = 0;
  if (*l) {
    up = 1;
    for (const char *k = l; *k; k++)
      up += *k == '/';
  }
  size_t dl = strlen(d);
  char *s = malloc(up * 3 + dl + 1);
  if (s == NULL) return NULL;
  char *o = s;
  for (size_t k = 0; k < up; k++, o += 3)
    memcpy(o, "../", 3);
  memcpy(o, d, dl + 1);
  if (dl == 0 && o > s) o[-1] = '\0'; /* dest is an ancestor of lib */
  return s;
}

/* Open (creating as needed) directory `rel` of the tree, one component at a
 * time without following links; the last one opened is kept. */
static int tree_dir(struct pl_install *s, const char *rel, pl_error_t *err) {
  if (s->dir_path && strcmp(s->dir_path, rel) == 0) return s->dir_fd;
  if (s->dir_fd >= 0) close(s->dir_fd);
  free(s->dir_path);
  s->dir_path = NULL;
  s->dir_fd = -1;
  if (rel[0] && pl_mkdir_p_at(s->tree_fd, rel, 0755, err) < 0) return -1;
  int fd = pl_open_dir_beneath(s->tree_fd, rel, err);
  if (fd < 0) return -1;
  s->dir_path = strdup(rel);
  if (s->dir_path == NULL) {
    close(fd);
    return pl_fail(err, ENOMEM, "open %s", rel);
  }
  s->dir_fd = fd;
  return fd;
}

/* Split dest into its directory (in buf) and base name. */
static const char *split(const char *dest, char *buf, size_t cap) {
  const char *slash = strrchr(dest, '/');
  size_t n = slash ? (size_t)(slash - dest) : 0;
  if (n >= cap) n = cap - 1;
  memcpy(buf, dest, n);
  buf[n] = '\0';
  return slash ? slash + 1 : dest;
}

/* Create dest (a new file: a name already there is a conflict unless
 * `replace`), read-only, executable or not. */
static int create_file(struct pl_install *s, const char *dest, bool executable, bool replace,
                       pl_error_t *err) {
  char qb[PL_QUOTE_CAP], dir[PL_PATH_MAX + 1];
  const char *base = split(dest, dir, sizeof dir);
  int dfd = tree_dir(s, dir, err);
  if (dfd < 0) return -1;
  if (replace && unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
    return pl_fail(err, errno, "replace %s", q(qb, dest));
  mode_t mode = executable ? 0555 : 0444;
  int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0 && errno == EEXIST)
    return pl_fail(err, EEXIST, "two files of the wheel install to %s", q(qb, dest));
  if (fd < 0) return pl_fail(err, errno, "create %s", q(qb, dest));
  if (fchmod(fd, mode) < 0) {
    int e = errno;
    close(fd);
    return pl_fail(err, e, "chmod %s", q(qb, dest));
  }
  return fd;
}

/* Every file of a tree gets one fixed time (the zip epoch, 1980-01-01 UTC),
 * not the time it was unpacked: the byte-code records its source's mtime,
 * so a tree built again from the same wheel (after damage) is the same
 * bytes, and the generations that fold into it (envgen.h) stay what their
 * manifests say. */
static int fix_time(int fd) {
  static const struct timespec t[2] = {{315532800, 0}, {315532800, 0}};
  return futimens(fd, t);
}

static int write_new(struct pl_install *s, const char *dest, const void *data, size_t len,
                     bool executable, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  int fd = create_file(s, dest, executable, true, err);
  if (fd < 0) return -1;
  int e = pl_write_all(fd, data, len) < 0 || fix_time(fd) < 0 ? errno : 0;
  if (close(fd) < 0 && e == 0) e = errno;
  if (e) return pl_fail(err, e, "write %s", q(qb, dest));
  return 0;
}

static int add_row(struct pl_install *s, const char *dest, enum pl_hash_algo algo,
                   const unsigned char *digest, size_t dlen, bool has_size, uint64_t size,
                   pl_error_t *err) {
  if (s->out.n == s->out_cap) {
    size_t ncap = s->out_cap ? s->out_cap * 2 : 256;
    struct pl_record_entry *v = realloc(s->out.entries, ncap * sizeof *v);
    if (v == NULL) return pl_fail(err, ENOMEM, "RECORD");
    s->out.entries = v;
    s->out_cap = ncap;
  }
  struct pl_record_entry *e = &s->out.entries[s->out.n];
  memset(e, 0, sizeof *e);
  e->path = relative_to(s->lib, dest);
  if (e->path == NULL) return pl_fail(err, ENOMEM, "RECORD");
  e->algo = algo;
  if (dlen) memcpy(e->digest, digest, dlen);
  e->digest_len = dlen;
  e->has_size = has_size;
  e->size = size;
  s->out.n++;
  return 0;
}

/* A generated file: written, and listed with its sha256. */
static int generate(struct pl_install *s, const char *dest, const void *data, size_t len,
                    bool executable, pl_error_t *err) {
  unsigned char d[PL_HASH_MAX];
  size_t dl;
  if (write_new(s, dest, data, len, executable, err) < 0 ||
      pl_digest_buffer(PL_HASH_SHA256, data, len, d, &dl, err) < 0)
    return -1;
  return add_row(s, dest, PL_HASH_SHA256, d, dl, true, len, err);
}

/* ---- the verifying stream's sink ----------------------------------------- */

static int check_destinations(struct pl_install *s, const struct pl_wheel_info *info,
                              pl_error_t *err);

static int on_prepare(void *ctx, const struct pl_wheel_info *info, pl_error_t *err) {
  struct pl_install *s = ctx;
  s->lib = info->wheel.root_is_purelib ? s->purelib : s->platlib;
  /* pip's headers path: <include>/<name>, the name as the wheel's filename
   * spells it with '_' back to '-' (pip's Wheel.name, for a wheel file). */
  cleanup_free char *name = strdup(info->filename.name);
  if (name == NULL) return pl_fail(err, ENOMEM, "install");
  for (char *c = name; *c; c++)
    if (*c == '_') *c = '-';
  const char *include = pl_interp_relative(s->in, s->in->include);
  s->headers = join(include ? include : "include", name);
  s->dist_info = strdup(info->dist_info);
  s->data_dir = info->data_dir ? strdup(info->data_dir) : NULL;
  if (s->headers == NULL || s->dist_info == NULL || (info->data_dir && s->data_dir == NULL) ||
      asprintf(&s->record_path, "%s/RECORD", info->dist_info) < 0 ||
      asprintf(&s->entry_points_path, "%s/entry_points.txt", info->dist_info) < 0 ||
      asprintf(&s->installer_path, "%s/INSTALLER", info->dist_info) < 0)
    return pl_fail(err, ENOMEM, "install");
  s->p = calloc(info->record.n ? info->record.n : 1, sizeof *s->p);
  if (s->p == NULL) return pl_fail(err, ENOMEM, "install");
  s->cap = info->record.n;
  s->is_pip = pl_distname_equal(info->name, strlen(info->name), "pip", 3);
  return check_destinations(s, info, err);
}

/* Where a member goes, relative to the prefix; NULL when out of memory. */
static char *destination(struct pl_install *s, const char *path, bool *script) {
  *script = false;
  size_t dl = s->data_dir ? strlen(s->data_dir) : 0;
  if (dl == 0 || strncmp(path, s->data_dir, dl) != 0 || path[dl] != '/') return join(s->lib, path);
  /* <name>.data/<scheme key>/<rest>; wheel.c accepted only known keys. */
  const char *key = path + dl + 1, *slash = strchr(key, '/');
  size_t kl = (size_t)(slash - key);
  const char *base = kl == 7 && !memcmp(key, "purelib", 7)   ? s->purelib
                     : kl == 7 && !memcmp(key, "platlib", 7) ? s->platlib
                     : kl == 7 && !memcmp(key, "headers", 7) ? s->headers
                     : kl == 7 && !memcmp(key, "scripts", 7) ? s->scripts
                                                             : s->data;
  *script = base == s->scripts;
  return join(base, slash + 1);
}

/* ---- the base interpreter's own files ------------------------------------ */

/* `path` is `dir` or below it. */
static bool under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  return n == 0 || (strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

static int shadows(struct pl_install *s, const char *what, const char *dest, const char *rel,
                   const struct stat *st, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], qc[PL_QUOTE_CAP], qd[PL_QUOTE_CAP];
  const char *kind = S_ISDIR(st->st_mode)   ? "directory"
                     : S_ISLNK(st->st_mode) ? "symbolic link"
                     : S_ISREG(st->st_mode) ? "file"
                                            : "special file";
  return pl_fail_hint(err, 0,
                      "a wheel may not shadow the base interpreter's files: use a base without "
                      "them, or a package that does not replace them",
                      "%s would install %s, which %s the base interpreter's %s %s/%s", what,
                      q(qb, dest), strcmp(dest, rel) == 0 ? "shadows" : "would hide", kind,
                      q(qc, s->in->prefix), q(qd, rel));
}

static int lookup_failed(struct pl_install *s, const char *rel, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], qc[PL_QUOTE_CAP];
  return pl_fail(err, errno, "cannot tell whether the base interpreter has %s/%s",
                 q(qb, s->in->prefix), q(qc, rel));
}

/* The tree becomes part of an environment's layer, which the overlay lays
 * over the base interpreter's prefix: whatever the base has at a path the
 * tree also has is hidden from every program of the environment.  A file
 * of the base (the interpreter, a module of its standard library, a package
 * or program it ships) would be replaced by the wheel's without a word, and
 * a directory of the tree over a base file or symlink (lib64/x over
 * lib64 -> lib) would hide it and all below it.  So each destination
 * (relative to the prefix; `what` names it for the error) is looked up in
 * the base before anything is written: one fstatat for the file, one for
 * each of its directories not seen before and none below a directory the
 * base lacks, never following a symlink at the end.  Anything at the file's
 * path, or anything but a directory at one of its directories, refuses the
 * wheel; so does a lookup that fails for another reason than absence. */
static int check_base(struct pl_install *s, const char *what, const char *dest, pl_error_t *err) {
  char dir[PL_PATH_MAX + 1];
  struct stat st;
  if (strlen(dest) > PL_PATH_MAX) return pl_fail(err, ENAMETOOLONG, "%s", what);
  split(dest, dir, sizeof dir);
  if (s->base_absent && under(dir, s->base_absent)) return 0;
  if (s->base_dir == NULL || strcmp(dir, s->base_dir) != 0) {
    for (size_t i = 0; dir[0]; i++) {
      char c = dir[i];
      if (c != '/' && c != '\0') continue;
      dir[i] = '\0';
      if (s->base_dir == NULL || !under(s->base_dir, dir)) {
        if (fstatat(s->base_fd, dir, &st, AT_SYMLINK_NOFOLLOW) < 0) {
          if (errno != ENOENT) return lookup_failed(s, dir, err);
          free(s->base_absent);
          s->base_absent = strdup(dir);
          return s->base_absent ? 0 : pl_fail(err, ENOMEM, "install");
        }
        if (!S_ISDIR(st.st_mode)) return shadows(s, what, dest, dir, &st, err);
      }
      dir[i] = c;
      if (c == '\0') break;
    }
    free(s->base_dir);
    if ((s->base_dir = strdup(dir)) == NULL) return pl_fail(err, ENOMEM, "install");
  }
  if (fstatat(s->base_fd, dest, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return shadows(s, what, dest, dest, &st, err);
  return errno == ENOENT ? 0 : lookup_failed(s, dest, err);
}

/* Every file of the wheel (RECORD lists them all) against the base, before
 * a byte is written. */
static int check_destinations(struct pl_install *s, const struct pl_wheel_info *info,
                              pl_error_t *err) {
  char qb[PL_QUOTE_CAP], what[PL_QUOTE_CAP + 16];
  for (size_t i = 0; i < info->record.n; i++) {
    const char *path = info->record.entries[i].path;
    bool script;
    cleanup_free char *dest = destination(s, path, &script);
    if (dest == NULL) return pl_fail(err, ENOMEM, "install");
    snprintf(what, sizeof what, "entry \"%s\"", q(qb, path));
    if (check_base(s, what, dest, err) < 0) return -1;
  }
  return 0;
}

static int on_begin(void *ctx, const struct pl_wheel_entry *e, pl_error_t *err) {
  struct pl_install *s = ctx;
  char qb[PL_QUOTE_CAP];
  /* Directories are made as files need them, as pip does: an empty
   * directory of the wheel is not installed. */
  if (e->is_dir || strcmp(e->path, s->record_path) == 0) return 0;
  if (s->n == s->cap) return pl_fail(err, EIO, "more files than RECORD rows");
  struct placed *p = &s->p[s->n];
  p->row = e->record;
  p->dest = destination(s, e->path, &p->script);
  if (p->dest == NULL) return pl_fail(err, ENOMEM, "install");
  s->n++;
  if (strcmp(p->dest, PL_TREE_MARKER) == 0 || strcmp(p->dest, PL_TREE_MANIFEST) == 0 ||
      strcmp(p->dest, COMPILE_JOBS) == 0 || under(p->dest, COMPILE_OUT))
    return pl_fail(err, 0, "entry \"%s\" would install to the prefix's %s, which pylock reserves",
                   q(qb, e->path), p->dest);
  s->fd = create_file(s, p->dest, e->executable, false, err);
  if (s->fd < 0) return pl_error_wrap(err, "entry \"%s\"", q(qb, e->path));
  s->in_entry_points = strcmp(e->path, s->entry_points_path) == 0;
  return 0;
}

static int on_data(void *ctx, const void *buf, size_t len, pl_error_t *err) {
  struct pl_install *s = ctx;
  if (s->fd < 0) return 0;
  if (pl_write_all(s->fd, buf, len) < 0) return pl_fail(err, errno, "write");
  if (s->in_entry_points) {
    if (len > PL_ENTRY_POINTS_MAX - s->ep_len)
      return pl_fail(err, EFBIG, "entry_points.txt is larger than %u bytes", PL_ENTRY_POINTS_MAX);
    char *nb = realloc(s->ep_buf, s->ep_len + len + 1);
    if (nb == NULL) return pl_fail(err, ENOMEM, "entry_points.txt");
    memcpy(nb + s->ep_len, buf, len);
    s->ep_buf = nb;
    s->ep_len += len;
    s->ep_buf[s->ep_len] = '\0';
  }
  return 0;
}

static int on_end(void *ctx, const struct pl_wheel_entry *e, pl_error_t *err) {
  struct pl_install *s = ctx;
  if (s->fd < 0) return 0;
  int fd = s->fd;
  s->fd = -1;
  s->in_entry_points = false;
  int r = fix_time(fd);
  if (close(fd) < 0 || r < 0) return pl_fail(err, errno, "write %s", e->path);
  return 0;
}

/* ---- entry points ---------------------------------------------------------- */

static bool word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c >= 0x80;
}

/* distlib's export entry: module(.sub)*:func(.attr)* [flags]; pip requires
 * the ":func" part.  Fills module and func (pointing into a copy). */
static int parse_callable(const char *name, const char *value, char **copy, const char **module,
                          const char **func, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], qc[PL_QUOTE_CAP];
  if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) goto bad_name;
  for (const char *c = name; *c; c++)
    if (!word_byte((unsigned char)*c) && *c != '-' && *c != '.' && *c != '+') goto bad_name;
  *copy = strdup(value);
  if (*copy == NULL) return pl_fail(err, ENOMEM, "entry points");
  char *v = *copy, *colon = NULL, *c = v;
  for (;;) {
    if (!word_byte((unsigned char)*c)) goto bad_value;
    while (word_byte((unsigned char)*c))
      c++;
    if (*c == ':' && colon == NULL) {
      colon = c++;
    } else if (*c == '.') {
      c++;
    } else {
      break;
    }
  }
  char *end = c;
  while (*c == ' ' || *c == '\t')
    c++;
  if (*c == '[') { /* extras: only gate whether the script is wanted; pip ignores them */
    char *close = strchr(c, ']');
    if (close == NULL) goto bad_value;
    c = close + 1;
    while (*c == ' ' || *c == '\t')
      c++;
  }
  if (*c != '\0') goto bad_value;
  if (colon == NULL)
    return pl_fail_hint(err, 0, "the wheel's author must name a function: module:function",
                        "entry point %s = %s: a callable suffix is required", q(qb, name),
                        q(qc, value));
  *end = '\0';
  *colon = '\0';
  *module = v;
  *func = colon + 1;
  return 0;
bad_name:
  return pl_fail(err, 0, "entry point name \"%s\" is not a script name", q(qb, name));
bad_value:
  return pl_fail(err, 0, "entry point %s = %s is not module:function", q(qb, name), q(qc, value));
}

char *pl_install_script_text(const char *python, const char *module, const char *func) {
  /* distlib's ScriptMaker._get_shebang and _build_shebang, POSIX: a path
   * with a space is quoted, and a long or spaced one goes through /bin/sh. */
  cleanup_free char *exe = NULL;
  if (strchr(python, ' ') && python[0] != '"') {
    if (strncmp(python, "/usr/bin/env ", 13) == 0) {
      const char *rest = python + 13;
      if (asprintf(&exe, strchr(rest, ' ') && rest[0] != '"' ? "/usr/bin/env \"%s\"" : "%s",
                   strchr(rest, ' ') && rest[0] != '"' ? rest : python) < 0)
        return NULL;
    } else if (asprintf(&exe, "\"%s\"", python) < 0) {
      return NULL;
    }
  } else if ((exe = strdup(python)) == NULL) {
    return NULL;
  }
  cleanup_free char *shebang = NULL;
  int r = strchr(exe, ' ') == NULL && strlen(exe) + 3 <= 127
              ? asprintf(&shebang, "#!%s\n", exe)
              : asprintf(&shebang, "#!/bin/sh\n'''exec' %s \"$0\" \"$@\"\n' '''\n", exe);
  if (r < 0) return NULL;
  size_t il = strcspn(func, ".");
  char *text = NULL;
  if (asprintf(&text,
               "%s# -*- coding: utf-8 -*-\n"
               "import re\n"
               "import sys\n"
               "from %s import %.*s\n"
               "if __name__ == '__main__':\n"
               "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
               "    sys.exit(%s())\n",
               shebang, module, (int)il, func, func) < 0)
    return NULL;
  return text;
}

/* pip's get_console_script_specs: pip and easy_install get wrappers named
 * for the interpreter installing them, whatever versions the wheel names. */
static bool versioned_alias(const char *name, const char *base, char sep) {
  size_t bl = strlen(base);
  if (strncmp(name, base, bl) != 0) return false;
  const char *c = name + bl;
  if (*c == '\0') return true;
  if (sep == '-' && *c++ != '-') return false;
  const char *d = c;
  while (*c >= '0' && *c <= '9')
    c++;
  if (c == d) return false;
  if (*c == '\0') return sep != '-';
  if (*c++ != '.') return false;
  d = c;
  while (*c >= '0' && *c <= '9')
    c++;
  return c > d && *c == '\0';
}

static int make_script(struct pl_install *s, const char *name, const char *value, pl_error_t *err) {
  cleanup_free char *copy = NULL, *text = NULL, *dest = NULL;
  const char *module = NULL, *func = NULL;
  if (parse_callable(name, value, &copy, &module, &func, err) < 0) return -1;
  text = pl_install_script_text(s->in->python, module, func);
  dest = join(s->scripts, name);
  if (text == NULL || dest == NULL) return pl_fail(err, ENOMEM, "scripts");
  /* wheel.c refused these names from the entry points it read; this is the
   * installer's own reading, and the pip aliases it derives. */
  char qb[PL_QUOTE_CAP], what[PL_QUOTE_CAP + 16];
  snprintf(what, sizeof what, "entry point %s", q(qb, name));
  if (pl_wheel_reserved_script(name, s->is_pip))
    return pl_fail(err, 0,
                   "%s would shadow the interpreter, pip or what the interpreter reads "
                   "at start (a program by its name)",
                   what);
  /* A wrapper named *.py is never byte-compiled (pip does not): only the
   * wheel's own files are (compiles()). */
  if (check_base(s, what, dest, err) < 0) return -1;
  /* Overwrites a file of .data/scripts by that name, as pip's clobber does. */
  for (size_t i = 0; i < s->n; i++)
    if (!s->p[i].skip && strcmp(s->p[i].dest, dest) == 0) s->p[i].skip = true;
  return generate(s, dest, text, strlen(text), true, err);
}

static int make_entry_points(struct pl_install *s, struct pl_entry_point *ep, size_t n,
                             pl_error_t *err) {
  const char *major_minor = s->in->short_version ? s->in->short_version : "3";
  char major[8];
  snprintf(major, sizeof major, "%.*s", (int)strcspn(major_minor, "."), major_minor);
  const char *pip = NULL, *easy = NULL;
  for (size_t i = 0; i < n; i++) {
    if (ep[i].gui) continue;
    if (strcmp(ep[i].name, "pip") == 0) pip = ep[i].value;
    if (strcmp(ep[i].name, "easy_install") == 0) easy = ep[i].value;
  }
  char alias[64];
  if (pip) {
    /* ENSUREPIP_OPTIONS is not honoured: pylock's installs are never ensurepip's. */
    if (make_script(s, "pip", pip, err) < 0) return -1;
    snprintf(alias, sizeof alias, "pip%s", major);
    if (make_script(s, alias, pip, err) < 0) return -1;
    snprintf(alias, sizeof alias, "pip%s", major_minor);
    if (make_script(s, alias, pip, err) < 0) return -1;
  }
  if (easy) {
    if (make_script(s, "easy_install", easy, err) < 0) return -1;
    snprintf(alias, sizeof alias, "easy_install-%s", major_minor);
    if (make_script(s, alias, easy, err) < 0) return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (!ep[i].gui && ((pip && versioned_alias(ep[i].name, "pip", 0)) ||
                       (easy && versioned_alias(ep[i].name, "easy_install", '-'))))
      continue;
    if (make_script(s, ep[i].name, ep[i].value, err) < 0) return -1;
  }
  return 0;
}

/* pip's is_entrypoint_wrapper: setuptools' EP, EP.exe, EP-script.py, EP.pya. */
static bool is_wrapper(const char *dest, const struct pl_entry_point *ep, size_t n) {
  const char *base = strrchr(dest, '/');
  base = base ? base + 1 : dest;
  size_t bl = strlen(base), ml = bl;
  if (bl > 4 && (strcasecmp(base + bl - 4, ".exe") == 0 || strcasecmp(base + bl - 4, ".pya") == 0))
    ml = bl - 4;
  else if (bl > 10 && strcasecmp(base + bl - 10, "-script.py") == 0)
    ml = bl - 10;
  for (size_t i = 0; i < n; i++)
    if (strlen(ep[i].name) == ml && memcmp(ep[i].name, base, ml) == 0) return true;
  return false;
}

/* pip's fix_script: a first line starting "#!python" becomes "#!<python>\n". */
static int fix_script(struct pl_install *s, struct placed *p, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  cleanup_free char *buf = NULL;
  size_t len;
  if (pl_read_file_at(s->tree_fd, p->dest, SCRIPT_MAX, &buf, &len, err) < 0) return -1;
  if (len < 8 || memcmp(buf, "#!python", 8) != 0) return 0;
  const char *nl = memchr(buf, '\n', len);
  size_t rest = nl ? len - (size_t)(nl + 1 - buf) : 0;
  size_t pl = strlen(s->in->python), nlen = 2 + pl + 1 + rest;
  cleanup_free char *out = malloc(nlen);
  if (out == NULL) return pl_fail(err, ENOMEM, "script %s", q(qb, p->dest));
  memcpy(out, "#!", 2);
  memcpy(out + 2, s->in->python, pl);
  out[2 + pl] = '\n';
  if (rest) memcpy(out + 3 + pl, nl + 1, rest);
  bool exec = p->row->executable;
  if (write_new(s, p->dest, out, nlen, exec, err) < 0) return -1;
  p->changed = true;
  p->size = nlen;
  return pl_digest_buffer(PL_HASH_SHA256, out, nlen, p->digest, &p->digest_len, err);
}

/* ---- byte-code --------------------------------------------------------------- */

/* The compiler, run by the base interpreter (-I -S: no environment, no site
 * packages, only the standard library): argv[1] names a file of
 * NUL-separated triples, a source's path, where its byte-code goes, and the
 * name its code objects carry (co_filename, its final path under the
 * prefix).  Sources are dealt, largest first, to one forked worker per CPU;
 * each compiles with py_compile as compileall does (same byte-code, same
 * invalidation mode).  Exit 0; 1 when some file did not compile (Python 2
 * syntax in an old wheel: no byte-code for it, as with pip); 3 when the
 * compiler broke. */
static const char compile_driver[] =
    "import os, sys, py_compile, traceback\n"
    "def work(jobs):\n"
    "    code = 0\n"
    "    for src, cfile, dfile in jobs:\n"
    "        try:\n"
    "            py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True)\n"
    "        except py_compile.PyCompileError as e:\n"
    "            print('*** not compiled:', e.msg.splitlines()[-1:], flush=True)\n"
    "            code = 1\n"
    "    return code\n"
    "def main():\n"
    "    with open(sys.argv[1], 'rb') as f:\n"
    "        v = [os.fsdecode(x) for x in f.read().split(b'\\0')]\n"
    "    jobs = [tuple(v[i:i + 3]) for i in range(0, len(v) - 2, 3)]\n"
    "    jobs.sort(key=lambda j: -os.stat(j[0]).st_size)\n"
    "    n = max(1, min(len(os.sched_getaffinity(0)), len(jobs) // 16))\n"
    "    if n == 1:\n"
    "        return work(jobs)\n"
    "    kids = []\n"
    "    for k in range(n):\n"
    "        pid = os.fork()\n"
    "        if pid == 0:\n"
    "            code = 3\n"
    "            try:\n"
    "                code = work(jobs[k::n])\n"
    "            except BaseException:\n"
    "                traceback.print_exc()\n"
    "            finally:\n"
    "                sys.stdout.flush()\n"
    "                os._exit(code)\n"
    "        kids.append(pid)\n"
    "    code = 0\n"
    "    for pid in kids:\n"
    "        c = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n"
    "        code = max(code, c if c in (0, 1) else 3)\n"
    "    return code\n"
    "try:\n"
    "    sys.exit(main())\n"
    "except Exception:\n"
    "    traceback.print_exc()\n"
    "    sys.exit(3)\n";

/* Does placed file p get byte-code?  Every .py file of the wheel, as
 * compileall over the tree compiles them: not the wrappers pylock writes
 * (entry points named *.py: pip does not compile them either), not one in a
 * __pycache__ directory (compileall skips those). */
static bool compiles(const struct placed *p) {
  size_t dl = strlen(p->dest);
  return !p->skip && !p->wrapper && dl > 3 && strcmp(p->dest + dl - 3, ".py") == 0 &&
         strncmp(p->dest, "__pycache__/", 12) != 0 && strstr(p->dest, "/__pycache__/") == NULL;
}

/* The byte-code file of source `dest`, relative to the tree:
 * "<dir>/__pycache__/<name>.<cache tag>.pyc" (importlib's cache_from_source). */
static char *pyc_of(const struct pl_install *s, const char *dest) {
  const char *slash = strrchr(dest, '/');
  int dirlen = slash ? (int)(slash - dest + 1) : 0;
  const char *base = dest + dirlen;
  char *pyc = NULL;
  if (asprintf(&pyc, "%.*s__pycache__/%.*s.%s.pyc", dirlen, dest, (int)(strlen(base) - 3), base,
               s->in->cache_tag) < 0)
    return NULL;
  return pyc;
}

struct jobs {
  char *buf;
  size_t len, cap;
};

/* Append a NUL-terminated field to the compiler's list. */
static int put_field(struct jobs *j, const char *a, const char *b, const char *c) {
  size_t need = strlen(a) + strlen(b) + strlen(c) + 1;
  if (j->len + need > j->cap) {
    size_t ncap = j->cap ? j->cap : 65536;
    while (j->len + need > ncap)
      ncap *= 2;
    char *n = realloc(j->buf, ncap);
    if (n == NULL) return -1;
    j->buf = n;
    j->cap = ncap;
  }
  j->len += (size_t)snprintf(j->buf + j->len, j->cap - j->len, "%s%s%s", a, b, c) + 1;
  return 0;
}

/* The compiler's list for the n trees: each source read where it is, its
 * byte-code written to <out>/<tree number>/<its byte-code path>. */
static int compile_jobs(struct pl_install *const *t, size_t n, const char *out, struct jobs *j,
                        pl_error_t *err) {
  for (size_t k = 0; k < n; k++) {
    const struct pl_install *s = t[k];
    const char *prefix = strcmp(s->in->prefix, "/") ? s->in->prefix : "";
    char num[24];
    snprintf(num, sizeof num, "/%zu/", k);
    for (size_t i = 0; i < s->n; i++) {
      if (!compiles(&s->p[i])) continue;
      const char *dest = s->p[i].dest;
      cleanup_free char *pyc = pyc_of(s, dest), *cfile = NULL;
      if (pyc == NULL || asprintf(&cfile, "%s%s%s", out, num, pyc) < 0 ||
          put_field(j, s->tree_path, "/", dest) < 0 || put_field(j, cfile, "", "") < 0 ||
          put_field(j, prefix, "/", dest) < 0)
        return pl_fail(err, ENOMEM, "byte-code");
    }
  }
  return 0;
}

/* The compiler's verdict: 0 and 1 are fine (1: some file did not compile,
 * as with pip); anything else is a compiler that could not run. */
static int compile_status(const struct pl_interp *in, const struct pl_child_result *r,
                          pl_error_t *err) {
  if (WIFEXITED(r->status) && (WEXITSTATUS(r->status) == 0 || WEXITSTATUS(r->status) == 1))
    return 0;
  return pl_fail_hint(err, 0,
                      "check that the interpreter runs: PYTHON -I -S -c 'import py_compile'",
                      "byte-compiling with %s failed (%s %d)%s%.200s", in->python,
                      WIFEXITED(r->status) ? "status" : "signal",
                      WIFEXITED(r->status) ? WEXITSTATUS(r->status) : WTERMSIG(r->status),
                      r->len ? ": " : "", r->output);
}

/* Into tree s, the byte-code the compiler wrote for its sources, from
 * out_fd/<k>/ (which the compiler could write: its directories are opened
 * beneath it, never through a symlink): only a regular file of one link at
 * the name a source's byte-code has is taken, anything else is left to be
 * removed unread. */
static int take_pyc(struct pl_install *s, int out_fd, size_t k, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], dir[PL_PATH_MAX + 1], num[24];
  snprintf(num, sizeof num, "%zu", k);
  for (size_t i = 0; i < s->n; i++) {
    if (!compiles(&s->p[i])) continue;
    cleanup_free char *pyc = pyc_of(s, s->p[i].dest), *from = NULL;
    if (pyc == NULL) return pl_fail(err, ENOMEM, "byte-code");
    const char *base = split(pyc, dir, sizeof dir);
    if (asprintf(&from, "%s/%s", num, dir) < 0) return pl_fail(err, ENOMEM, "byte-code");
    pl_error_t absent = NULL;
    cleanup_close int ffd = pl_open_dir_beneath(out_fd, from, &absent);
    pl_error_free(&absent);
    struct stat st;
    if (ffd < 0 || fstatat(ffd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
        st.st_nlink != 1)
      continue; /* did not compile */
    int tfd = tree_dir(s, dir, err);
    if (tfd < 0) return -1;
    if (renameat(ffd, base, tfd, base) < 0)
      return pl_fail(err, errno, "move byte-code %s", q(qb, pyc));
  }
  close_dirs(s);
  return 0;
}

/* One pool of the base interpreter for every tree: a process per wheel cost
 * an interpreter start-up each and kept all but one CPU idle on small
 * wheels.  It runs in a sandbox whose only writable place is an empty
 * directory of its own, dir/.pylock-pyc: it reads the trees and cannot
 * change a byte of them.  Byte-code files are then moved into the trees by
 * name, from the list pylock made; whatever else the compiler wrote is
 * removed unread.  The caller seals the trees and hashes every file,
 * byte-code included, into their manifests. */
int pl_install_compile(struct pl_install *const *trees, size_t n, const char *dir, int dir_fd,
                       pl_error_t *err) {
  if (n == 0) return 0;
  const struct pl_interp *in = trees[0]->in;
  if (in->cache_tag == NULL || in->cache_tag[0] == '\0') return 0; /* no byte-code there */
  cleanup_free char *list = NULL, *out = NULL;
  if (asprintf(&list, "%s/%s", dir, COMPILE_JOBS) < 0 ||
      asprintf(&out, "%s/%s", dir, COMPILE_OUT) < 0)
    return pl_fail(err, ENOMEM, "byte-code");
  struct jobs j = {0};
  int rc = compile_jobs(trees, n, out, &j, err);
  for (size_t k = 0; k < n; k++)
    trees[k]->compiled = true;
  if (rc == 0 && j.len == 0) {
    free(j.buf);
    return 0;
  }
  if (rc == 0) rc = pl_write_file_atomic_at(dir_fd, COMPILE_JOBS, j.buf, j.len, 0400, err);
  free(j.buf);
  if (rc == 0 && mkdirat(dir_fd, COMPILE_OUT, 0700) < 0) rc = pl_fail(err, errno, "mkdir %s", out);
  cleanup_close int out_fd = -1;
  if (rc == 0 && (out_fd = pl_open_dir_beneath(dir_fd, COMPILE_OUT, err)) < 0) rc = -1;
  struct pl_child_result r = {0};
  if (rc == 0) {
    const char *argv[] = {in->python, "-I", "-S", "-c", compile_driver, list, NULL};
    static const char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/dev/shm",
                                       NULL};
    struct pl_sandbox sb = {.scratch = out, .cwd = out, .no_network = true};
    struct pl_child_opts o = {.argv = (char *const *)argv,
                              .envp = envp,
                              .sandbox = &sb,
                              .timeout_s = PL_INSTALL_COMPILE_TIMEOUT_S,
                              .output_max = COMPILE_OUTPUT_MAX,
                              .keep_tail = true};
    rc = pl_child_run(&o, &r, err);
    if (rc < 0) pl_error_wrap(err, "byte-compile with %s", in->python);
  }
  if (rc == 0) rc = compile_status(in, &r, err);
  free(r.output);
  for (size_t k = 0; k < n && rc == 0; k++)
    rc = take_pyc(trees[k], out_fd, k, err);
  /* Gone before the trees are sealed, whatever the compiler made of them. */
  pl_error_t ignored = NULL;
  if (unlinkat(dir_fd, COMPILE_JOBS, 0) < 0 && errno != ENOENT && rc == 0)
    rc = pl_fail(err, errno, "remove %s", list);
  if (pl_remove_tree_at(dir_fd, COMPILE_OUT, rc == 0 ? err : &ignored) < 0 && rc == 0) rc = -1;
  pl_error_free(&ignored);
  return rc;
}

/* List the byte-code moved into the tree for each installed .py file. */
static int record_pyc(struct pl_install *s, pl_error_t *err) {
  for (size_t i = 0; i < s->n; i++) {
    const struct placed *p = &s->p[i];
    if (!compiles(p)) continue;
    cleanup_free char *pyc = pyc_of(s, p->dest);
    if (pyc == NULL) return pl_fail(err, ENOMEM, "byte-code");
    struct stat st;
    if (fstatat(s->tree_fd, pyc, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue;
    if (check_base(s, "byte-code", pyc, err) < 0) return -1;
    if (add_row(s, pyc, PL_HASH_NONE, NULL, 0, false, 0, err) < 0) return -1;
    s->pyc++;
  }
  return 0;
}

/* ---- the whole ------------------------------------------------------------- */

/* Everything but byte-code and RECORD: scripts fixed, wrappers and
 * INSTALLER written. */
static int finish_files(struct pl_install *s, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  cleanup_free struct pl_entry_point *ep = NULL;
  size_t nep = 0;
  if (s->ep_buf && pl_wheel_entry_points_parse(s->ep_buf, &ep, &nep, err) < 0)
    return pl_error_wrap(err, "%s", s->entry_points_path);

  for (size_t i = 0; i < s->n; i++) {
    struct placed *p = &s->p[i];
    bool drop = p->script && is_wrapper(p->dest, ep, nep);
    /* The wheel's own INSTALLER gives way to pylock's. */
    drop |= strcmp(p->row->path, s->installer_path) == 0;
    if (drop) {
      if (unlinkat(s->tree_fd, p->dest, 0) < 0)
        return pl_fail(err, errno, "remove %s", q(qb, p->dest));
      p->skip = true;
    } else if (p->script && fix_script(s, p, err) < 0) {
      return -1;
    }
  }
  if (make_entry_points(s, ep, nep, err) < 0) return -1;
  cleanup_free char *installer = join(s->lib, s->installer_path);
  if (installer == NULL) return pl_fail(err, ENOMEM, "install");
  if (check_base(s, "INSTALLER", installer, err) < 0) return -1;
  return generate(s, installer, "pylock\n", 7, false, err);
}

/* The byte-code rows, then the wheel's files, then RECORD itself. */
static int write_record(struct pl_install *s, pl_error_t *err) {
  if (s->base_fd < 0 && (s->base_fd = open(s->in->prefix, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return pl_fail(err, errno, "open the base interpreter's prefix %s", s->in->prefix);
  if (s->compiled && s->in->cache_tag && s->in->cache_tag[0] && record_pyc(s, err) < 0) return -1;
  for (size_t i = 0; i < s->n; i++) {
    const struct placed *p = &s->p[i];
    if (p->skip) continue;
    int r = p->changed
                ? add_row(s, p->dest, PL_HASH_SHA256, p->digest, p->digest_len, true, p->size, err)
                : add_row(s, p->dest, p->row->algo, p->row->digest, p->row->digest_len, true,
                          p->row->size, err);
    if (r < 0) return -1;
  }
  cleanup_free char *record = join(s->lib, s->record_path);
  if (record == NULL) return pl_fail(err, ENOMEM, "install");
  if (add_row(s, record, PL_HASH_NONE, NULL, 0, false, 0, err) < 0) return -1;
  cleanup_free char *text = NULL;
  size_t tl;
  if (pl_record_format(&s->out, &text, &tl, err) < 0) return -1;
  return write_new(s, record, text, tl, false, err);
}

void pl_install_result_free(struct pl_install_result *r) {
  if (r == NULL) return;
  free(r->name);
  free(r->version);
  free(r->dist_info);
  memset(r, 0, sizeof *r);
}

void pl_install_free(struct pl_install *s) {
  if (s == NULL) return;
  install_free(s);
  free(s);
}

int pl_install_unpack(int tree_fd, const char *tree_path, int wheel_fd, const char *wheel_filename,
                      const struct pl_interp *interp, struct pl_install **out, pl_error_t *err) {
  *out = NULL;
  struct pl_install *s = calloc(1, sizeof *s);
  if (s == NULL) return pl_fail(err, ENOMEM, "install");
  *s = (struct pl_install){.tree_fd = tree_fd, .in = interp, .fd = -1, .dir_fd = -1, .base_fd = -1};
  s->tree_path = strdup(tree_path);
  s->wheel = strdup(wheel_filename);
  s->purelib = pl_interp_relative(interp, interp->purelib);
  s->platlib = pl_interp_relative(interp, interp->platlib);
  s->scripts = pl_interp_relative(interp, interp->scripts);
  s->data = pl_interp_relative(interp, interp->data);
  int r = -1;
  if (s->tree_path == NULL || s->wheel == NULL) {
    pl_fail(err, ENOMEM, "install");
  } else if (!s->purelib || !s->platlib || !s->scripts || !s->data) {
    pl_fail(err, EINVAL, "install scheme of %s is outside its prefix", interp->python);
  } else if ((s->base_fd = open(interp->prefix, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    pl_fail(err, errno, "open the base interpreter's prefix %s", interp->prefix);
  } else {
    const struct pl_wheel_sink sink = {on_begin, on_data, on_end, on_prepare};
    r = pl_wheel_verify_stream(wheel_fd, wheel_filename, NULL, NULL, &sink, s, &s->info, err);
    if (r == 0 && (r = finish_files(s, err)) < 0) pl_error_wrap(err, "install %s", wheel_filename);
  }
  /* Until it completes, the tree's fd is all it holds open: a batch may
   * hold hundreds. */
  close_dirs(s);
  if (r < 0) {
    pl_install_free(s);
    return -1;
  }
  *out = s;
  return 0;
}

/* The entry points of the installed distribution whose .dist-info is `di`
 * (relative to the prefix) in s's tree, if it has any: *buf holds them. */
static int installed_entry_points(struct pl_install *s, const char *di, char **buf,
                                  struct pl_entry_point **ep, size_t *nep, pl_error_t *err) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/entry_points.txt", di) < 0) return pl_fail(err, ENOMEM, "install");
  pl_error_t absent = NULL;
  if (pl_read_file_at(s->tree_fd, path, PL_ENTRY_POINTS_MAX, buf, NULL, &absent) < 0) {
    bool none = absent->errnum == ENOENT;
    if (!none) {
      *err = absent;
      return pl_error_wrap(err, "%s", path);
    }
    pl_error_free(&absent);
    return 0;
  }
  return pl_wheel_entry_points_parse(*buf, ep, nep, err) < 0 ? pl_error_wrap(err, "%s", path) : 0;
}

int pl_install_from_source(int tree_fd, const char *tree_path, const char *dist_info,
                           const struct pl_interp *interp, struct pl_install **out,
                           pl_error_t *err) {
  *out = NULL;
  struct pl_install *s = calloc(1, sizeof *s);
  if (s == NULL) return pl_fail(err, ENOMEM, "install");
  *s = (struct pl_install){.tree_fd = tree_fd, .in = interp, .fd = -1, .dir_fd = -1, .base_fd = -1};
  s->purelib = pl_interp_relative(interp, interp->purelib);
  s->platlib = pl_interp_relative(interp, interp->platlib);
  s->scripts = pl_interp_relative(interp, interp->scripts);
  s->data = pl_interp_relative(interp, interp->data);
  const char *slash = strrchr(dist_info, '/');
  size_t dl = slash ? (size_t)(slash - dist_info) : 0;
  s->lib = s->purelib && strlen(s->purelib) == dl && strncmp(dist_info, s->purelib, dl) == 0
               ? s->purelib
           : s->platlib && strlen(s->platlib) == dl && strncmp(dist_info, s->platlib, dl) == 0
               ? s->platlib
               : NULL;
  cleanup_free char *text = NULL, *epbuf = NULL, *record = NULL;
  cleanup_free struct pl_entry_point *ep = NULL;
  size_t len = 0, nep = 0;
  int r = -1;
  s->tree_path = strdup(tree_path);
  s->wheel = strdup(dist_info);
  s->dist_info = strdup(slash ? slash + 1 : dist_info);
  if (s->tree_path == NULL || s->wheel == NULL || s->dist_info == NULL ||
      asprintf(&s->record_path, "%s/RECORD", s->dist_info) < 0) {
    s->record_path = NULL;
    pl_fail(err, ENOMEM, "install");
    goto out;
  }
  if (s->lib == NULL || s->scripts == NULL) {
    pl_fail(err, EINVAL, "%s is not in a site directory of %s", dist_info, interp->python);
    goto out;
  }
  if ((record = join(s->lib, s->record_path)) == NULL) {
    pl_fail(err, ENOMEM, "install");
    goto out;
  }
  if (pl_read_file_at(tree_fd, record, PL_RECORD_MAX_BYTES, &text, &len, err) < 0 ||
      pl_record_parse_installed(text, len, &s->info.record, err) < 0 ||
      installed_entry_points(s, dist_info, &epbuf, &ep, &nep, err) < 0) {
    pl_error_wrap(err, "source tree %s", tree_path);
    goto out;
  }
  s->p = calloc(s->info.record.n ? s->info.record.n : 1, sizeof *s->p);
  if (s->p == NULL) {
    pl_fail(err, ENOMEM, "install");
    goto out;
  }
  /* Every row but RECORD's own, as placed: byte-code for its .py files but
   * for the launchers pylock wrote (named by the entry points), as
   * pl_install_unpack would have compiled them. */
  for (size_t i = 0; i < s->info.record.n; i++) {
    char dest[PL_PATH_MAX + 1];
    const struct pl_record_entry *row = &s->info.record.entries[i];
    if (strcmp(row->path, s->record_path) == 0) continue;
    if (!pl_record_resolve(s->lib, row->path, dest, sizeof dest)) {
      pl_fail(err, EINVAL, "source tree %s: RECORD row %s leaves the prefix", tree_path, row->path);
      goto out;
    }
    struct placed *p = &s->p[s->n];
    p->row = row;
    if ((p->dest = strdup(dest)) == NULL) {
      pl_fail(err, ENOMEM, "install");
      goto out;
    }
    s->n++;
    p->script = under(dest, s->scripts) && s->scripts[0];
    p->wrapper = p->script && is_wrapper(dest, ep, nep);
  }
  if ((s->base_fd = open(interp->prefix, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    pl_fail(err, errno, "open the base interpreter's prefix %s", interp->prefix);
    goto out;
  }
  r = 0;
out:
  if (r < 0) {
    pl_install_free(s);
    return -1;
  }
  *out = s;
  return 0;
}

int pl_install_complete(struct pl_install **in, struct pl_install_result *out, pl_error_t *err) {
  struct pl_install *s = *in;
  memset(out, 0, sizeof *out);
  int r = -1;
  if (write_record(s, err) < 0) {
    pl_error_wrap(err, "install %s", s->wheel);
    goto out;
  }
  /* A tree completed from a source tree knows its .dist-info, not METADATA. */
  out->name = strdup(s->info.name ? s->info.name : s->dist_info);
  out->version = strdup(s->info.version ? s->info.version : "");
  out->dist_info = join(s->lib, s->dist_info);
  out->files = s->out.n;
  out->pyc = s->pyc;
  if (!out->name || !out->version || !out->dist_info) {
    pl_install_result_free(out);
    pl_fail(err, ENOMEM, "install");
    goto out;
  }
  r = 0;
out:
  pl_install_free(s);
  *in = NULL;
  return r;
}

int pl_install_wheel(int tree_fd, const char *tree_path, int wheel_fd, const char *wheel_filename,
                     const struct pl_interp *interp, bool compile, struct pl_install_result *out,
                     pl_error_t *err) {
  struct pl_install *s = NULL;
  if (pl_install_unpack(tree_fd, tree_path, wheel_fd, wheel_filename, interp, &s, err) < 0)
    return -1;
  if (compile && pl_install_compile(&s, 1, tree_path, tree_fd, err) < 0) {
    pl_install_free(s);
    return pl_error_wrap(err, "install %s", wheel_filename);
  }
  return pl_install_complete(&s, out, err);
}
