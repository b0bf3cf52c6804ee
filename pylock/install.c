/* pylock install / pylock remove — change the requested set, re-lock, sync. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "distname.h"
#include "env.h"
#include "file.h"
#include "pep508.h"
#include "project.h"
#include "reqfile.h"
#include "requested.h"

#define MAX_FILES 16
#define MAX_UPGRADE 256

/* The synopsis and options of install or remove. */
static void usage(FILE *out, const char *cmd) {
  if (strcmp(cmd, "install") == 0)
    fprintf(out,
            "usage: pylock install [-r FILE]... [-U | -P NAME...] [REQ...]\n\n"
            "Add each requirement (PEP 508: name, extras, version specifiers, markers) to the\n"
            "requested set, replacing an earlier one for the same name, then lock and sync.\n"
            "The requested set is pyproject.toml's [project] dependencies when the project\n"
            "has one (edited in place, comments and layout kept), else [tool.pylock]\n"
            "requested in pylock.toml. Locked versions are kept where they still satisfy.\n"
            "If resolution fails, nothing changes.\n\n"
            "Options:\n"
            "  -r, --requirement FILE    add the requirements of FILE (pip's format; its\n"
            "                            --hash=sha256:HEX must match what the registry signs)\n"
            "  -U, --upgrade             resolve every package afresh, to its newest version\n"
            "  -P, --upgrade-package NAME\n"
            "                            resolve NAME afresh; keep the other locked versions\n"
            "  -h, --help                print this help and exit\n");
  else
    fprintf(out, "usage: pylock remove NAME...\n\n"
                 "Remove each package from the requested set (pyproject.toml's [project]\n"
                 "dependencies, or [tool.pylock] requested in pylock.toml), then lock and sync;\n"
                 "dependencies nothing else needs go with it. If resolution fails, nothing\n"
                 "changes.\n\n"
                 "Options:\n  -h, --help  print this help and exit\n");
}

/* requested ∪ adds (an add replaces a requirement of the same name), minus removes. */
static int edit_requested(struct pl_env *e, bool adding, char **args, int nargs, pl_error_t *err) {
  for (int i = 0; i < nargs; i++) {
    char name[256];
    if (pl_requirement_name(args[i], name, sizeof name) < 0)
      return pl_fail_hint(err, 0, "a requirement starts with a package name, e.g. 'requests>=2'",
                          "'%s' is not a valid requirement", args[i]);
    bool found = false;
    for (size_t j = 0; j < e->lf.nrequested; j++) {
      char other[256];
      if (pl_requirement_name(e->lf.requested[j], other, sizeof other) < 0 ||
          strcmp(other, name) != 0)
        continue;
      found = true;
      free(e->lf.requested[j]);
      if (adding) {
        e->lf.requested[j] = strdup(args[i]);
        if (e->lf.requested[j] == NULL) return pl_fail(err, ENOMEM, "install");
      } else {
        e->lf.requested[j] = e->lf.requested[--e->lf.nrequested];
        j--;
      }
    }
    if (!adding && !found)
      return pl_fail_hint(err, 0, "see what is requested in pylock.toml ([tool.pylock] requested)",
                          "'%s' is not a requested package (a dependency goes when nothing "
                          "requested needs it)",
                          args[i]);
    if (adding && !found) {
      char **l = realloc(e->lf.requested, (e->lf.nrequested + 1) * sizeof *l);
      if (l == NULL || (l[e->lf.nrequested] = strdup(args[i])) == NULL)
        return pl_fail(err, ENOMEM, "install");
      e->lf.requested = l;
      e->lf.nrequested++;
    }
  }
  return 0;
}

/* remove NAME on pyproject.toml: only [project] dependencies is edited;
 * a name declared elsewhere there is the user's to remove by hand. */
