/* pylock — keep-alive holders; see keepalive.h for the design. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "keepalive.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "file.h"
#include "harden.h"
#include "landlock.h"
#include "log.h"
#include "project.h"

#define RECORD_MAX 256
#define RECORD_NAME "keepalive"
#define RECORD_NAME_STRICT "keepalive-strict"
#define MOUNTINFO_MAX ((size_t)1 << 20)
#define HOLDER_READY_MS 3000
/* Merged directories a holder keeps open (see holder_warm) and how deep it looks. */
#define WARM_DIRS_MAX 64
#define WARM_DEPTH_MAX 8

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

/* What a holder's sandbox hides and how (sandbox.c): bumped with every change
 * to it, so that a run never joins a holder an older pylock made, without
 * what was hidden since (2: the private keys in the configuration). */
#define SANDBOX_SHAPE "sandbox shape 2"

uint64_t pl_keepalive_digest(const struct pl_sandbox *sb, const char *gen) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, SANDBOX_SHAPE);
  h = fnv1a(h, sb->project);
  h = fnv1a(h, sb->state_root);
  h = fnv1a(h, sb->config_dir);
  h = fnv1a(h, sb->prefix);
  h = fnv1a(h, sb->layer);
  h = fnv1a(h, sb->user_site);
  h = fnv1a(h, sb->strict ? "strict" : "default");
  /* What the session hiding keeps (sandbox.c) depends on these. */
  h = fnv1a(h, getenv("XDG_RUNTIME_DIR"));
  h = fnv1a(h, getenv("SSH_AUTH_SOCK"));
  h = fnv1a(h, getenv("USER"));
  h = fnv1a(h, getenv("DBUS_SESSION_BUS_ADDRESS"));
  char run[64];
  struct stat st;
  snprintf(run, sizeof run, "/run/user/%u", (unsigned)getuid());
  h = fnv1a(h, stat(run, &st) == 0 ? run : NULL);
  /* The allow-list is made of mounts too: part of the shape. */
  h = fnv1a(h, sb->cache_home);
  for (size_t i = 0; i < sb->nallow_write; i++)
    h = fnv1a(h, sb->allow_write[i]);
  /* The generation's lib directories as they were when its folds were
   * checked: a joined run does not read them again (launch.c). */
  char stamp[24];
  snprintf(stamp, sizeof stamp, "%016" PRIx64, sb->folds_stamp);
  h = fnv1a(h, stamp);
  return fnv1a(h, gen);
}

int pl_keepalive_format(const struct pl_keepalive_record *r, char *buf, size_t size) {
  int n = snprintf(buf, size, "pylock-keepalive 4 %ld %llu %llu %llu %016" PRIx64 " %s\n", r->pid,
                   r->start, r->userns_ino, r->mntns_ino, r->digest, r->gen);
  return n < 0 || (size_t)n >= size ? -1 : n;
}

int pl_keepalive_parse(const char *text, struct pl_keepalive_record *r) {
  int consumed = 0;
  memset(r, 0, sizeof *r);
  if (sscanf(text, "pylock-keepalive 4 %ld %llu %llu %llu %" SCNx64 " %63s%n", &r->pid, &r->start,
             &r->userns_ino, &r->mntns_ino, &r->digest, r->gen, &consumed) != 6)
    return -1;
  if (r->pid <= 1 || r->start == 0 || text[consumed] != '\n' || text[consumed + 1] != '\0')
    return -1;
  return 0;
}

/* The start time of the process whose /proc directory is open at `dir`
 * (clock ticks since boot, the 22nd field of its stat): 0 when it cannot
 * be read.  With the pid, it names one process: a pid is given again once
 * its process is gone, and then to one started later. */
static unsigned long long start_time_at(int dir) {
  char buf[1024];
  cleanup_close int fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = '\0';
  /* The command name, field 2, is in parentheses and may hold anything. */
  char *p = strrchr(buf, ')');
  if (p == NULL) return 0;
  p++;
  for (int field = 3; field < 22; field++) {
    while (*p == ' ')
      p++;
    p = strchr(p, ' ');
    if (p == NULL) return 0;
  }
  char *end;
  errno = 0;
  unsigned long long start = strtoull(p, &end, 10);
  return errno == 0 && end != p + 1 && *end == ' ' ? start : 0;
}

