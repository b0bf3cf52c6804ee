/* pylock ci — a CI job: sync --frozen, verify, run; the exit status is the command's. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "env.h"
#include "harden.h"
#include "log.h"
#include "verify.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock ci [--json] [--python PATH] [--trusted NAME] [--offline] [--strict]\n"
          "                 [--no-network] [--allow-write PATH]... [--extra NAME]...\n"
          "                 [--group NAME]... [--] CMD [ARGS...]\n\n"
          "For a CI job on a fresh runner: rebuild the environment exactly from pylock.toml\n"
          "(sync --frozen: fail if the lock is stale, never re-lock), verify every installed\n"
          "file, then run CMD inside the environment. The exit status is CMD's (or 1 if a\n"
          "phase before it failed); a CMD killed by a signal kills pylock ci with it.\n"
          "Every process CMD started ends when CMD ends (pylock-ci(1), PROCESSES).\n"
          "pylock.toml may come from a pull request: ci uses only an interpreter the runner\n"
          "chose (--python, or one root installed) and a registry root the runner trusts\n"
          "(--trusted, or a root of 'pylock trust' with the keys pylock.toml pins).\n\n"
          "Options:\n"
          "  --json                  after CMD, print one JSON summary line on stderr: {\"ok\",\n"
          "                          \"generation\", \"packages\", \"fetched\", \"unpacked\",\n"
          "                          \"files\", \"phases_ms\": {\"sync\", \"verify\", \"run\"},\n"
          "                          \"root\", \"installed\": [\"name==version\"...],\n"
          "                          \"exit_status\" | \"signal\", \"error\"}\n"
          "  --python PATH           the interpreter to build on, instead of the lock's\n"
          "  --trusted NAME          anchor the registry to this root of 'pylock trust'\n"
          "  --offline               use the registry's metadata as last verified\n"
          "  -s, --strict            run CMD as 'pylock run --strict' would (pylock-run(1))\n"
          "  -n, --no-network        own network namespace with only loopback up\n"
          "  -w, --allow-write PATH  let CMD write PATH too (repeatable)\n"
          "  --extra NAME            install the lock's extra NAME too (repeatable)\n"
          "  --group NAME            install the lock's dependency group NAME instead of\n"
          "                          its default-groups (repeatable)\n"
          "  -h, --help              print this help and exit\n");
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct summary {
  bool ok;
  struct pl_sync_result sync;
  double sync_ms, verify_ms, run_ms;
  int status; /* wait status of CMD, or -1 if it never ran */
  const char *error;
  char **installed; /* "name==version", from the lock the environment was built from */
  size_t ninstalled;
  char *root; /* the registry root the environment was checked against */
};

/* "SIGTERM", "SIGRTMIN+2", "SIGRTMAX-1" (as bash's kill -l names them), or the
 * number for a signal without a name (32 and 33, which glibc keeps). */
static void signal_name(int sig, char *buf, size_t cap) {
  const char *abbrev = sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
  int lo = sig - SIGRTMIN, hi = SIGRTMAX - sig;
  if (abbrev)
    snprintf(buf, cap, "SIG%s", abbrev);
  else if (lo < 0 || hi < 0)
    snprintf(buf, cap, "%d", sig);
  else if (lo == 0 || hi == 0)
    snprintf(buf, cap, "%s", lo == 0 ? "SIGRTMIN" : "SIGRTMAX");
  else if (lo <= hi)
    snprintf(buf, cap, "SIGRTMIN+%d", lo);
  else
    snprintf(buf, cap, "SIGRTMAX-%d", hi);
}

