/* pylock registry — create, extend, re-sign and verify a signed registry. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "paths.h"
#include "config.h"
#include "ed25519.h"
#include "keyplace.h"
#include "fetch.h"
#include "fetchwheel.h"
#include "log.h"
#include "file.h"
#include "interp.h"
#include "pep508.h"
#include "projindex.h"
#include "registry.h"
#include "state.h"
#include "truststore.h"
#include "tuf.h"

#define MAX_KEYS 32

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: pylock registry init DIR [--key FILE]... [--online-key FILE]... [--bins N]\n"
      "                            [--no-project-index] [--threshold N] [--expires DAYS]\n"
      "       pylock registry add DIR [--key FILE]... [--expires DAYS] [ANCHOR] WHEEL...\n"
      "       pylock registry index DIR [--key FILE]... [--expires DAYS] [ANCHOR]\n"
      "       pylock registry withdraw DIR [--key FILE]... [--expires DAYS] [ANCHOR]\n"
      "                            (WHEEL | NAME==VERSION)...\n"
      "       pylock registry sign DIR [--key FILE]... [--add-root-key FILE]...\n"
      "                            [--remove-root-key KEYID]... [--renew-root] [--expires DAYS]\n"
      "                            [--accept-edits] [ANCHOR]\n"
      "       pylock registry verify URL [--root FILE | --trusted NAME] [--state DIR] "
      "[--targets | --target NAME...]\n"
      "       (ANCHOR: --root FILE | --trusted NAME)\n\n"
      "A registry is a directory of TUF metadata and wheels that any static web server,\n"
      "object store or file share can publish; see pylock-registry(5).\n\n"
      "  init     create DIR with root version 1 and empty targets; every role is held by\n"
      "           the given keys; later adds publish a PEP 691 page per project\n"
      "           (unless --no-project-index)\n"
      "  add      verify each WHEEL as a client would (safe zip, RECORD, WHEEL, METADATA;\n"
      "           not its tags), copy it to DIR/targets/, add it and its .metadata (PEP 658)\n"
      "           as targets, and re-sign targets, snapshot and timestamp; nothing is\n"
      "           published unless every wheel passed\n"
      "  index    publish a PEP 691 page per project in a registry made without them:\n"
      "           write every project's page from the signed files, and re-sign only\n"
      "           what lists a changed page (its bins or targets), snapshot and timestamp;\n"
      "           later adds keep the pages current (also repairs pages that disagree)\n"
      "  withdraw take wheels out: delist each WHEEL (a file name) or every wheel of\n"
      "           NAME==VERSION, with its .metadata and from its project's page, re-sign\n"
      "           what listed them, snapshot and timestamp, then remove their files;\n"
      "           clients refuse them from then on, even from a warm cache\n"
      "  sign     re-sign timestamp, snapshot and targets with new expiry; sign a new root\n"
      "           version when root keys change, with --renew-root, or when root would\n"
      "           expire first (signed by the current and the new root keys).  Hand edits\n"
      "           of targets since pylock signed them are listed; removals are signed,\n"
      "           added or changed targets only with --accept-edits\n"
      "  verify   run the full TUF client workflow against URL (a directory, file:///DIR,\n"
      "           http:// or https://) and print each role's version and expiry\n\n"
      "Options:\n"
      "  --key FILE              private signing key (repeatable); default\n"
      "                          $XDG_CONFIG_HOME/pylock/keys/default.key; a FILE\n"
      "                          without '/' is in that directory, - is stdin\n"
      "  --online-key FILE       private key holding timestamp, snapshot and the bins,\n"
      "                          which add signs again; --key then holds root and\n"
      "                          targets, which can stay offline (repeatable; init)\n"
      "  --bins N                delegate targets to N hashed bins (TAP 15 succinct\n"
      "                          roles; a power of two, 2..%d) with consistent\n"
      "                          snapshots: add then signs only the bins it touches;\n"
      "                          about one bin per 64 targets expected (init)\n"
      "  --project-index         publish a PEP 691 index target per project\n"
      "                          (simple/NAME/index.json), which add keeps current:\n"
      "                          clients then fetch only the projects they resolve\n"
      "                          (init; the default)\n"
      "  --no-project-index      publish no pages: every client reads every target (init)\n"
      "  --threshold N           signatures each role requires (init; default 1)\n"
      "  --expires DAYS          validity of timestamp, snapshot and targets (default %d);\n"
      "                          root is signed for at least %d days\n"
      "  --add-root-key FILE     add this private key to the root role; it co-signs (sign)\n"
      "  --remove-root-key KEYID drop a key from the root role (sign)\n"
      "  --renew-root            sign a new root version even without key changes (sign)\n"
      "  --accept-edits          sign targets added or changed by hand, once reviewed (sign)\n"
      "  --root FILE             trusted root to verify against (verify); with add, index,\n"
      "                          withdraw and sign: your newest root, outside DIR, to check\n"
      "                          DIR's against when pylock has no record of signing DIR here\n"
      "  --trusted NAME          use the trusted root NAME (see pylock trust list) (verify;\n"
      "                          add, index, withdraw and sign as --root)\n"
      "  --state DIR             keep and check the last versions seen in DIR (verify)\n"
      "  --targets               also download and check every target: length and sha256,\n"
      "                          each wheel as add does, each .metadata equal to its\n"
      "                          wheel's METADATA, each project page equal to the\n"
      "                          signed files of its project (verify)\n"
      "  --target NAME           look NAME up (through delegations, fetching only the\n"
      "                          roles the search visits), download it and check its\n"
      "                          length and sha256 (repeatable; verify)\n"
      "  -h, --help              print this help and exit\n\n"
      "DIR and DIR/targets must be yours and writable by nobody else, and no key may\n"
      "lie inside DIR: publishing DIR would publish it.  A key is refused where code\n"
      "pylock runs could have written it (a project, /tmp, ~/.cache...; see\n"
      "pylock-key(1)), and warned of outside the keys directory, which no sandbox reads.\n\n"
      "add, index and withdraw sign nothing that changed since it was signed: each\n"
      "document they start from must verify (root against the root pylock last signed\n"
      "for DIR); otherwise they stop, naming it, and change nothing.  With no record\n"
      "(a new machine, a registry first signed elsewhere), root.json must be signed by a\n"
      "key you give and give roles to no other key, or be the root given with --root or\n"
      "--trusted (your newest, kept outside DIR) or a rotation from it.\n\n"
      "Without --root or --trusted, verify anchors to URL's own 1.root.json: that checks the\n"
      "registry is consistent, not that it is the registry you meant.\n\n"
      "verify prints on stdout 'registry: URL', one 'ROLE: version N, expires\n"
      "YYYY-MM-DDTHH:MM:SSZ' line for root, timestamp, snapshot and targets in that order,\n"
      "'target-count: N', and with --targets 'verified: N targets' and 'verified-wheels: N'\n"
      "(all are checked: each that fails gets one line on stderr, and stdout ends with\n"
      "'failed: N of M targets (K verified)').  Exit status: 0 ok,\n"
      "1 a check or an operation failed (the message names the file, the check, expected\n"
      "and got), 2 usage.\n",
      PL_REGISTRY_BINS_MAX, PL_REGISTRY_EXPIRES_DAYS, PL_REGISTRY_ROOT_EXPIRES_DAYS);
}

enum {
  OPT_KEY = 256,
  OPT_THRESHOLD,
  OPT_EXPIRES,
  OPT_ADD_ROOT,
  OPT_REMOVE_ROOT,
  OPT_RENEW_ROOT,
  OPT_ROOT,
  OPT_TRUSTED,
  OPT_STATE,
  OPT_TARGETS,
  OPT_ONLINE_KEY,
  OPT_BINS,
  OPT_TARGET,
  OPT_PROJECT_INDEX,
  OPT_NO_PROJECT_INDEX,
  OPT_ACCEPT_EDITS
};

struct args {
  const char *key_files[MAX_KEYS], *add_files[MAX_KEYS], *remove_ids[MAX_KEYS];
  const char *online_files[MAX_KEYS], *names[MAX_KEYS];
  size_t nnames;
  size_t nkey_files, nadd_files, nremove_ids, nonline_files;
  unsigned long threshold, expires, bins;
  bool renew_root, targets, no_project_index, accept_edits;
  const char *root, *trusted, *state;
  char **pos;
  int npos;
};

static int parse(const char *sub, int argc, char **argv, struct args *a) {
  static const struct option opts[] = {
      {"key", required_argument, NULL, OPT_KEY},
      {"threshold", required_argument, NULL, OPT_THRESHOLD},
      {"expires", required_argument, NULL, OPT_EXPIRES},
      {"add-root-key", required_argument, NULL, OPT_ADD_ROOT},
      {"remove-root-key", required_argument, NULL, OPT_REMOVE_ROOT},
      {"renew-root", no_argument, NULL, OPT_RENEW_ROOT},
      {"root", required_argument, NULL, OPT_ROOT},
      {"trusted", required_argument, NULL, OPT_TRUSTED},
      {"state", required_argument, NULL, OPT_STATE},
      {"targets", no_argument, NULL, OPT_TARGETS},
      {"online-key", required_argument, NULL, OPT_ONLINE_KEY},
      {"bins", required_argument, NULL, OPT_BINS},
      {"target", required_argument, NULL, OPT_TARGET},
      {"project-index", no_argument, NULL, OPT_PROJECT_INDEX},
      {"no-project-index", no_argument, NULL, OPT_NO_PROJECT_INDEX},
      {"accept-edits", no_argument, NULL, OPT_ACCEPT_EDITS},
      {"help", no_argument, NULL, 'h'},
      {0}};
  /* Which options each subcommand takes. */
  static const struct {
    const char *sub;
    const char *allowed;
  } table[] = {{"init", "kTeObpP"},  {"add", "keot"},      {"index", "keot"},
               {"sign", "kearRAot"}, {"withdraw", "keot"}, {"verify", "otsgn"}};
  const char *allowed = NULL;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].sub, sub) == 0) allowed = table[i].allowed;
  int c, li = -1;
  optind = 0;
  while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
    char tag = 0;
    switch (c) {
    case 'h': usage(stdout); return 1;
    case OPT_KEY:
      tag = 'k';
      if (a->nkey_files == MAX_KEYS) return pl_cli_usage_error("registry", "too many --key");
      a->key_files[a->nkey_files++] = optarg;
      break;
    case OPT_THRESHOLD:
      tag = 'T';
      if (!pl_cli_parse_uint(optarg, 1, MAX_KEYS, &a->threshold))
        return pl_cli_usage_error("registry", "--threshold wants 1..%d, got '%s'", MAX_KEYS,
                                  optarg);
      break;
    case OPT_EXPIRES:
      tag = 'e';
      if (!pl_cli_parse_uint(optarg, 1, 36500, &a->expires))
        return pl_cli_usage_error("registry", "--expires wants 1..36500 days, got '%s'", optarg);
      break;
    case OPT_ADD_ROOT:
      tag = 'a';
      if (a->nadd_files == MAX_KEYS) return pl_cli_usage_error("registry", "too many keys");
      a->add_files[a->nadd_files++] = optarg;
      break;
    case OPT_REMOVE_ROOT:
      tag = 'r';
      if (a->nremove_ids == MAX_KEYS) return pl_cli_usage_error("registry", "too many keys");
      a->remove_ids[a->nremove_ids++] = optarg;
      break;
    case OPT_RENEW_ROOT:
      tag = 'R';
      a->renew_root = true;
      break;
    case OPT_ROOT:
      tag = 'o';
      a->root = optarg;
      break;
    case OPT_TRUSTED:
      tag = 't';
      a->trusted = optarg;
      break;
    case OPT_STATE:
      tag = 's';
      a->state = optarg;
      break;
    case OPT_TARGETS:
      tag = 'g';
      a->targets = true;
      break;
    case OPT_ONLINE_KEY:
      tag = 'O';
      if (a->nonline_files == MAX_KEYS) return pl_cli_usage_error("registry", "too many keys");
      a->online_files[a->nonline_files++] = optarg;
      break;
    case OPT_TARGET:
      tag = 'n';
      if (a->nnames == MAX_KEYS) return pl_cli_usage_error("registry", "too many --target");
      a->names[a->nnames++] = optarg;
      break;
    case OPT_BINS:
      tag = 'b';
      if (!pl_cli_parse_uint(optarg, 2, PL_REGISTRY_BINS_MAX, &a->bins) ||
          (a->bins & (a->bins - 1)) != 0)
        return pl_cli_usage_error("registry", "--bins wants a power of two from 2 to %d, got '%s'",
                                  PL_REGISTRY_BINS_MAX, optarg);
      break;
    case OPT_PROJECT_INDEX:
      tag = 'p';
      a->no_project_index = false;
      break;
    case OPT_NO_PROJECT_INDEX:
      tag = 'P';
      a->no_project_index = true;
      break;
    case OPT_ACCEPT_EDITS:
      tag = 'A';
      a->accept_edits = true;
      break;
    default: return pl_cli_bad_option("registry", argv);
    }
    if (!strchr(allowed, tag))
      return pl_cli_usage_error("registry", "%s does not take --%s", sub, opts[li].name);
  }
  a->pos = argv + optind;
  a->npos = argc - optind;
  return 0;
}