static const char *record_name(const struct pl_sandbox *sb) {
  return sb->strict ? RECORD_NAME_STRICT : RECORD_NAME;
}

/* ---- joining ------------------------------------------------------------------ */

/* The record, if it is a regular file of ours that nobody else can write:
 * opened without following links and without blocking (a FIFO planted
 * there must not hang the run).  Returns the fd, or -1. */
static int open_record(int run_fd, const char *name, struct pl_keepalive_record *r, time_t *mtime) {
  int fd = openat(run_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  char text[RECORD_MAX + 1];
  *mtime = st.st_mtime = 0;
  ssize_t n = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == getuid() &&
      !(st.st_mode & (S_IWGRP | S_IWOTH)))
    n = read(fd, text, RECORD_MAX);
  if (n > 0) {
    text[n] = '\0';
    *mtime = st.st_mtime;
    if (pl_keepalive_parse(text, r) == 0) return fd;
  }
  close(fd);
  return -1;
}

bool pl_keepalive_userns_is_our_child(int nsfd) {
  uid_t owner;
  if (ioctl(nsfd, NS_GET_OWNER_UID, &owner) < 0 || owner != getuid()) return false;
  cleanup_close int parent = ioctl(nsfd, NS_GET_PARENT);
  struct stat ps, ours;
  return parent >= 0 && fstat(parent, &ps) == 0 && stat("/proc/self/ns/user", &ours) == 0 &&
         ps.st_ino == ours.st_ino && ps.st_dev == ours.st_dev;
}

/* Is `dir` in the holder's mount namespace (its root open at rfd) the
 * directory it is here?  NULL is. */
static bool same_dir_there(int rfd, const char *dir) {
  struct stat here, there;
  return dir == NULL ||
         (stat(dir, &here) == 0 && fstatat(rfd, dir[1] ? dir + 1 : ".", &there, 0) == 0 &&
          here.st_dev == there.st_dev && here.st_ino == there.st_ino);
}

/* Are the working directory, pylock's state and its configuration in the
 * holder's mount namespace the directories they are here?  (A filesystem
 * mounted after the holder started is not in there; a read-only bind of
 * another directory over the state is read-only, as the mount checks want,
 * but not pylock's state.) */
static bool same_dirs_there(long pid, const struct pl_sandbox *sb) {
  char root[64];
  snprintf(root, sizeof root, "/proc/%ld/root", pid);
  cleanup_close int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return rfd >= 0 && same_dir_there(rfd, sb->cwd) && same_dir_there(rfd, sb->state_root) &&
         same_dir_there(rfd, sb->config_dir);
}

/* Join the holder's namespaces if the kernel confirms what its record
 * says.  Returns 1 when joined, 0 when there is nothing (safe) to join, -1
 * on a failure after which this process is no longer where it started. */
