/* pylock — pip's resolver in the sandbox, and its report; see resolve.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "canonjson.h"
#include "child.h"
#include "cleanup.h"
#include "log.h"
#include "distname.h"
#include "environ.h"
#include "file.h"
#include "harden.h"
#include "indexserver.h"
#include "paths.h"
#include "pep508.h"
#include "sandbox.h"
#include "simpleindex.h"
#include "tags.h"

/* ------------------------------------------------------------ report */

static const char *jstr(json_t *obj, const char *key) {
  json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static int cmp_target(const void *key, const void *elem) {
  return strcmp(key, ((const struct pl_tuf_target *)elem)->name);
}

char *pl_resolve_target_url(const char *registry, const char *name) {
  char *out = NULL;
  size_t n = strlen(registry);
  while (n > 1 && registry[n - 1] == '/')
    n--;
  bool has_scheme = strstr(registry, "://") != NULL;
  if (asprintf(&out, "%s%.*s/targets/%s", has_scheme ? "" : "file://", (int)n, registry, name) < 0)
    return NULL;
  return out;
}

/* The file name at the end of a URL, percent-decoded. */
static int url_filename(const char *url, char *out, size_t cap) {
  size_t end = strcspn(url, "?#"), start = end, w = 0;
  while (start > 0 && url[start - 1] != '/')
    start--;
  for (size_t i = start; i < end; i++) {
    char c = url[i];
    if (c == '%' && i + 2 < end + 1 && url[i + 1] && url[i + 2]) {
      char hex[3] = {url[i + 1], url[i + 2], 0};
      char *e;
      long v = strtol(hex, &e, 16);
      if (*e || v <= 0) return -1;
      c = (char)v, i += 2;
    }
    if (w + 1 >= cap || c == '/') return -1;
    out[w++] = c;
  }
  out[w] = '\0';
  return w > 0 ? 0 : -1;
}

static int report_item(json_t *item, size_t idx, const struct pl_tuf_target *targets,
                       size_t ntargets, const char *registry, struct pl_lock_package *p,
                       pl_error_t *err) {
  json_t *md = json_object_get(item, "metadata");
  json_t *di = json_object_get(item, "download_info");
  const char *name = jstr(md, "name"), *version = jstr(md, "version"), *url = jstr(di, "url");
  if (!name || !version || !url)
    return pl_fail(err, EINVAL,
                   "pip report: install[%zu] lacks metadata.name, .version or "
                   "download_info.url",
                   idx);
  if (!pl_distname_valid(name, strlen(name)) || !pl_version_valid(version, strlen(version)))
    return pl_fail(err, EINVAL, "pip report: install[%zu]: invalid name or version", idx);
  char file[PL_WHEEL_FILENAME_MAX + 1];
  if (url_filename(url, file, sizeof file) < 0)
    return pl_fail(err, EINVAL, "pip report: %s: no file name in %s", name, url);
  const struct pl_tuf_target *tg =
      ntargets ? bsearch(file, targets, ntargets, sizeof *targets, cmp_target) : NULL;
  if (tg == NULL)
    return pl_fail(err, EINVAL, "pip report: %s %s: %s is not a signed target of the registry",
                   name, version, file);
  if (tg->sha256[0] == '\0')
    return pl_fail(err, EINVAL, "%s: the registry signs no sha256 for it", file);
  json_t *ai = json_object_get(di, "archive_info");
  const char *sha = jstr(json_object_get(ai, "hashes"), "sha256");
  const char *legacy = jstr(ai, "hash");
  if (sha == NULL && legacy && strncmp(legacy, "sha256=", 7) == 0) sha = legacy + 7;
  if (sha == NULL || strcmp(sha, tg->sha256) != 0)
    return pl_fail(err, EINVAL,
                   "pip report: %s: sha256 %s differs from the registry's signed %s; refusing it",
                   file, sha ? sha : "(none)", tg->sha256);
  struct pl_wheel_filename fn;
  if (pl_wheel_filename_parse(file, &fn, err) < 0) return -1;
  bool same = pl_distname_equal(fn.name, strlen(fn.name), name, strlen(name));
  pl_wheel_filename_free(&fn);
  if (!same) return pl_fail(err, EINVAL, "pip report: %s is not a wheel of %s", file, name);

  const char *rp = jstr(md, "requires_python");
  p->name = strdup(name);
  p->version = strdup(version);
  p->index = strdup(registry);
  p->requires_python = rp ? strdup(rp) : NULL;
  p->requested = json_is_true(json_object_get(item, "requested"));
  p->wheels = calloc(1, sizeof *p->wheels);
  if (!p->name || !p->version || !p->index || (rp && !p->requires_python) || !p->wheels)
    return pl_fail(err, ENOMEM, "pip report");
  p->nwheels = 1;
  struct pl_lock_wheel *w = p->wheels;
  w->name = strdup(file);
  w->url = pl_resolve_target_url(registry, tg->name);
  if (!w->name || !w->url) return pl_fail(err, ENOMEM, "pip report");
  w->size = tg->length, w->has_size = true;
  memcpy(w->sha256, tg->sha256, sizeof w->sha256);
  return 0;
}

int pl_resolve_parse_report(const char *buf, size_t len, const struct pl_tuf_target *targets,
                            size_t ntargets, const char *registry, struct pl_lock_package **pkgs,
                            size_t *n, pl_error_t *err) {
  if (len > PL_REPORT_MAX) return pl_fail(err, EFBIG, "pip report: more than %zu bytes", len);
  cleanup_json json_t *root = NULL;
  if (pl_json_parse(buf, len, "pip report", &root, err) < 0) return -1;
  const char *version = jstr(root, "version");
  if (version == NULL || strcmp(version, "1") != 0)
    return pl_fail(err, EINVAL, "pip report: format version %s is not supported (1 is)",
                   version ? version : "(none)");
  json_t *install = json_object_get(root, "install");
  if (!json_is_array(install)) return pl_fail(err, EINVAL, "pip report: no install list");
  size_t cnt = json_array_size(install);
  if (cnt > PL_LOCK_MAX_PACKAGES) return pl_fail(err, E2BIG, "pip report: too many packages");
  struct pl_lock_package *out = calloc(cnt ? cnt : 1, sizeof *out);
  if (out == NULL) return pl_fail(err, ENOMEM, "pip report");
  for (size_t i = 0; i < cnt; i++) {
    if (report_item(json_array_get(install, i), i, targets, ntargets, registry, &out[i], err) < 0) {
      for (size_t k = 0; k <= i; k++)
        pl_lock_package_free(&out[k]);
      free(out);
      return -1;
    }
  }
  *pkgs = out, *n = cnt;
  return 0;
}

/* ------------------------------------------------------------ pip errors */

int pl_resolve_pip_error(const char *output, int status, pl_error_t *err) {
  char quoted[1024] = "";
  size_t used = 0;
  const char *hint = "the quoted lines are pip's; check the requested set (pyproject.toml, or "
                     "[tool.pylock] requested in pylock.toml)";
  for (const char *line = output; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t l = end ? (size_t)(end - line) : strlen(line);
    if (l > 7 && strncmp(line, "ERROR: ", 7) == 0 && used < sizeof quoted - 8) {
      int w = snprintf(quoted + used, sizeof quoted - used, "%s\"%.*s\"", used ? "; " : "",
                       (int)(l - 7 > 400 ? 400 : l - 7), line + 7);
      if (w > 0) used += (size_t)w < sizeof quoted - used ? (size_t)w : sizeof quoted - used - 1;
      if (strstr(line, "No matching distribution") || strstr(line, "Could not find a version"))
        hint = "check the requirement's spelling and that the registry publishes a wheel for it "
               "(pylock registry verify URL --targets)";
      else if (strstr(line, "conflict") || strstr(line, "ResolutionImpossible"))
        hint = "relax the conflicting requirements";
    }
    line = end ? end + 1 : NULL;
  }
  if (used == 0 || strstr(quoted, "\"Exception:\"")) {
    /* No ERROR line, or a traceback: quote the last line pip printed. */
    size_t len = strlen(output);
    while (len > 0 && output[len - 1] == '\n')
      len--;
    size_t start = len;
    while (start > 0 && output[start - 1] != '\n')
      start--;
    snprintf(quoted + used, sizeof quoted - used, "%s\"%.*s\"", used ? "; " : "",
             (int)(len - start > 400 ? 400 : len - start), output + start);
  }
  if (WIFSIGNALED(status))
    return pl_fail_hint(err, 0, hint, "pip was killed by signal %d: %s", WTERMSIG(status), quoted);
  return pl_fail_hint(err, 0, hint, "pip could not resolve the requested set: %s", quoted);
}

/* ------------------------------------------------------------ running pip */

/* pip, started by `python -I -c DRIVER -m pip install ...` (the base's pip)
 * or `python -I -c DRIVER WORK/files/pip-X.whl/pip install ...` (the
 * registry's verified wheel, put first on sys.path).
 * pip 23.0 to 25.2 download every wheel a --dry-run picks even when it
 * resolved from PEP 658 metadata, only to read the same METADATA again
 * (23.0 downloads each twice: pypa/pip#11847, #12603): the driver lets a
 * requirement pip prepared from metadata keep that distribution, and its
 * report's download_info come from the link (URL, sha256), instead.
 * pylock loses nothing by it: the .metadata pip read is a signed target
 * checked as served, the report's hashes are checked against the signed
 * ones (pl_resolve_parse_report), and every wheel is fetched and verified
 * by pylock before it is installed.  A pip whose internals differ is run
 * unchanged (it downloads, as before), and so is code in pip's place.
 * pip's User-Agent, which only pylock's own index server sees, is a fixed
 * string: pip works it out from the system at every session (running
 * `lsb_release -a` and scanning for setuptools), ~0.1 s of every resolution. */
static const char pip_driver[] =
    "import os, runpy, sys\n"
    "main = None\n"
    "if sys.argv[1:3] == ['-m', 'pip']:\n"
    "    del sys.argv[1:3]\n"
    "else:\n"
    "    main = sys.argv.pop(1)\n"
    "    sys.path.insert(0, os.path.dirname(main))\n"
    "def patch():\n"
    "    try:\n"
    "        from pip._internal.operations.prepare import RequirementPreparer as P\n"
    "        from pip._internal.req.req_install import InstallRequirement as R\n"
    "        from pip._internal.utils.direct_url_helpers import direct_url_from_link\n"
    "        prep, more, dist = (P.prepare_linked_requirement,\n"
    "                            P.prepare_linked_requirements_more, R.get_dist)\n"
    "    except (ImportError, AttributeError):\n"
    "        return\n"
    "    def prepare(self, req, *a, **k):\n"
    "        d = prep(self, req, *a, **k)\n"
    "        if getattr(req, 'needs_more_preparation', False):\n"
    "            req._pylock_dist = d\n"
    "        return d\n"
    "    def prepare_more(self, reqs, *a, **k):\n"
    "        rest = []\n"
    "        for r in reqs:\n"
    "            link = r.link\n"
    "            if (getattr(r, '_pylock_dist', None) is not None and r.needs_more_preparation\n"
    "                    and link is not None and link.is_wheel and link.hash_name == 'sha256'):\n"
    "                r.download_info = direct_url_from_link(link)\n"
    "                r.needs_more_preparation = False\n"
    "            else:\n"
    "                rest.append(r)\n"
    "        return more(self, rest, *a, **k)\n"
    "    def get_dist(self):\n"
    "        d = getattr(self, '_pylock_dist', None)\n"
    "        if d is not None and not self.needs_more_preparation and not self.local_file_path:\n"
    "            return d\n"
    "        return dist(self)\n"
    "    P.prepare_linked_requirement = prepare\n"
    "    P.prepare_linked_requirements_more = prepare_more\n"
    "    R.get_dist = get_dist\n"
    "patch()\n"
    "try:\n"
    "    import pip._internal.network.session as s\n"
    "    s.user_agent = lambda: 'pip (pylock resolver)'\n"
    "except (ImportError, AttributeError):\n"
    "    pass\n"
    "if main is None:\n"
    "    runpy.run_module('pip', run_name='__main__', alter_sys=True)\n"
    "else:\n"
    "    sys.argv[0] = main\n"
    "    runpy.run_path(main, run_name='__main__')\n";

/* -v: the command line about to run, words separated by spaces. */
static void log_command(char *const *argv) {
  if (!pl_log_on(PL_LOG_VERBOSE)) return;
  char line[8192];
  size_t at = 0;
  for (size_t i = 0; argv[i] && at < sizeof line - 1; i++) {
    const char *word = argv[i] == pip_driver ? "<pylock's pip driver>" : argv[i];
    int w = snprintf(line + at, sizeof line - at, "%s%s", i ? " " : "", word);
    if (w < 0) return;
    at += (size_t)w;
  }
  pl_log(PL_LOG_VERBOSE, "resolver (sandboxed, no network, writes only %s): %s",
         "its work directory", line);
}

/* Run argv in the resolver's sandbox; *output receives what it printed (the
 * last PL_RESOLVE_OUTPUT_MAX bytes), *status its wait status. */
static int run_sandboxed(const struct pl_resolve_opts *o, char **argv,
                         struct pl_indexserver *server, char **output, int *status,
                         pl_error_t *err) {
  cleanup_free char *config_dir = NULL, *tmp = NULL, *tmp_env = NULL;
  if (pl_path_user_config("", &config_dir, err) < 0) return -1;
  if (asprintf(&tmp, "%s/tmp", o->work_dir) < 0 || asprintf(&tmp_env, "TMPDIR=%s", tmp) < 0)
    return pl_fail(err, ENOMEM, "resolve");
  if (mkdir(tmp, 0700) < 0 && errno != EEXIST) return pl_fail(err, errno, "mkdir %s", tmp);
  struct pl_sandbox sb = {.project = o->project,
                          .state_root = o->state_root,
                          .config_dir = config_dir,
                          .prefix = o->prefix,
                          .layer = o->layer,
                          .user_site = o->user_site,
                          .cwd = o->work_dir,
                          .scratch = o->work_dir,
                          .no_network = true};
  /* The index is on loopback: no proxy may stand in between (pip's
   * --isolated leaves requests' proxy variables in force). */
  const char *extra[] = {tmp_env,
                         "PYTHONNOUSERSITE=1",
                         "no_proxy=127.0.0.1",
                         "NO_PROXY=127.0.0.1",
                         "http_proxy=",
                         "HTTP_PROXY=",
                         "https_proxy=",
                         "HTTPS_PROXY=",
                         "all_proxy=",
                         "ALL_PROXY=",
                         NULL};
  char **envp = pl_environ_build(extra);
  if (envp == NULL) return pl_fail(err, ENOMEM, "resolve");
  struct pl_child_opts co = {.argv = argv,
                             .envp = (const char *const *)envp,
                             .sandbox = &sb,
                             .timeout_s = PL_RESOLVE_TIMEOUT_S,
                             .output_max = PL_RESOLVE_OUTPUT_MAX,
                             .keep_tail = true,
                             .in_sandbox = server ? pl_indexserver_listen : NULL,
                             .in_sandbox_ctx = server};
  struct pl_child_result r;
  log_command(argv);
  int rc = pl_child_run(&co, &r, err);
  free(envp);
  if (rc < 0) return pl_error_wrap(err, "resolver sandbox");
  if (pl_log_on(PL_LOG_DEBUG)) {
    pl_log(PL_LOG_DEBUG, "resolver: exit status %d; it printed:",
           WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status));
    for (const char *l = r.output; l && *l;) {
      size_t n = strcspn(l, "\n");
      pl_log(PL_LOG_DEBUG, "  pip| %.*s", (int)n, l);
      l += n + (l[n] == '\n');
    }
  }
  *output = r.output;
  *status = r.status;
  return 0;
}