static void print_json(FILE *f, const struct summary *s) {
  fprintf(f,
          "{\"ok\": %s, \"generation\": %u, \"packages\": %zu, \"fetched\": %zu, \"unpacked\": "
          "%zu, \"files\": %llu, \"phases_ms\": {\"sync\": %.1f, \"verify\": %.1f, \"run\": %.1f}",
          s->ok ? "true" : "false", s->sync.generation, s->sync.packages, s->sync.fetched,
          s->sync.built, (unsigned long long)s->sync.files, s->sync_ms, s->verify_ms, s->run_ms);
  fputs(", \"root\": ", f);
  if (s->root)
    pl_cli_json_string(f, s->root);
  else
    fputs("null", f);
  fputs(", \"installed\": [", f);
  for (size_t i = 0; i < s->ninstalled; i++) {
    if (i) fputs(", ", f);
    pl_cli_json_string(f, s->installed[i]);
  }
  fputc(']', f);
  if (s->status >= 0 && WIFSIGNALED(s->status)) {
    char name[24];
    signal_name(WTERMSIG(s->status), name, sizeof name);
    fputs(", \"signal\": ", f);
    pl_cli_json_string(f, name);
  } else if (s->status >= 0) {
    fprintf(f, ", \"exit_status\": %d", WEXITSTATUS(s->status));
  }
  if (s->error) {
    fputs(", \"error\": ", f);
    pl_cli_json_string(f, s->error);
  }
  fputs("}\n", f);
}

/* Where pylock's own last line goes, after CMD: CMD wrote to the same
 * stderr first.  A regular file: its end (CMD shares the open file
 * description, and one that moved its offset back had pylock's summary
 * written over its first bytes, its own forged result left as the last
 * line).  Then, is that at the start of a line?  A line CMD left
 * unfinished, say a forged result object, would begin pylock's, and a
 * reader that decodes the first value of the last line would take it.
 * Known for a regular file (its last byte, read through a descriptor of
 * pylock's own when fd is write-only); not for anything else (a pipe, a
 * terminal): no.  Nothing of CMD's runs any more (PROCESSES). */
static bool to_line_start(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return false;
  off_t end = lseek(fd, 0, SEEK_END);
  if (end == 0) return true;
  if (end < 0) return false;
  char c, path[32];
  if (pread(fd, &c, 1, end - 1) == 1) return c == '\n';
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  cleanup_close int r = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  return r >= 0 && pread(r, &c, 1, end - 1) == 1 && c == '\n';
}

static void print_summary(const struct summary *s, bool json) {
  fflush(stderr);
  bool line_start = s->status < 0 || to_line_start(fileno(stderr));
  if (!json) {
    /* -q silences the text summary; --json is asked for, so it stays. */
    if (s->status >= 0)
      pl_cli_info("pylock ci: %zu packages (generation %u, %zu fetched, %zu unpacked); sync %.0f "
                  "ms, verify %.0f ms, run %.0f ms; registry root %s",
                  s->sync.packages, s->sync.generation, s->sync.fetched, s->sync.built, s->sync_ms,
                  s->verify_ms, s->run_ms, s->root ? s->root : "-");
    return;
  }
  /* One write: a reader of stderr gets the line whole.  A line of its
   * own: after CMD, unless stderr is known to be at a line start, a
   * newline first. */
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!line_start) fputc('\n', m ? m : stderr);
  print_json(m ? m : stderr, s);
  if (m && fclose(m) == 0) fwrite(buf, 1, len, stderr);
  free(buf);
}

static void summary_free(struct summary *s) {
  for (size_t i = 0; i < s->ninstalled; i++)
    free(s->installed[i]);
  free(s->installed);
  s->installed = NULL;
  s->ninstalled = 0;
  free(s->root);
  s->root = NULL;
}

/* sync --frozen, then verify; 0 when the environment is ready.  The lock
 * is the pull request's: only the interpreter and the registry root the
 * runner trusts are used (pl_env_opts). */