/* Private keys, each checked where it lies (keyplace.h) before it is read:
 * one a sandbox could have written would sign for the registry. */
static int load_keys(const char *const *files, size_t n, bool is_default, struct pl_key *keys,
                     size_t *nkeys, bool *outside, pl_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    if (pl_key_load_private(files[i], &keys[i], &outside[i], err) < 0) {
      if (is_default) pl_error_set_hint(err, "pass --key FILE, or create it: pylock key generate");
      goto fail;
    }
    if (!keys[i].has_seed) {
      pl_fail_hint(err, EINVAL, "give the private key file, not FILE.pub",
                   "%s is a public key; signing needs the private key", files[i]);
      goto fail;
    }
    *nkeys = i + 1;
  }
  return 0;
fail:
  for (size_t i = 0; i < n; i++)
    pl_key_wipe(&keys[i]);
  return -1;
}

static void wipe_keys(struct pl_key *keys, size_t n) {
  for (size_t i = 0; i < n; i++)
    pl_key_wipe(&keys[i]);
}

/* Another publisher holds the registry: say why we stop, once. */
static void say_waiting(void *ctx, const char *dir) {
  (void)ctx;
  pl_cli_line(stderr, "pylock registry: another pylock is publishing to %s; waiting for it", dir);
}

#define SWEPT_SHOWN 10  /* then one line for the rest */
#define EDITS_SHOWN 200 /* likewise */

