/* pylock — the compile after the switch in a detached pylock: the command returns once usable. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "cli.h"
#include "env.h"
#include "generations.h"
#include "interrupt.h"
#include "pause.h"

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
  int log = openat(e->state_fd, PL_CLI_COMPILE_LOG,
                   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
  if (log < 0) log = null;
  if (null < 0 || dup2(null, STDIN_FILENO) < 0) close(STDIN_FILENO);
  if (log < 0 || dup2(log, STDOUT_FILENO) < 0) close(STDOUT_FILENO);
  if (log < 0 || dup2(log, STDERR_FILENO) < 0) close(STDERR_FILENO);
  if (null > STDERR_FILENO) close(null);
  if (log > STDERR_FILENO && log != null) close(log);
  pl_cli_log_reopen();
  close_terminals();
}

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* Block (how SIG_BLOCK) or unblock the signals a terminal sends. */
static void mask_stop_signals(int how, sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
    sigaddset(&set, stop_signals[i]);
  sigprocmask(how, &set, old);
}

/* The detached pylock: its own session and process group (no controlling
 * terminal), its own stdio, both locks its own as the kernel tells it; then
 * it lets the command return (closing `ready`), compiles and makes the
 * second switch.  Never returns. */
static void compile_detached(struct pl_env *e, struct pl_sync_result *res, const char *cmd,
                             int ready, const sigset_t *mask) {
  if (setsid() < 0) _exit(PL_EXIT_FAIL);
  /* Out of the caller's working directory: a process living on in it would
   * keep it busy (no unmount) and alive after a delete.  Nothing here uses a
   * relative path: the project and its state are open fds and absolute. */
  if (chdir("/") < 0) _exit(PL_EXIT_FAIL);
  /* A Ctrl-C or hangup sent to the command's process group while this one
   * was still in it was meant for the command: dropped (ignoring a signal
   * discards it if pending), the handlers kept for signals sent to it. */
  for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++) {
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    if (sigaction(stop_signals[i], &ign, &old) == 0) sigaction(stop_signals[i], &old, NULL);
  }
  sigprocmask(SIG_SETMASK, mask, NULL);
  detach_stdio(e);
  pl_error_t err = NULL;
  if (pl_gen_lock_adopt(e->change_lock, &err) < 0 || pl_gen_lock_adopt(e->compile_lock, &err) < 0)
    pl_error_free(&err); /* still held; pylock info names the pid that took them */
  close(ready);
  pl_pause("detached");
  pl_cli_info("pylock: %s: byte-compiling generation %u in the background (pid %d)", cmd,
              res->source_generation, (int)getpid());
  int rc = pl_env_compile_pending(e, res, &err);
  if (rc < 0 && pl_interrupted()) {
    /* Not the command's "nothing changed": the source generation stays. */
    char hint[160];
    snprintf(hint, sizeof hint,
             "generation %u is current and works, importing from source; byte-compile it "
             "with: pylock sync",
             res->source_generation);
    pl_error_free(&err);
    pl_fail_hint(&err, 0, hint, "byte-compiling in the background stopped by signal %d",
                 pl_interrupted());
  }
  if (rc < 0) {
    pl_cli_report(cmd, &err);
  } else {
    pl_cli_compiled_after(e, res);
  }
  fflush(NULL);
  pl_env_close(e);
  _exit(rc < 0 ? PL_EXIT_FAIL : PL_EXIT_OK);
}

int pl_cli_compile_background(struct pl_env *e, struct pl_sync_result *res, const char *cmd,
                              pl_error_t *err) {
  res->compile_pid = 0;
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) ready[0] = ready[1] = -1;
  sigset_t mask;
  mask_stop_signals(SIG_BLOCK, &mask);
  fflush(NULL); /* nothing buffered here may be written twice */
  pid_t pid = ready[0] >= 0 ? fork() : -1;
  if (pid == 0) {
    close(ready[0]);
    compile_detached(e, res, cmd, ready[1], &mask);
  }
  sigprocmask(SIG_SETMASK, &mask, NULL);
  if (ready[1] >= 0) close(ready[1]);
  if (pid < 0) {
    if (ready[0] >= 0) close(ready[0]);
    pl_cli_info("pylock: usable now (generation %u); byte-compiling it here (imports run from "
                "source until done)",
                res->source_generation);
    return pl_env_compile_pending(e, res, err);
  }
  res->compile_pid = (int)pid;
  /* Handed over: the locks stay held through the child's descriptors.  The
   * command returns once the child is out of its session and holds them as
   * its own (or died: pending, which the next sync finishes). */
  close(e->compile_lock);
  close(e->change_lock);
  e->compile_lock = e->change_lock = -1;
  char c;
  while (read(ready[0], &c, 1) < 0 && errno == EINTR) {
  }
  close(ready[0]);
  pl_pause("handed-over");
  return 0;
}