static int prepare(struct summary *s, const struct pl_sync_opts *so, pl_error_t *err) {
  double t0 = now_ms();
  if (pl_sync_project(so, &s->sync, &s->root, err) < 0) return -1;
  double t1 = now_ms();
  s->sync_ms = t1 - t0;
  struct pl_env e;
  struct pl_verify_report rep = {0};
  char **lock_issues = NULL;
  size_t nlock = 0;
  int rc = -1;
  struct pl_env_opts eo = {.dir = pl_cli.project,
                           .offline = true, /* sync has just updated and checked the metadata */
                           .runner = true,
                           .trusted = so->trusted,
                           .python = so->python};
  if (pl_env_open_with(&e, &eo, err) == 0 &&
      pl_env_verify(&e, &rep, &lock_issues, &nlock, err) == 0) {
    /* What the lock installs here, as verify selected it (the sync's extras and groups). */
    if ((s->installed = calloc(e.lf.npackages + 1, sizeof *s->installed)) != NULL)
      for (size_t i = 0; i < e.lf.npackages; i++)
        if (e.selected && e.sel.wheel[i] != PL_SELECT_NOT_SELECTED &&
            asprintf(&s->installed[s->ninstalled], "%s==%s", e.lf.packages[i].name,
                     e.lf.packages[i].version) >= 0)
          s->ninstalled++;
    /* Nothing built: the environment's files are those verify just hashed. */
    if (s->sync.unchanged) s->sync.files = rep.files;
    uint64_t bad = rep.modified + rep.missing + rep.unlisted + nlock;
    if (bad == 0) {
      rc = 0;
    } else if (rep.nissues > 0) {
      pl_fail(err, 0, "verify: %s: %s (%llu file(s) differ)",
              pl_verify_kind_name(rep.issues[0].kind), rep.issues[0].path,
              (unsigned long long)(rep.modified + rep.missing + rep.unlisted));
    } else {
      pl_fail(err, 0, "verify: %s", lock_issues[0]);
    }
  }
  for (size_t i = 0; i < nlock; i++)
    free(lock_issues[i]);
  free(lock_issues);
  pl_verify_report_free(&rep);
  pl_env_close(&e);
  s->verify_ms = now_ms() - t1;
  return rc;
}

/* ---------------------------------------------------------------- CMD's process
 *
 * Signals reach CMD exactly once, whoever sends them:
 *
 * - CMD runs in a process group of its own.  Had it stayed in pylock's, a
 *   signal to the group (a terminal's Ctrl-C, a job runner killing the job)
 *   would reach it directly and again through pylock, which cannot tell
 *   such a signal from one sent to its pid alone.
 * - So that a terminal still reaches CMD (Ctrl-C, Ctrl-Z, an interactive
 *   REPL), CMD's group becomes the terminal's foreground group when pylock's
 *   was; the terminal then signals CMD, never pylock.  pylock takes the
 *   terminal back when CMD ends, and follows CMD when it stops (Ctrl-Z): it
 *   stops too, so the shell sees the job stop, and when continued it gives the
 *   terminal back and continues CMD.
 * - What pylock itself receives (kill(1) of its pid, a runner's SIGTERM to
 *   its group) it passes on to CMD's group, once (through the supervisor
 *   and init, below).
 * - The signals are blocked before fork() and their handler set while they
 *   are: one that comes at any moment is passed on once CMD exists, never
 *   lost and never fatal to pylock alone.  The child puts back the
 *   dispositions pylock started with (so nohup's SIGHUP stays ignored) and
 *   the signal mask, before anything of CMD runs.
 * - CMD dies if pylock dies: the child dies with pylock (PR_SET_PDEATHSIG,
 *   SIGKILL), init with the child, and the PID namespace with init, so a
 *   killed job leaves no command behind; a pylock that died before the
 *   child asked for that is seen by the child's getppid() check. */

static volatile sig_atomic_t child_pid;

/* Pass a signal on to the child: the supervisor, which passes it on to
 * CMD's process group through init (below); before that, the child is
 * what CMD would be, and the signal does to it what it would to CMD. */
static void forward(int sig) {
  int saved = errno;
  if (child_pid > 0) kill(child_pid, sig);
  errno = saved;
}

/* The signals passed on: those a user or a job runner sends with kill(1).
 * Not: job control (followed, above), SIGCHLD, the faults and the resource
 * signals pylock would raise itself (SIGSEGV, SIGPIPE, SIGXFSZ...), SIGABRT
 * (abort() in pylock), SIGKILL and SIGSTOP (they cannot be caught). */
static void forwarded_set(sigset_t *set) {
  static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH};
  sigemptyset(set);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaddset(set, sigs[i]);
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
    sigaddset(set, sig);
}

