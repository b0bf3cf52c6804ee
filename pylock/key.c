/* pylock key — generate an ed25519 signing key; show a key's id. */
/* SPDX-License-Identifier: Apache-2.0 */
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
#include "registry.h"
#include "truststore.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock key generate [-o FILE]\n"
          "       pylock key show FILE\n\n"
          "Ed25519 keys that sign a registry's TUF metadata.\n\n"
          "  generate     write a new private key to FILE (mode 0600, never overwriting) and its\n"
          "               public key to FILE.pub; FILE defaults to\n"
          "               $XDG_CONFIG_HOME/pylock/keys/default.key (~/.config/... if unset).\n"
          "               A private key is never written to standard output, nor into a\n"
          "               directory that holds a registry (root.json) or below one.\n"
          "  show         print the keyid and public key of a private key or FILE.pub\n\n"
          "Options:\n"
          "  -o, --output FILE  where generate writes the private key\n"
          "  -h, --help         print this help and exit\n\n"
          "Output (stdout, one 'field: value' per line): keyid, public, and for generate\n"
          "private-key and public-key (the file paths).\n");
}

static void print_key(const struct pl_key *k) {
  char hex[65];
  pl_hex_encode(k->pub, 32, hex);
  printf("keyid: %s\npublic: %s\n", k->keyid, hex);
}

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
  pl_error_t err = NULL;
  cleanup_free char *path = NULL;
  if (out == NULL) {
    cleanup_free char *dir = NULL;
    if (pl_path_user_config("keys", &dir, &err) < 0 || pl_mkdir_p(dir, 0700, &err) < 0)
      return pl_cli_report("key generate", &err);
    if (asprintf(&path, "%s/default.key", dir) < 0) return PL_EXIT_FAIL;
    out = path;
  }
  if (pl_registry_check_key_path(out, &err) < 0) return pl_cli_report("key generate", &err);
  struct pl_key k;
  if (pl_key_generate(&k, &err) < 0 || pl_key_save(out, &k, &err) < 0) {
    pl_key_wipe(&k);
    return pl_cli_report("key generate", &err);
  }
  pl_key_wipe(&k);
  print_key(&k);
  pl_cli_line(stdout, "private-key: %s", out);
  pl_cli_line(stdout, "public-key: %s.pub", out);
  return PL_EXIT_OK;
}

int pl_cmd_key(int argc, char **argv) {
  if (argc < 2) return pl_cli_usage_error("key", "missing subcommand (generate or show)");
  if (pl_cli_is_help(argv[1])) {
    usage(stdout);
    return PL_EXIT_OK;
  }
  if (strcmp(argv[1], "generate") == 0) return generate(argc - 1, argv + 1);
  if (strcmp(argv[1], "show") == 0) {
    if (argc == 3 && pl_cli_is_help(argv[2])) {
      usage(stdout);
      return PL_EXIT_OK;
    }
    if (argc != 3) return pl_cli_usage_error("key", "show takes exactly one FILE");
    pl_error_t err = NULL;
    struct pl_key k;
    if (pl_key_load(argv[2], &k, &err) < 0) return pl_cli_report("key show", &err);
    pl_key_wipe(&k);
    print_key(&k);
    return PL_EXIT_OK;
  }
  return pl_cli_usage_error("key", "unknown subcommand '%s'", argv[1]);
}