static int check_removable(const struct pl_requested *rq, char **args, int nargs, pl_error_t *err) {
  for (int i = 0; i < nargs; i++) {
    char name[256];
    if (pl_distname_normalize(args[i], strlen(args[i]), name, sizeof name) < 0)
      return pl_fail(err, 0, "'%s' is not a package name", args[i]);
    const char *where = NULL;
    bool in_deps = false;
    for (size_t k = 0; k < rq->py.nrequested; k++) {
      char other[256];
      if (pl_requirement_name(rq->py.requested[k], other, sizeof other) < 0 ||
          strcmp(other, name) != 0)
        continue;
      if (strcmp(rq->py.origins[k], "[project] dependencies") == 0)
        in_deps = true;
      else if (where == NULL)
        where = rq->py.origins[k];
    }
    if (where && !in_deps)
      return pl_fail_hint(err, 0, "remove it there by hand, then run: pylock lock",
                          "'%s' is declared in %s's %s; pylock remove edits [project] "
                          "dependencies only",
                          args[i], PL_PYPROJECT_FILE, where);
  }
  return 0;
}

/* The edit on pyproject.toml's text; e's requested set becomes its new one. */
static int edit_pyproject(struct pl_env *e, struct pl_requested *rq, bool adding, char **args,
                          int nargs, char **text, size_t *len, pl_error_t *err) {
  if (!rq->py.has_project && adding)
    return pl_fail_hint(err, 0,
                        "add a [project] table (name, version) to pyproject.toml, or the "
                        "requirement to one of its [dependency-groups]",
                        "%s has no [project] table to add dependencies to", PL_PYPROJECT_FILE);
  if (!adding && check_removable(rq, args, nargs, err) < 0) return -1;
  const char *const *v = (const char *const *)args;
  if (pl_pyproject_edit(rq->py_text, rq->py_len, adding ? v : NULL, adding ? (size_t)nargs : 0,
                        adding ? NULL : v, adding ? 0 : (size_t)nargs, text, len, err) < 0)
    return pl_error_wrap(err, "%s", PL_PYPROJECT_FILE);
  return pl_requested_apply_pyproject(e, rq, *text, *len, err);
}

/* With hashes in a requirements file (pip's hash-checking mode): each
 * package it names, and each package this change brings, must be locked
 * with a wheel whose signed sha256 the file lists.  Every mismatch is named. */
static int check_hashes(const struct pl_env *e, const struct pl_lockfile *before,
                        const struct pl_reqfile *rf, size_t nrf, pl_error_t *err) {
  cleanup_free char *bad = NULL;
  size_t blen = 0, count = 0;
  FILE *m = open_memstream(&bad, &blen);
  if (m == NULL) return pl_fail(err, ENOMEM, "install");
  for (size_t i = 0; i < e->lf.npackages; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    char name[256];
    if (p->nwheels == 0 || pl_distname_normalize(p->name, strlen(p->name), name, sizeof name) < 0)
      continue;
    bool named = false, hashed = false, match = false, any = false;
    for (size_t f = 0; f < nrf; f++) {
      any |= rf[f].hashes;
      for (size_t k = 0; k < rf[f].n; k++) {
        const struct pl_reqfile_entry *en = &rf[f].entries[k];
        if (strcmp(en->name, name) != 0) continue;
        named = true, hashed |= en->nsha256 > 0;
        for (size_t h = 0; h < en->nsha256; h++)
          match |= strcmp(en->sha256[h], p->wheels[0].sha256) == 0;
      }
    }
    bool brought = pl_lockfile_find(before, p->name) == NULL;
    if (!any || match || (!named && !brought)) continue;
    if (!hashed)
      fprintf(m, "%s%s %s (no --hash for it)", count++ ? "; " : "", p->name, p->version);
    else
      fprintf(m, "%s%s %s (the registry signs %s: sha256 %.16s..., which no --hash lists)",
              count++ ? "; " : "", p->name, p->version, p->wheels[0].name, p->wheels[0].sha256);
  }
  if (fclose(m) != 0) return pl_fail(err, ENOMEM, "install");
  if (count == 0) return 0;
  return pl_fail_hint(err, PL_REFUSED,
                      "check where the file's hashes came from; pylock installs what the "
                      "registry signs",
                      "the requirements file's hashes do not match: %s", bad);
}