/* What the callbacks of a change count. */
struct said {
  size_t swept, edits, adds; /* adds: targets added or changed by hand */
};

/* A temporary file a publisher that did not finish left, removed by this
 * one: named, the first few, and counted (ctx: a size_t). */
static void say_swept(void *ctx, const char *dir, const char *name, long pid) {
  size_t *n = &((struct said *)ctx)->swept;
  if (++*n > SWEPT_SHOWN) return;
  char who[32] = "";
  if (pid > 0) snprintf(who, sizeof who, " (pid %ld)", pid);
  pl_cli_line(stderr,
              "pylock registry: removed %s/%s, a temporary file of a publisher%s that did not "
              "finish",
              dir, name, who);
}

/* A wheel of an add that installs startup hooks: said even with -q, since
 * they run at every interpreter start of every environment it enters. */
static void say_startup_hooks(void *ctx, const char *wheel, char *const *hooks, size_t n) {
  (void)ctx;
  cleanup_free char *list = pl_cli_join(hooks, n, ", ");
  pl_cli_line(stderr,
              "pylock: registry add: %s installs startup hooks: %s (code that runs at every "
              "interpreter start)",
              wheel, list ? list : "(out of memory)");
}

/* A target sign found edited by hand, or withdraw takes out: one line
 * each, on stderr even with -q (what gets signed is the maintainer's to see). */
