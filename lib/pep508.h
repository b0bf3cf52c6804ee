/* pylock — requirement strings (PEP 508 dependency specifiers) and
 * environment markers: a strict, bounded parser, and marker evaluation.
 *
 * Every requirement pylock hands to pip passes through here first, wherever
 * it comes from (the command line, [tool.pylock] requested, a wheel's
 * Requires-Dist).  pylock installs only signed wheels from its registry, so
 * a direct reference (`name @ URL`) is refused, and so are the forms pip
 * accepts beyond PEP 508 (options such as -e or --index-url, paths, archive
 * file names, URLs and VCS URLs without a name): each would let pip fetch
 * or build code no registry signed.
 *
 * Grammar: PEP 508 as the packaging "Dependency specifiers" specification
 * gives it (a trailing comma in a specifier list allowed), with
 * packaging's aliases for the PEP 345 marker variables (os.name,
 * sys.platform, platform.version, platform.machine,
 * platform.python_implementation, python_implementation).  Versions in
 * specifiers are checked as PEP 440 (lib/version.h).  Not accepted: anything
 * else, including backslashes or non-ASCII in marker strings, and empty
 * parentheses.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_PEP508_H
#define PYLOCK_PEP508_H

#include <stdbool.h>
#include <stddef.h>

#include "distname.h"
#include "error.h"
#include "version.h"

#define PL_REQ_MAX_BYTES 4096     /* one requirement string */
#define PL_REQ_MAX_EXTRAS 64      /* names in [...] */
#define PL_REQ_MAX_SPECS 64       /* version specifiers */
#define PL_MARKER_MAX_CLAUSES 256 /* comparisons in one marker */
#define PL_MARKER_MAX_DEPTH 32    /* nested parentheses */

/* Parse flags. */
#define PL_PEP508_ALLOW_URL 0x1 /* accept `name @ URL` (sets url) instead of refusing it */
#define PL_PEP508_LOCK_MARKERS                                                                     \
  0x2 /* markers may use `extras` and `dependency_groups` (PEP 751 lock files only) */

enum pl_marker_var {
  PL_MV_LITERAL, /* a quoted string, not a variable */
  PL_MV_IMPLEMENTATION_NAME,
  PL_MV_IMPLEMENTATION_VERSION,
  PL_MV_OS_NAME,
  PL_MV_PLATFORM_MACHINE,
  PL_MV_PLATFORM_PYTHON_IMPLEMENTATION,
  PL_MV_PLATFORM_RELEASE,
  PL_MV_PLATFORM_SYSTEM,
  PL_MV_PLATFORM_VERSION,
  PL_MV_PYTHON_FULL_VERSION,
  PL_MV_PYTHON_VERSION,
  PL_MV_SYS_PLATFORM,
  PL_MV_EXTRA,
  PL_MV_EXTRAS,            /* a set; PL_PEP508_LOCK_MARKERS only */
  PL_MV_DEPENDENCY_GROUPS, /* a set; PL_PEP508_LOCK_MARKERS only */
  PL_MV_COUNT
};

/* The variable's canonical name ("python_version"). */
const char *pl_marker_var_name(enum pl_marker_var var);

enum pl_marker_kind { PL_MARKER_OR, PL_MARKER_AND, PL_MARKER_CMP };

/* A comparison's operator: a version operator, or (not) in. */
enum pl_marker_op {
  PL_MOP_VERSION, /* spec_op holds it */
  PL_MOP_IN,
  PL_MOP_NOT_IN,
};

struct pl_marker_operand {
  enum pl_marker_var var;
  const char *str; /* PL_MV_LITERAL: the string, without quotes (in the marker's pool) */
};

/* Nodes live in one array; children are linked by index (-1 ends a list). */
struct pl_marker_node {
  enum pl_marker_kind kind;
  int first, next; /* OR/AND: first child; any node: next sibling */
  struct pl_marker_operand lhs, rhs;
  enum pl_marker_op op;
  enum pl_spec_op spec_op;
};

