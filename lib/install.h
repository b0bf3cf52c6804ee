/* pylock — installing one wheel into a tree laid out like the interpreter
 * prefix, the way pip does it (the binary distribution format, PEP 427).
 *
 * The tree is what the cache keeps for (wheel, base interpreter): files of
 * the wheel's root go to purelib or platlib (Root-Is-Purelib), `.data/<key>/`
 * to the scheme path of that key (headers to <include>/<project name>),
 * `#!python` shebangs of `.data/scripts` name the base interpreter,
 * console_scripts and gui_scripts become pip's launcher scripts, INSTALLER
 * says "pylock", byte-code is compiled by the base interpreter as if the
 * files were at their final place under the prefix, and RECORD is rewritten
 * as pip writes it.  REQUESTED is per project: see pl_envgen_mark_requested.
 *
 * Nothing unverified is ever written outside the caller's (temporary) tree:
 * extraction rides on pl_wheel_verify_stream(), and the tree is only good
 * when pl_install_wheel() returns 0.  Files are created read-only (0444, or
 * 0555 when executable); directories stay writable for the caller to seal.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_INSTALL_H
#define PYLOCK_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "interp.h"

#define PL_INSTALL_COMPILE_TIMEOUT_S 600 /* the byte-compiling child */

/* The cache's "this tree is complete" file, at a tree's root: a wheel that
 * would install a file there is refused. */
#define PL_TREE_MARKER ".complete"

struct pl_install_result {
  char *name;      /* METADATA Name */
  char *version;   /* METADATA Version */
  char *dist_info; /* the .dist-info directory, relative to the prefix */
  uint64_t files;  /* regular files in the tree, byte-code and RECORD included */
  uint64_t pyc;    /* of which byte-code */
};

/* Install the wheel open at `wheel_fd` (named `wheel_filename`) into the
 * empty directory `tree_fd`, whose absolute path is `tree_path` (byte-code
 * is compiled there, with co_filename rewritten to interp->prefix).
 * `compile` false skips byte-compiling. */
int pl_install_wheel(int tree_fd, const char *tree_path, int wheel_fd, const char *wheel_filename,
                     const struct pl_interp *interp, bool compile, struct pl_install_result *out,
                     pl_error_t *err);

void pl_install_result_free(struct pl_install_result *r);

/* The same in three steps, so that one compiler serves many trees: a wheel
 * unpacked into its tree (everything but byte-code and RECORD), byte-code
 * for all the trees at once, then each one's RECORD.  `tree_fd` must stay
 * open until pl_install_complete() or pl_install_free(). */
struct pl_install;
int pl_install_unpack(int tree_fd, const char *tree_path, int wheel_fd, const char *wheel_filename,
                      const struct pl_interp *interp, struct pl_install **out, pl_error_t *err);

/* Byte-compile the .py files of n unpacked trees for the same interpreter,
 * every tree below `dir` (absolute; `dir_fd` open on it): one process of the
 * base interpreter with a worker per CPU, in a sandbox where `dir` is the
 * only writable place.  Files that do not compile get no byte-code. */
int pl_install_compile(struct pl_install *const *trees, size_t n, const char *dir, int dir_fd,
                       pl_error_t *err);

/* A source tree (one pl_install_complete made without byte-code) whose
 * files are linked at the same paths into the directory `tree_fd`
 * (absolute path `tree_path`): ready for pl_install_compile, which gives
 * the .py files the byte-code pl_install_unpack's would have got, and
 * pl_install_complete, which writes RECORD anew (its byte-code rows added;
 * the linked RECORD is replaced, not written).  `dist_info` is its
 * .dist-info, relative to the prefix. */
int pl_install_from_source(int tree_fd, const char *tree_path, const char *dist_info,
                           const struct pl_interp *interp, struct pl_install **out,
                           pl_error_t *err);

/* List the byte-code the compiler wrote and write RECORD; *in is freed and
 * set to NULL whatever happens. */
int pl_install_complete(struct pl_install **in, struct pl_install_result *out, pl_error_t *err);
void pl_install_free(struct pl_install *in);

/* The launcher pip (distlib's ScriptMaker) writes for entry point
 * `module:func`, run by `python`: "#!python\n# -*- coding: utf-8 -*-\n...".
 * Returns a new string, or NULL when out of memory. */
char *pl_install_script_text(const char *python, const char *module, const char *func);

#endif