/* Does the base interpreter have pip?  Asked in the sandbox too: the
 * interpreter is what pylock.toml names, and a pull request writes that. */
static bool base_has_pip(const struct pl_resolve_opts *o) {
  char *argv[] = {(char *)o->python, "-I", "-c", "import pip", NULL};
  cleanup_free char *output = NULL;
  int status = 0;
  pl_error_t err = NULL;
  int r = run_sandboxed(o, argv, NULL, &output, &status, &err);
  pl_error_free(&err);
  return r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Compare the release parts of two versions numerically ("23.0.1" < "23.2"). */
static int cmp_release(const char *a, const char *b) {
  while (*a || *b) {
    char *ea, *eb;
    unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);
    if (x != y) return x < y ? -1 : 1;
    a = *ea == '.' ? ea + 1 : ea;
    b = *eb == '.' ? eb + 1 : eb;
    if ((*a < '0' || *a > '9') && (*b < '0' || *b > '9')) return strcmp(a, b);
  }
  return 0;
}

/* The newest py3 pure pip wheel the registry offers (its project's index
 * target, or every target): its name into whl, "" when none. */
static int registry_pip(struct pl_tuf *t, char *whl, size_t wcap, char *version, size_t cap,
                        pl_error_t *err) {
  char **names = NULL;
  size_t n = 0;
  whl[0] = '\0';
  if (pl_simpleindex_project_files(t, "pip", &names, &n, err) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    struct pl_wheel_filename fn;
    pl_error_t e = NULL;
    if (pl_wheel_filename_parse(names[i], &fn, &e) == 0) {
      char tags[128];
      pl_wheel_tags_string(&fn, tags, sizeof tags);
      if (strstr(tags, "-none-any") && strstr(tags, "py3") &&
          (whl[0] == '\0' || cmp_release(fn.version, version) > 0) && strlen(names[i]) < wcap) {
        snprintf(whl, wcap, "%s", names[i]);
        snprintf(version, cap, "%s", fn.version);
      }
      pl_wheel_filename_free(&fn);
    }
    pl_error_free(&e);
    free(names[i]);
  }
  free(names);
  return 0;
}

