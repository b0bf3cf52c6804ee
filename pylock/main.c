/* pylock — entry point: refuse setuid, parse global options, dispatch. */
/* SPDX-License-Identifier: Apache-2.0 */
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
#include "harden.h"
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

/* Edit distance of a and b, or more than `cap` (then cap + 1). */
static size_t distance(const char *a, const char *b, size_t cap) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 32 || lb > 32) return cap + 1;
  size_t row[33];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* The command a user probably meant: other tools' words for ours, then the
 * closest name within two edits. */
static const char *nearest_command(const char *name) {
  static const char *const words[][2] = {
      {"add", "install"},     {"uninstall", "remove"}, {"rm", "remove"},    {"del", "remove"},
      {"upgrade", "install"}, {"exec", "run"},         {"check", "verify"}, {"clean", "gc"},
      {"status", "info"},     {"show", "list"},        {"freeze", "list"},  {"venv", "init"},
      {"new", "init"},        {"test", "ci"}};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcmp(name, words[i][0]) == 0) return words[i][1];
  const char *best = NULL;
  size_t best_d = 3;
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    size_t d = distance(name, commands[i].name, 2);
    if (d < best_d) best_d = d, best = commands[i].name;
  }
  return best;
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
  /* A sync holds a few descriptors a package; what pylock runs gets the
   * limit it was given back (pl_files_limit_restore, before every exec). */
  pl_files_limit_raise();

  const char *nc = getenv("NO_COLOR");
  pl_cli.color = isatty(STDERR_FILENO) && (nc == NULL || nc[0] == '\0');
  opterr = 0; /* a refused option is named in one line of ours (pl_cli_bad_option) */

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
    default: {
      const char *tok = argv[optind - 1];
      if (strncmp(tok, "--", 2) != 0 && optopt > 0 && optopt < 128)
        pl_cli_line(stderr,
                    "pylock: unknown option '-%c', or it needs an argument (see: pylock --help)",
                    optopt);
      else
        pl_cli_line(stderr, "pylock: unknown option '%s' (see: pylock --help)", tok);
      return PL_EXIT_USAGE;
    }
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return PL_EXIT_USAGE;
  }
  pl_cli_log_setup();
  const char *name = argv[optind];
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (strcmp(commands[i].name, name) == 0) {
      int first = optind;
      optind = 0; /* reset getopt for the command's own parsing */
      int rc = commands[i].fn(argc - first, argv + first);
      pl_cli_status_clear();
      /* Stopped by Ctrl-C (or SIGTERM, SIGHUP): the shell's 128 + signal. */
      int interrupted = pl_cli_interrupted_status();
      return rc != PL_EXIT_OK && interrupted > 0 ? interrupted : rc;
    }
  }
  const char *near = nearest_command(name);
  if (near)
    pl_cli_line(stderr,
                "pylock: unknown command '%s'; did you mean 'pylock %s'? (see: pylock --help)",
                name, near);
  else
    pl_cli_line(stderr, "pylock: unknown command '%s' (see: pylock --help)", name);
  return PL_EXIT_USAGE;
}