struct install_opts {
  const char *files[MAX_FILES];
  size_t nfiles;
  const char *upgrade[MAX_UPGRADE];
  size_t nupgrade;
  bool upgrade_all;
};

/* The requirements files' entries, each read from the working directory. */
static int read_reqfiles(const struct install_opts *io, struct pl_reqfile *rf, char ***reqs,
                         size_t *nreqs, pl_error_t *err) {
  for (size_t f = 0; f < io->nfiles; f++) {
    cleanup_free char *text = NULL;
    size_t len = 0;
    if (pl_read_file_at(AT_FDCWD, io->files[f], PL_REQFILE_MAX_BYTES, &text, &len, err) < 0 ||
        pl_reqfile_parse(text, len, io->files[f], &rf[f], err) < 0)
      return -1;
    char **v = realloc(*reqs, (*nreqs + rf[f].n + 1) * sizeof *v);
    if (v == NULL) return pl_fail(err, ENOMEM, "install");
    *reqs = v;
    for (size_t k = 0; k < rf[f].n; k++)
      v[(*nreqs)++] = rf[f].entries[k].requirement;
  }
  return 0;
}

/* The change as one transaction: requested set edited, resolved, hashes checked, committed. */
static int change(const char *cmd, bool adding, char **args, int nargs,
                  const struct install_opts *io, pl_error_t *err) {
  struct pl_env e;
  struct pl_requested rq = {0};
  struct pl_lockfile before = {0};
  struct pl_reqfile rf[MAX_FILES] = {0};
  cleanup_free char **all = NULL, *py_new = NULL;
  size_t nall = 0, py_len = 0;
  int rc = -1;
  bool changed = false, py_written = false;
  cleanup_free char *why = NULL;
  struct pl_sync_result res;
  struct pl_hooks_before hooks = {.cmd = cmd};
  if (read_reqfiles(io, rf, &all, &nall, err) < 0) goto out_files;
  char **v = realloc(all, (nall + (size_t)nargs + 1) * sizeof *v);
  if (v == NULL) {
    pl_fail(err, ENOMEM, "install");
    goto out_files;
  }
  all = v;
  for (int i = 0; i < nargs; i++)
    all[nall++] = args[i];
  if (pl_env_open(&e, pl_cli.project, pl_cli_progress, NULL, err) < 0) goto out;
  e.compile_after_switch = pl_cli_compile_after_switch();
  e.compile_detach = e.compile_after_switch && pl_cli_compile_detached();
  e.switched = pl_cli_hooks_switched;
  e.switched_ctx = &hooks;
  if (pl_env_begin_change(&e, err) < 0 || pl_cli_requested_prepare(&e, &rq, err) < 0 ||
      pl_lockfile_parse(e.lock_text, e.lock_len, PL_LOCK_FILE, &before, err) < 0)
    goto out;
  if (rq.source == PL_REQUESTED_PYPROJECT && nall > 0) {
    if (edit_pyproject(&e, &rq, adding, all, (int)nall, &py_new, &py_len, err) < 0) goto out;
  } else if (rq.source != PL_REQUESTED_PYPROJECT &&
             edit_requested(&e, adding, all, (int)nall, err) < 0) {
    goto out;
  }
  if (pl_requested_preferences(&e, io->upgrade, io->nupgrade, io->upgrade_all, err) < 0 ||
      pl_lockfile_set(&e.lf.created_by, "pylock", err) < 0 ||
      pl_env_resolve(&e, &changed, &why, err) < 0)
    goto out;
  if (e.dropped_preferences)
    pl_cli_info("pylock: no resolution keeps every locked version; resolved afresh");
  if (io->nfiles && check_hashes(&e, &before, rf, io->nfiles, err) < 0) goto out;
  pl_cli_hooks_before(&e, &hooks);
  /* pyproject.toml first: a crash before the lock's commit leaves the
   * declared set ahead of the lock (lock --check says so; pylock lock
   * catches up), never the lock ahead of what the project declares. */
  if (py_new) {
    if (pl_requested_write_pyproject(&e, &rq, py_new, py_len, err) < 0) goto out;
    py_written = true;
  }
  /* Byte-compiling after the switch may fail once the new lock is in
   * place and its environment current (res.source_generation). */
  int committed = pl_env_commit(&e, &res, err);
  if (committed == 0 && res.compile_pending)
    committed = pl_cli_compile_background(&e, &res, cmd, err);
  if (committed < 0 && res.source_generation == 0) goto out;
  py_written = false;
  if (!res.unchanged) pl_cli_hooks_announce(&e, &hooks, cmd);
  if (committed < 0) goto out;
  pl_cli_info("pylock: %s: generation %u, %zu packages (%zu fetched, %zu unpacked, %llu files)",
              cmd, res.generation, res.packages, res.fetched, res.built,
              (unsigned long long)res.files);
  pl_cli_compiled_after(&e, &res);
  rc = 0;
out:
  if (py_written) {
    pl_error_t ignored = NULL;
    if (pl_requested_write_pyproject(&e, &rq, rq.py_text, rq.py_len, &ignored) < 0)
      pl_error_free(&ignored);
  }
  pl_cli_hooks_free(&hooks);
  pl_lockfile_free(&before);
  pl_requested_free(&rq);
  pl_env_close(&e);
out_files:
  for (size_t f = 0; f < MAX_FILES; f++)
    pl_reqfile_free(&rf[f]);
  return rc;
}

