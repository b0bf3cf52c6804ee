/* pylock — keep-alive holders; see keepalive.h for the design. */
#include "keepalive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "file.h"
#include "harden.h"
#include "project.h"

#define RECORD_MAX 256

/* PYLOCK_KEEPALIVE: true and *ttl when it is set (a malformed value means
 * the default), false when unset.  Reads no file: the join path uses it. */
static bool ttl_from_env(int *ttl) {
  const char *s = getenv("PYLOCK_KEEPALIVE");
  if (s == NULL || *s == '\0') return false;
  char *end;
  long v = strtol(s, &end, 10);
  if (*end != '\0' || v < 0)
    *ttl = PL_KEEPALIVE_DEFAULT_TTL;
  else
    *ttl = v > PL_CONFIG_KEEPALIVE_MAX ? PL_CONFIG_KEEPALIVE_MAX : (int)v;
  return true;
}

int pl_keepalive_ttl(pl_error_t *err) {
  int ttl;
  if (ttl_from_env(&ttl)) return ttl;
  const struct pl_config *cfg = pl_config_get(err);
  if (cfg == NULL) return -1;
  return cfg->keepalive >= 0 ? cfg->keepalive : PL_KEEPALIVE_DEFAULT_TTL;
}

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ULL;
  }
  h ^= 0xff; /* field separator */
  h *= 0x100000001b3ULL;
  return h;
}

uint64_t pl_keepalive_digest(const struct pl_sandbox *sb, const char *gen) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, sb->project);
  h = fnv1a(h, sb->state_dir);
  h = fnv1a(h, sb->prefix);
  h = fnv1a(h, sb->layer);
  h = fnv1a(h, sb->user_site);
  return fnv1a(h, gen);
}

int pl_keepalive_format(const struct pl_keepalive_record *r, char *buf, size_t size) {
  int n = snprintf(buf, size, "pylock-keepalive 1 %ld %llu %llu %016" PRIx64 " %s\n", r->pid,
                   r->userns_ino, r->mntns_ino, r->digest, r->gen);
  return n < 0 || (size_t)n >= size ? -1 : n;
}

int pl_keepalive_parse(const char *text, struct pl_keepalive_record *r) {
  int consumed = 0;
  memset(r, 0, sizeof *r);
  if (sscanf(text, "pylock-keepalive 1 %ld %llu %llu %" SCNx64 " %63s%n", &r->pid, &r->userns_ino,
             &r->mntns_ino, &r->digest, r->gen, &consumed) != 5)
    return -1;
  if (r->pid <= 1 || text[consumed] != '\n' || text[consumed + 1] != '\0') return -1;
  return 0;
}

static void record_name(char *buf, size_t size) {
  snprintf(buf, size, "%s/keepalive-%u", PL_RUN_DIR, (unsigned)getuid());
}

/* Join the holder's namespaces if its record checks out.  Returns 1 when
 * joined, 0 when there is nothing (safe) to join, -1 on a failure after
 * which this process is no longer where it started. */
