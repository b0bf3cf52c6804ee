/* pylock trust — the registry roots this user trusts. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "truststore.h"
#include "tuf.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock trust add ROOT.json [--name NAME]\n"
          "       pylock trust list\n"
          "       pylock trust remove NAME\n\n"
          "Trusted registry roots: the anchors every signature check starts from.\n\n"
          "  add      check ROOT.json is a TUF root signed by its own root keys, then keep it\n"
          "           as $XDG_CONFIG_HOME/pylock/trust.d/NAME.json (~/.config/... if unset);\n"
          "           NAME defaults to the file name without .json (or root-KEYID16)\n"
          "  list     one tab-separated line per root: NAME, user|system|system(shadowed),\n"
          "           'version N', 'expires TIME', path (or NAME, kind, 'invalid', why, path);\n"
          "           system roots come from /etc/pylock/trust.d ($PYLOCK_SYSCONFDIR/trust.d)\n"
          "  remove   forget a user root (system roots are the administrator's)\n\n"
          "Options:\n"
          "  --name NAME  name to keep the root under: 1-%d of [A-Za-z0-9._-]\n"
          "  -h, --help   print this help and exit\n",
          PL_TRUST_NAME_MAX);
}

int pl_cmd_trust(int argc, char **argv) {
  if (argc < 2) return pl_cli_usage_error("trust", "missing subcommand (add, list, remove)");
  if (pl_cli_is_help(argv[1])) {
    usage(stdout);
    return PL_EXIT_OK;
  }
  const char *sub = argv[1];
  static const struct option opts[] = {
      {"name", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {0}};
  const char *name = NULL;
  int c;
  optind = 0;
  while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'n': name = optarg; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("trust", argv + 1);
    }
  }
  char **pos = argv + 1 + optind;
  int npos = argc - 1 - optind;
  pl_error_t err = NULL;
  if (strcmp(sub, "add") == 0) {
    if (npos != 1) return pl_cli_usage_error("trust", "add takes exactly one ROOT.json");
    char *used = NULL;
    if (pl_trust_add(pos[0], name, &used, &err) < 0) return pl_cli_report("trust add", &err);
    pl_cli_line(stdout, "%s", used);
    pl_cli_info("trusted %s as %s", pos[0], used);
    free(used);
    return PL_EXIT_OK;
  }
  if (name) return pl_cli_usage_error("trust", "--name only goes with add");
  if (strcmp(sub, "list") == 0) {
    if (npos != 0) return pl_cli_usage_error("trust", "list takes no argument");
    struct pl_trust_entry *list = NULL;
    size_t n = 0;
    if (pl_trust_list(&list, &n, &err) < 0) return pl_cli_report("trust list", &err);
    for (size_t i = 0; i < n; i++) {
      const struct pl_trust_entry *e = &list[i];
      const char *kind = e->system ? (e->shadowed ? "system(shadowed)" : "system") : "user";
      /* Each field escaped alone: a tab or newline inside one cannot
       * make a column or a line. */
      pl_cli_put(stdout, e->name);
      printf("\t%s\t", kind);
      if (e->valid) {
        char es[21];
        pl_tuf_format_time(e->expires, es);
        printf("version %lld\texpires %s\t", (long long)e->version, es);
      } else {
        fputs("invalid\t", stdout);
        pl_cli_put(stdout, e->problem ? e->problem : "?");
        fputc('\t', stdout);
      }
      pl_cli_put(stdout, e->path);
      fputc('\n', stdout);
    }
    pl_trust_list_free(list, n);
    return PL_EXIT_OK;
  }
  if (strcmp(sub, "remove") == 0) {
    if (npos != 1) return pl_cli_usage_error("trust", "remove takes exactly one NAME");
    if (pl_trust_remove(pos[0], &err) < 0) return pl_cli_report("trust remove", &err);
    pl_cli_info("no longer trusting %s", pos[0]);
    return PL_EXIT_OK;
  }
  return pl_cli_usage_error("trust", "unknown subcommand '%s'", sub);
}
