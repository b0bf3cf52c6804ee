/* pylock CLI — shared by the command files. lib/ never prints; this layer does. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_CLI_H
#define PYLOCK_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "select.h"

/* Exit codes (documented in pylock(1)). */
enum { PL_EXIT_OK = 0, PL_EXIT_FAIL = 1, PL_EXIT_USAGE = 2 };

struct pl_cli {
  const char *project; /* -C/--project DIR, or NULL */
  int verbosity;       /* -q: -1, default 0, -v: 1+ */
  bool color;          /* stderr is a terminal and NO_COLOR is unset */
};
extern struct pl_cli pl_cli;

/* Everything below that prints text escapes it by lib/escape.h's rule (text
 * mode): a control character, C1, bidi control or invalid UTF-8 byte in it,
 * '\n' and '\t' included, shows as \x1b, \u009b, \n...  So each call prints
 * exactly the lines it says, whatever the strings in it hold. */

/* Print "pylock: CMD: message: strerror" and its hint; free err; return PL_EXIT_FAIL. */
int pl_cli_report(const char *cmd, pl_error_t *err);
/* Print a usage error for CMD, one line, and return PL_EXIT_USAGE. */
int pl_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for the option getopt_long just refused in argv (unknown,
 * or missing its argument), naming it. */
int pl_cli_bad_option(const char *cmd, char **argv);
/* The options of a command that takes --json and --help only, and no
 * argument: -1 to go on (*json set), else the exit status to return. */
int pl_cli_json_options(const char *cmd, int argc, char **argv, void (*usage)(FILE *), bool *json);
/* Progress/info line on stderr unless -q (one line: a '\n' in it is escaped). */
void pl_cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Hook lib/log.h up after the global options: -v/-vv detail on stderr, and
 * a status line (a spinner with the step and elapsed time, or [i/n] per
 * wheel) when stderr is a terminal, unless -q or TERM=dumb. */
void pl_cli_log_setup(void);
/* pl_cli_log_setup again for a new stderr (dup2'd over fd 2), letting go of
 * the old one (a detached pylock must keep no descriptor of the terminal). */
void pl_cli_log_reopen(void);
/* Take the status line off the terminal (before exiting, say). */
void pl_cli_status_clear(void);
/* For the commands that change a project (lock, install, remove, sync):
 * the first SIGINT, SIGTERM or SIGHUP is noted (lib/interrupt.h), so that
 * the change stops cleanly, ends its children and leaves nothing behind; a
 * second one ends pylock at once. */
void pl_cli_catch_interrupts(void);
/* 128 + the signal noted (130 for Ctrl-C), or -1 when none was. */
int pl_cli_interrupted_status(void);
/* Progress callback for lib/env: one line on stderr unless -q. */
void pl_cli_progress(void *ctx, const char *msg);
/* A JSON string literal of s on f: valid UTF-8, every control, C1 and bidi
 * control escaped, each invalid byte as \ufffd (lib/escape.h).  The only JSON
 * string writer. */
void pl_cli_json_string(FILE *f, const char *s);
/* s on f, escaped (no newline added): a field of a line built piece by piece. */
void pl_cli_put(FILE *f, const char *s);
/* fmt's rendering on f as one line, escaped as a whole (so fmt itself holds no
 * '\n' or '\t'), then '\n': output lines that carry outside text. */
void pl_cli_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Warn (stderr, once per file) that private key `path`, outside the keys
 * directory, is readable by code pylock runs, and how to move it. */
void pl_cli_key_outside(const char *cmd, const char *path);
/* v[0] sep v[1] sep ...: a new string, or NULL when out of memory. */
char *pl_cli_join(char *const *v, size_t n, const char *sep);
/* Options of a command whose only option is --help: prints `help` for it.
 * Returns -1 to go on, else the exit status to return now. */
int pl_cli_only_help(const char *cmd, int argc, char **argv, const char *help);
/* True if argv[i] is -h/--help. */
bool pl_cli_is_help(const char *arg);
/* bytes as "12.3 MiB" into buf. */
void pl_cli_bytes(unsigned long long bytes, char *buf, size_t cap);
/* Parse a decimal in [min, max] (no sign, no junk); false otherwise. */
bool pl_cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

struct pl_env;
struct pl_requested;
/* lock, install, remove: load the requested set (pyproject.toml or
 * pylock.toml), deriving a foreign lock's from its top level, saying so. */
int pl_cli_requested_prepare(struct pl_env *e, struct pl_requested *rq, pl_error_t *err);

/* One function per command, one file per command (pylock/<name>.c). */
#define PL_COMMANDS(X)                                                                             \
  X(init, "create a project: pylock.toml and its first, empty environment")                        \
  X(lock, "resolve the requested set against the registry into pylock.toml")                       \
  X(install, "add requirements to the project, lock and sync")                                     \
  X(remove, "remove packages from the project, lock and sync")                                     \
  X(sync, "make the environment exactly match pylock.toml")                                        \
  X(run, "run a command inside the project's environment")                                         \
  X(ci, "sync --frozen, verify, then run a command: for CI jobs")                                  \
  X(shell, "start $SHELL inside the project's environment")                                        \
  X(list, "list the packages of the environment")                                                  \
  X(tree, "show the dependency tree of the environment")                                           \
  X(info, "show where the environment lives and how commands are sandboxed")                       \
  X(verify, "check every installed file against its RECORD and the lock")                          \
  X(rollback, "switch back to the previous environment generation")                                \
  X(gc, "remove unused generations and cache entries")                                             \
  X(cache, "print where the shared cache is, or clean it")                                         \
  X(shim, "install or remove the python3/pip shims that make them project-aware")                  \
  X(doctor, "check that this machine can run pylock; name each cause and its fix")                 \
  X(registry, "create, extend, re-sign and verify a signed (TUF) wheel registry")                  \
  X(key, "generate or import an ed25519 signing key, or show a key's id")                          \
  X(trust, "add, list and remove the registry roots you trust")