static void say_edit(void *ctx, const char *file, enum pl_registry_edit kind, const char *target) {
  /* Counted apart: a target added among many removed is never cut off the
   * list by them. */
  struct said *s = ctx;
  bool adds = kind == PL_REGISTRY_EDIT_ADDED || kind == PL_REGISTRY_EDIT_CHANGED;
  if (++*(adds ? &s->adds : &s->edits) > EDITS_SHOWN) return;
  static const char *const verbs[] = {
      [PL_REGISTRY_EDIT_REMOVED] = "removed by hand",
      [PL_REGISTRY_EDIT_ADDED] = "ADDED by hand",
      [PL_REGISTRY_EDIT_CHANGED] = "CHANGED by hand",
      [PL_REGISTRY_EDIT_WITHDRAWN] = "withdrawn",
  };
  if (target)
    pl_cli_line(stderr, "pylock registry: %s: %s (%s)", verbs[kind], target, file);
  else
    pl_cli_line(stderr, "pylock registry: %s: %s, other than its targets (its delegations?)",
                verbs[kind], file);
}

static int write_cmd(const char *sub, struct args *a) {
  if (a->npos < 1) return pl_cli_usage_error("registry", "%s: missing DIR", sub);
  if (a->root && a->trusted)
    return pl_cli_usage_error("registry", "--root and --trusted exclude each other");
  bool is_add = strcmp(sub, "add") == 0, is_withdraw = strcmp(sub, "withdraw") == 0;
  if (is_add && a->npos < 2) return pl_cli_usage_error("registry", "add: missing WHEEL");
  if (is_withdraw && a->npos < 2)
    return pl_cli_usage_error("registry", "withdraw: missing WHEEL or NAME==VERSION");
  if (!is_add && !is_withdraw && a->npos > 1)
    return pl_cli_usage_error("registry", "%s: unexpected argument '%s'", sub, a->pos[1]);
  const char *dir = a->pos[0];
  char cmd[32];
  snprintf(cmd, sizeof cmd, "registry %s", sub);
  pl_error_t err = NULL;
  struct pl_key keys[MAX_KEYS], add[MAX_KEYS], online[MAX_KEYS];
  size_t nkeys = 0, nadd = 0, nonline = 0;
  /* Every key file as it resolves (keyplace.h), so that the registry can
   * refuse one inside it. */
  const char *files[3 * MAX_KEYS];
  char *owned[3 * MAX_KEYS];
  size_t nfiles = 0;
  bool is_default = a->nkey_files == 0;
  const char *def[] = {"default.key"};
  const char *const *sign = is_default ? def : a->key_files;
  size_t nsign = is_default ? 1 : a->nkey_files;
  const struct {
    const char *const *v;
    size_t n;
  } lists[] = {{sign, nsign}, {a->add_files, a->nadd_files}, {a->online_files, a->nonline_files}};
  int r = 0;
  for (size_t l = 0; l < 3 && r == 0; l++)
    for (size_t i = 0; i < lists[l].n && r == 0; i++) {
      r = pl_key_resolve(lists[l].v[i], &owned[nfiles], &err);
      if (r == 0) files[nfiles] = owned[nfiles], nfiles++;
    }
  bool outside[3 * MAX_KEYS] = {0};
  size_t nadd_at = nsign, nonline_at = nsign + a->nadd_files;
  if (r == 0 && load_keys(files, nsign, is_default, keys, &nkeys, outside, &err) < 0) r = -1;
  if (r == 0 &&
      (load_keys(files + nadd_at, a->nadd_files, false, add, &nadd, outside + nadd_at, &err) < 0 ||
       load_keys(files + nonline_at, a->nonline_files, false, online, &nonline,
                 outside + nonline_at, &err) < 0)) {
    wipe_keys(keys, nkeys);
    wipe_keys(add, nadd);
    r = -1;
  }
  if (r < 0) {
    for (size_t i = 0; i < nfiles; i++)
      free(owned[i]);
    return pl_cli_report(cmd, &err);
  }
  /* The maintainer's own root, the anchor when pylock has no record of
   * signing DIR here: like a trusted root, a file nobody else can change,
   * nor code pylock runs (none in a project, /tmp, ~/.cache...: a sandbox
   * would put its own root there); the registry refuses one inside DIR. */
  cleanup_free char *root_path = NULL, *root_raw = NULL;
  size_t root_len = 0;
  if ((a->trusted && pl_trust_find(a->trusted, &root_path, &err) < 0) ||
      (a->root && (pl_path_check_trusted(a->root, "root", &err) < 0 ||
                   pl_path_check_unchangeable("root", a->root, false, &err) < 0)) ||
      ((a->root || root_path) &&
       pl_read_file_at(AT_FDCWD, a->root ? a->root : root_path, PL_TUF_ROOT_MAX, &root_raw,
                       &root_len, &err) < 0)) {
    wipe_keys(keys, nkeys);
    wipe_keys(add, nadd);
    wipe_keys(online, nonline);
    return pl_cli_report(cmd, &err);
  }
  struct said said = {0};
  struct pl_registry_opts o = {.keys = keys,
                               .anchor_root = root_raw,
                               .anchor_root_len = root_len,
                               .anchor_root_name = a->root ? a->root : root_path,
                               .nkeys = nkeys,
                               .key_files = files,
                               .nkey_files = nfiles,
                               .threshold = (unsigned)a->threshold,
                               .expires_days = (unsigned)a->expires,
                               .add_root_keys = add,
                               .nadd_root_keys = nadd,
                               .remove_root_keyids = a->remove_ids,
                               .nremove_root_keyids = a->nremove_ids,
                               .renew_root = a->renew_root,
                               .online_keys = online,
                               .nonline_keys = nonline,
                               .bins = (unsigned)a->bins,
                               .project_index = !a->no_project_index,
                               .startup_hooks = say_startup_hooks,
                               .waiting = say_waiting,
                               .swept = say_swept,
                               .edit = say_edit,
                               .accept_edits = a->accept_edits,
                               .ctx = &said};
  struct pl_registry_index_stats ist;
  bool is_index = strcmp(sub, "index") == 0;
  if (strcmp(sub, "init") == 0)
    r = pl_registry_init(dir, &o, &err);
  else if (is_index)
    r = pl_registry_index(dir, &o, &ist, &err);
  else if (is_add)
    r = pl_registry_add(dir, &o, (const char *const *)a->pos + 1, (size_t)a->npos - 1, &err);
  else if (is_withdraw)
    r = pl_registry_withdraw(dir, &o, (const char *const *)a->pos + 1, (size_t)a->npos - 1, &err);
  else
    r = pl_registry_sign(dir, &o, &err);
  wipe_keys(keys, nkeys);
  wipe_keys(add, nadd);
  wipe_keys(online, nonline);
  /* Once it signed: a refusal says enough without it. */
  for (size_t i = 0; i < nfiles && r == 0; i++)
    if (outside[i]) pl_cli_key_outside(cmd, files[i]);
  for (size_t i = 0; i < nfiles; i++)
    free(owned[i]);
  if (said.swept > SWEPT_SHOWN)
    pl_cli_line(stderr, "pylock registry: removed %zu more temporary files of it",
                said.swept - SWEPT_SHOWN);
  if (said.edits > EDITS_SHOWN)
    pl_cli_line(stderr, "pylock registry: and %zu more targets removed or withdrawn",
                said.edits - EDITS_SHOWN);
  if (said.adds > EDITS_SHOWN)
    pl_cli_line(stderr, "pylock registry: and %zu more targets ADDED or CHANGED by hand",
                said.adds - EDITS_SHOWN);
  if (r < 0) return pl_cli_report(cmd, &err);
  if (is_add)
    pl_cli_info("added %d wheel(s) to %s", a->npos - 1, dir);
  else if (is_withdraw)
    pl_cli_info("withdrew from %s and signed it", dir);
  else if (is_index && ist.already && ist.pages_written + ist.pages_removed == 0)
    pl_cli_info("%s: every project page is current; nothing signed", dir);
  else if (is_index)
    pl_cli_info("indexed %s: %zu page(s) written, %zu withdrawn, %zu bin(s) signed%s", dir,
                ist.pages_written, ist.pages_removed, ist.bins_signed,
                ist.already ? "" : "; later adds keep the pages current");
  else
    pl_cli_info("%s: %s", strcmp(sub, "init") == 0 ? "created" : "signed", dir);
  return PL_EXIT_OK;
}