static int try_join(const struct pl_sandbox *sb, int state_fd, const char *gen, pl_error_t *err) {
  char name[64], text[RECORD_MAX + 1], path[64];
  record_name(name, sizeof name);
  cleanup_close int fd = openat(state_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  /* Only a record this user wrote may steer where this user's command runs. */
  if (fstat(fd, &st) < 0 || st.st_uid != getuid() || !S_ISREG(st.st_mode)) return 0;
  ssize_t n = read(fd, text, RECORD_MAX);
  if (n <= 0) return 0;
  text[n] = '\0';
  struct pl_keepalive_record r;
  if (pl_keepalive_parse(text, &r) < 0 || strcmp(r.gen, gen) != 0 ||
      r.digest != pl_keepalive_digest(sb, gen))
    return 0;
  /* Namespace fds, not the pid, are what we join: checking their inodes
   * proves they are the holder's namespaces even if the pid was reused. */
  snprintf(path, sizeof path, "/proc/%ld/ns/user", r.pid);
  cleanup_close int userns = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%ld/ns/mnt", r.pid);
  cleanup_close int mntns = open(path, O_RDONLY | O_CLOEXEC);
  struct stat us, ms;
  if (userns < 0 || mntns < 0 || fstat(userns, &us) < 0 || fstat(mntns, &ms) < 0 ||
      us.st_ino != r.userns_ino || ms.st_ino != r.mntns_ino)
    return 0;
  cleanup_free char *cwd = getcwd(NULL, 0);
  if (cwd == NULL) return 0;
  if (setns(userns, CLONE_NEWUSER) < 0) return 0; /* not ours, or gone: build afresh */
  if (setns(mntns, CLONE_NEWNS) < 0)
    return pl_fail(err, errno, "join the project's mount namespace");
  /* setns(CLONE_NEWNS) moves us to the namespace's root; go back by name. */
  if (chdir(cwd) < 0) return pl_fail(err, errno, "enter %s in the project's environment", cwd);
  futimens(fd, NULL); /* tell the holder it is still wanted */
  return 1;
}

/* The holder: detached, quiet, holding the namespaces until unused. */
static void __attribute__((noreturn))
holder_main(int run_fd, const char *gen, uint64_t digest, int ttl) {
  prctl(PR_SET_NAME, "pylock-keep", 0, 0, 0);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) _exit(1);
  for (int i = 0; i < 3; i++)
    dup2(devnull, i);
  /* Nothing of the caller's may stay open here: a pipe held by the holder
   * would make `$(pylock run ...)` wait for it. */
  for (int i = 3; i < 1024; i++)
    if (i != run_fd) close(i);
  if (chdir("/") < 0) _exit(1);
  pl_error_t err = NULL;
  if (pl_harden_drop_caps(&err) < 0) _exit(1);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

  struct stat us, ms;
  if (stat("/proc/self/ns/user", &us) < 0 || stat("/proc/self/ns/mnt", &ms) < 0) _exit(1);
  struct pl_keepalive_record r = {
      .pid = getpid(), .userns_ino = us.st_ino, .mntns_ino = ms.st_ino, .digest = digest};
  snprintf(r.gen, sizeof r.gen, "%s", gen);
  char text[RECORD_MAX], name[64];
  int len = pl_keepalive_format(&r, text, sizeof text);
  snprintf(name, sizeof name, "keepalive-%u", (unsigned)getuid());
  if (len < 0 || pl_write_file_atomic_at(run_fd, name, text, (size_t)len, 0600, &err) < 0) _exit(1);

  unsigned nap = (unsigned)(ttl / 4 > 0 ? (ttl / 4 < 5 ? ttl / 4 : 5) : 1);
  for (;;) {
    sleep(nap);
    char now_text[RECORD_MAX + 1];
    cleanup_close int fd = openat(run_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) _exit(0); /* removed: asked to leave */
    ssize_t n = read(fd, now_text, RECORD_MAX);
    struct stat st;
    if (n != len || memcmp(now_text, text, (size_t)len) != 0 || fstat(fd, &st) < 0)
      _exit(0); /* another holder took over */
    char cur[64];
    ssize_t cl = readlinkat(run_fd, "../" PL_CURRENT_LINK, cur, sizeof cur - 1);
    bool stale = cl < 0 || (size_t)cl != strlen(gen) || memcmp(cur, gen, (size_t)cl) != 0;
    bool idle = time(NULL) - st.st_mtime >= ttl;
    if (stale || idle) {
      unlinkat(run_fd, name, 0);
      _exit(0);
    }
  }
}

static void spawn_holder(int state_fd, const char *gen, uint64_t digest, int ttl) {
  int run_fd = openat(state_fd, PL_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (run_fd < 0) return; /* no keep-alive: only slower, never wrong */
  pid_t child = fork();
  if (child == 0) {
    /* Double fork: the holder must not be our child, or the command we
     * exec next would inherit it and could reap it. */
    setsid();
    if (fork() == 0) holder_main(run_fd, gen, digest, ttl);
    _exit(0);
  }
  close(run_fd);
  if (child > 0)
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
      ;
}

int pl_keepalive_enter(const struct pl_sandbox *sb, int state_fd, const char *gen,
                       pl_error_t *err) {
  /* The fast path reads no configuration file: only PYLOCK_KEEPALIVE=0 keeps
   * a run from joining a holder.  A keepalive set in a file decides when the
   * next holder is started (below) and how long it waits. */
  int ttl;
  bool from_env = ttl_from_env(&ttl);
  if (!from_env || ttl > 0) {
    int joined = try_join(sb, state_fd, gen, err);
    if (joined < 0) return -1;
    if (joined) return sb->no_network ? pl_sandbox_isolate_network(err) : 0;
  }
  if (!from_env && (ttl = pl_keepalive_ttl(err)) < 0) return -1;
  /* The holder is network-agnostic: a fresh network namespace, if asked
   * for, is added on top after it is spawned. */
  struct pl_sandbox base = *sb;
  base.no_network = false;
  if (pl_sandbox_enter(ttl > 0 ? &base : sb, err) < 0) return -1;
  if (ttl == 0) return 0;
  spawn_holder(state_fd, gen, pl_keepalive_digest(sb, gen), ttl);
  return sb->no_network ? pl_sandbox_isolate_network(err) : 0;
}