static int try_join(const struct pl_sandbox *sb, int run_fd, const char *gen, pl_error_t *err) {
  struct pl_keepalive_record r;
  time_t used;
  cleanup_close int fd = open_record(run_fd, record_name(sb), &r, &used);
  if (fd < 0 || strcmp(r.gen, gen) != 0 || r.digest != pl_keepalive_digest(sb, gen)) return 0;
  /* The holder is the process of that pid started when the record says:
   * the pid alone, and the namespaces' inode numbers, the kernel gives to
   * others once the holder and its namespaces are gone.  Everything below
   * is read through this directory, which stays this process's (a stale
   * one answers nothing once it is gone, whoever has its pid since). */
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld", r.pid);
  cleanup_close int proc = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0 || start_time_at(proc) != r.start) return 0;
  /* Namespace fds, not the pid, are what we join. */
  cleanup_close int userns = openat(proc, "ns/user", O_RDONLY | O_CLOEXEC);
  cleanup_close int mntns = openat(proc, "ns/mnt", O_RDONLY | O_CLOEXEC);
  struct stat us, ms;
  if (userns < 0 || mntns < 0 || fstat(userns, &us) < 0 || fstat(mntns, &ms) < 0 ||
      us.st_ino != r.userns_ino || ms.st_ino != r.mntns_ino ||
      !pl_keepalive_userns_is_our_child(userns))
    return 0;
  /* What the mount namespace really holds, from the kernel: its mount
   * objects where the kernel can show them, else its whole mount table. */
  pl_error_t e = NULL;
  int checked = pl_sandbox_check_ns(r.pid, mntns, sb, &e);
  if (checked == 1) {
    snprintf(path, sizeof path, "/proc/%ld/mountinfo", r.pid);
    cleanup_free char *info = NULL;
    checked = pl_read_file_at(AT_FDCWD, path, MOUNTINFO_MAX, &info, NULL, &e) == 0 &&
                      pl_sandbox_check_mounts(info, sb, false, &e) == 0
                  ? 0
                  : -1;
  }
  bool ok = checked == 0 && same_dirs_there(r.pid, sb);
  pl_log(PL_LOG_DEBUG, "keepalive: holder %ld %s%s", r.pid, ok ? "checked" : "not joined: ",
         ok  ? ""
         : e ? e->msg
             : "its working directory, state or configuration differs");
  pl_error_free(&e);
  /* What was read by pid (its mounts, root, working directory) was the
   * holder's only if the pid still is: the holder is still alive. */
  struct stat us2;
  if (!ok || fstatat(proc, "ns/user", &us2, 0) < 0 || us2.st_ino != us.st_ino) return 0;
  if (setns(userns, CLONE_NEWUSER) < 0) return 0; /* not ours, or gone: build afresh */
  if (setns(mntns, CLONE_NEWNS) < 0)
    return pl_fail(err, errno, "join the project's mount namespace");
  /* setns(CLONE_NEWNS) moves us to the namespace's root; go back by name. */
  if (chdir(sb->cwd) < 0)
    return pl_fail(err, errno, "enter %s in the project's environment", sb->cwd);
  /* Tell the holder it is still wanted; once a second is enough (it counts
   * its time to live in seconds), and a write of the inode costs a run. */
  if (time(NULL) != used) futimens(fd, NULL);
  return 1;
}

/* ---- the holder ------------------------------------------------------------ */

/* Make the process a holder of nothing: see keepalive.h.  Its capabilities
 * went before the exec (spawn_holder), bounding set included: it could not
 * drop them itself now, without CAP_SETPCAP. */
static int holder_harden(void) {
  pl_error_t err = NULL;
  int r = 0;
  if (pl_sandbox_has_landlock()) r = pl_landlock_restrict(NULL, 0, &err);
  if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) r = -1;
  if (r == 0) r = pl_harden_seccomp(true, &err); /* the filter of --strict */
  pl_error_free(&err);
  cleanup_free char *status = NULL;
  if (r == 0 &&
      (pl_read_file_at(AT_FDCWD, "/proc/self/status", 1u << 16, &status, NULL, NULL) < 0 ||
       !strstr(status, "\nCapPrm:\t0000000000000000\n") ||
       !strstr(status, "\nCapEff:\t0000000000000000\n") ||
       !strstr(status, "\nCapBnd:\t0000000000000000\n")))
    r = -1;
  return r;
}

/* pl_keepalive_warm's walk: `dir` is the overlay's directory, `layer` the
 * generation's (both closed here, dir kept open if it is merged).  Only a
 * merged directory can hold a merged one, and only where the generation
 * has a directory too. */
static void warm_walk(int dir, int layer, int depth, int *kept) {
  struct stat st;
  char buf[4096];
  if (fstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_nlink != 1 || *kept >= WARM_DIRS_MAX ||
      syscall(SYS_getdents64, dir, buf, sizeof buf) < 0) {
    close(dir);
    close(layer);
    return;
  }
  (*kept)++; /* dir stays open for the holder's life */
  DIR *d = depth < WARM_DEPTH_MAX ? fdopendir(layer) : NULL;
  if (d == NULL) {
    close(layer);
    return;
  }
  for (struct dirent *e; *kept < WARM_DIRS_MAX && (e = readdir(d)) != NULL;) {
    if ((e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) || strcmp(e->d_name, ".") == 0 ||
        strcmp(e->d_name, "..") == 0)
      continue;
    int sub = openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int lsub =
        sub < 0 ? -1 : openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (lsub < 0) {
      if (sub >= 0) close(sub);
      continue;
    }
    warm_walk(sub, lsub, depth + 1, kept);
  }
  closedir(d);
}