/* Report one failed target and keep going: a maintainer wants every bad
 * file of a registry in one run. */
static void target_failed(pl_error_t *err, size_t *failed) {
  pl_cli_report("registry verify", err);
  (*failed)++;
}

/* What a streaming verify holds between the roles it walks: counts, the
 * scratch directory, the one project page in hand. */
struct walk {
  bool targets; /* --targets: check each target, not only count it */
  size_t count, n, verified, wheels, failed;
  char *scratch;
  int dirfd;
  bool pages_on;
  struct pl_projindex_check pages;
};

/* Progress on a terminal: which role of about how many. */
static void walk_role(void *ctx, const char *role, size_t index, size_t hint) {
  (void)ctx;
  if (hint) pl_progress_item(index, index > hint ? index : hint, "verifying %s", role);
}

/* One target against its signed length and sha256; a wheel, fetched to a
 * private scratch file, also through pl_wheel_verify (no tag check: the
 * registry serves every interpreter), with its .metadata equal to its
 * METADATA.  A .metadata without its wheel has nothing to be checked against. */
static void check_target(struct walk *w, struct pl_tuf *t, const char *name) {
  pl_error_t err = NULL;
  size_t len = strlen(name);
  const struct pl_tuf_target *sib;
  if (len > 13 && strcmp(name + len - 13, ".whl.metadata") == 0) {
    cleanup_free char *wheel = strndup(name, len - 9);
    if (wheel && pl_tuf_find_target(t, wheel, &sib, &err) == 0) return; /* with its wheel */
    pl_error_free(&err);
    cleanup_free char *buf = NULL;
    size_t blen;
    if (pl_tuf_fetch_target_mem(t, name, &buf, &blen, &err) == 0)
      pl_fail(&err, 0, "%s: no signed wheel %s to check it against", name, wheel ? wheel : "");
    target_failed(&err, &w->failed);
    return;
  }
  if (!w->pages_on) {
    pl_projindex_check_init(&w->pages, t);
    w->pages_on = true;
  }
  char project[PL_DISTNAME_MAX + 1];
  if (pl_projindex_target_project(name, project, sizeof project) != 0) {
    if (pl_projindex_check_page(&w->pages, name, &err) < 0)
      target_failed(&err, &w->failed);
    else
      w->verified++;
    return;
  }
  /* The scratch file is unlinked at once: nothing of it outlives us. */
  cleanup_close int fd =
      openat(w->dirfd, "target", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || unlinkat(w->dirfd, "target", 0) < 0) {
    pl_fail(&err, errno, "create a scratch file in %s", w->scratch);
    target_failed(&err, &w->failed);
    return;
  }
  if (!pl_target_is_wheel(name)) {
    if (pl_tuf_fetch_target(t, name, fd, &err) < 0)
      target_failed(&err, &w->failed);
    else
      w->verified++;
    return;
  }
  struct pl_wheel_info info = {0};
  bool has_md = false;
  if (pl_trusted_wheel_fetch_fd(t, name, fd, NULL, &info, &err) < 0) {
    target_failed(&err, &w->failed); /* its .metadata goes unchecked */
    return;
  }
  w->wheels++;
  w->verified++;
  if (pl_trusted_wheel_check_metadata(t, name, &info, &has_md, &err) < 0 ||
      pl_requires_dist_check(info.metadata, info.metadata_len, name, &err) < 0 ||
      pl_projindex_check_wheel(&w->pages, name, info.metadata, info.metadata_len, &err) < 0)
    target_failed(&err, &w->failed);
  else if (has_md)
    w->verified++;
  pl_wheel_info_free(&info);
}

