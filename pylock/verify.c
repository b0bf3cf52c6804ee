/* pylock verify — every installed file against its RECORD, the env against the lock. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "change.h"
#include "cleanup.h"
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

/* before "its log: STATE/compile.log" when the detached pylock's log is
 * about generation gen (a regular file written since gen's record), else "". */
static char *log_note(int state_fd, const char *state_path, unsigned gen, const char *before,
                      const char *after) {
  char meta[64];
  struct stat lg, md;
  char *note = NULL;
  snprintf(meta, sizeof meta, "%s/%u.meta", PL_GENERATIONS_DIR, gen);
  if (state_path && fstatat(state_fd, PL_CLI_COMPILE_LOG, &lg, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISREG(lg.st_mode) && fstatat(state_fd, meta, &md, AT_SYMLINK_NOFOLLOW) == 0 &&
      (lg.st_mtim.tv_sec > md.st_mtim.tv_sec ||
       (lg.st_mtim.tv_sec == md.st_mtim.tv_sec && lg.st_mtim.tv_nsec >= md.st_mtim.tv_nsec)) &&
      asprintf(&note, "%sits log: %s/%s%s", before, state_path, PL_CLI_COMPILE_LOG, after) >= 0)
    return note;
  return strdup("");
}

void pl_cli_bytecode(int state_fd, const char *state_path, unsigned gen, char **word, char **line) {
  enum pl_bytecode b;
  pid_t holder;
  pl_error_t err = NULL;
  int r;
  *word = *line = NULL;
  if (pl_meta_bytecode(state_fd, gen, &b, &holder, &err) < 0) {
    cleanup_free char *msg = pl_error_string(err);
    pl_error_free(&err);
    *word = strdup("unknown");
    r = asprintf(line, "unknown (%s); `pylock sync` builds the generation again",
                 msg ? msg : "out of memory");
  } else if (b == PL_BYTECODE_PENDING) {
    cleanup_free char *note = log_note(state_fd, state_path, gen, "; ", "");
    r = asprintf(line,
                 "pending: generation %u imports from source (its byte-compiling was "
                 "interrupted%s); the next `pylock sync` finishes it",
                 gen, note ? note : "");
  } else if (b == PL_BYTECODE_COMPILING && holder > 0) {
    cleanup_free char *note = log_note(state_fd, state_path, gen, " (", ")");
    r = asprintf(line,
                 "compiling: generation %u imports from source until pylock (pid %d) has "
                 "compiled it%s; `pylock sync` waits for it",
                 gen, (int)holder, note ? note : "");
  } else if (b == PL_BYTECODE_COMPILING) {
    cleanup_free char *note = log_note(state_fd, state_path, gen, " (", ")");
    r = asprintf(line,
                 "compiling: generation %u imports from source until the pylock compiling it "
                 "is done%s; `pylock sync` waits for it",
                 gen, note ? note : "");
  } else {
    r = asprintf(line, "compiled");
  }
  if (r < 0) *line = NULL;
  if (*word == NULL) *word = strdup(pl_bytecode_name(b));
}

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
  unsigned gen = 0;
  cleanup_free char *bytecode = NULL, *bytecode_line = NULL;
  if (pl_change_effective(e.root_fd, e.state_fd, &gen, &err) < 0) pl_error_free(&err);
  if (gen) pl_cli_bytecode(e.state_fd, e.state_path, gen, &bytecode, &bytecode_line);
  if (bytecode && strcmp(bytecode, "compiled") != 0)
    pl_cli_line(stdout, "byte-code: %s", bytecode_line ? bytecode_line : bytecode);
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