/* WORK/constraints.txt: one "name==version" a line, each checked here,
 * since pip reads options from that file too. */
static int write_constraints(const struct pl_resolve_opts *o, char **path, pl_error_t *err) {
  cleanup_free char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (m == NULL || asprintf(path, "%s/constraints.txt", o->work_dir) < 0) {
    if (m) fclose(m);
    return pl_fail(err, ENOMEM, "resolve");
  }
  for (size_t i = 0; i < o->npreferences; i++) {
    const char *p = o->preferences[i], *eq = strstr(p, "==");
    if (eq == NULL || !pl_distname_valid(p, (size_t)(eq - p)) ||
        !pl_version_valid(eq + 2, strlen(eq + 2)))
      continue;
    fprintf(m, "%s\n", p);
  }
  if (fclose(m) != 0) return pl_fail(err, ENOMEM, "resolve");
  return pl_write_file_atomic_at(AT_FDCWD, *path, text, len, 0600, err);
}

static int cmp_pkg_name(const void *a, const void *b) {
  const struct pl_lock_package *x = a, *y = b;
  char nx[PL_DISTNAME_MAX + 1] = "", ny[PL_DISTNAME_MAX + 1] = "";
  pl_distname_normalize(x->name, strlen(x->name), nx, sizeof nx);
  pl_distname_normalize(y->name, strlen(y->name), ny, sizeof ny);
  return strcmp(nx, ny);
}

