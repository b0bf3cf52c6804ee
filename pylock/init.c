/* pylock init — create a project: pylock.toml and its first, empty generation. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonjson.h"
#include "cleanup.h"
#include "cli.h"
#include "env.h"
#include "envgen.h"
#include "file.h"
#include "interp.h"
#include "manifest.h"
#include "project.h"
#include "state.h"
#include "toml.h"
#include "truststore.h"
#include "tuf.h"

/* Where the project's packages come from, as `init --registry` gives it. */
struct registry_opt {
  const char *url;     /* --registry */
  const char *root;    /* --root FILE */
  const char *trusted; /* --trusted NAME */
  char *root_text;     /* the validated root (kept in the project's state) */
  size_t root_len;
  char **keyids; /* its root role's key ids */
  size_t nkeyids;
  char *abs_url; /* url, made absolute when it is a local path */
};

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: pylock init [--python PATH|VERSION] [--registry URL (--root FILE|--trusted NAME)]\n"
      "                   [DIR]\n\n"
      "Create DIR/pylock.toml, and an empty environment on a read-only base\n"
      "interpreter in pylock's state directory. DIR defaults to the working\n"
      "directory and is created if missing. On an existing project it changes nothing.\n\n"
      "Options:\n"
      "  -p, --python PATH|VERSION  base interpreter (default: python3.12 on PATH, else python3)\n"
      "  --registry URL             the signed registry packages come from (a directory,\n"
      "                             file://, http:// or https://)\n"
      "  --root FILE                its trusted TUF root; pylock keeps a copy\n"
      "  --trusted NAME             or a root added with 'pylock trust add'\n"
      "  -h, --help                 print this help and exit\n");
}

