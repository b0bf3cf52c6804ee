/* pylock ci — a CI job: sync --frozen, verify, run; the exit status is the command's. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "env.h"
#include "verify.h"

static void usage(FILE *out) {
  fprintf(out, "usage: pylock ci [--json] [--] CMD [ARGS...]\n\n"
               "For a CI job on a fresh runner: rebuild the environment exactly from pylock.toml\n"
               "(sync --frozen: fail if the lock is stale, never re-lock), verify every installed\n"
               "file, then run CMD inside the environment. The exit status is CMD's (or 1 if a\n"
               "phase before it failed); a CMD killed by a signal kills pylock ci with it.\n\n"
               "Options:\n"
               "  --json      after CMD, print one JSON summary line on stderr: {\"ok\", "
               "\"generation\",\n"
               "              \"packages\", \"fetched\", \"unpacked\", \"files\", \"phases_ms\": "
               "{\"sync\",\n"
               "              \"verify\", \"run\"}, \"installed\": [\"name==version\"...],\n"
               "              \"exit_status\" | \"signal\", \"error\"}\n"
               "  -h, --help  print this help and exit\n");
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static volatile sig_atomic_t child_pid;

static void forward(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

struct summary {
  bool ok;
  struct pl_sync_result sync;
  double sync_ms, verify_ms, run_ms;
  int status; /* wait status of CMD, or -1 if it never ran */
  const char *error;
  char **installed; /* "name==version", from the lock the environment was built from */
  size_t ninstalled;
};

static void print_summary(const struct summary *s, bool json) {
  if (!json) {
    if (s->status >= 0)
      fprintf(stderr,
              "pylock ci: %zu packages (generation %u, %zu fetched, %zu unpacked); sync %.0f ms, "
              "verify %.0f ms, run %.0f ms\n",
              s->sync.packages, s->sync.generation, s->sync.fetched, s->sync.built, s->sync_ms,
              s->verify_ms, s->run_ms);
    return;
  }
  fprintf(stderr,
          "{\"ok\": %s, \"generation\": %u, \"packages\": %zu, \"fetched\": %zu, \"unpacked\": "
          "%zu, \"files\": %llu, \"phases_ms\": {\"sync\": %.1f, \"verify\": %.1f, \"run\": %.1f}",
          s->ok ? "true" : "false", s->sync.generation, s->sync.packages, s->sync.fetched,
          s->sync.built, (unsigned long long)s->sync.files, s->sync_ms, s->verify_ms, s->run_ms);
  fputs(", \"installed\": [", stderr);
  for (size_t i = 0; i < s->ninstalled; i++) {
    if (i) fputs(", ", stderr);
    pl_cli_json_string(stderr, s->installed[i]);
  }
  fputc(']', stderr);
  if (s->status >= 0 && WIFSIGNALED(s->status))
    fprintf(stderr, ", \"signal\": \"SIG%s\"", sigabbrev_np(WTERMSIG(s->status)));
  else if (s->status >= 0)
    fprintf(stderr, ", \"exit_status\": %d", WEXITSTATUS(s->status));
  if (s->error) {
    fputs(", \"error\": ", stderr);
    pl_cli_json_string(stderr, s->error);
  }
  fputs("}\n", stderr);
}

static void summary_free(struct summary *s) {
  for (size_t i = 0; i < s->ninstalled; i++)
    free(s->installed[i]);
  free(s->installed);
  s->installed = NULL;
  s->ninstalled = 0;
}

/* sync --frozen, then verify; 0 when the environment is ready. */
static int prepare(struct summary *s, pl_error_t *err) {
  double t0 = now_ms();
  if (pl_sync_project(true, &s->sync, err) < 0) return -1;
  double t1 = now_ms();
  s->sync_ms = t1 - t0;
  struct pl_env e;
  struct pl_verify_report rep = {0};
  char **lock_issues = NULL;
  size_t nlock = 0;
  int rc = -1;
  if (pl_env_open(&e, pl_cli.project, NULL, NULL, err) == 0 &&
      (s->installed = calloc(e.lf.npackages + 1, sizeof *s->installed)) != NULL) {
    for (size_t i = 0; i < e.lf.npackages; i++)
      if (asprintf(&s->installed[s->ninstalled], "%s==%s", e.lf.packages[i].name,
                   e.lf.packages[i].version) >= 0)
        s->ninstalled++;
  }
  if (e.root && pl_env_verify(&e, &rep, &lock_issues, &nlock, err) == 0) {
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

int pl_cmd_ci(int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  bool json = false;
  int c;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (c) {
    case 'j': json = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_usage_error("ci", "unknown option");
    }
  }
  if (optind >= argc) return pl_cli_usage_error("ci", "missing CMD");
  struct summary s = {.status = -1};
  pl_error_t err = NULL;
  if (prepare(&s, &err) < 0) {
    char *msg = pl_error_string(err);
    s.error = msg;
    print_summary(&s, json);
    free(msg);
    summary_free(&s);
    return pl_cli_report("ci", &err);
  }
  fflush(NULL);
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid < 0) {
    summary_free(&s);
    return pl_cli_report("ci", (pl_fail(&err, errno, "fork"), &err));
  }
  if (pid == 0) _exit(pl_run_command(argv[optind], &argv[optind], false));
  /* The job runner signals us; the command must get it. */
  child_pid = pid;
  struct sigaction sa = {.sa_handler = forward};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGQUIT, &sa, NULL);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
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
