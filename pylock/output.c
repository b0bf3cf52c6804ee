/* pylock CLI — how errors and progress reach the user.
 *
 * The single choke point for text from outside: lib/ puts names, URLs,
 * metadata fields and pip's words into error messages as they are, and every
 * byte of them that reaches a terminal or a log goes through pl_cli_put (text)
 * or pl_cli_json_string (JSON) below, so one rule (lib/escape.h) covers them
 * all.  A message is one line: the '\n' that ends it is the only one printed
 * raw, so outside text can never begin a line of its own.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "escape.h"
#include "interrupt.h"
#include "log.h"
#include "state.h"

/* Write s[0, len) on f in mode, unit by unit (no allocation, nothing cut). */
static void put_escaped(FILE *f, enum pl_escape_mode mode, const char *s, size_t len) {
  while (len > 0) {
    char unit[PL_ESCAPE_UNIT_MAX];
    size_t ulen, took = pl_escape_unit(mode, s, len, unit, &ulen);
    fwrite(unit, 1, ulen, f);
    s += took;
    len -= took;
  }
}

void pl_cli_put(FILE *f, const char *s) {
  if (s) put_escaped(f, PL_ESCAPE_TEXT, s, strlen(s));
}

/* A message composed in memory and written with one call: stderr is
 * unbuffered, and one write per message keeps it whole when several
 * processes share the terminal.  Out of memory, pieces go straight to out. */
struct msg {
  FILE *m, *out;
  char *buf;
  size_t len;
};

static FILE *msg_open(struct msg *g, FILE *out) {
  g->out = out;
  g->buf = NULL;
  g->m = open_memstream(&g->buf, &g->len);
  return g->m ? g->m : out;
}

static void status_clear(void);

static void msg_close(struct msg *g) {
  if (g->m && fclose(g->m) == 0) {
    if (g->out == stderr) status_clear(); /* the line goes where the spinner was */
    fwrite(g->buf, 1, g->len, g->out);
  }
  free(g->buf);
}

/* fmt's rendering on f, escaped as a whole, then a newline. */
static void vline(FILE *f, const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  pl_cli_put(f, s ? s : "(out of memory)");
  fputc('\n', f);
  free(s);
}

void pl_cli_line(FILE *f, const char *fmt, ...) {
  struct msg g;
  va_list ap;
  va_start(ap, fmt);
  vline(msg_open(&g, f), fmt, ap);
  va_end(ap);
  msg_close(&g);
}

/* Does s name a path in the shared cache (STATE/cache), by the state
 * root's location as configured or as it resolves? */
static bool names_cache(const char *s) {
  cleanup_free char *root = NULL;
  pl_error_t ignored = NULL;
  if (s == NULL || pl_state_location(&root, &ignored) < 0) {
    pl_error_free(&ignored);
    return false;
  }
  char real[PATH_MAX], want[PATH_MAX + 16];
  const char *roots[] = {root, realpath(root, real) ? real : NULL};
  for (size_t i = 0; i < 2; i++) {
    if (roots[i] == NULL) continue;
    snprintf(want, sizeof want, "%s/%s/", roots[i], PL_STATE_CACHE);
    if (strstr(s, want)) return true;
  }
  return false;
}

int pl_cli_report(const char *cmd, pl_error_t *err) {
  /* The cache is sealed read-only: a permission error in it is most often
   * someone's attempt to change or remove it by hand. */
  if (err && *err && (*err)->hint == NULL &&
      ((*err)->errnum == EACCES || (*err)->errnum == EPERM || (*err)->errnum == EROFS) &&
      names_cache((*err)->msg))
    pl_error_set_hint(err, "the cache is sealed read-only; to empty it: pylock cache clean");
  /* Out of descriptors at the hard limit (pylock raised its soft limit to
   * it at start): only the user can raise it. */
  struct rlimit nofile;
  if (err && *err && (*err)->hint == NULL && (*err)->errnum == EMFILE &&
      getrlimit(RLIMIT_NOFILE, &nofile) == 0)
    pl_error_set_hint(err,
                      "pylock holds a few files open per package; the limit here is %llu: raise "
                      "it with `ulimit -n` (its hard limit: limits.conf, or LimitNOFILE= for a "
                      "service)",
                      (unsigned long long)nofile.rlim_cur);
  /* Stopped on Ctrl-C before its commit: the change undid itself. */
  if (err && *err && pl_error_is(*err, EINTR) && pl_interrupted())
    pl_error_set_hint(err, "nothing changed: %s and the environment are as they were",
                      "pylock.toml");
  const char *red = pl_cli.color ? "\033[1;31m" : "", *reset = pl_cli.color ? "\033[0m" : "";
  char *s = pl_error_string(err ? *err : NULL);
  struct msg g;
  FILE *m = msg_open(&g, stderr);
  fprintf(m, "%spylock: ", red);
  pl_cli_put(m, cmd);
  fputs(": ", m);
  pl_cli_put(m, s);
  fprintf(m, "%s\n", reset);
  if (err && *err && (*err)->hint) {
    fputs("pylock: hint: ", m);
    pl_cli_put(m, (*err)->hint);
    fputc('\n', m);
  }
  msg_close(&g);
  free(s);
  pl_error_free(err);
  return PL_EXIT_FAIL;
}