/* Make pgrp the terminal's foreground group (SIGTTOU blocked: pylock may be
 * in the background when it asks). */
static void give_terminal(int tty, pid_t pgrp) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, &old);
  tcsetpgrp(tty, pgrp);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

struct child_setup {
  sigset_t forwarded, mask; /* mask: pylock's signal mask before the fork */
  struct sigaction saved[NSIG];
  int tty;                       /* the controlling terminal, or -1 */
  bool fg;                       /* pylock's group was its foreground group */
  pid_t tty_fg;                  /* the terminal's foreground group before CMD */
  pid_t parent;                  /* pylock's pid */
  const struct pl_run_opts *run; /* --strict, --no-network, --allow-write */
};

/* ---------------------------------------------------------------- CMD's PID namespace
 *
 * Nothing CMD starts outlives it: not a double-forked, setsid'd process
 * that would write a forged result line or "tests passed" after pylock's
 * own, keep running in the job, or take the terminal after pylock ends.
 * Three processes under pylock:
 *
 * - the supervisor (pylock's child, in the sandbox's namespaces; pylock
 *   waits for it) makes a PID namespace, forks its first process, passes
 *   on what pylock forwards, follows CMD when it stops, and ends as CMD
 *   did: with its exit status, or killed by its signal;
 * - init, pid 1 in there: a procfs of its own on /proc (tools see the
 *   namespace's pids) and IPC namespace (fresh_proc), reaps every orphan,
 *   passes each signal on to CMD's group, tells the supervisor when CMD
 *   stops or ends, and then exits: the kernel kills everything else in the
 *   namespace and has reaped it before the supervisor can see init end, so
 *   before pylock prints a word;
 * - CMD: a process group of its own, the terminal's foreground group when
 *   pylock's was, then pylock run's last steps and exec.
 *
 * Each hop passes a signal to a process it has not reaped yet, never to a
 * pid the kernel may have given to another.  The supervisor and init
 * are in process groups of their own, and the terminal's foreground group
 * is CMD's: a signal sent to a group reaches CMD exactly once. */

struct sup_msg {
  char kind; /* 'S': CMD stopped; 'E': CMD ended */
  int status;
};

static void send_msg(int fd, char kind, int status) {
  struct sup_msg m = {.kind = kind, .status = status};
  while (write(fd, &m, sizeof m) < 0 && errno == EINTR)
    ;
}

/* In init, before CMD's fork: a fresh procfs on /proc, in a mount namespace
 * of its own (the sandbox's may be a keep-alive holder's, shared with other
 * runs).  As read-only as the /proc it covers.  Where the kernel refuses
 * (a /proc with parts covered, as some containers make it) the old one
 * stays: everything still ends with CMD, only /proc shows pids of outside.
 * And an IPC namespace of its own: System V shared memory, message queues
 * and semaphores, and POSIX message queues, live on after every process
 * is gone (memory held on the runner until it reboots, a message for the
 * job's next step); the kernel ends those of this namespace with init. */
static int fresh_proc(pl_error_t *err) {
  if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0)
    return pl_fail(err, errno, "a mount and an IPC namespace for CMD");
  struct statvfs vs;
  unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (statvfs("/proc", &vs) == 0 && (vs.f_flag & ST_RDONLY)) flags |= MS_RDONLY;
  if (mount("proc", "/proc", "proc", flags, NULL) < 0)
    pl_log(PL_LOG_VERBOSE, "ci: cannot mount a procfs of the PID namespace on /proc (%s)",
           strerror(errno));
  return 0;
}

/* SIGCHLD as pylock started with it: pylock, the supervisor and init need
 * it not ignored (an ignored SIGCHLD reaps every child unseen, and a wait
 * fails), CMD gets it back. */
static struct sigaction chld_saved;

/* In init's child: CMD's own group, the terminal, pylock's dispositions and
 * mask; returns to exec CMD. */