static int add_registry(struct pl_toml *pl, const struct registry_opt *reg, pl_error_t *err) {
  if (reg->url == NULL) return 0;
  if (pl_toml_add_string(pl, "registry", reg->abs_url, (size_t)-1, err) < 0) return -1;
  if (reg->trusted && pl_toml_add_string(pl, "registry-trusted", reg->trusted, (size_t)-1, err) < 0)
    return -1;
  struct pl_toml *ids = pl_toml_add_array(pl, "root-keyids", PL_TOML_INLINE, err);
  if (ids == NULL) return -1;
  for (size_t i = 0; i < reg->nkeyids; i++)
    if (pl_toml_add_string(ids, NULL, reg->keyids[i], (size_t)-1, err) < 0) return -1;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Validate the registry's trusted root and learn its root key ids. */
static int registry_load(struct registry_opt *reg, pl_error_t *err) {
  if (reg->url == NULL) return 0;
  cleanup_free char *path = NULL;
  const char *file = reg->root;
  if (reg->trusted) {
    if (pl_trust_find(reg->trusted, &path, err) < 0) return -1;
    file = path;
  }
  int64_t version;
  time_t expires;
  if (pl_read_file_at(AT_FDCWD, file, PL_TUF_ROOT_MAX, &reg->root_text, &reg->root_len, err) < 0 ||
      pl_tuf_check_root(reg->root_text, reg->root_len, file, &version, &expires, err) < 0)
    return -1;
  cleanup_json json_t *doc = NULL;
  if (pl_json_parse(reg->root_text, reg->root_len, file, &doc, err) < 0) return -1;
  json_t *ids = json_object_get(
      json_object_get(json_object_get(json_object_get(doc, "signed"), "roles"), "root"), "keyids");
  size_t n = json_array_size(ids);
  if (n == 0 || n > 1024) return pl_fail(err, EINVAL, "%s: no root keyids", file);
  if ((reg->keyids = calloc(n, sizeof *reg->keyids)) == NULL) return pl_fail(err, ENOMEM, "init");
  for (size_t i = 0; i < n; i++) {
    const char *id = json_string_value(json_array_get(ids, i));
    if (id == NULL || (reg->keyids[i] = strdup(id)) == NULL)
      return pl_fail(err, EINVAL, "%s: root keyid %zu is not a string", file, i);
    reg->nkeyids = i + 1;
  }
  if (reg->nkeyids) qsort(reg->keyids, reg->nkeyids, sizeof *reg->keyids, cmp_str);
  if (strstr(reg->url, "://") == NULL && reg->url[0] != '/') {
    char *abs = realpath(reg->url, NULL);
    if (abs == NULL) return pl_fail(err, errno, "registry %s", reg->url);
    reg->abs_url = abs;
  } else if ((reg->abs_url = strdup(reg->url)) == NULL) {
    return pl_fail(err, ENOMEM, "init");
  }
  return 0;
}

static void registry_free(struct registry_opt *reg) {
  for (size_t i = 0; i < reg->nkeyids; i++)
    free(reg->keyids[i]);
  free(reg->keyids);
  free(reg->root_text);
  free(reg->abs_url);
}

#define LOCK_HEADER                                                                                \
  "# Managed by pylock: change packages with 'pylock install' and 'pylock remove'.\n"

/* The first pylock.toml: PEP 751 with no packages, and the base interpreter
 * under [tool.pylock]. */
static char *lock_text(const struct pl_interp *in, const struct registry_opt *reg,
                       pl_error_t *err) {
  struct pl_toml *doc = pl_toml_new();
  if (doc == NULL) {
    pl_fail(err, ENOMEM, "pylock.toml");
    return NULL;
  }
  char requires[64];
  snprintf(requires, sizeof requires, "==%s.*", in->short_version);
  char *text = NULL, *out = NULL;
  size_t len = 0;
  struct pl_toml *tool, *pl;
  if (pl_toml_add_string(doc, "lock-version", "1.0", 3, err) == 0 &&
      pl_toml_add_string(doc, "created-by", "pylock", 6, err) == 0 &&
      pl_toml_add_string(doc, "requires-python", requires, strlen(requires), err) == 0 &&
      pl_toml_add_array(doc, "packages", PL_TOML_INLINE, err) &&
      (tool = pl_toml_add_table(doc, "tool", PL_TOML_SECTION, err)) &&
      (pl = pl_toml_add_table(tool, "pylock", PL_TOML_SECTION, err)) &&
      pl_toml_add_array(pl, "requested", PL_TOML_INLINE, err) &&
      pl_toml_add_string(pl, "python", in->python, strlen(in->python), err) == 0 &&
      pl_toml_add_string(pl, "python-version", in->version, strlen(in->version), err) == 0 &&
      pl_toml_add_string(pl, "python-prefix", in->prefix, strlen(in->prefix), err) == 0 &&
      add_registry(pl, reg, err) == 0 && pl_toml_write(doc, &text, &len, err) == 0 &&
      asprintf(&out, "%s%s", LOCK_HEADER, text) < 0) {
    pl_fail(err, ENOMEM, "pylock.toml");
    out = NULL;
  }
  free(text);
  pl_toml_free(doc);
  return out;
}

/* The project's state, made fresh: what an interrupted init left goes. */
static int fresh_state(const struct pl_state *st, const char *root, char **path, pl_error_t *err) {
  char id[PL_PROJECT_ID_MAX], rel[PL_PROJECT_ID_MAX + 16];
  pl_project_id(root, id);
  snprintf(rel, sizeof rel, "%s/%s", PL_STATE_PROJECTS, id);
  struct stat sst;
  if (fstatat(st->fd, rel, &sst, AT_SYMLINK_NOFOLLOW) == 0 &&
      pl_remove_tree_at(st->fd, rel, err) < 0)
    return -1;
  return pl_project_state_open(st, root, true, path, err);
}

static int init_project(const char *dir, const char *python_opt, struct registry_opt *reg,
                        pl_error_t *err) {
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) return pl_fail(err, errno, "create %s", dir);
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return pl_fail(err, errno, "open %s", dir);
  cleanup_free char *root = realpath(dir, NULL);
  if (root == NULL) return pl_fail(err, errno, "%s", dir);
  if (pl_project_check_dir(root, err) < 0) return -1;
  struct pl_state st = {.fd = -1};
  if (pl_state_open(&st, err) < 0) return -1;
  int rc = -1;
  struct pl_interp in = {0};
  cleanup_free char *python = NULL, *interp_text = NULL, *lock = NULL, *spath = NULL;
  cleanup_close int sfd = -1, probe_cache = -1;
  if (faccessat(dfd, PL_LOCK_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
    pl_error_t e = NULL;
    int fd = pl_project_state_open(&st, root, false, NULL, &e);
    bool built = fd >= 0;
    if (fd >= 0) close(fd);
    pl_error_free(&e);
    pl_cli_info("pylock: %s is already a pylock project (%s exists); nothing changed", dir,
                PL_LOCK_FILE);
    if (!built) pl_cli_info("pylock: hint: build its environment with: pylock sync");
    rc = 0;
    goto out;
  }
  if ((python_opt ? pl_interp_resolve(python_opt, &python, err) : pl_interp_default(&python, err)) <
          0 ||
      pl_interp_check_path(python, root, err) < 0 || registry_load(reg, err) < 0 ||
      (probe_cache = pl_state_subdir(&st, PL_STATE_INTERP, true, err)) < 0 ||
      pl_interp_probe(python, probe_cache, &in, err) < 0 ||
      pl_interp_check_prefix(python, in.prefix, root, err) < 0)
    goto out;
  interp_text = pl_interp_format(&in);
  if ((lock = lock_text(&in, reg, err)) == NULL) goto out;
  if (interp_text == NULL) {
    pl_fail(err, ENOMEM, "init");
    goto out;
  }
  /* Order matters for crashes: pylock.toml is written last, so an
   * interrupted init leaves no project and can simply be run again. */
  struct pl_lockfile empty = {0};
  struct pl_gen_manifest no_files = {0};
  if ((sfd = fresh_state(&st, root, &spath, err)) < 0 ||
      pl_write_file_atomic_at(sfd, PL_INTERP_FILE, interp_text, strlen(interp_text), 0600, err) <
          0 ||
      pl_mkdir_p_at(sfd, PL_RUN_DIR, 0700, err) < 0 ||
      (reg->root_text && pl_write_file_atomic_at(sfd, PL_REGISTRY_ROOT_FILE, reg->root_text,
                                                 reg->root_len, 0600, err) < 0) ||
      pl_envgen_create(sfd, 1, &in, err) < 0 ||
      pl_env_write_gen_manifest(sfd, 1, &no_files, err) < 0 || pl_envgen_switch(sfd, 1, err) < 0 ||
      pl_write_file_atomic_at(dfd, PL_LOCK_FILE, lock, strlen(lock), 0644, err) < 0 ||
      pl_env_write_meta(dfd, sfd, 1, &empty, lock, strlen(lock), err) < 0)
    goto out;
  pl_cli_info("pylock: created %s/%s on Python %s (%s)", dir, PL_LOCK_FILE, in.version, in.python);
  rc = 0;
out:
  pl_interp_free(&in);
  pl_state_close(&st);
  return rc;
}

int pl_cmd_init(int argc, char **argv) {
  static const struct option opts[] = {
      {"python", required_argument, NULL, 'p'}, {"registry", required_argument, NULL, 'R'},
      {"root", required_argument, NULL, 'r'},   {"trusted", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  const char *python = NULL;
  struct registry_opt reg = {0};
  int c;
  while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
    switch (c) {
    case 'p': python = optarg; break;
    case 'R': reg.url = optarg; break;
    case 'r': reg.root = optarg; break;
    case 't': reg.trusted = optarg; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("init", argv);
    }
  }
  if (argc - optind > 1) return pl_cli_usage_error("init", "expected at most one DIR");
  if (reg.url && !reg.root == !reg.trusted)
    return pl_cli_usage_error("init",
                              "--registry needs exactly one of --root FILE, --trusted NAME");
  if (!reg.url && (reg.root || reg.trusted))
    return pl_cli_usage_error("init", "--root and --trusted need --registry URL");
  const char *dir = optind < argc ? argv[optind] : (pl_cli.project ? pl_cli.project : ".");
  pl_error_t err = NULL;
  int r = init_project(dir, python, &reg, &err);
  registry_free(&reg);
  if (r < 0) return pl_cli_report("init", &err);
  return PL_EXIT_OK;
}