static int cmp_target_entry(const void *a, const void *b) {
  return strcmp(((const struct pl_tuf_target *)a)->name, ((const struct pl_tuf_target *)b)->name);
}

/* The bins the lookups of the report's files will read, fetched at once
 * (pl_tuf_prefetch): one round of requests, not one request a file. */
static int prefetch_report_bins(struct pl_tuf *t, const json_t *install, pl_error_t *err) {
  size_t cap = json_array_size(install), n = 0;
  cleanup_free char(*files)[PL_WHEEL_FILENAME_MAX + 1] = calloc(cap ? cap : 1, sizeof *files);
  cleanup_free const char **names = calloc(cap ? cap : 1, sizeof *names);
  if (files == NULL || names == NULL) return pl_fail(err, ENOMEM, "resolve");
  for (size_t i = 0; i < cap; i++) {
    const char *url = jstr(json_object_get(json_array_get(install, i), "download_info"), "url");
    if (url && url_filename(url, files[n], sizeof files[n]) == 0) names[n] = files[n], n++;
  }
  return pl_tuf_prefetch(t, names, n, err);
}

/* The signed targets of the files pip's report names, each looked up by
 * name (through the bin it falls in: never a list of every target); a
 * name that is no target is left for pl_resolve_parse_report to refuse. */
