/* pylock CLI — how errors and progress reach the user. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int pl_cli_report(const char *cmd, pl_error_t *err) {
  const char *red = pl_cli.color ? "\033[1;31m" : "", *reset = pl_cli.color ? "\033[0m" : "";
  char *s = pl_error_string(err ? *err : NULL);
  fprintf(stderr, "%spylock: %s: %s%s\n", red, cmd, s, reset);
  if (err && *err && (*err)->hint) fprintf(stderr, "pylock: hint: %s\n", (*err)->hint);
  free(s);
  pl_error_free(err);
  return PL_EXIT_FAIL;
}

int pl_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "pylock %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nRun 'pylock %s --help' for usage.\n", cmd);
  return PL_EXIT_USAGE;
}

void pl_cli_info(const char *fmt, ...) {
  if (pl_cli.verbosity < 0) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void pl_cli_progress(void *ctx, const char *msg) {
  (void)ctx;
  if (pl_cli.verbosity >= 0) fprintf(stderr, "%s\n", msg);
}

bool pl_cli_is_help(const char *arg) {
  return arg && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

bool pl_cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out) {
  if (s == NULL || *s < '0' || *s > '9') return false;
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v < min || v > max) return false;
  *out = v;
  return true;
}

void pl_cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

int pl_cli_only_help(const char *cmd, int argc, char **argv, const char *help) {
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(help, stdout);
      return PL_EXIT_OK;
    }
    return pl_cli_usage_error(cmd, "unknown option");
  }
  if (optind < argc) return pl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  return -1;
}
