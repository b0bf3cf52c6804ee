/* pylock — deciding whether a wheel may enter an environment.
 *
 * The wheel's bytes have already matched a signed TUF target; this checks
 * what is inside: a safe zip (relative, unique names; only files and
 * directories; bounded counts, sizes and compression ratios), a RECORD that
 * lists every file with its sha256 (or stronger) digest and size and nothing
 * else, WHEEL and METADATA consistent with the filename, and tags that fit
 * the base interpreter; and nothing in it that would shadow the interpreter
 * wherever it is installed (see check_shadowing in wheel.c).
 *
 * Verification reads the archive twice.  The first pass reads only headers
 * and the three .dist-info files (RECORD, WHEEL, METADATA), so every check
 * that needs the whole listing is done before any file's data is read.  The
 * second pass streams each file once and checks it against its RECORD row as
 * it ends; a sink sees the bytes as they go, so the installer can extract
 * while verifying (into a staging generation: a wheel is accepted only when
 * pl_wheel_verify_stream() returns 0).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_WHEEL_H
#define PYLOCK_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "metadata.h"
#include "record.h"
#include "tags.h"

struct pl_wheel_limits {
  uint64_t max_entries;       /* archive entries, files and directories */
  uint64_t max_entry_size;    /* bytes of one file, counted while inflating */
  uint64_t max_total_size;    /* bytes of all files */
  uint64_t max_ratio;         /* one file: inflated / compressed bytes ... */
  uint64_t ratio_floor;       /* ... checked once it is past this many bytes */
  uint64_t max_total_ratio;   /* all files: inflated bytes / size of the .whl ... */
  uint64_t total_ratio_floor; /* ... checked once past this many bytes */
};

/* 200,000 entries, 4 GiB per file, 16 GiB in all, 200:1 per file past
 * 1 MiB, 100:1 for the whole wheel past 64 MiB.  See wheel.c for why. */
extern const struct pl_wheel_limits pl_wheel_default_limits;

struct pl_wheel_info {
  char *name;                        /* METADATA Name, as written */
  char *version;                     /* METADATA Version, as written */
  char *metadata_version;            /* METADATA Metadata-Version */
  char *dist_info;                   /* "pip-23.0.1.dist-info" */
  char *data_dir;                    /* "pip-23.0.1.data" when the wheel has one, else NULL */
  struct pl_wheel_filename filename; /* parsed filename: escaped name, version, build, tags */
  struct pl_wheelfile wheel;         /* WHEEL: version, Root-Is-Purelib, Tag lines, Build */
  struct pl_record record;           /* RECORD rows, sorted by path; each matched a file */
  uint64_t files;                    /* regular files in the archive */
  uint64_t total_size;               /* their bytes */
  char *metadata;                    /* METADATA's bytes as RECORD vouches for them (what a
                                        PEP 658 .metadata file must equal), NUL-terminated */
  size_t metadata_len;
  char **startup_hooks; /* what it installs at the root of a site directory that runs at
                           every interpreter start (pl_wheel_startup_hook), sorted */
  size_t nstartup_hooks;
};

void pl_wheel_info_free(struct pl_wheel_info *info);

/* One archive member, as the sink sees it. */
struct pl_wheel_entry {
  const char *path; /* checked relative path, without a trailing '/' */
  bool is_dir;
  bool executable;                      /* any x bit in the zip's mode; nothing else of it */
  const struct pl_record_entry *record; /* the row its bytes must match; NULL for directories */
};

/* Callbacks of the second pass, in archive order; any may be NULL.  Bytes
 * passed to data() are not verified until end() is called for their entry,
 * and the wheel as a whole is not accepted until verification returns 0. */
struct pl_wheel_sink {
  int (*begin)(void *ctx, const struct pl_wheel_entry *e, pl_error_t *err);
  int (*data)(void *ctx, const void *buf, size_t len, pl_error_t *err);
  int (*end)(void *ctx, const struct pl_wheel_entry *e, pl_error_t *err);
  /* Called once, after the first pass accepted the listing and the metadata
   * and before any data is streamed: `info` holds the parsed WHEEL, METADATA,
   * RECORD and directory names (name, version, dist_info, data_dir, wheel,
   * record; files and total_size are not yet counted). */
  int (*prepare)(void *ctx, const struct pl_wheel_info *info, pl_error_t *err);
};

/* Verify the wheel open at `fd` (a regular file, read from offset 0),
 * whose name is `filename` (a basename: the TUF target's).  `interp` NULL
 * skips the tag check.  On success fills *out. */
int pl_wheel_verify(int fd, const char *filename, const struct pl_wheel_interp *interp,
                    struct pl_wheel_info *out, pl_error_t *err);

/* The same with explicit limits (NULL: the defaults) and a sink. */
int pl_wheel_verify_stream(int fd, const char *filename, const struct pl_wheel_interp *interp,
                           const struct pl_wheel_limits *limits, const struct pl_wheel_sink *sink,
                           void *ctx, struct pl_wheel_info *out, pl_error_t *err);

/* A startup hook is what site.py runs at every interpreter start from a site
 * directory (purelib, platlib): each *.pth file at its root (a line that
 * starts with "import" is executed), and the sitecustomize and usercustomize
 * modules it imports.  If `path`, relative to a site directory, is or is
 * inside one, returns the length of the hook's name, its first component
 * ("x.pth", "sitecustomize.py", "sitecustomize" for a package); else 0. */
size_t pl_wheel_startup_hook(const char *path);

/* Is `name` (a file name, any letter case) reserved in a directory of
 * programs: the interpreter's (python, python3, python3.12, python3.13t),
 * pip's (pip, pip3, pip3.12), or a file the interpreter reads beside itself
 * at start (pyvenv.cfg, *._pth)?  pip's names are allowed to the
 * distribution named pip (`dist_is_pip`): its scripts run the same code as
 * `python -m pip`. */
bool pl_wheel_reserved_script(const char *name, bool dist_is_pip);

/* One console_scripts or gui_scripts entry of entry_points.txt. */
struct pl_entry_point {
  char *name, *value;
  bool gui;
};
#define PL_ENTRY_POINTS_MAX (1u << 20) /* bytes of entry_points.txt */
#define PL_ENTRY_POINTS_COUNT_MAX 10000

/* Parse entry_points.txt (NUL-terminated `buf`, edited in place: the entries
 * point into it) as importlib.metadata reads it: the console_scripts and
 * gui_scripts sections, name = value; a later name replaces an earlier.
 * *out is a new array the caller frees. */
int pl_wheel_entry_points_parse(char *buf, struct pl_entry_point **out, size_t *n, pl_error_t *err);

/* Archive entry types: only regular files and directories may be in a wheel
 * (filetype as archive_entry_filetype(); hardlink/symlink as libarchive
 * reports them, or NULL). */
int pl_wheel_check_entry_type(const char *path, unsigned filetype, const char *hardlink,
                              const char *symlink, pl_error_t *err);

#endif