static int report_targets(struct pl_tuf *t, const char *buf, size_t len, struct pl_tuf_target **out,
                          size_t *n, pl_error_t *err) {
  cleanup_json json_t *doc = NULL;
  *out = NULL, *n = 0;
  if (pl_json_parse(buf, len, "pip report", &doc, err) < 0) return -1;
  json_t *install = json_object_get(doc, "install");
  size_t cap = json_array_size(install);
  if (prefetch_report_bins(t, install, err) < 0) return -1;
  struct pl_tuf_target *list = calloc(cap ? cap : 1, sizeof *list);
  if (list == NULL) return pl_fail(err, ENOMEM, "resolve");
  for (size_t i = 0; i < cap; i++) {
    const char *url = jstr(json_object_get(json_array_get(install, i), "download_info"), "url");
    char file[PL_WHEEL_FILENAME_MAX + 1];
    const struct pl_tuf_target *tg;
    pl_error_t e = NULL;
    if (url == NULL || url_filename(url, file, sizeof file) < 0) continue;
    if (pl_tuf_find_target(t, file, &tg, &e) < 0) {
      bool absent = e->errnum == ENOENT;
      if (!absent) {
        free(list);
        pl_error_free(err);
        *err = e;
        return -1;
      }
      pl_error_free(&e);
      continue;
    }
    list[(*n)++] = *tg;
  }
  if (*n) qsort(list, *n, sizeof *list, cmp_target_entry);
  *out = list;
  return 0;
}