static int cmd_setup(const struct child_setup *c) {
  setpgid(0, 0);
  if (c->fg) give_terminal(c->tty, getpid());
  for (int sig = 1; sig < NSIG; sig++)
    if (sigismember(&c->forwarded, sig) == 1) sigaction(sig, &c->saved[sig], NULL);
  sigaction(SIGCHLD, &chld_saved, NULL);
  sigprocmask(SIG_SETMASK, &c->mask, NULL);
  return 0;
}

/* pid 1: see above.  Returns only in CMD's process. */
static int init_main(const struct child_setup *c, int alive, int msg) {
  /* pid 1 sees its parent as 0 whether it lives or not: the pipe the
   * supervisor holds open tells instead. */
  struct pollfd pfd = {.fd = alive, .events = POLLIN};
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || poll(&pfd, 1, 0) != 0) _exit(PL_EXIT_FAIL);
  close(alive);
  setpgid(0, 0);
  pl_error_t err = NULL;
  sigset_t w = c->forwarded;
  sigaddset(&w, SIGCHLD);
  sigaddset(&w, SIGCONT);
  sigprocmask(SIG_BLOCK, &w, NULL);
  pid_t x = fresh_proc(&err) < 0 ? -1 : fork();
  if (x == 0) {
    close(msg);
    return cmd_setup(c);
  }
  if (x < 0) {
    if (err == NULL) pl_fail(&err, errno, "fork");
    _exit(pl_cli_report("ci", &err));
  }
  setpgid(x, x); /* as CMD does: whichever runs first */
  /* Nothing in here may attach to init or use its capabilities: it needs
   * none to pass signals on. */
  if (prctl(PR_SET_DUMPABLE, 0) < 0 || pl_harden_drop_caps(NULL) < 0) {
    kill(x, SIGKILL);
    _exit(PL_EXIT_FAIL);
  }
  for (;;) {
    siginfo_t si;
    struct timespec tick = {.tv_sec = 1};
    int sig = sigtimedwait(&w, &si, &tick);
    if (sig > 0 && sig != SIGCHLD) {
      if (kill(-x, sig) < 0) kill(x, sig);
      continue;
    }
    for (;;) {
      int st;
      pid_t p = waitpid(-1, &st, WNOHANG | (c->fg ? WUNTRACED : 0));
      if (p <= 0) break;
      if (p != x) continue; /* an orphan, reaped */
      if (WIFSTOPPED(st)) {
        send_msg(msg, 'S', st);
        continue;
      }
      send_msg(msg, 'E', st);
      _exit(0); /* the kernel ends the rest of the namespace */
    }
  }
}

/* pl_launch's before_exec: the supervisor (see above).  Returns 0 only in
 * CMD's process; else ends as CMD did. */
static int supervise(void *ctx, pl_error_t *err) {
  const struct child_setup *c = ctx;
  sigset_t w = c->forwarded;
  sigaddset(&w, SIGCHLD);
  sigprocmask(SIG_BLOCK, &w, NULL); /* what comes now waits for the signalfd */
  int sfd = signalfd(-1, &w, SFD_CLOEXEC);
  if (sfd < 0) return pl_fail(err, errno, "signalfd");
  if (unshare(CLONE_NEWPID) < 0) return pl_fail(err, errno, "a PID namespace");
  int alive[2], msg[2];
  if (pipe2(alive, O_CLOEXEC) < 0) return pl_fail(err, errno, "pipe");
  if (pipe2(msg, O_CLOEXEC) < 0) return pl_fail(err, errno, "pipe");
  pid_t init = fork();
  if (init == 0) {
    close(sfd);
    close(alive[1]);
    close(msg[0]);
    return init_main(c, alive[0], msg[1]);
  }
  if (init < 0) return pl_fail(err, errno, "fork");
  close(alive[0]);
  close(msg[1]);
  int status = -1, st = 0;
  pid_t r = 0;
  while (r != init) {
    struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = msg[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD)
        kill(init, (int)si.ssi_signo);
    }
    if (p[1].revents) {
      struct sup_msg m;
      ssize_t n = read(msg[0], &m, sizeof m);
      if (n == sizeof m && m.kind == 'S' && c->fg) {
        raise(SIGSTOP); /* pylock sees the job stop (wait_child) */
        kill(init, SIGCONT);
      } else if (n == sizeof m && m.kind == 'E') {
        status = m.status;
      } else if (n <= 0 && !(n < 0 && errno == EINTR)) {
        close(msg[0]);
        msg[0] = -1;
      }
    }
    if ((r = waitpid(init, &st, WNOHANG)) < 0 && errno != EINTR) break;
  }
  while (r != init && (r = waitpid(init, &st, 0)) < 0 && errno == EINTR)
    ;
  /* Init's last word, if it was not read before its end was seen. */
  struct sup_msg m;
  while (status < 0 && msg[0] >= 0 && read(msg[0], &m, sizeof m) == sizeof m)
    if (m.kind == 'E') status = m.status;
  if (status < 0) status = st;
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  /* Die the same way, so pylock sees what CMD did (no core of ours). */
  int sig = WTERMSIG(status);
  prctl(PR_SET_DUMPABLE, 0);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig);
}