int pl_keepalive_warm(const char *prefix, const char *layer) {
  int kept = 0;
  int pfd = open(prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int lfd = pfd < 0 ? -1 : open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lfd >= 0)
    warm_walk(pfd, lfd, 0, &kept);
  else if (pfd >= 0)
    close(pfd);
  return kept;
}

int pl_keepalive_holder_main(int argc, char **argv) {
  /* First: nothing inside may attach to, or read the memory of, this process. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (argc != 8) _exit(2);
  const char *record = argv[2], *current = argv[3], *gen = argv[4];
  const char *prefix = argv[6], *layer = argv[7];
  long ttl = strtol(argv[1], NULL, 10);
  uint64_t digest = strtoull(argv[5], NULL, 16);
  prctl(PR_SET_NAME, PL_KEEPALIVE_HOLDER_NAME, 0, 0, 0);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  /* fd 3 is the pipe to the run waiting for us; nothing else stays open. */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) _exit(1);
  for (int i = 0; i < 3; i++)
    dup2(devnull, i);
  for (int i = 4; i < 1024; i++)
    close(i);
  if (chdir("/") < 0 || ttl <= 0 || holder_harden() < 0) _exit(1);

  struct stat us, ms;
  if (stat("/proc/self/ns/user", &us) < 0 || stat("/proc/self/ns/mnt", &ms) < 0) _exit(1);
  cleanup_close int self = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct pl_keepalive_record r = {.pid = getpid(),
                                  .start = self < 0 ? 0 : start_time_at(self),
                                  .userns_ino = us.st_ino,
                                  .mntns_ino = ms.st_ino,
                                  .digest = digest};
  if (r.start == 0) _exit(1);
  snprintf(r.gen, sizeof r.gen, "%s", gen);
  char want[RECORD_MAX], ready[32];
  int len = pl_keepalive_format(&r, want, sizeof want);
  int rl = snprintf(ready, sizeof ready, "%ld\n", r.pid);
  if (len < 0 || write(3, ready, (size_t)rl) != rl) _exit(1);
  close(3);
  if (*layer) pl_keepalive_warm(prefix, layer);

  unsigned nap = (unsigned)(ttl / 4 > 0 ? (ttl / 4 < 5 ? ttl / 4 : 5) : 1);
  time_t started = time(NULL);
  for (;;) {
    sleep(nap);
    /* The record as the state root shows it here, read-only. */
    char now[RECORD_MAX + 1];
    cleanup_close int fd = open(record, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    ssize_t n = fd < 0 ? -1 : read(fd, now, RECORD_MAX);
    /* Give the run that spawned us a moment to write it. */
    if (n < 0 && time(NULL) - started < 5) continue;
    if (n != len || memcmp(now, want, (size_t)len) != 0 || fstat(fd, &st) < 0)
      _exit(0); /* removed, or another holder took over */
    char cur[64];
    ssize_t cl = readlink(current, cur, sizeof cur - 1);
    bool stale = cl < 0 || (size_t)cl != strlen(gen) || memcmp(cur, gen, (size_t)cl) != 0;
    if (stale || time(NULL) - st.st_mtime >= ttl) _exit(0);
  }
}

/* Start a holder in the namespaces we are in, wait until it is hardened,
 * and record it.  Failing leaves no holder: only slower, never wrong. */