struct pl_marker {
  struct pl_marker_node *nodes;
  size_t nnodes;
  int root;
  char *pool; /* literal strings, NUL-separated */
};

/* Parse a marker expression on its own (as in a PEP 751 package's `marker`). */
int pl_marker_parse(const char *s, unsigned flags, struct pl_marker **out, pl_error_t *err);

void pl_marker_free(struct pl_marker *m);

/* The marker, normalized: canonical variable names, double quotes unless the
 * string holds one, single spaces, parentheses where nesting needs them.
 * Newly allocated, or NULL (no memory). */
char *pl_marker_format(const struct pl_marker *m);

/* Values of the marker variables for one interpreter (see PEP 508); NULL: unknown. */
struct pl_marker_env {
  const char *value[PL_MV_COUNT]; /* indexed by enum pl_marker_var; extra and sets unused */
};

/* What the marker is asked about: `extra` (a requirement of METADATA read for
 * that extra; NULL is ""), and for lock files the sets of selected extras and
 * dependency groups. */
struct pl_marker_query {
  const char *extra;
  const char *const *extras;
  size_t nextras;
  const char *const *groups;
  size_t ngroups;
};

/* Evaluate m (PEP 508): version operators compare as PEP 440 specifiers when
 * the right side is a valid specifier for that operator and the left side a
 * valid version, else as Python strings (~= and === then have no meaning: an
 * error); `in` is substring; `extra` values compare PEP 503-normalized
 * (PEP 685); `"x" in extras` is set membership, normalized. */
int pl_marker_eval(const struct pl_marker *m, const struct pl_marker_env *env,
                   const struct pl_marker_query *q, bool *out, pl_error_t *err);

struct pl_requirement {
  char name[PL_DISTNAME_MAX + 1]; /* PEP 503 normalized */
  char **extras;                  /* PEP 685 normalized, duplicates dropped */
  char **extras_written;          /* the same, as written (pip 23 matches extras verbatim) */
  size_t nextras;
  struct pl_spec *specs;
  size_t nspecs;
  char *url;                /* the direct reference (PL_PEP508_ALLOW_URL only), or NULL */
  struct pl_marker *marker; /* or NULL */
};

/* Parse one requirement string (at most PL_REQ_MAX_BYTES).  Errors quote it
 * and give the column: `requirement "foo >= ": expected a version after ">="
 * (column 8)`.  A direct reference or any of pip's other forms is refused
 * with "a direct reference (URL, path or VCS) is not allowed: pylock
 * installs only signed wheels from the registry" (a pip option with its own
 * message), unless flags allow a URL. */
int pl_requirement_parse(const char *s, unsigned flags, struct pl_requirement *out,
                         pl_error_t *err);

void pl_requirement_free(struct pl_requirement *r);

/* Parse s with no flags and throw the result away: 0 if pylock accepts it. */
int pl_requirement_check(const char *s, pl_error_t *err);

/* The requirement as pylock hands it to pip: "name[extra,...]spec,spec ; marker",
 * built only from what the parser accepted (the normalized name, extras as
 * written, specifiers, the normalized marker; the URL never).  Newly
 * allocated, or NULL (no memory). */
char *pl_requirement_format(const struct pl_requirement *r);

/* reqs[0..n) parsed with no flags and formatted for pip: one allocation
 * (free it) of n pointers followed by the strings they point to.  Fails on
 * the first one pylock refuses, naming it. */
int pl_requirements_for_pip(const char *const *reqs, size_t n, char ***out, pl_error_t *err);

/* Check every Requires-Dist of a METADATA file (header section) as a
 * requirement pylock would accept: one that does not parse or is a direct
 * reference fails, naming `what` (the wheel or .metadata file). */
int pl_requires_dist_check(const char *metadata, size_t len, const char *what, pl_error_t *err);

#endif