/* Each package named as its wheel's signed METADATA spells it, where pip
 * read it respelled from the index server (its report says what it read). */
static int respell(const struct pl_simpleindex *ix, struct pl_lock_package *pkgs, size_t n,
                   pl_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    struct pl_lock_package *p = &pkgs[i];
    const char *name = p->nwheels ? pl_simpleindex_served_name(ix, p->wheels[0].name) : NULL;
    if (name == NULL || strcmp(name, p->name) == 0 ||
        !pl_distname_equal(name, strlen(name), p->name, strlen(p->name)))
      continue;
    char *copy = strdup(name);
    if (copy == NULL) return pl_fail(err, ENOMEM, "pip report");
    free(p->name);
    p->name = copy;
  }
  return 0;
}

/* Turn pip's report at `report` into the locked packages. */
static int read_report(struct pl_tuf *t, const struct pl_resolve_opts *o,
                       const struct pl_simpleindex *ix, const char *report,
                       struct pl_lock_package **pkgs, size_t *n, pl_error_t *err) {
  cleanup_free char *rbuf = NULL;
  size_t rlen = 0, nt = 0;
  if (pl_read_file_at(AT_FDCWD, report, PL_REPORT_MAX, &rbuf, &rlen, err) < 0) return -1;
  cleanup_free struct pl_tuf_target *targets = NULL;
  if (report_targets(t, rbuf, rlen, &targets, &nt, err) < 0) return -1;
  if (pl_resolve_parse_report(rbuf, rlen, targets, nt, o->registry, pkgs, n, err) < 0) return -1;
  if (respell(ix, *pkgs, *n, err) < 0) {
    for (size_t i = 0; i < *n; i++)
      pl_lock_package_free(&(*pkgs)[i]);
    free(*pkgs);
    *pkgs = NULL, *n = 0;
    return -1;
  }
  if (*n) qsort(*pkgs, *n, sizeof **pkgs, cmp_pkg_name);
  return 0;
}