/* In the child: own group, pylock's dispositions and mask (a signal now
 * ends it, as it would CMD), then the sandbox and supervise(); never
 * returns. */
static void child_main(const struct child_setup *c, char **cmd) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->parent) _exit(PL_EXIT_FAIL);
  setpgid(0, 0);
  for (int sig = 1; sig < NSIG; sig++)
    if (sigismember(&c->forwarded, sig) == 1) sigaction(sig, &c->saved[sig], NULL);
  sigprocmask(SIG_SETMASK, &c->mask, NULL);
  struct pl_run_opts ro = *c->run;
  ro.before_exec = supervise;
  ro.before_exec_ctx = (void *)c;
  _exit(pl_run_command(cmd[0], cmd, &ro));
}

/* pylock in the background on a terminal: CMD could still make its group
 * the foreground one (SIGTTOU ignored), and that group is gone now; the
 * terminal goes back to the group that had it before (the user's shell),
 * so that nothing of CMD's holds it after ci.  Not when the group now in
 * the foreground is another that lives (a job the user brought forward). */
static void give_back_terminal(const struct child_setup *c) {
  pid_t now = tcgetpgrp(c->tty);
  if (c->tty_fg > 0 && now > 0 && now != c->tty_fg && kill(-now, 0) < 0 && errno == ESRCH)
    give_terminal(c->tty, c->tty_fg);
}

/* Wait for CMD; when it stops on the terminal, stop with it (see above).
 * CMD is reaped only after child_pid is cleared: no signal is ever passed on
 * to a process group whose id the kernel may have given to another. */
static int wait_child(const struct child_setup *c, pid_t pid, int *status, pl_error_t *err) {
  for (;;) {
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | (c->fg ? WSTOPPED : 0)) < 0) {
      if (errno == EINTR) continue;
      return pl_fail(err, errno, "wait for %d", (int)pid);
    }
    if (si.si_code != CLD_STOPPED) break;
    while (waitpid(pid, status, WUNTRACED) < 0)
      if (errno != EINTR) return pl_fail(err, errno, "wait for %d", (int)pid);
    if (!WIFSTOPPED(*status)) return 0; /* killed while stopped: reaped */
    pid_t cmd_fg = tcgetpgrp(c->tty);   /* CMD's group, as a shell keeps a job's */
    give_terminal(c->tty, getpgrp());
    raise(SIGTSTP); /* until the shell continues us (a no-op in an orphaned group) */
    if (tcgetpgrp(c->tty) == getpgrp()) /* fg, not bg */
      give_terminal(c->tty, cmd_fg > 0 && cmd_fg != getpgrp() ? cmd_fg : pid);
    kill(-pid, SIGCONT); /* the supervisor, which continues CMD's group */
  }
  child_pid = 0;
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR) return pl_fail(err, errno, "wait for %d", (int)pid);
  return 0;
}

