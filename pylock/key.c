/* pylock key — generate or import an ed25519 signing key; show a key's id. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "paths.h"
#include "cleanup.h"
#include "sha.h"
#include "ed25519.h"
#include "file.h"
#include "keyplace.h"
#include "registry.h"
#include "truststore.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock key generate [-o FILE]\n"
          "       pylock key import [--name NAME] FILE\n"
          "       pylock key show FILE\n\n"
          "Ed25519 keys that sign a registry's TUF metadata.  Private keys belong in the\n"
          "keys directory, $XDG_CONFIG_HOME/pylock/keys (~/.config/... if unset), the one\n"
          "place no sandbox can read.  A FILE without a '/' names a file there (NAME.key\n"
          "when it has no .key ending); ./FILE names one in the working directory.\n\n"
          "  generate     write a new private key to FILE (mode 0600, never overwriting) and its\n"
          "               public key to FILE.pub; FILE defaults to default.key.  A private key\n"
          "               is never written to standard output, into a registry's directory,\n"
          "               nor where code pylock runs could write: a project (a directory with\n"
          "               a pylock.toml, or below one), /tmp, /var/tmp, /dev/shm, ~/.cache,\n"
          "               allow-write, or a directory someone else can change.\n"
          "  import       copy the private key FILE (- : standard input) into the keys\n"
          "               directory as NAME (default FILE's name) and print its keyid: check\n"
          "               that keyid, then delete FILE.\n"
          "  show         print the keyid and public key of a private key or FILE.pub\n\n"
          "Options:\n"
          "  -o, --output FILE  where generate writes the private key\n"
          "  -n, --name NAME    the name import gives the key in the keys directory\n"
          "  -h, --help         print this help and exit\n\n"
          "Output (stdout, one 'field: value' per line): keyid, public, and for generate\n"
          "and import private-key and public-key (the file paths).\n");
}

static void print_key(const struct pl_key *k) {
  char hex[65];
  pl_hex_encode(k->pub, 32, hex);
  printf("keyid: %s\npublic: %s\n", k->keyid, hex);
}

static int save_key(const char *name, const struct pl_key *k, const char *cmd);

static int generate(int argc, char **argv) {
  static const struct option opts[] = {
      {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0}};
  const char *out = NULL;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o': out = optarg; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("key", argv);
    }
  }
  if (optind != argc) return pl_cli_usage_error("key", "unexpected argument '%s'", argv[optind]);
  if (out && strcmp(out, "-") == 0)
    return pl_cli_usage_error("key", "refusing to write a private key to standard output");
  struct pl_key k;
  pl_error_t err = NULL;
  if (pl_key_generate(&k, &err) < 0) return pl_cli_report("key generate", &err);
  int r = save_key(out ? out : "default.key", &k, "key generate");
  pl_key_wipe(&k);
  return r;
}

/* Write private key k where `name` says (keyplace.h: a bare name is in the
 * keys directory, created 0700 then), after checking that no sandbox nor
 * anyone else could read back or swap what is written there. */
static int save_key(const char *name, const struct pl_key *k, const char *cmd) {
  pl_error_t err = NULL;
  cleanup_free char *path = NULL, *dir = NULL;
  if (pl_key_resolve(name, &path, &err) < 0 || pl_keys_dir(&dir, &err) < 0)
    return pl_cli_report(cmd, &err);
  size_t n = strlen(dir);
  bool in_keys = strncmp(path, dir, n) == 0 && path[n] == '/' && strchr(path + n + 1, '/') == NULL;
  if ((in_keys && pl_mkdir_p(dir, 0700, &err) < 0) || pl_key_check_place(path, true, &err) < 0 ||
      pl_registry_check_key_path(path, &err) < 0 || pl_key_save(path, k, &err) < 0)
    return pl_cli_report(cmd, &err);
  if (!pl_key_in_keys_dir(path)) pl_cli_key_outside(cmd, path);
  print_key(k);
  pl_cli_line(stdout, "private-key: %s", path);
  pl_cli_line(stdout, "public-key: %s.pub", path);
  return PL_EXIT_OK;
}

/* pylock key import [--name NAME] FILE: the way into the keys directory for
 * a key that lies elsewhere.  FILE itself may lie anywhere (that is why it
 * moves); its keyid is printed to be checked against the registry's. */
static int import(int argc, char **argv) {
  static const struct option opts[] = {
      {"name", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {0}};
  const char *name = NULL;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
    switch (c) {
    case 'n': name = optarg; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("key", argv);
    }
  }
  if (optind != argc - 1) return pl_cli_usage_error("key", "import takes exactly one FILE");
  const char *file = argv[optind];
  if (name == NULL) {
    if (strcmp(file, "-") == 0)
      return pl_cli_usage_error("key", "import from standard input needs --name NAME");
    const char *slash = strrchr(file, '/');
    name = slash ? slash + 1 : file;
  }
  if (strchr(name, '/') || name[0] == '\0' || name[0] == '.')
    return pl_cli_usage_error("key", "--name wants a file name without '/' nor a leading '.'");
  pl_error_t err = NULL;
  struct pl_key k;
  int r = strcmp(file, "-") == 0 ? pl_key_load_stdin(&k, &err) : pl_key_load(file, &k, &err);
  if (r < 0) return pl_cli_report("key import", &err);
  if (!k.has_seed) {
    pl_fail_hint(&err, EINVAL, "give the private key file, not FILE.pub",
                 "%s is a public key; import takes the private key", file);
    return pl_cli_report("key import", &err);
  }
  r = save_key(name, &k, "key import");
  pl_key_wipe(&k);
  fflush(stdout);
  if (r == PL_EXIT_OK && strcmp(file, "-") != 0)
    pl_cli_line(stderr,
                "pylock: key import: check that the keyid is one your registry's root.json "
                "lists, then delete %s (and %s.pub)",
                file, file);
  return r;
}

int pl_cmd_key(int argc, char **argv) {
  if (argc < 2) return pl_cli_usage_error("key", "missing subcommand (generate, import or show)");
  if (pl_cli_is_help(argv[1])) {
    usage(stdout);
    return PL_EXIT_OK;
  }
  if (strcmp(argv[1], "generate") == 0) return generate(argc - 1, argv + 1);
  if (strcmp(argv[1], "import") == 0) return import(argc - 1, argv + 1);
  if (strcmp(argv[1], "show") == 0) {
    if (argc == 3 && pl_cli_is_help(argv[2])) {
      usage(stdout);
      return PL_EXIT_OK;
    }
    if (argc != 3) return pl_cli_usage_error("key", "show takes exactly one FILE");
    pl_error_t err = NULL;
    cleanup_free char *path = NULL;
    struct pl_key k;
    if (strcmp(argv[2], "-") == 0
            ? pl_key_load_stdin(&k, &err) < 0
            : pl_key_resolve(argv[2], &path, &err) < 0 || pl_key_load(path, &k, &err) < 0)
      return pl_cli_report("key show", &err);
    pl_key_wipe(&k);
    print_key(&k);
    return PL_EXIT_OK;
  }
  return pl_cli_usage_error("key", "unknown subcommand '%s'", argv[1]);
}