/* Run pip once, with the index server answering it; then its report. */
static int run_pip(struct pl_tuf *t, const struct pl_resolve_opts *o, char **argv,
                   const char *report, struct pl_lock_package **pkgs, size_t *n, bool *pip_failed,
                   pl_error_t *err) {
  cleanup_close int work_fd = open(o->work_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (work_fd < 0) return pl_fail(err, errno, "open %s", o->work_dir);
  struct pl_simpleindex *ix = NULL;
  struct pl_indexserver *server = NULL;
  if (pl_simpleindex_open(t, o->cache_dir, work_fd, &ix, err) < 0) return -1;
  if (pl_indexserver_start(ix, &server, err) < 0) {
    pl_simpleindex_free(ix);
    return -1;
  }
  cleanup_free char *output = NULL;
  int status = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = run_sandboxed(o, argv, server, &output, &status, err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  struct pl_indexserver_stats st;
  pl_error_t refused = NULL;
  pl_indexserver_stop(server, &st, &refused);
  if (o->stats) {
    *o->stats = (struct pl_resolve_stats){.pip_runs = 1,
                                          .pages = st.pages,
                                          .metadata = st.metadata,
                                          .wheels = st.wheels,
                                          .bytes = st.bytes,
                                          .serve_s = st.serve_s,
                                          .fetch_s = st.fetch_s,
                                          .fetch_cpu_s = st.fetch_cpu_s,
                                          .pip_s = (double)(t1.tv_sec - t0.tv_sec) +
                                                   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9};
  }
  if (rc < 0) {
    pl_simpleindex_free(ix);
    pl_error_free(&refused);
    return -1;
  }
  /* What the registry served and pylock refused is the cause, whatever pip
   * made of the error it got instead (and even had it carried on). */
  if (refused) {
    pl_simpleindex_free(ix);
    pl_error_free(err);
    *err = refused;
    return pl_error_wrap(err, "pip asked for a file of the registry that pylock refuses");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    pl_simpleindex_free(ix);
    *pip_failed = WIFEXITED(status); /* found no resolution (not killed) */
    return pl_resolve_pip_error(output, status, err);
  }
  rc = read_report(t, o, ix, report, pkgs, n, err);
  pl_simpleindex_free(ix);
  return rc;
}

int pl_resolve(struct pl_tuf *t, const struct pl_resolve_opts *o, struct pl_lock_package **pkgs,
               size_t *n, pl_error_t *err) {
  if (o->stats) memset(o->stats, 0, sizeof *o->stats);
  if (o->nrequirements == 0) {
    *pkgs = NULL, *n = 0;
    return 0;
  }
  /* pip is given only what pylock's parser accepted, rebuilt from the parse
   * (lib/pep508.h): never a direct reference, an option or a path. */
  cleanup_free char **reqs = NULL;
  if (pl_requirements_for_pip(o->requirements, o->nrequirements, &reqs, err) < 0) return -1;
  cleanup_free char *report = NULL, *pip_path = NULL;
  if (asprintf(&report, "%s/report.json", o->work_dir) < 0) return pl_fail(err, ENOMEM, "resolve");

  /* pip itself: the base's, else a verified pip wheel from the registry. */
  bool use_registry = o->registry_pip || !base_has_pip(o);
  if (use_registry) {
    char version[64] = "", whl[PL_WHEEL_FILENAME_MAX + 1];
    if (registry_pip(t, whl, sizeof whl, version, sizeof version, err) < 0) return -1;
    if (whl[0] == '\0')
      return pl_fail_hint(err, ENOENT, "add a pip wheel to the registry: pylock registry add",
                          "%s has no pip module and the registry holds no pip wheel", o->python);
    if (pl_simpleindex_add_wheel(t, o->work_dir, o->cache_dir, whl, err) < 0) return -1;
    if (asprintf(&pip_path, "%s/files/%s/pip", o->work_dir, whl) < 0)
      return pl_fail(err, ENOMEM, "resolve");
  }

  size_t fixed = 0;
  const char *argv[40 + PL_LOCK_MAX_REQUESTED];
  if (o->nrequirements > PL_LOCK_MAX_REQUESTED)
    return pl_fail(err, E2BIG, "more than %d requirements", PL_LOCK_MAX_REQUESTED);
  argv[fixed++] = o->python;
  argv[fixed++] = "-I";
  argv[fixed++] = "-c";
  argv[fixed++] = pip_driver;
  if (pip_path) {
    argv[fixed++] = pip_path;
  } else {
    argv[fixed++] = "-m";
    argv[fixed++] = "pip";
  }
  /* --timeout: pylock fetches a file from the registry before it answers. */
  const char *args[] = {"install",     "--dry-run",          "--report",
                        report,        "--ignore-installed", "--only-binary",
                        ":all:",       "--no-cache-dir",     "--disable-pip-version-check",
                        "--isolated",  "--no-input",         "--progress-bar",
                        "off",         "--timeout",          PL_RESOLVE_PIP_TIMEOUT,
                        "--index-url", PL_INDEXSERVER_URL,   "--"};
  for (size_t i = 0; i < sizeof args / sizeof args[0] - 1; i++)
    argv[fixed++] = args[i];
  /* Preferences as constraints: pip keeps those versions where it can. */
  size_t constraint_at = 0;
  cleanup_free char *constraints = NULL;
  if (o->npreferences > 0) {
    if (write_constraints(o, &constraints, err) < 0) return -1;
    constraint_at = fixed;
    argv[fixed++] = "--constraint";
    argv[fixed++] = constraints;
  }
  argv[fixed++] = "--";
  for (size_t i = 0; i < o->nrequirements; i++)
    argv[fixed++] = reqs[i];
  argv[fixed] = NULL;
  if (o->dropped_preferences) *o->dropped_preferences = false;
  unlink(report);
  bool pip_failed = false;
  int r = run_pip(t, o, (char **)argv, report, pkgs, n, &pip_failed, err);
  if (r == 0 || !constraint_at || !pip_failed) return r;
  /* No resolution keeps every locked version: resolve afresh, once. */
  pl_error_free(err);
  memmove(&argv[constraint_at], &argv[constraint_at + 2],
          (fixed + 1 - constraint_at - 2) * sizeof *argv);
  if (o->dropped_preferences) *o->dropped_preferences = true;
  unlink(report);
  r = run_pip(t, o, (char **)argv, report, pkgs, n, &pip_failed, err);
  if (o->stats) o->stats->pip_runs = 2;
  return r;
}
