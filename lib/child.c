/* pylock — the one child runner; see child.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "interrupt.h"
#include "log.h"
#include "harden.h"

extern char **environ;

/* Exit status of the child when pylock itself failed before exec; its
 * reason went down the error pipe. */
#define SETUP_FAILED 125

/* In the child: tell the parent why we are giving up, and do. */
static void __attribute__((noreturn)) child_fail(int errfd, pl_error_t *err, const char *what) {
  char *s = err && *err ? pl_error_string(*err) : NULL;
  const char *hint = err && *err && (*err)->hint ? (*err)->hint : "";
  dprintf(errfd, "%s%s%s%s", what, s ? s : strerror(errno), hint[0] ? "\n" : "", hint);
  _exit(SETUP_FAILED);
}

/* Die with the process that forked us; -1 if it is gone already. */
static int die_with_parent(pid_t parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return -1;
  return getppid() == parent ? 0 : -1;
}

/* The sandboxed child: first process of a PID namespace of its own, under
 * a waiter that passes its end on. */
static void __attribute__((noreturn)) run_sandboxed(const struct pl_child_opts *o, int errfd) {
  pl_error_t err = NULL;
  if (pl_sandbox_enter(o->sandbox, &err) < 0) child_fail(errfd, &err, "");
  if (o->in_sandbox && o->in_sandbox(o->in_sandbox_ctx, &err) < 0) child_fail(errfd, &err, "");
  if (unshare(CLONE_NEWPID) < 0) child_fail(errfd, NULL, "a PID namespace: ");
  /* pid 1 in there sees its parent as 0 whether it lives or not: a pipe
   * the waiter holds open tells instead. */
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) < 0) child_fail(errfd, NULL, "pipe: ");
  pid_t pid = fork();
  if (pid < 0) child_fail(errfd, NULL, "fork: ");
  if (pid == 0) {
    close(alive[1]);
    struct pollfd pfd = {.fd = alive[0], .events = POLLIN};
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || poll(&pfd, 1, 0) != 0) _exit(SETUP_FAILED);
    close(alive[0]);
    if (pl_sandbox_restrict(o->sandbox, &err) < 0 || pl_harden(o->sandbox->strict, &err) < 0)
      child_fail(errfd, &err, "");
    execve(o->argv[0], o->argv, (char *const *)(o->envp ? (char **)o->envp : environ));
    child_fail(errfd, NULL, "exec: ");
  }
  close(errfd);
  close(alive[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) _exit(SETUP_FAILED);
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  /* Die the same way, so the parent sees what the child did. */
  signal(WTERMSIG(status), SIG_DFL);
  raise(WTERMSIG(status));
  _exit(128 + WTERMSIG(status));
}

static void __attribute__((noreturn))
child_main(const struct pl_child_opts *o, pid_t parent, int outfd, int errfd) {
  setpgid(0, 0);
  if (die_with_parent(parent) < 0) _exit(SETUP_FAILED);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
    child_fail(errfd, NULL, "standard streams: ");
  if (o->sandbox) run_sandboxed(o, errfd);
  pl_files_limit_restore();
  execve(o->argv[0], o->argv, (char *const *)(o->envp ? (char **)o->envp : environ));
  child_fail(errfd, NULL, "exec: ");
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define TICK_MS 100 /* how often a wait lets a progress spinner turn */

/* Read the child's output until EOF, the deadline, too much of it, or an
 * interruption (interrupt.h): signals are blocked but while ppoll waits,
 * so one that comes between the check and the wait still wakes it. */
static int collect(const struct pl_child_opts *o, int fd, char *buf, size_t *len, pl_error_t *err) {
  double deadline = o->timeout_s > 0 ? now_s() + o->timeout_s : 0;
  size_t cap = o->output_max;
  sigset_t block, open;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, &open);
  int rc = 0;
  for (;;) {
    if ((rc = pl_interrupt_check(err)) < 0) break;
    int wait_ms = pl_progress_on() ? TICK_MS : -1;
    if (deadline > 0) {
      double left = deadline - now_s();
      if (left <= 0) {
        rc = pl_fail(err, ETIMEDOUT, "%s did not finish within %d s", o->argv[0], o->timeout_s);
        break;
      }
      if (wait_ms < 0 || left * 1000 < wait_ms) wait_ms = (int)(left * 1000) + 1;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    struct timespec ts = {.tv_sec = wait_ms / 1000, .tv_nsec = (wait_ms % 1000) * 1000000L};
    int pr = ppoll(&pfd, 1, wait_ms < 0 ? NULL : &ts, &open);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) {
      rc = pl_fail(err, errno, "poll");
      break;
    }
    pl_progress_tick();
    if (pr == 0) continue;
    if (*len == cap) {
      if (!o->keep_tail) {
        rc = pl_fail(err, EFBIG, "%s printed more than %zu bytes", o->argv[0], cap);
        break;
      }
      memmove(buf, buf + cap / 2, cap - cap / 2); /* keep the newest half: errors come last */
      *len = cap - cap / 2;
    }
    ssize_t n = read(fd, buf + *len, cap - *len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    *len += (size_t)n;
  }
  sigprocmask(SIG_SETMASK, &open, NULL);
  return rc;
}

int pl_child_run(const struct pl_child_opts *o, struct pl_child_result *r, pl_error_t *err) {
  memset(r, 0, sizeof *r);
  int outp[2], errp[2];
  if (pipe2(outp, O_CLOEXEC) < 0) return pl_fail(err, errno, "pipe");
  if (pipe2(errp, O_CLOEXEC) < 0) {
    close(outp[0]), close(outp[1]);
    return pl_fail(err, errno, "pipe");
  }
  cleanup_free char *buf = malloc(o->output_max + 1);
  if (buf == NULL) {
    close(outp[0]), close(outp[1]), close(errp[0]), close(errp[1]);
    return pl_fail(err, ENOMEM, "run %s", o->argv[0]);
  }
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) child_main(o, parent, outp[1], errp[1]);
  close(outp[1]);
  close(errp[1]);
  cleanup_close int out = outp[0], ef = errp[0];
  if (pid < 0) return pl_fail(err, errno, "fork");
  setpgid(pid, pid); /* whichever of us gets there first */
  size_t len = 0;
  int rc = collect(o, out, buf, &len, err);
  if (rc < 0) kill(-pid, SIGKILL), kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      if (rc == 0) rc = pl_fail(err, errno, "wait for %s", o->argv[0]);
      break;
    }
  if (rc < 0) return -1;
  char why[1024];
  ssize_t wn = read(ef, why, sizeof why - 1);
  if (wn > 0 && WIFEXITED(status) && WEXITSTATUS(status) == SETUP_FAILED) {
    why[wn] = '\0';
    char *hint = strchr(why, '\n');
    if (hint) *hint++ = '\0';
    pl_fail(err, 0, "%s: %s", o->argv[0], why);
    if (hint && *hint) pl_error_set_hint(err, "%s", hint);
    return -1;
  }
  buf[len] = '\0';
  r->status = status;
  r->len = len;
  r->output = steal_pointer(&buf);
  return 0;
}
