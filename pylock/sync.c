/* pylock sync — make the environment exactly match pylock.toml. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "env.h"
#include "project.h"
#include "requested.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock sync [--frozen] [--python PATH] [--offline] [--trusted NAME] [--repair]\n"
          "                   [--extra NAME]... [--group NAME]...\n\n"
          "Make the project's environment exactly match pylock.toml: every locked wheel comes\n"
          "from the shared cache or is fetched through the registry and verified (signed\n"
          "length and sha256, safe archive, RECORD), a new generation is built beside the\n"
          "current one and switched to with one rename. Runs in progress keep the generation\n"
          "they started with. A project without state (a fresh checkout) gets it.\n"
          "A lock written by another tool (pip, uv, PDM) installs as it is: its packages'\n"
          "markers are evaluated for the project's interpreter, each package gets its best\n"
          "wheel by the interpreter's tags, and its packages' index names the registry.\n\n"
          "Options:\n"
          "  --frozen        fail if pylock.toml is stale for [tool.pylock] requested; never\n"
          "                  re-lock; trust only the interpreter and the registry root this\n"
          "                  machine trusts, as 'pylock ci' does\n"
          "  --python PATH   with --frozen: the interpreter to build on, instead of the lock's\n"
          "  --offline       use the registry's metadata as last verified; fetch nothing\n"
          "  --trusted NAME  anchor to this root of 'pylock trust'\n"
          "  --repair        rebuild the environment, checking every byte of the cache\n"
          "                  trees it uses; damaged trees and wheels are built or fetched\n"
          "                  again\n"
          "  --extra NAME    install the lock's extra NAME too (repeatable; default none)\n"
          "  --group NAME    install the lock's dependency group NAME (repeatable; default\n"
          "                  the lock's default-groups)\n"
          "  -h, --help      print this help and exit\n");
}

void pl_cli_hooks_before(const struct pl_env *e, struct pl_hooks_before *h) {
  pl_error_t err = NULL;
  if (pl_env_startup_hooks(e, &h->names, &h->n, &err) < 0) pl_error_free(&err);
}

void pl_cli_hooks_free(struct pl_hooks_before *h) {
  for (size_t i = 0; i < h->n; i++)
    free(h->names[i]);
  free(h->names);
  h->names = NULL;
  h->n = 0;
}

static bool had_hook(const struct pl_hooks_before *h, const char *hook) {
  for (size_t i = 0; i < h->n; i++)
    if (strcmp(h->names[i], hook) == 0) return true;
  return false;
}

/* The packages of the new current generation whose hooks are new, and which. */
static void announce_from(const struct pl_env *e, const struct pl_hooks_before *h,
                          const char *cmd) {
  pl_error_t err = NULL;
  struct pl_installed *now = NULL;
  size_t n = 0;
  if (pl_env_installed(e, &now, &n, &err) < 0) {
    cleanup_free char *msg = pl_error_string(err);
    pl_cli_line(stderr, "pylock: %s: warning: cannot tell which package brought startup hooks: %s",
                cmd, msg);
    pl_error_free(&err);
  }
  for (size_t i = 0; i < n; i++) {
    if (now[i].nstartup_hooks == 0) continue;
    cleanup_free char **fresh = calloc(now[i].nstartup_hooks, sizeof *fresh);
    size_t k = 0;
    for (size_t j = 0; fresh && j < now[i].nstartup_hooks; j++)
      if (!had_hook(h, now[i].startup_hooks[j])) fresh[k++] = now[i].startup_hooks[j];
    if (k == 0 && fresh) continue;
    cleanup_free char *list = fresh ? pl_cli_join(fresh, k, ", ") : NULL;
    pl_cli_line(stderr,
                "pylock: %s: %s %s installs startup hooks: %s (code that runs at every "
                "interpreter start)",
                cmd, now[i].name, now[i].version, list ? list : "(out of memory)");
  }
  pl_installed_free(now, n);
}

void pl_cli_hooks_announce(const struct pl_env *e, struct pl_hooks_before *h, const char *cmd) {
  struct pl_hooks_before after = {0};
  pl_error_t err = NULL;
  bool fresh = false;
  if (h->announced) return;
  h->announced = true;
  /* Which packages brought them (their RECORDs) only when there are new ones. */
  if (pl_env_startup_hooks(e, &after.names, &after.n, &err) < 0) {
    pl_error_free(&err);
    fresh = true;
  }
  for (size_t i = 0; i < after.n && !fresh; i++)
    fresh = !had_hook(h, after.names[i]);
  if (fresh) announce_from(e, h, cmd);
  pl_cli_hooks_free(&after);
  pl_cli_hooks_free(h);
}

void pl_cli_hooks_switched(const struct pl_env *e, unsigned n, void *h) {
  (void)n;
  struct pl_hooks_before *hb = h;
  pl_cli_hooks_announce(e, hb, hb->cmd);
}

int pl_sync_select_add(struct pl_sync_opts *o, bool group, const char *name, const char *cmd) {
  size_t *n = group ? &o->ngroups : &o->nextras;
  if (*n >= PL_SELECT_MAX_NAMES) {
    pl_cli_usage_error(cmd, "more than %d --%s options", PL_SELECT_MAX_NAMES,
                       group ? "group" : "extra");
    return -1;
  }
  (group ? o->groups : o->extras)[(*n)++] = name;
  return 0;
}

