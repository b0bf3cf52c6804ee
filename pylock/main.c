/* pylock — entry point: refuse setuid, parse global options, dispatch. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "keepalive.h"
#include "shim.h"
#include "pylock_version.h"

struct pl_cli pl_cli;

struct command {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
};

#define PL_TABLE_ENTRY(name, summary) {#name, pl_cmd_##name, summary},
static const struct command commands[] = {PL_COMMANDS(PL_TABLE_ENTRY)};
#undef PL_TABLE_ENTRY

static void usage(FILE *out) {
  fprintf(out, "usage: pylock [-C DIR] [-q|-v] COMMAND [ARGS...]\n"
               "       pylock --version | --help\n\n"
               "Per-project Python environments in unprivileged namespaces, from signed wheels.\n\n"
               "Options:\n"
               "  -C, --project DIR  use the project at DIR (default: nearest pylock.toml upward)\n"
               "  -q, --quiet        print only errors\n"
               "  -v, --verbose      say more (repeat for more)\n"
               "  -V, --version      print the version and exit\n"
               "  -h, --help         print this help and exit\n\n"
               "Commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun 'pylock COMMAND --help' for a command's options; see pylock(1).\n");
}

/* pylock must never carry privilege: a setuid/setgid install would turn its
 * namespace and mount work into a root exploit surface.  Refuse outright,
 * whether the bit changed our credentials (AT_SECURE) or merely sits on the
 * file (an install mistake that a later chown would make live). */
static int refuse_if_setid(void) {
  struct stat st;
  bool setid = getauxval(AT_SECURE) != 0 || getuid() != geteuid() || getgid() != getegid();
  if (!setid && stat("/proc/self/exe", &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
    setid = true;
  if (!setid) return 0;
  fprintf(stderr,
          "pylock: refusing to run: this binary is setuid or setgid\n"
          "pylock: hint: pylock needs no privilege; remove the bit: chmod ug-s %s\n",
          "\"$(command -v pylock)\"");
  return -1;
}

int main(int argc, char **argv) {
  if (refuse_if_setid() < 0) return PL_EXIT_FAIL;

  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  /* The keep-alive holder: pylock re-executed in a new sandbox (keepalive.h). */
  if (strcmp(base, PL_KEEPALIVE_HOLDER_NAME) == 0) pl_keepalive_holder_main(argc, argv);

  /* Called as python3, pip...: a shim (see lib/shim.h). */
  bool is_pip;
  if (pl_shim_name(base, &is_pip)) return pl_shim_main(base, is_pip, argc, argv);

  const char *nc = getenv("NO_COLOR");
  pl_cli.color = isatty(STDERR_FILENO) && (nc == NULL || nc[0] == '\0');

  static const struct option opts[] = {
      {"project", required_argument, NULL, 'C'}, {"quiet", no_argument, NULL, 'q'},
      {"verbose", no_argument, NULL, 'v'},       {"version", no_argument, NULL, 'V'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
  int c;
  /* '+': stop at the command name; its options are its own. */
  while ((c = getopt_long(argc, argv, "+C:qvVh", opts, NULL)) != -1) {
    switch (c) {
    case 'C': pl_cli.project = optarg; break;
    case 'q': pl_cli.verbosity = -1; break;
    case 'v': pl_cli.verbosity++; break;
    case 'V': printf("pylock %s\n", PYLOCK_VERSION); return PL_EXIT_OK;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: usage(stderr); return PL_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return PL_EXIT_USAGE;
  }
  const char *name = argv[optind];
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (strcmp(commands[i].name, name) == 0) {
      int first = optind;
      optind = 0; /* reset getopt for the command's own parsing */
      return commands[i].fn(argc - first, argv + first);
    }
  }
  pl_cli_line(stderr, "pylock: unknown command '%s'", name);
  fputs("pylock: hint: run 'pylock --help' for the list\n", stderr);
  return PL_EXIT_USAGE;
}
