/* pylock verify — every installed file against its RECORD, the env against the lock. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "env.h"
#include "project.h"
#include "verify.h"

static const char help[] =
    "usage: pylock verify\n\n"
    "Re-check every file of the current environment generation against its wheel's\n"
    "RECORD (sha256 and size), and the installed packages against pylock.toml. Each\n"
    "file or package that differs is named. Exit status 0 when all match, 1 otherwise.\n\n"
    "Options:\n"
    "  -h, --help  print this help and exit\n";

int pl_cmd_verify(int argc, char **argv) {
  int r = pl_cli_only_help("verify", argc, argv, help);
  if (r >= 0) return r;
  pl_error_t err = NULL;
  struct pl_env e;
  struct pl_verify_report rep = {0};
  char **lock_issues = NULL;
  size_t nlock = 0;
  if (pl_env_open(&e, pl_cli.project, pl_cli_progress, NULL, &err) < 0 ||
      pl_env_verify(&e, &rep, &lock_issues, &nlock, &err) < 0) {
    pl_env_close(&e);
    return pl_cli_report("verify", &err);
  }
  for (size_t i = 0; i < rep.nissues; i++)
    pl_cli_line(stdout, "%s: %s%s%s", pl_verify_kind_name(rep.issues[i].kind), rep.issues[i].path,
                rep.issues[i].detail ? ": " : "", rep.issues[i].detail ? rep.issues[i].detail : "");
  for (size_t i = 0; i < nlock; i++) {
    pl_cli_line(stdout, "lock: %s", lock_issues[i]);
    free(lock_issues[i]);
  }
  free(lock_issues);
  uint64_t bad = rep.modified + rep.missing + rep.unlisted + nlock;
  printf("%s: %llu packages, %llu files checked; %llu modified, %llu missing, %llu unlisted, "
         "%zu differ from the lock\n",
         bad ? "FAILED" : "ok", (unsigned long long)rep.dists, (unsigned long long)rep.files,
         (unsigned long long)rep.modified, (unsigned long long)rep.missing,
         (unsigned long long)rep.unlisted, nlock);
  if (bad)
    fprintf(stderr,
            "pylock: hint: rebuild the environment from %s, every cached file checked "
            "byte for byte, with: pylock sync --repair\n",
            PL_LOCK_FILE);
  pl_verify_report_free(&rep);
  pl_env_close(&e);
  return bad ? PL_EXIT_FAIL : PL_EXIT_OK;
}
