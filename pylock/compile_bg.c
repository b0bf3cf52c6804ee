/* pylock — byte-compiling after the switch in a detached pylock, so that a command returns once the environment is usable. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "cli.h"
#include "env.h"
#include "generations.h"
#include "pause.h"

#define COMPILE_LOG "compile.log" /* in the project's state directory */

bool pl_cli_compile_detached(void) {
  const char *v = getenv("PYLOCK_COMPILE");
  return !(v && strcmp(v, "after-switch-wait") == 0);
}

/* Close every descriptor above 2 that is a terminal (the CLI's log
 * descriptor was one; anything else inherited from the shell too). */
static void close_terminals(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return;
  int self = dirfd(d);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    char *end;
    long fd = strtol(de->d_name, &end, 10);
    if (*end || fd <= 2 || fd == self) continue;
    if (isatty((int)fd)) close((int)fd);
  }
  closedir(d);
}

/* The detached pylock's standard descriptors: stdin /dev/null, stdout and
 * stderr the project's compile.log (its state directory is read-only in
 * every sandbox; O_NOFOLLOW), else /dev/null.  No terminal is left open. */
static void detach_stdio(const struct pl_env *e) {
  int null = open("/dev/null", O_RDWR | O_NOCTTY);
  int log = openat(e->state_fd, COMPILE_LOG,
                   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
  if (log < 0) log = null;
  if (null >= 0) dup2(null, STDIN_FILENO);
  if (log >= 0) {
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
  }
  if (null > STDERR_FILENO) close(null);
  if (log > STDERR_FILENO && log != null) close(log);
  pl_cli_log_reopen();
  close_terminals();
}

/* The detached pylock: its own session and process group (no controlling
 * terminal), its own stdio, both locks its own as the kernel tells it, then
 * the compile and the second switch.  Never returns. */
static void compile_detached(struct pl_env *e, struct pl_sync_result *res, const char *cmd) {
  if (setsid() < 0) _exit(PL_EXIT_FAIL);
  detach_stdio(e);
  pl_error_t err = NULL;
  if (pl_gen_lock_adopt(e->change_lock, &err) < 0 || pl_gen_lock_adopt(e->compile_lock, &err) < 0)
    pl_error_free(&err); /* still held; pylock info names the pid that took them */
  pl_pause("detached");
  pl_cli_info("pylock: %s: byte-compiling generation %u in the background (pid %d)", cmd,
              res->source_generation, (int)getpid());
  int rc = pl_env_compile_pending(e, res, &err);
  if (rc < 0) {
    pl_cli_report(cmd, &err);
  } else {
    pl_cli_compiled_after(res);
  }
  fflush(NULL);
  pl_env_close(e);
  _exit(rc < 0 ? PL_EXIT_FAIL : PL_EXIT_OK);
}

int pl_cli_compile_background(struct pl_env *e, struct pl_sync_result *res, const char *cmd,
                              pl_error_t *err) {
  res->compile_pid = 0;
  fflush(NULL); /* nothing buffered here may be written twice */
  pid_t pid = fork();
  if (pid == 0) compile_detached(e, res, cmd);
  if (pid < 0) {
    pl_cli_info("pylock: usable now (generation %u); byte-compiling it here (imports run from "
                "source until done)",
                res->source_generation);
    return pl_env_compile_pending(e, res, err);
  }
  res->compile_pid = (int)pid;
  /* Handed over: the locks stay held through the child's descriptors. */
  close(e->compile_lock);
  close(e->change_lock);
  e->compile_lock = e->change_lock = -1;
  pl_pause("handed-over");
  return 0;
}