int pl_cli_usage_error(const char *cmd, const char *fmt, ...) {
  struct msg g;
  FILE *m = msg_open(&g, stderr);
  va_list ap;
  char *text = NULL;
  va_start(ap, fmt);
  if (vasprintf(&text, fmt, ap) < 0) text = NULL;
  va_end(ap);
  /* One line: what was wrong, and where the usage is. */
  fputs("pylock ", m);
  pl_cli_put(m, cmd);
  fputs(": ", m);
  pl_cli_put(m, text ? text : fmt);
  fputs(" (see: pylock ", m);
  pl_cli_put(m, cmd);
  fputs(" --help)\n", m);
  free(text);
  msg_close(&g);
  return PL_EXIT_USAGE;
}

int pl_cli_bad_option(const char *cmd, char **argv) {
  /* getopt (told to be quiet in main) left the culprit at argv[optind - 1]
   * (a long option), or its letter in optopt (a short one). */
  const char *tok = optind > 0 ? argv[optind - 1] : NULL;
  if (tok && strncmp(tok, "--", 2) == 0) {
    int n = (int)strcspn(tok, "=");
    if (optopt) return pl_cli_usage_error(cmd, "option '%.*s' needs an argument", n, tok);
    return pl_cli_usage_error(cmd, "unknown option '%.*s'", n, tok);
  }
  if (optopt > 0 && optopt < 128)
    return pl_cli_usage_error(cmd, "unknown option '-%c', or it needs an argument", optopt);
  return pl_cli_usage_error(cmd, "unknown option '%s'", tok ? tok : "?");
}

void pl_cli_info(const char *fmt, ...) {
  if (pl_cli.verbosity < 0) return;
  struct msg g;
  va_list ap;
  va_start(ap, fmt);
  vline(msg_open(&g, stderr), fmt, ap);
  va_end(ap);
  msg_close(&g);
}

void pl_cli_progress(void *ctx, const char *msg) {
  (void)ctx;
  if (pl_cli.verbosity < 0) return;
  struct msg g;
  FILE *m = msg_open(&g, stderr);
  pl_cli_put(m, msg);
  fputc('\n', m);
  msg_close(&g);
}

char *pl_cli_join(char *const *v, size_t n, const char *sep) {
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  if (f == NULL) return NULL;
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s%s", i ? sep : "", v[i]);
  if (fclose(f) != 0) {
    free(s);
    return NULL;
  }
  return s;
}

bool pl_cli_is_help(const char *arg) {
  return arg && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

void pl_cli_bytes(unsigned long long bytes, char *buf, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024;
    u++;
  }
  snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
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
  if (s) put_escaped(f, PL_ESCAPE_JSON, s, strlen(s));
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
    return pl_cli_bad_option(cmd, argv);
  }
  if (optind < argc) return pl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  return -1;
}

/* ---- -v detail, progress on a terminal, interruptions ------------------------ */

/* Detail and the status line go to a copy of stderr made at start (close on
 * exec): a child pylock forks to set up a sandbox writes there too, while
 * its own stderr is a pipe to pylock; what it execs gets none of it. */
static int log_fd = STDERR_FILENO;

/* The status line: one line at the bottom of the terminal, redrawn in place. */
static struct {
  bool drawn;
  char what[512];
  size_t done, total;
  struct timespec began, drawn_at;
  unsigned frame;
} status;

static double since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void put_fd(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, s, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s += n;
    len -= (size_t)n;
  }
}

static void status_clear(void) {
  if (!status.drawn) return;
  put_fd(log_fd, "\r\033[K", 4);
  status.drawn = false;
}

/* Columns of the terminal at fd (80 when it cannot tell). */
static size_t columns(int fd) {
  struct winsize ws;
  return ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 ? ws.ws_col : 80;
}

/* "| resolving 2 requirement(s) against URL (3.4 s)" or "[2/6] getting X
 * (0.1 s)" in place, escaped like every line, its text cut (never the
 * count or the time) to fit the terminal's width. */