/* How run, shell, ci and the shim sandbox their command (pylock-run(1)). */
struct pl_run_opts {
  bool no_network;
  bool strict;
  char *allow_write[64]; /* --allow-write, made absolute */
  size_t nallow_write;
  /* pl_launch's before_exec (pylock ci's supervisor), or NULL. */
  int (*before_exec)(void *ctx, pl_error_t *err);
  void *before_exec_ctx;
};
/* The options run, shell and ci share: n (--no-network), s (--strict), w
 * (--allow-write PATH).  1 if c was one of them, 0 if not, -1 on a bad
 * value (reported). */
int pl_run_opts_parse(int c, const char *arg, const char *cmd, struct pl_run_opts *o);

/* Enter the project's environment and exec cmd; returns only on failure. */
int pl_run_command(const char *cmd, char **cmd_argv, const struct pl_run_opts *o);

/* Act as python3/pip (main() saw a shim's name); never returns on success. */
int pl_shim_main(const char *name, bool is_pip, int argc, char **argv);

struct pl_sync_result;
/* How sync (and ci, and the shim's auto-sync) go about it. */
struct pl_sync_opts {
  bool frozen;      /* fail if the lock is stale; the lock may be a pull request's (runner rules) */
  bool offline;     /* the registry's last verified metadata; fetch nothing */
  bool repair;      /* rebuild, hashing every byte of the cache trees used */
  bool keep_policy; /* never loosen the project's sandboxes (the shim's auto-sync) */
  bool compile_after_switch;    /* env.h: sync and install where someone can use it meanwhile */
  bool compile_detach;          /* ... in a detached pylock (pl_cli_compile_background) */
  const char *trusted, *python; /* --trusted NAME, --python PATH */
  /* --extra NAME, --group NAME (repeatable): a lock's extras and dependency
   * groups to install (select.h); pl_sync_select_add fills them */
  const char *extras[PL_SELECT_MAX_NAMES], *groups[PL_SELECT_MAX_NAMES];
  size_t nextras, ngroups;
};

/* Note --extra (group false) or --group NAME in o; a usage error message on
 * stderr and -1 when there are too many. */
int pl_sync_select_add(struct pl_sync_opts *o, bool group, const char *name, const char *cmd);
/* Compile after the switch (pl_env_sync) when stderr is a terminal: someone
 * who can use the environment meanwhile is told it is usable.  Scripts, ci
 * and the shim's auto-sync switch once, compiled.  PYLOCK_COMPILE=
 * after-switch or before-switch decides instead. */
struct pl_sync_result;
bool pl_cli_compile_after_switch(void);
/* ... and then in a detached pylock, the command returning at once (true),
 * or in this one (false): PYLOCK_COMPILE=after-switch-wait. */
bool pl_cli_compile_detached(void);
/* After a change that left its compile to the caller (res->compile_pending,
 * env.h): hand it and both locks to a detached pylock (its pid in
 * res->compile_pid), which writes nothing to the terminal; this one returns.
 * When it cannot fork, compiles here (pl_env_compile_pending's result). */
struct pl_env;
int pl_cli_compile_background(struct pl_env *e, struct pl_sync_result *res, const char *cmd,
                              pl_error_t *err);
/* After a sync that compiled after its switch: a line saying so (not -q),
 * naming the detached pylock's log when it compiles in the background. */
void pl_cli_compiled_after(const struct pl_env *e, const struct pl_sync_result *res);
/* The detached pylock's stdout and stderr, in the project's state directory. */
#define PL_CLI_COMPILE_LOG "compile.log"

/* Sync the project (-C or nearest); shared by sync, ci and the shim.  With
 * anchor, *anchor receives the registry root it anchored to (caller frees). */
int pl_sync_project(const struct pl_sync_opts *o, struct pl_sync_result *res, char **anchor,
                    pl_error_t *err);

/* Whether generation gen (of the state at state_fd, named state_path) has
 * its byte-code (change.h): *word one of compiled, pending, compiling,
 * unknown; *line that, said for a reader, with the command to use and the
 * background compile's log when it is about that generation.  Both malloc'd (NULL
 * when out of memory). */
void pl_cli_bytecode(int state_fd, const char *state_path, unsigned gen, char **word, char **line);

/* Startup hooks a sync brings: the names at the current generation's site
 * directories, taken before it (none when there is no generation yet), then
 * compared after it: one line on stderr, even with -q, per package of the
 * new current generation with a hook the old one did not have.  Frees what
 * it took.  Once: as pl_env's `switched` (ctx h, h->cmd set), when the new
 * generation becomes current, before compiling after the switch; the call
 * after the change then says nothing more. */
struct pl_env;
struct pl_hooks_before {
  char **names;
  size_t n;
  const char *cmd; /* for pl_cli_hooks_switched */
  bool announced;
};
void pl_cli_hooks_before(const struct pl_env *e, struct pl_hooks_before *h);
void pl_cli_hooks_free(struct pl_hooks_before *h);
void pl_cli_hooks_announce(const struct pl_env *e, struct pl_hooks_before *h, const char *cmd);
void pl_cli_hooks_switched(const struct pl_env *e, unsigned n, void *h);

#define PL_DECLARE_CMD(name, summary) int pl_cmd_##name(int argc, char **argv);
PL_COMMANDS(PL_DECLARE_CMD)
#undef PL_DECLARE_CMD

#endif