int pl_sync_project(const struct pl_sync_opts *so, struct pl_sync_result *res, char **anchor,
                    pl_error_t *err) {
  struct pl_env e;
  struct pl_hooks_before hooks = {.cmd = "sync"};
  int rc = -1;
  char why[512];
  struct pl_env_opts o = {.dir = pl_cli.project,
                          .progress = pl_cli_progress,
                          .offline = so->offline,
                          .runner = so->frozen,
                          .keep_policy = so->keep_policy,
                          .compile_after_switch = so->compile_after_switch,
                          .compile_detach = so->compile_after_switch && so->compile_detach,
                          .switched = pl_cli_hooks_switched,
                          .switched_ctx = &hooks,
                          .trusted = so->trusted,
                          .python = so->python,
                          .select = {.extras = so->extras,
                                     .nextras = so->nextras,
                                     .groups = so->groups,
                                     .ngroups = so->ngroups,
                                     .groups_given = so->ngroups > 0}};
  if (pl_env_open_with(&e, &o, err) < 0) goto out;
  /* The requested set a frozen lock must match: pyproject.toml's, if it declares one. */
  struct pl_requested rq;
  int loaded = so->frozen ? pl_requested_load(&e, &rq, err) : 0;
  if (so->frozen) pl_requested_free(&rq);
  if (loaded < 0) goto out;
  if (so->frozen && pl_env_lock_is_stale(&e, why, sizeof why)) {
    pl_fail_hint(err, 0, "update it with: pylock lock (and commit it)", "%s is stale: %s",
                 PL_LOCK_FILE, why);
    goto out;
  }
  pl_cli_hooks_before(&e, &hooks);
  /* Byte-compiling after the switch may fail once the new environment is
   * current (res->source_generation): its startup hooks are announced. */
  int synced = pl_env_sync(&e, so->repair, res, err);
  if (synced == 0 && res->compile_pending) synced = pl_cli_compile_background(&e, res, "sync", err);
  if (synced < 0 && res->source_generation == 0) goto out;
  if (!res->unchanged) pl_cli_hooks_announce(&e, &hooks, "sync");
  if (synced < 0) goto out;
  if (anchor && e.anchor) *anchor = strdup(e.anchor);
  if (res->unchanged)
    pl_cli_info("pylock: environment already matches %s (generation %u, %zu packages)",
                PL_LOCK_FILE, res->generation, res->packages);
  else
    pl_cli_info("pylock: generation %u: %zu packages, %llu files (%zu fetched, %zu unpacked; "
                "fetch %.0f ms, unpack %.0f ms, link %.0f ms)",
                res->generation, res->packages, (unsigned long long)res->files, res->fetched,
                res->built, res->ms_fetch, res->ms_build, res->ms_link);
  pl_cli_compiled_after(&e, res);
  rc = 0;
out:
  pl_cli_hooks_free(&hooks);
  pl_env_close(&e);
  return rc;
}

bool pl_cli_compile_after_switch(void) {
  const char *v = getenv("PYLOCK_COMPILE");
  if (v && (strcmp(v, "after-switch") == 0 || strcmp(v, "after-switch-wait") == 0)) return true;
  if (v && strcmp(v, "before-switch") == 0) return false;
  return isatty(STDERR_FILENO) == 1;
}

void pl_cli_compiled_after(const struct pl_env *e, const struct pl_sync_result *res) {
  if (res->compile_pid && res->compile_packages)
    pl_cli_info("pylock: usable now (generation %u); byte-compiling %zu package%s in the "
                "background (pid %d; imports run from source until done): pylock info says "
                "when; its log: %s/%s",
                res->source_generation, res->compile_packages,
                res->compile_packages == 1 ? "" : "s", res->compile_pid, e->state_path,
                PL_CLI_COMPILE_LOG);
  else if (res->compile_pid)
    pl_cli_info("pylock: byte-compiling generation %u in the background (pid %d; imports run "
                "from source until done): pylock info says when; its log: %s/%s",
                res->source_generation, res->compile_pid, e->state_path, PL_CLI_COMPILE_LOG);
  if (res->source_generation && res->generation != res->source_generation)
    pl_cli_info("pylock: byte-code compiled after the switch to generation %u, in %.0f ms; "
                "generation %u has it",
                res->source_generation, res->ms_compile, res->generation);
}

int pl_cmd_sync(int argc, char **argv) {
  pl_cli_catch_interrupts();
  static const struct option opts[] = {{"frozen", no_argument, NULL, 'f'},
                                       {"offline", no_argument, NULL, 'o'},
                                       {"trusted", required_argument, NULL, 't'},
                                       {"repair", no_argument, NULL, 'r'},
                                       {"python", required_argument, NULL, 'p'},
                                       {"extra", required_argument, NULL, 'e'},
                                       {"group", required_argument, NULL, 'g'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  struct pl_sync_opts so = {.compile_after_switch = pl_cli_compile_after_switch(),
                            .compile_detach = pl_cli_compile_detached()};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'f': so.frozen = true; break;
    case 'o': so.offline = true; break;
    case 't': so.trusted = optarg; break;
    case 'r': so.repair = true; break;
    case 'p': so.python = optarg; break;
    case 'e':
    case 'g':
      if (pl_sync_select_add(&so, c == 'g', optarg, "sync") < 0) return PL_EXIT_USAGE;
      break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("sync", argv);
    }
  }
  if (optind < argc) return pl_cli_usage_error("sync", "unexpected argument '%s'", argv[optind]);
  if (so.python && !so.frozen)
    return pl_cli_usage_error("sync", "--python goes with --frozen (elsewhere the interpreter is "
                                      "the project's: pylock init --python PATH)");
  pl_error_t err = NULL;
  struct pl_sync_result res;
  if (pl_sync_project(&so, &res, NULL, &err) < 0) return pl_cli_report("sync", &err);
  return PL_EXIT_OK;
}