static void status_draw(void) {
  static const char *const frames[] = {"|", "/", "-", "\\"};
  char head[32], tail[32], *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (m == NULL) return;
  pl_cli_put(m, status.what);
  if (fclose(m) != 0) {
    free(text);
    return;
  }
  if (status.total)
    snprintf(head, sizeof head, "[%zu/%zu] ", status.done, status.total);
  else
    snprintf(head, sizeof head, "%s ", frames[status.frame++ % 4]);
  snprintf(tail, sizeof tail, " (%.1f s)", since(&status.began));
  size_t cols = columns(log_fd), fixed = strlen(head) + strlen(tail) + 1;
  size_t room = cols > fixed + 3 ? cols - fixed : 3;
  /* Escaped text is ASCII but for UTF-8 letters, each a column or less
   * wide than its bytes: cut on a character's first byte. */
  if (len > room) {
    len = room - 3;
    while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
      len--;
    memcpy(text + len, "...", 4);
    len += 3;
  }
  char *line = NULL;
  int w = asprintf(&line, "\r\033[K%s%.*s%s", head, (int)len, text, tail);
  free(text);
  if (w < 0) return;
  put_fd(log_fd, line, (size_t)w);
  free(line);
  status.drawn = true;
  clock_gettime(CLOCK_MONOTONIC, &status.drawn_at);
}

static void on_progress(void *ctx, enum pl_progress_event ev, const char *what, size_t done,
                        size_t total) {
  (void)ctx;
  switch (ev) {
  case PL_PROGRESS_BEGIN:
    snprintf(status.what, sizeof status.what, "%s", what);
    status.done = status.total = 0;
    clock_gettime(CLOCK_MONOTONIC, &status.began);
    status_draw();
    break;
  case PL_PROGRESS_ITEM:
    snprintf(status.what, sizeof status.what, "%s", what);
    status.done = done;
    status.total = total;
    status_draw();
    break;
  case PL_PROGRESS_TICK:
    if (status.what[0] && since(&status.drawn_at) >= 0.1) status_draw();
    break;
  case PL_PROGRESS_END:
    status_clear();
    status.what[0] = '\0';
    break;
  }
}

static void on_line(void *ctx, int level, const char *msg) {
  (void)ctx;
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (m == NULL) return;
  fputs(level >= PL_LOG_DEBUG ? "pylock: debug: " : "pylock: ", m);
  pl_cli_put(m, msg);
  fputc('\n', m);
  if (fclose(m) == 0) {
    fflush(stderr);
    status_clear();
    put_fd(log_fd, text, len);
  }
  free(text);
}

void pl_cli_log_setup(void) {
  int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd >= 0) log_fd = fd;
  const char *term = getenv("TERM");
  bool tty = isatty(log_fd) && !(term && strcmp(term, "dumb") == 0);
  struct pl_log_hooks h = {.level = pl_cli.verbosity > 0 ? pl_cli.verbosity : 0,
                           .line = pl_cli.verbosity > 0 ? on_line : NULL,
                           .progress = tty && pl_cli.verbosity >= 0 ? on_progress : NULL};
  pl_log_set(&h);
}

void pl_cli_log_reopen(void) {
  status.drawn = false; /* the line drawn was on the old stderr */
  if (log_fd != STDERR_FILENO) close(log_fd);
  log_fd = STDERR_FILENO;
  pl_cli_log_setup();
}

void pl_cli_status_clear(void) {
  status_clear();
}

/* First signal: noted, and the change stops cleanly at its next check;
 * a second one of the same kind ends pylock at once, as without a handler. */
static void on_interrupt(int sig) {
  if (pl_interrupted() == sig) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  pl_interrupt_note(sig);
}

void pl_cli_catch_interrupts(void) {
  struct sigaction sa = {.sa_handler = on_interrupt}; /* no SA_RESTART: waits end with EINTR */
  sigemptyset(&sa.sa_mask);
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    /* An ignored signal (nohup, a job started in the background) stays ignored. */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sigs[i], &sa, NULL);
  }
}

int pl_cli_interrupted_status(void) {
  int sig = pl_interrupted();
  return sig ? 128 + sig : -1;
}

int pl_cli_json_options(const char *cmd, int argc, char **argv, void (*usage)(FILE *), bool *json) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  int c;
  *json = false;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'j': *json = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option(cmd, argv);
    }
  }
  if (optind < argc) return pl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  return -1;
}

void pl_cli_key_outside(const char *cmd, const char *path) {
  static char *said[8];
  size_t i = 0;
  for (; i < sizeof said / sizeof said[0] && said[i]; i++)
    if (strcmp(said[i], path) == 0) return;
  if (i < sizeof said / sizeof said[0]) said[i] = strdup(path);
  pl_cli_line(stderr,
              "pylock: %s: warning: the private key %s lies outside the keys directory, and code "
              "pylock runs can read it there; move it: pylock key import %s (then delete it), or "
              "pass it on standard input (--key -)",
              cmd, path, path);
}