/* Each entry of each role as the walk verifies it: counted when trusted,
 * and with --targets checked; an entry outside what was delegated to its
 * role is a failure (a bin holder signing what is not theirs); one that
 * an earlier role answers for is ignored, as a lookup ignores it. */
static int walk_target(void *ctx, struct pl_tuf *t, const char *role, const struct pl_tuf_target *e,
                       bool trusted, const char *answered_by, pl_error_t *err) {
  (void)err;
  struct walk *w = ctx;
  if (trusted) w->count++;
  if (!w->targets || (!trusted && answered_by[0] != '\0')) return 0;
  w->n++;
  if (trusted) {
    check_target(w, t, e->name);
    return 0;
  }
  pl_error_t e2 = NULL;
  pl_fail(&e2, 0, "%s.json lists %s, which is not delegated to it: not a target", role, e->name);
  target_failed(&e2, &w->failed);
  return 0;
}

/* A private scratch directory for --targets. */
static int walk_open(struct walk *w) {
  pl_error_t err = NULL;
  const char *tmpbase = getenv("TMPDIR");
  if (asprintf(&w->scratch, "%s/pylock-verify-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp") <
      0) {
    w->scratch = NULL;
    pl_fail(&err, ENOMEM, "registry verify");
    pl_cli_report("registry verify", &err);
    return -1;
  }
  w->dirfd = mkdtemp(w->scratch) ? open(w->scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (w->dirfd < 0) {
    pl_fail(&err, errno, "create a private scratch directory %s", w->scratch);
    rmdir(w->scratch);
    pl_cli_report("registry verify", &err);
    return -1;
  }
  return 0;
}

static void walk_close(struct walk *w) {
  if (w->pages_on) pl_projindex_check_free(&w->pages);
  if (w->dirfd >= 0) {
    close(w->dirfd);
    rmdir(w->scratch);
  }
  free(w->scratch);
}

/* --targets' summary. */
static int walk_report(const struct walk *w) {
  if (w->failed) {
    /* On stdout: stderr holds exactly one line per failed target. */
    printf("failed: %zu of %zu targets (%zu verified)\n", w->failed, w->n, w->verified);
    return -1;
  }
  printf("verified: %zu targets\n", w->verified);
  printf("verified-wheels: %zu\n", w->wheels);
  return 0;
}

/* --target: each name looked up, fetched into an unlinked scratch file and
 * checked against its signed length and hashes. */
static int verify_named(struct pl_tuf *t, const char *const *names, size_t n) {
  size_t failed = 0;
  for (size_t i = 0; i < n; i++) {
    pl_error_t err = NULL;
    const struct pl_tuf_target *e;
    const char *tmpbase = getenv("TMPDIR");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pylock-target-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp");
    cleanup_close int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0 || unlink(path) < 0) {
      pl_fail(&err, errno, "create a scratch file %s", path);
      target_failed(&err, &failed);
      continue;
    }
    if (pl_tuf_find_target(t, names[i], &e, &err) < 0 ||
        pl_tuf_fetch_target(t, names[i], fd, &err) < 0) {
      target_failed(&err, &failed);
      continue;
    }
    pl_cli_line(stdout, "target: %s %llu sha256:%s", e->name, (unsigned long long)e->length,
                e->sha256);
  }
  return failed ? -1 : 0;
}