/* Options, then the change. */
static int command(const char *cmd, bool adding, int argc, char **argv) {
  pl_cli_catch_interrupts();
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                       {"requirement", required_argument, NULL, 'r'},
                                       {"upgrade", no_argument, NULL, 'U'},
                                       {"upgrade-package", required_argument, NULL, 'P'},
                                       {NULL, 0, NULL, 0}};
  struct install_opts io = {0};
  int c;
  while ((c = getopt_long(argc, argv, adding ? "+hr:UP:" : "+h", opts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout, cmd);
      return PL_EXIT_OK;
    }
    if (!adding || c == '?' || c == ':') return pl_cli_bad_option(cmd, argv);
    if (c == 'U') io.upgrade_all = true;
    if (c == 'r' && io.nfiles >= MAX_FILES)
      return pl_cli_usage_error(cmd, "at most %d requirements files", MAX_FILES);
    if (c == 'r') io.files[io.nfiles++] = optarg;
    if (c == 'P' && io.nupgrade >= MAX_UPGRADE)
      return pl_cli_usage_error(cmd, "at most %d --upgrade-package", MAX_UPGRADE);
    if (c == 'P' && !pl_distname_valid(optarg, strlen(optarg)))
      return pl_cli_usage_error(cmd, "'%s' is not a package name", optarg);
    if (c == 'P') io.upgrade[io.nupgrade++] = optarg;
  }
  if (optind >= argc && io.nfiles == 0 && io.nupgrade == 0 && !io.upgrade_all)
    return pl_cli_usage_error(cmd, adding ? "missing REQ" : "missing NAME");
  pl_error_t err = NULL;
  /* Every requirement is checked before the project is even opened. */
  for (int i = optind; adding && i < argc; i++)
    if (pl_requirement_check(argv[i], &err) < 0) return pl_cli_report(cmd, &err);
  if (change(cmd, adding, argv + optind, argc - optind, &io, &err) < 0)
    return pl_cli_report(cmd, &err);
  return PL_EXIT_OK;
}

int pl_cmd_install(int argc, char **argv) {
  return command("install", true, argc, argv);
}
int pl_cmd_remove(int argc, char **argv) {
  return command("remove", false, argc, argv);
}