/* Run cmd (pylock run's way) in a child process; *status is its wait status. */
static int run_child(char **cmd, const struct pl_run_opts *ro, int *status, pl_error_t *err) {
  struct child_setup c = {.parent = getpid(), .run = ro};
  forwarded_set(&c.forwarded);
  sigprocmask(SIG_BLOCK, &c.forwarded, &c.mask);
  struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
  sa.sa_mask = c.forwarded;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sigismember(&c.forwarded, sig) != 1) continue;
    sigaction(sig, NULL, &c.saved[sig]);
    if (c.saved[sig].sa_handler != SIG_IGN) sigaction(sig, &sa, NULL);
  }
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGCHLD, &dfl, &chld_saved);
  c.tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  c.tty_fg = c.tty >= 0 ? tcgetpgrp(c.tty) : -1;
  c.fg = c.tty >= 0 && c.tty_fg == getpgrp();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) child_main(&c, cmd);
  int rc = 0;
  if (pid < 0) {
    rc = pl_fail(err, errno, "fork");
  } else {
    child_pid = pid;
    setpgid(pid, pid); /* as the child does: whichever runs first */
    sigprocmask(SIG_SETMASK, &c.mask, NULL);
    rc = wait_child(&c, pid, status, err);
    child_pid = 0;
    if (c.fg)
      give_terminal(c.tty, getpgrp());
    else if (c.tty >= 0)
      give_back_terminal(&c);
  }
  /* CMD is gone: a signal now is for pylock, as it was before. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sigismember(&c.forwarded, sig) == 1) sigaction(sig, &c.saved[sig], NULL);
  sigaction(SIGCHLD, &chld_saved, NULL);
  sigprocmask(SIG_SETMASK, &c.mask, NULL);
  if (c.tty >= 0) close(c.tty);
  return rc;
}

int pl_cmd_ci(int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                       {"no-network", no_argument, NULL, 'n'},
                                       {"strict", no_argument, NULL, 's'},
                                       {"allow-write", required_argument, NULL, 'w'},
                                       {"python", required_argument, NULL, 'p'},
                                       {"trusted", required_argument, NULL, 't'},
                                       {"offline", no_argument, NULL, 'o'},
                                       {"extra", required_argument, NULL, 'e'},
                                       {"group", required_argument, NULL, 'g'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  bool json = false;
  struct pl_run_opts ro = {0};
  struct pl_sync_opts so = {.frozen = true};
  int c;
  while ((c = getopt_long(argc, argv, "+nsw:h", opts, NULL)) != -1) {
    if (c == 'j' || c == 'p' || c == 't' || c == 'o') {
      json |= c == 'j';
      if (c == 'p') so.python = optarg;
      if (c == 't') so.trusted = optarg;
      if (c == 'o') so.offline = true;
      continue;
    }
    if (c == 'e' || c == 'g') {
      if (pl_sync_select_add(&so, c == 'g', optarg, "ci") < 0) return PL_EXIT_USAGE;
      continue;
    }
    if (c == 'h') {
      usage(stdout);
      return PL_EXIT_OK;
    }
    int r = pl_run_opts_parse(c, optarg, "ci", &ro);
    if (r < 0) return PL_EXIT_USAGE;
    if (r == 0) return pl_cli_bad_option("ci", argv);
  }
  if (optind >= argc) return pl_cli_usage_error("ci", "missing CMD");
  struct summary s = {.status = -1};
  pl_error_t err = NULL;
  if (so.python && so.python[0] != '/')
    return pl_cli_usage_error("ci", "--python needs an absolute path");
  if (prepare(&s, &so, &err) < 0) {
    char *msg = pl_error_string(err);
    s.error = msg;
    print_summary(&s, json);
    free(msg);
    summary_free(&s);
    return pl_cli_report("ci", &err);
  }
  double t0 = now_ms();
  int status;
  if (run_child(&argv[optind], &ro, &status, &err) < 0) return pl_cli_report("ci", &err);
  s.run_ms = now_ms() - t0;
  s.status = status;
  s.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  print_summary(&s, json);
  summary_free(&s);
  if (WIFSIGNALED(status)) {
    /* Die the same way, so the runner sees exactly what the command did. */
    int sig = WTERMSIG(status);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return 128 + sig;
  }
  return WEXITSTATUS(status);
}