static int verify_cmd(struct args *a) {
  if (a->npos != 1) return pl_cli_usage_error("registry", "verify takes exactly one URL");
  if (a->targets && a->nnames)
    return pl_cli_usage_error("registry", "--targets and --target exclude each other");
  if (a->root && a->trusted)
    return pl_cli_usage_error("registry", "--root and --trusted exclude each other");
  const char *url = a->pos[0];
  pl_error_t err = NULL;
  cleanup_free char *root = NULL, *tofu = NULL;
  char tmpdir[] = "/tmp/pylock-verify-XXXXXX";
  bool tmp_made = false;
  if (a->trusted && pl_trust_find(a->trusted, &root, &err) < 0)
    return pl_cli_report("registry verify", &err);
  const char *ca = NULL;
  if (pl_config_ca_bundle(&ca, &err) < 0) return pl_cli_report("registry verify", &err);
  if (a->root) root = strdup(a->root);
  if (root == NULL) {
    /* Trust on first use of the registry's own first root, for a
     * maintainer's consistency check; said loudly on stderr. */
    struct pl_fetcher *f = NULL;
    char *raw = NULL;
    size_t len;
    int fd = -1;
    if (mkdtemp(tmpdir) == NULL) return PL_EXIT_FAIL;
    tmp_made = true;
    if (asprintf(&tofu, "%s/1.root.json", tmpdir) < 0) return PL_EXIT_FAIL;
    if (pl_fetcher_open(url, ca, &f, &err) < 0 ||
        pl_fetch_mem(f, "1.root.json", PL_TUF_ROOT_MAX, &raw, &len, &err) < 0 ||
        (fd = open(tofu, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)) < 0 ||
        write(fd, raw, len) != (ssize_t)len) {
      if (err == NULL) pl_fail(&err, errno, "write %s", tofu);
      pl_fetcher_free(f);
      free(raw);
      if (fd >= 0) close(fd);
      unlink(tofu);
      rmdir(tmpdir);
      return pl_cli_report("registry verify", &err);
    }
    close(fd);
    pl_fetcher_free(f);
    free(raw);
    pl_cli_line(stderr,
                "pylock: registry verify: warning: no --root given: trusting %s/1.root.json "
                "as published (trust on first use)",
                url);
    root = strdup(tofu);
  }
  /* Every role, verified and visited one at a time (bounded memory),
   * unless only named targets are looked up. */
  struct walk w = {.targets = a->targets, .dirfd = -1};
  struct pl_tuf_visitor visit = {.role = walk_role, .target = walk_target, .ctx = &w};
  struct pl_tuf_options o = {.url = url,
                             .root_path = root,
                             .state_dir = a->state,
                             .ca_bundle = ca,
                             .lazy_delegations = a->nnames > 0,
                             .walk = a->nnames > 0 ? NULL : &visit};
  struct pl_tuf *t = NULL;
  int r = a->targets ? walk_open(&w) : 0;
  if (r == 0) {
    pl_progress_begin("verifying %s", url);
    r = pl_tuf_update(&o, &t, &err);
    pl_progress_end();
  }
  if (tmp_made) {
    unlink(tofu);
    rmdir(tmpdir);
  }
  if (r < 0) {
    walk_close(&w);
    return err ? pl_cli_report("registry verify", &err) : PL_EXIT_FAIL;
  }
  pl_cli_line(stdout, "registry: %s", url);
  for (int i = 0; i < PL_TUF_NROLES; i++) {
    int64_t v;
    time_t e;
    char es[21];
    pl_tuf_role_info(t, (enum pl_tuf_role)i, &v, &e);
    pl_tuf_format_time(e, es);
    printf("%s: version %lld, expires %s\n", pl_tuf_role_names[i], (long long)v, es);
  }
  printf("target-count: %zu\n", a->nnames ? pl_tuf_target_count(t) : w.count);
  if (a->targets) r = walk_report(&w);
  if (a->nnames) r = verify_named(t, a->names, a->nnames);
  walk_close(&w);
  pl_tuf_free(t);
  return r < 0 ? PL_EXIT_FAIL : PL_EXIT_OK;
}

int pl_cmd_registry(int argc, char **argv) {
  if (argc < 2)
    return pl_cli_usage_error("registry",
                              "missing subcommand (init, add, index, withdraw, sign, verify)");
  if (pl_cli_is_help(argv[1])) {
    usage(stdout);
    return PL_EXIT_OK;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "init") && strcmp(sub, "add") && strcmp(sub, "index") && strcmp(sub, "sign") &&
      strcmp(sub, "withdraw") && strcmp(sub, "verify"))
    return pl_cli_usage_error("registry", "unknown subcommand '%s'", sub);
  struct args a = {0};
  int r = parse(sub, argc - 1, argv + 1, &a);
  if (r == 1) return PL_EXIT_OK;
  if (r != 0) return r;
  return strcmp(sub, "verify") == 0 ? verify_cmd(&a) : write_cmd(sub, &a);
}