static void spawn_holder(const struct pl_sandbox *sb, int run_fd, const char *state_path,
                         const char *gen, int ttl) {
  char ttl_s[16], digest_s[24];
  cleanup_free char *record = NULL, *current = NULL;
  uint64_t digest = pl_keepalive_digest(sb, gen);
  snprintf(ttl_s, sizeof ttl_s, "%d", ttl);
  snprintf(digest_s, sizeof digest_s, "%016" PRIx64, digest);
  if (asprintf(&record, "%s/%s/%s", state_path, PL_RUN_DIR, record_name(sb)) < 0 ||
      asprintf(&current, "%s/%s", state_path, PL_CURRENT_LINK) < 0)
    return;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return;
  pid_t child = fork();
  if (child == 0) {
    /* Double fork: the holder must not be our child, or the command we
     * exec next would inherit it and could reap it. */
    setsid();
    if (fork() == 0) {
      if (dup2(p[1], 3) < 0 || (p[1] == 3 && fcntl(3, F_SETFD, 0) < 0) ||
          pl_harden_drop_caps(NULL) < 0)
        _exit(1);
      char *argv[] = {PL_KEEPALIVE_HOLDER_NAME,
                      ttl_s,
                      record,
                      current,
                      (char *)gen,
                      digest_s,
                      (char *)(sb->layer ? sb->prefix : ""),
                      (char *)(sb->layer ? sb->layer : ""),
                      NULL};
      execv("/proc/self/exe", argv);
      _exit(127);
    }
    _exit(0);
  }
  close(p[1]);
  cleanup_close int rfd = p[0];
  if (child < 0) return;
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
    ;
  /* The command must not start before the holder is hardened. */
  char buf[32];
  size_t got = 0;
  for (;;) {
    struct pollfd pfd = {.fd = rfd, .events = POLLIN};
    int pr = poll(&pfd, 1, HOLDER_READY_MS);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return;
    ssize_t n = read(rfd, buf + got, sizeof buf - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
    if (got == sizeof buf - 1 || memchr(buf, '\n', got)) break;
  }
  buf[got] = '\0';
  char *end;
  long pid = strtol(buf, &end, 10);
  if (pid <= 1 || *end != '\n') return;
  struct stat us, ms;
  if (stat("/proc/self/ns/user", &us) < 0 || stat("/proc/self/ns/mnt", &ms) < 0) return;
  /* Its start time: it is sleeping now, after its answer, and will check
   * that the record names it, start time included. */
  char dir[32];
  snprintf(dir, sizeof dir, "/proc/%ld", pid);
  cleanup_close int proc = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct pl_keepalive_record r = {.pid = pid,
                                  .start = proc < 0 ? 0 : start_time_at(proc),
                                  .userns_ino = us.st_ino,
                                  .mntns_ino = ms.st_ino,
                                  .digest = digest};
  if (r.start == 0) return;
  snprintf(r.gen, sizeof r.gen, "%s", gen);
  char text[RECORD_MAX];
  int len = pl_keepalive_format(&r, text, sizeof text);
  /* run_fd was opened on the host, before the namespaces: the state root is
   * read-only in here, and this is the only writer of the record. */
  if (len > 0) pl_write_file_atomic_at(run_fd, record_name(sb), text, (size_t)len, 0600, NULL);
}

int pl_keepalive_join(const struct pl_sandbox *sb, int run_fd, const char *gen, pl_error_t *err) {
  /* The fast path reads no configuration file: only PYLOCK_KEEPALIVE=0 keeps
   * a run from joining a holder.  A keepalive set in a file decides when the
   * next holder is started (pl_keepalive_enter) and how long it waits. */
  int ttl;
  if (ttl_from_env(&ttl) && ttl == 0) return 0;
  int joined = try_join(sb, run_fd, gen, err);
  if (joined <= 0) return joined;
  return sb->no_network && pl_sandbox_isolate_network(err) < 0 ? -1 : 1;
}

int pl_keepalive_enter(const struct pl_sandbox *sb, int run_fd, const char *state_path,
                       const char *gen, pl_error_t *err) {
  int joined = pl_keepalive_join(sb, run_fd, gen, err);
  if (joined != 0) return joined < 0 ? -1 : 0;
  int ttl;
  bool from_env = ttl_from_env(&ttl);
  if (!from_env && (ttl = pl_keepalive_ttl(err)) < 0) return -1;
  /* The holder is network-agnostic: a fresh network namespace, if asked
   * for, is added on top after it is spawned. */
  struct pl_sandbox base = *sb;
  base.no_network = false;
  if (pl_sandbox_enter(ttl > 0 ? &base : sb, err) < 0) return -1;
  if (ttl == 0) return 0;
  spawn_holder(sb, run_fd, state_path, gen, ttl);
  return sb->no_network ? pl_sandbox_isolate_network(err) : 0;
}
