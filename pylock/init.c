/* pylock init — create a project: pylock.toml and its first, empty generation. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "envgen.h"
#include "file.h"
#include "interp.h"
#include "project.h"
#include "toml.h"

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: pylock init [--python PATH|VERSION] [DIR]\n\n"
      "Create DIR/pylock.toml and DIR/.pylock/ holding an empty environment on a\n"
      "read-only base interpreter. DIR defaults to the working directory and is\n"
      "created if missing. On an existing project it changes nothing.\n\n"
      "Options:\n"
      "  -p, --python PATH|VERSION  base interpreter (default: python3.12 on PATH, else python3)\n"
      "  -h, --help                 print this help and exit\n");
}

#define LOCK_HEADER                                                                                \
  "# Managed by pylock: change packages with 'pylock install' and 'pylock remove'.\n"

/* The first pylock.toml: PEP 751 with no packages, and the base interpreter
 * under [tool.pylock]. */
static char *lock_text(const struct pl_interp *in, pl_error_t *err) {
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
      pl_toml_write(doc, &text, &len, err) == 0 && asprintf(&out, "%s%s", LOCK_HEADER, text) < 0) {
    pl_fail(err, ENOMEM, "pylock.toml");
    out = NULL;
  }
  free(text);
  pl_toml_free(doc);
  return out;
}

static int init_project(const char *dir, const char *python_opt, pl_error_t *err) {
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) return pl_fail(err, errno, "create %s", dir);
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return pl_fail(err, errno, "open %s", dir);
  if (faccessat(dfd, PL_LOCK_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
    bool built = faccessat(dfd, PL_STATE_DIR "/" PL_CURRENT_LINK, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
    pl_cli_info("pylock: %s is already a pylock project (%s exists); nothing changed%s", dir,
                PL_LOCK_FILE,
                built ? "" : "\npylock: hint: build its environment with: pylock sync");
    return 0;
  }
  cleanup_free char *python = NULL;
  if ((python_opt ? pl_interp_resolve(python_opt, &python, err) : pl_interp_default(&python, err)) <
      0)
    return -1;
  struct pl_interp in = {0};
  if (pl_interp_probe(python, &in, err) < 0) return -1;

  int rc = -1;
  cleanup_free char *interp_text = pl_interp_format(&in);
  cleanup_free char *lock = lock_text(&in, err);
  cleanup_close int sfd = -1;
  if (lock == NULL) goto out;
  if (interp_text == NULL) {
    pl_fail(err, ENOMEM, "init");
    goto out;
  }
  if (mkdirat(dfd, PL_STATE_DIR, 0755) < 0 && errno != EEXIST) {
    pl_fail(err, errno, "create %s/%s", dir, PL_STATE_DIR);
    goto out;
  }
  sfd = openat(dfd, PL_STATE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0) {
    pl_fail(err, errno, "open %s/%s", dir, PL_STATE_DIR);
    goto out;
  }
  /* Order matters for crashes: pylock.toml is written last, so an
   * interrupted init leaves no project and can simply be run again. */
  if (pl_write_file_atomic_at(sfd, ".gitignore", "*\n", 2, 0644, err) < 0 ||
      pl_write_file_atomic_at(sfd, PL_INTERP_FILE, interp_text, strlen(interp_text), 0644, err) <
          0 ||
      pl_mkdir_p_at(sfd, PL_RUN_DIR, 0755, err) < 0 || pl_envgen_create(sfd, 1, &in, err) < 0 ||
      pl_envgen_switch(sfd, 1, err) < 0 ||
      pl_write_file_atomic_at(dfd, PL_LOCK_FILE, lock, strlen(lock), 0644, err) < 0)
    goto out;
  pl_cli_info("pylock: created %s/%s on Python %s (%s)", dir, PL_LOCK_FILE, in.version, in.python);
  rc = 0;
out:
  pl_interp_free(&in);
  return rc;
}

int pl_cmd_init(int argc, char **argv) {
  static const struct option opts[] = {{"python", required_argument, NULL, 'p'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *python = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
    switch (c) {
    case 'p': python = optarg; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_usage_error("init", "unknown option");
    }
  }
  if (argc - optind > 1) return pl_cli_usage_error("init", "expected at most one DIR");
  const char *dir = optind < argc ? argv[optind] : (pl_cli.project ? pl_cli.project : ".");
  pl_error_t err = NULL;
  if (init_project(dir, python, &err) < 0) return pl_cli_report("init", &err);
  return PL_EXIT_OK;
}
