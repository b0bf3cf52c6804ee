/* pylock — namespaces and mounts of `pylock run`; see sandbox.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "log.h"
#include "file.h"
#include "landlock.h"
#include "paths.h"

static int write_proc_self(const char *name, const char *text, pl_error_t *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/%s", name);
  cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return pl_fail(err, errno, "open %s", path);
  if (pl_write_all(fd, text, strlen(text)) < 0) return pl_fail(err, errno, "write %s", path);
  return 0;
}

int pl_sandbox_unshare(int extra_flags, uid_t uid, gid_t gid, pl_error_t *err) {
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS | extra_flags) < 0) return pl_userns_diagnose(errno, err);
  char map[64];
  /* Our own ids and nothing else: never root inside, so files created keep
   * their true owner and nothing outside becomes reachable through id 0.
   * setgroups must be denied before an unprivileged gid_map write. */
  if (write_proc_self("setgroups", "deny", err) < 0) return -1;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  if (write_proc_self("uid_map", map, err) < 0) return -1;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  if (write_proc_self("gid_map", map, err) < 0) return -1;
  /* Nothing we mount may propagate back to the caller's namespace. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return pl_fail(err, errno, "make mounts private");
  return 0;
}

char *pl_overlay_escape(const char *path) {
  size_t n = strlen(path);
  char *out = malloc(2 * n + 1), *q = out;
  if (out == NULL) return NULL;
  for (const char *p = path; *p; p++) {
    if (*p == ',') { /* mount(2) data cannot carry a comma at all */
      free(out);
      return NULL;
    }
    if (*p == ':' || *p == '\\') *q++ = '\\';
    *q++ = *p;
  }
  *q = '\0';
  return out;
}

/* The kernel explains fsconfig failures in the fs context's log. */
static void append_fs_log(int fsfd, char *buf, size_t size) {
  size_t used = strlen(buf);
  char line[256];
  ssize_t n;
  while (used + 3 < size && (n = read(fsfd, line, sizeof line - 1)) > 0) {
    line[n] = '\0';
    int w = snprintf(buf + used, size - used, "; %s", line[1] == ' ' ? line + 2 : line);
    if (w < 0) break;
    used += (size_t)w;
  }
}

static int overlay_legacy(const char *layer, const char *prefix, pl_error_t *err) {
  cleanup_free char *l = pl_overlay_escape(layer);
  cleanup_free char *p = pl_overlay_escape(prefix);
  cleanup_free char *opts = NULL;
  if (!l || !p) return pl_fail(err, EINVAL, "overlay layer path has a comma: %s", layer);
  if (asprintf(&opts, "lowerdir=%s:%s,userxattr", l, p) < 0) return pl_fail(err, ENOMEM, "overlay");
  if (mount("overlay", prefix, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0)
    return pl_fail(err, errno, "mount overlay on %s (layer %s)", prefix, layer);
  return 0;
}

int pl_sandbox_mount_overlay(const char *layer, const char *prefix, pl_error_t *err) {
  cleanup_close int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0 && errno == ENOSYS) return overlay_legacy(layer, prefix, err);
  if (fsfd < 0)
    return pl_fail_hint(err, errno,
                        "load the overlay module (modprobe overlay) or run 'pylock doctor'",
                        "overlayfs is not available");
  int r = fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", layer, 0);
  if (r < 0 && errno == EINVAL) { /* before 6.8: one escaped list */
    cleanup_free char *l = pl_overlay_escape(layer);
    cleanup_free char *p = pl_overlay_escape(prefix);
    cleanup_free char *list = NULL;
    if (!l || !p || asprintf(&list, "%s:%s", l, p) < 0)
      return pl_fail(err, EINVAL, "overlay layer path has a comma: %s", layer);
    r = fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", list, 0);
  } else if (r == 0) {
    r = fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", prefix, 0);
  }
  /* userxattr: overlay metadata as user.overlay.*, the only namespace an
   * unprivileged mount may read; never trusted.* written by root. */
  if (r == 0) r = fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
  if (r == 0) r = fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
  if (r < 0) {
    char why[512] = "";
    int e = errno;
    append_fs_log(fsfd, why, sizeof why);
    return pl_fail_hint(err, e, "run 'pylock doctor' to check overlayfs on this filesystem",
                        "overlay of %s over %s%s", layer, prefix, why);
  }
  cleanup_close int mfd =
      fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (mfd < 0) return pl_fail(err, errno, "fsmount overlay for %s", prefix);
  if (move_mount(mfd, "", AT_FDCWD, prefix, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return pl_fail(err, errno, "mount overlay on %s", prefix);
  return 0;
}

/* Bind `path` over itself read-only, so nothing inside can change it. */
static int bind_read_only(const char *path, pl_error_t *err) {
  cleanup_close int tfd =
      open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tfd >= 0) {
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (mount_setattr(tfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
      return pl_fail(err, errno, "make %s read-only", path);
    if (move_mount(tfd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
      return pl_fail(err, errno, "bind %s read-only", path);
    return 0;
  }
  if (errno != ENOSYS) return pl_fail(err, errno, "open_tree %s", path);
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return pl_fail(err, errno, "bind %s", path);
  /* A remount must keep the flags the kernel locked on the original mount. */
  struct statvfs sv;
  unsigned long keep = 0;
  if (statvfs(path, &sv) == 0)
    keep = sv.f_flag & (ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | keep,
            NULL) < 0)
    return pl_fail(err, errno, "remount %s read-only", path);
  return 0;
}

/* "/proc/self/fd/N" for fd into buf, or path when fd < 0: a mount target
 * that is the object opened, whatever its name points to now. */
static const char *mount_target(int fd, const char *path, char *buf, size_t cap) {
  if (fd < 0) return path;
  snprintf(buf, cap, "/proc/self/fd/%d", fd);
  return buf;
}

/* An empty read-only tmpfs over `path` (over the directory open at fd, an
 * O_PATH descriptor of it, when fd >= 0): what was there cannot be seen. */
static int hide_dir(int fd, const char *path, pl_error_t *err) {
  char at[64];
  cleanup_close int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    if (mount("tmpfs", mount_target(fd, path, at, sizeof at), "tmpfs",
              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0555") < 0)
      return pl_fail(err, errno, "hide %s", path);
    return 0;
  }
  if (fsconfig(fsfd, FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
      fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
      fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return pl_fail(err, errno, "tmpfs to hide %s", path);
  cleanup_close int mfd =
      fsmount(fsfd, FSMOUNT_CLOEXEC,
              MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mfd < 0 || move_mount(mfd, "", fd >= 0 ? fd : AT_FDCWD, fd >= 0 ? "" : path,
                            MOVE_MOUNT_F_EMPTY_PATH | (fd >= 0 ? MOVE_MOUNT_T_EMPTY_PATH : 0)) < 0)
    return pl_fail(err, errno, "hide %s", path);
  return 0;
}

static int loopback_up(pl_error_t *err) {
  cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return pl_fail(err, errno, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return pl_fail(err, errno, "loopback flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return pl_fail(err, errno, "bring loopback up");
  return 0;
}

int pl_sandbox_isolate_network(pl_error_t *err) {
  if (unshare(CLONE_NEWNET) < 0) return pl_fail(err, errno, "new network namespace");
  return loopback_up(err);
}

/* ---- the write allow-list ------------------------------------------------ */

#define PL_SANDBOX_PTS "/dev/pts"

/* Devices every program writes to; file rules, so nothing else in /dev. */
static const char *const devices[] = {"/dev/null", "/dev/zero", "/dev/full",
                                      "/dev/tty",  "/dev/ptmx", "/dev/pts"};
#define WRITABLE_MAX (16 + 256)

/* Where code in sb may write: the resolver its scratch directory only;
 * a command the project, the temporary directories, the user's cache home
 * (pylock's state stays read-only by mount even there) and what the user or
 * admin added. */
static size_t writable_places(const struct pl_sandbox *sb, const char **out) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++)
    out[n++] = devices[i];
  if (sb->sealed) return n;
  if (sb->scratch) {
    /* And its own /dev/shm (private_tmp): multiprocessing wants sockets and
     * semaphores (compileall -j0's forkserver); it is their TMPDIR too. */
    out[n++] = sb->scratch;
    out[n++] = "/dev/shm";
    return n;
  }
  out[n++] = sb->project;
  out[n++] = "/tmp";
  out[n++] = "/var/tmp";
  out[n++] = "/dev/shm";
  if (sb->cache_home && !sb->strict) out[n++] = sb->cache_home;
  for (size_t i = 0; i < sb->nallow_write && n < WRITABLE_MAX; i++)
    out[n++] = sb->allow_write[i];
  return n;
}

void pl_sandbox_places_free(char **places, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(places[i]);
  free(places);
}

int pl_sandbox_shared_places(char ***places, size_t *n, pl_error_t *err) {
  const struct pl_config *cfg = pl_config_get(err);
  if (cfg == NULL) return -1;
  cleanup_free char *cache = NULL;
  if (pl_path_cache_home(&cache, err) < 0) return -1;
  const char *fixed[] = {"/tmp", "/var/tmp", "/dev/shm", cache};
  size_t nfixed = sizeof fixed / sizeof fixed[0], cap = nfixed + cfg->nallow_write;
  char **out = calloc(cap, sizeof *out);
  if (out == NULL) return pl_fail(err, ENOMEM, "writable places");
  size_t k = 0;
  for (size_t i = 0; i < cap; i++) {
    const char *p = i < nfixed ? fixed[i] : cfg->allow_write[i - nfixed];
    char *real = realpath(p, NULL);
    if (real) out[k++] = real;
  }
  *places = out;
  *n = k;
  return 0;
}

bool pl_sandbox_has_landlock(void) {
  static int abi = -1;
  if (abi < 0) abi = pl_landlock_abi(NULL);
  return abi > 0;
}

int pl_sandbox_restrict(const struct pl_sandbox *sb, pl_error_t *err) {
  if (!pl_sandbox_has_landlock()) return 0;
  const char *places[WRITABLE_MAX];
  size_t n = writable_places(sb, places);
  return pl_landlock_restrict(places, n, err);
}

/* ---- mounts ------------------------------------------------------------------ */

/* A detached copy of the mount tree at path (as writable as it is now), to
 * be attached again after everything around it became read-only. */
static int clone_tree(const char *path, pl_error_t *err) {
  int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (fd < 0) return pl_fail(err, errno, "copy the mount at %s", path);
  return fd;
}

/* The same for a place named as checked (an allow-write entry, the cache:
 * pl_path_check_links): with no link followed, or a run still going could
 * have put one on its way since the check. */
static int clone_tree_nofollow(const char *path, pl_error_t *err) {
  struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                         .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  cleanup_close int at = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (at < 0 && errno == ENOSYS) return clone_tree(path, err);
  if (at < 0) return pl_fail(err, errno, "open %s", path);
  int fd = open_tree(at, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (fd < 0) return pl_fail(err, errno, "copy the mount at %s", path);
  return fd;
}

static bool named_as_checked(const struct pl_sandbox *sb, const char *path) {
  if (sb->cache_home && path == sb->cache_home) return true;
  for (size_t i = 0; i < sb->nallow_write; i++)
    if (path == sb->allow_write[i]) return true;
  return false;
}

static int attach(int tree_fd, const char *path, pl_error_t *err) {
  if (move_mount(tree_fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return pl_fail(err, errno, "mount %s", path);
  return 0;
}

/* The allow-list as mounts: copies of the writable places are taken first,
 * every mount is made read-only, and the copies are put back on top.  Paths
 * that do not exist yet stay unwritable.  Landlock, where the kernel has it,
 * restricts writes too, but not chmod, chown, utimes nor xattrs: without
 * this, code could make the home (or ~/.bashrc) writable by others, who
 * would then change it at leisure.  Each place is a mount point then, which
 * also keeps it from being renamed away.  A file allowed alone (allow-write
 * of a file) is bound back as well, or its directory's read-only mount
 * would keep it unwritable. */
static int mount_allow_list(const struct pl_sandbox *sb, pl_error_t *err) {
  const char *places[WRITABLE_MAX];
  size_t n = writable_places(sb, places);
  int fds[WRITABLE_MAX];
  size_t k = 0;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct stat st;
    /* Devices are written through on a read-only mount: they need no copy. */
    if (stat(places[i], &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) continue;
    if ((fds[k] = named_as_checked(sb, places[i]) ? clone_tree_nofollow(places[i], err)
                                                  : clone_tree(places[i], err)) < 0)
      rc = -1;
    else
      places[k++] = places[i];
  }
  struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
  if (rc == 0 && mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) < 0)
    rc = pl_fail(err, errno, "make every mount read-only");
  for (size_t i = 0; i < k; i++) {
    if (rc == 0) rc = attach(fds[i], places[i], err);
    close(fds[i]);
  }
  return rc;
}

/* Make sure a directory exists before it is covered, so that nothing can
 * create it later where we did not look. */
static int ensure_dir(const char *path, pl_error_t *err) {
  struct stat st;
  if (stat(path, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : pl_fail(err, ENOTDIR, "%s", path);
  return pl_mkdir_p(path, 0700, err);
}

/* A mount of path onto itself, as writable as it was: a mount point cannot
 * be renamed or removed (EBUSY), so nothing can put another in its place. */
static int pin(const char *path, pl_error_t *err) {
  cleanup_close int fd = clone_tree(path, err);
  return fd < 0 ? -1 : attach(fd, path, err);
}

/* Is path beneath (or at) dir? */
static bool is_beneath(const char *path, const char *dir) {
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0' || n == 1);
}

/* Read-only binds hold a path, not the directories above it: where those
 * lie in a writable place, code could rename one away and build a forgery
 * in its stead (a state root in /tmp, in the project, in ~/.cache...).
 * Every such directory is pinned. */
static int pin_ancestors(const struct pl_sandbox *sb, const char *path, const char *const *places,
                         size_t nplaces, pl_error_t *err) {
  char buf[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof buf) return pl_fail(err, ENAMETOOLONG, "%s", path);
  for (size_t i = 1; i < len; i++) {
    if (path[i] != '/') continue;
    memcpy(buf, path, i);
    buf[i] = '\0';
    bool writable = false, place = false;
    for (size_t k = 0; k < nplaces; k++) {
      writable |= is_beneath(buf, places[k]);
      place |= strcmp(buf, places[k]) == 0; /* pinned already: a mount point */
    }
    if (writable && !place && pin(buf, err) < 0) return -1;
  }
  (void)sb;
  return 0;
}

/* pylock finds its state and configuration by the paths the user gave; the
 * sandbox protects what they resolve to.  A symbolic link on such a path,
 * in a directory the sandbox may write (~/.cache, /tmp, the project...),
 * could be pointed from inside at a forged state or configuration, which
 * pylock would then trust outside.  Such a path is refused. */
int pl_sandbox_check_links(const struct pl_sandbox *sb, const char *path, const char *what,
                           pl_error_t *err) {
  const char *places[WRITABLE_MAX];
  size_t n = writable_places(sb, places);
  char buf[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof buf) return pl_fail(err, ENAMETOOLONG, "%s", path);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    memcpy(buf, path, i);
    buf[i] = '\0';
    struct stat st;
    if (lstat(buf, &st) < 0 || !S_ISLNK(st.st_mode)) continue;
    char *slash = strrchr(buf, '/');
    slash[slash == buf] = '\0'; /* the link's directory ("/" for /link) */
    cleanup_free char *dir = realpath(buf, NULL);
    for (size_t k = 0; dir && k < n; k++)
      if (is_beneath(dir, places[k]))
        return pl_fail_hint(err, PL_REFUSED, "give the path the link leads to instead",
                            "%s %s is reached through the symbolic link %.*s, in %s, where code "
                            "in a sandbox could point it elsewhere",
                            what, path, (int)i, path, places[k]);
  }
  return 0;
}

/* The value of `key` in a git config file's [section] (simple INI: what
 * git writes), into out; false when absent. */
static bool git_config_value(const char *text, const char *section, const char *key, char *out,
                             size_t cap) {
  bool in = false;
  for (const char *line = text; line && *line;) {
    const char *end = strchrnul(line, '\n');
    const char *p = line;
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    if (*p == '[') {
      size_t sl = strlen(section);
      in = (size_t)(end - p) > sl + 1 && strncasecmp(p + 1, section, sl) == 0 &&
           (p[1 + sl] == ']' || p[1 + sl] == ' ');
    } else if (in) {
      size_t kl = strlen(key);
      if ((size_t)(end - p) > kl && strncasecmp(p, key, kl) == 0) {
        const char *q = p + kl;
        while (q < end && (*q == ' ' || *q == '\t'))
          q++;
        if (q < end && *q == '=') {
          q++;
          while (q < end && (*q == ' ' || *q == '\t'))
            q++;
          const char *e = end;
          while (e > q && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
          if (e - q >= 2 && *q == '"' && e[-1] == '"') q++, e--;
          if ((size_t)(e - q) < cap && e > q) {
            memcpy(out, q, (size_t)(e - q));
            out[e - q] = '\0';
            return true;
          }
        }
      }
    }
    line = *end ? end + 1 : NULL;
  }
  return false;
}

/* core.hooksPath, when it names a directory inside the project (husky's
 * .husky/_, a .githooks/): git runs those hooks outside any sandbox too. */
static int protect_hooks_path(const char *project, pl_error_t *err) {
  char cfg[PATH_MAX], val[PATH_MAX], path[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/.git/config", project);
  cleanup_free char *text = NULL;
  if (pl_read_file_at(AT_FDCWD, cfg, 1u << 20, &text, NULL, NULL) < 0 ||
      !git_config_value(text, "core", "hooksPath", val, sizeof val))
    return 0;
  if (val[0] == '~') return 0; /* the home: read-only anyway */
  if (val[0] == '/')
    snprintf(path, sizeof path, "%s", val);
  else if (snprintf(path, sizeof path, "%s/%s", project, val) >= (int)sizeof path)
    return 0;
  cleanup_free char *real = realpath(path, NULL);
  if (real == NULL && ensure_dir(path, err) < 0) return -1;
  if (real == NULL) real = realpath(path, NULL);
  if (real == NULL || !is_beneath(real, project)) return 0;
  return bind_read_only(real, err);
}

/* git runs hooks, and what .git/config names (core.hooksPath, fsmonitor),
 * outside any sandbox: those stay read-only inside.  .git itself is pinned,
 * or code could rename it away and put its own in its place. */
static int protect_git(const char *project, pl_error_t *err) {
  char path[PATH_MAX];
  struct stat st;
  if (snprintf(path, sizeof path, "%s/.git", project) >= (int)sizeof path || lstat(path, &st) < 0)
    return 0;
  if (S_ISREG(st.st_mode)) return bind_read_only(path, err); /* a worktree's gitdir pointer */
  if (!S_ISDIR(st.st_mode)) return 0;
  if (pin(path, err) < 0 || protect_hooks_path(project, err) < 0) return -1;
  const char *parts[] = {"hooks", "config", "info"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    snprintf(path, sizeof path, "%s/.git/%s", project, parts[i]);
    if (lstat(path, &st) < 0) {
      if (strcmp(parts[i], "hooks") != 0 || mkdir(path, 0755) < 0) continue;
    } else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
      continue;
    }
    if (bind_read_only(path, err) < 0) return -1;
  }
  return 0;
}

/* Cover a socket (or any non-directory) with /dev/null, read-only: what
 * connects there reaches nothing.  fd >= 0: the file open there (O_PATH). */
static int hide_file(int fd, const char *path, pl_error_t *err) {
  char at[64];
  cleanup_close int tfd = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tfd >= 0) {
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    if (mount_setattr(tfd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0 ||
        move_mount(tfd, "", fd >= 0 ? fd : AT_FDCWD, fd >= 0 ? "" : path,
                   MOVE_MOUNT_F_EMPTY_PATH | (fd >= 0 ? MOVE_MOUNT_T_EMPTY_PATH : 0)) < 0)
      return pl_fail(err, errno, "hide %s", path);
    return 0;
  }
  if (errno != ENOSYS) return pl_fail(err, errno, "hide %s", path);
  if (mount("/dev/null", mount_target(fd, path, at, sizeof at), NULL, MS_BIND, NULL) < 0 ||
      mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    return pl_fail(err, errno, "hide %s", path);
  return 0;
}

/* These paths lie in /tmp, which code in an earlier or a concurrent sandbox
 * can write: a symbolic link planted there is not followed (a mount would
 * land on its target, anywhere: a file emptied, or a directory that made
 * every later run fail), and what is covered is what was looked at (opened,
 * then mounted on through /proc/self/fd).  A link is no socket and no socket
 * directory of a service. */
static int hide_path(const char *path, pl_error_t *err) {
  struct stat st;
  cleanup_close int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0 || S_ISLNK(st.st_mode)) return 0;
  return S_ISDIR(st.st_mode) ? hide_dir(fd, path, err) : hide_file(fd, path, err);
}

/* Is path listed in the allow-list (the user's way to keep a display)? */
static bool allowed(const struct pl_sandbox *sb, const char *path) {
  for (size_t i = 0; i < sb->nallow_write; i++)
    if (strcmp(sb->allow_write[i], path) == 0) return true;
  return false;
}

/* The runtime directory hidden but for the credential agents (gpg-agent,
 * ssh-agent: git push works), each put back on a fresh empty tmpfs. */
static int hide_runtime_dir(const char *run, pl_error_t *err) {
  const char *keep[2] = {NULL, NULL};
  char gnupg[PATH_MAX], agent[PATH_MAX];
  int fds[2] = {-1, -1};
  snprintf(gnupg, sizeof gnupg, "%s/gnupg", run);
  const char *sock = getenv("SSH_AUTH_SOCK");
  struct stat st;
  if (stat(gnupg, &st) == 0 && S_ISDIR(st.st_mode)) keep[0] = gnupg;
  if (sock && is_beneath(sock, run) && strstr(sock, "/../") == NULL && strlen(sock) < PATH_MAX &&
      lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && !is_beneath(sock, gnupg)) {
    snprintf(agent, sizeof agent, "%s", sock);
    keep[1] = agent;
  }
  int rc = 0;
  for (int i = 0; i < 2 && rc == 0; i++)
    if (keep[i] && (fds[i] = clone_tree(keep[i], err)) < 0) rc = -1;
  if (rc == 0 &&
      mount("tmpfs", run, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0700") < 0)
    rc = pl_fail(err, errno, "hide %s", run);
  for (int i = 0; i < 2 && rc == 0; i++) {
    if (fds[i] < 0) continue;
    /* The mount point, as the kept thing is: a directory or a file, in the
     * directories that led to it (gnome-keyring's keyring/ssh). */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", keep[i]);
    *strrchr(parent, '/') = '\0';
    if (pl_mkdir_p(i == 0 ? keep[i] : parent, 0700, err) < 0 ||
        (i == 1 && pl_write_file_atomic_at(AT_FDCWD, keep[i], "", 0, 0600, err) < 0))
      rc = -1;
    if (rc == 0) rc = attach(fds[i], keep[i], err);
  }
  if (rc == 0 && mount(NULL, run, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "size=64k,mode=0700") < 0)
    rc = pl_fail(err, errno, "hide %s", run);
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0) close(fds[i]);
  return rc;
}

/* A runtime directory of the user's (not allowed by the user): hidden. */
static int hide_runtime(const struct pl_sandbox *sb, const char *run, pl_error_t *err) {
  struct stat st;
  if (run == NULL || run[0] != '/' || stat(run, &st) < 0 || !S_ISDIR(st.st_mode) ||
      st.st_uid != getuid() || allowed(sb, run))
    return 0;
  return hide_runtime_dir(run, err);
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A D-Bus address value (bytes escaped as %XX) of len bytes into out. */
static bool bus_unescape(const char *v, size_t len, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    int hi = i + 2 < len ? hex_digit(v[i + 1]) : -1, lo = hi < 0 ? -1 : hex_digit(v[i + 2]);
    if (n + 1 >= cap) return false;
    if (v[i] == '%' && lo >= 0 && hi * 16 + lo != 0) {
      out[n++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      out[n++] = v[i];
    }
  }
  out[n] = '\0';
  return n > 0;
}

bool pl_sandbox_bus_socket(const char *address, char *out, size_t cap) {
  for (const char *a = address; *a;) {
    const char *end = a + strcspn(a, ";");
    if (strncmp(a, "unix:", 5) == 0 && end - a > 5) {
      for (const char *kv = a + 5; kv < end;) {
        size_t len = strcspn(kv, ",;");
        if (len > 5 && strncmp(kv, "path=", 5) == 0)
          return bus_unescape(kv + 5, len - 5, out, cap) && out[0] == '/';
        kv += len + (kv[len] == ',');
      }
    }
    a = *end ? end + 1 : end;
  }
  return false;
}

/* Services of the user's session that run commands on request, outside the
 * sandbox: the session bus and the user service manager (D-Bus activation,
 * systemd-run --user), docker and podman, a tmux, screen or emacs server,
 * the X display (which takes keystrokes into the user's terminals).  Their
 * sockets are made unreachable, not just unset in the environment; only
 * the credential agents stay.  A display listed in allow-write is kept.
 * The runtime directory logind makes, /run/user/UID, is hidden whatever
 * XDG_RUNTIME_DIR says: a run from cron, su or an IDE's scrubbed
 * environment has none, and the bus is still there at its well-known
 * path; so is a bus the address names elsewhere (dbus-launch, a bus in /tmp). */
static int hide_session_services(const struct pl_sandbox *sb, pl_error_t *err) {
  const char *run = getenv("XDG_RUNTIME_DIR");
  char path[PATH_MAX];
  unsigned uid = (unsigned)getuid();
  struct stat a, b;
  snprintf(path, sizeof path, "/run/user/%u", uid);
  bool same = run && stat(run, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
              a.st_ino == b.st_ino;
  if (hide_runtime(sb, run, err) < 0 || (!same && hide_runtime(sb, path, err) < 0)) return -1;
  const char *bus = getenv("DBUS_SESSION_BUS_ADDRESS");
  if (bus && pl_sandbox_bus_socket(bus, path, sizeof path) && lstat(path, &a) == 0 &&
      S_ISSOCK(a.st_mode) && !allowed(sb, path) && hide_file(-1, path, err) < 0)
    return -1;
  const char *user = getenv("USER");
  const char *fixed[] = {"/run/docker.sock", "/var/run/docker.sock", "/tmp/.X11-unix",
                         "/tmp/.ICE-unix"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (!allowed(sb, fixed[i]) && hide_path(fixed[i], err) < 0) return -1;
  const char *by_uid[] = {"/tmp/tmux-", "/tmp/emacs"};
  for (size_t i = 0; i < sizeof by_uid / sizeof by_uid[0]; i++) {
    snprintf(path, sizeof path, "%s%u", by_uid[i], uid);
    if (hide_path(path, err) < 0) return -1;
  }
  const char *by_name[] = {"/run/screen/S-", "/tmp/screens/S-"};
  for (size_t i = 0; user && !strchr(user, '/') && i < sizeof by_name / sizeof by_name[0]; i++) {
    snprintf(path, sizeof path, "%s%s", by_name[i], user);
    if (hide_path(path, err) < 0) return -1;
  }
  return 0;
}

static const char *const tmp_dirs[] = {"/dev/shm", "/tmp", "/var/tmp"};

/* --strict: temporary directories of its own, empty; the helpers' sandboxes:
 * a /dev/shm of their own (multiprocessing's semaphores, and TMPDIR).  What
 * the sandbox needs from below them (a project in /tmp, the scratch
 * directory, the state...) is put back: `keep` lists those paths, `kept`
 * their copies taken before (clone_tree), -1 for none. */
static int private_tmp(size_t ndirs, const char *const *keep, const int *kept, size_t n,
                       pl_error_t *err) {
  for (size_t i = 0; i < ndirs; i++) {
    struct stat st;
    if (stat(tmp_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    if (mount("tmpfs", tmp_dirs[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=50%") < 0)
      return pl_fail(err, errno, "a private %s", tmp_dirs[i]);
  }
  for (size_t i = 0; i < n; i++) {
    if (kept[i] < 0) continue;
    if (pl_mkdir_p(keep[i], 0700, err) < 0 || attach(kept[i], keep[i], err) < 0) return -1;
  }
  return 0;
}

/* Is path in one of the first ndirs temporary directories? */
static bool under_tmp(const char *path, size_t ndirs) {
  for (size_t i = 0; path && i < ndirs; i++) {
    size_t n = strlen(tmp_dirs[i]);
    if (strncmp(path, tmp_dirs[i], n) == 0 && (path[n] == '/' || path[n] == '\0')) return true;
  }
  return false;
}

/* A devpts instance of the sandbox's own over /dev/pts, its ptmx over
 * /dev/ptmx.  The host's instance holds every terminal of the user, each
 * theirs to open: code inside could read another terminal's keystrokes
 * (a password typed there) or write into its screen.  The command keeps
 * its own terminal through the descriptors it inherited and /dev/tty, and
 * can still make new pseudo-terminals. */
static int private_pts(pl_error_t *err) {
  struct stat st;
  if (stat(PL_SANDBOX_PTS, &st) < 0 || !S_ISDIR(st.st_mode)) return 0; /* no devpts to hide */
  if (mount("devpts", PL_SANDBOX_PTS, "devpts", MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620") < 0)
    return pl_fail(err, errno, "mount a private devpts on %s", PL_SANDBOX_PTS);
  if (mount(PL_SANDBOX_PTS "/ptmx", "/dev/ptmx", NULL, MS_BIND, NULL) < 0)
    return pl_fail(err, errno, "bind %s/ptmx on /dev/ptmx", PL_SANDBOX_PTS);
  return 0;
}

/* -v: the namespaces and mounts pl_sandbox_enter makes of sb; -vv: the
 * places code may write. */
static void log_mounts(const struct pl_sandbox *sb) {
  if (!pl_log_on(PL_LOG_VERBOSE)) return;
  pl_log(PL_LOG_VERBOSE, "sandbox: new user namespace (uid %u mapped to itself), mount namespace%s",
         (unsigned)getuid(), sb->no_network ? ", network namespace (loopback only)" : "");
  if (sb->layer)
    pl_log(PL_LOG_VERBOSE, "sandbox: mount overlay on %s, read-only, top layer %s", sb->prefix,
           sb->layer);
  if (sb->strict || sb->scratch || sb->sealed)
    pl_log(PL_LOG_VERBOSE, "sandbox: mount private tmpfs on %s",
           sb->strict ? "/tmp, /var/tmp and /dev/shm" : "/tmp");
  pl_log(PL_LOG_VERBOSE, "sandbox: every mount made read-only, the writable places bound back");
  pl_log(PL_LOG_VERBOSE, "sandbox: mount a devpts of its own on %s, its ptmx on /dev/ptmx",
         PL_SANDBOX_PTS);
  if (sb->state_root) pl_log(PL_LOG_VERBOSE, "sandbox: bind %s read-only", sb->state_root);
  if (sb->config_dir) pl_log(PL_LOG_VERBOSE, "sandbox: bind %s read-only", sb->config_dir);
  if (sb->config_dir) pl_log(PL_LOG_VERBOSE, "sandbox: hide %s/keys (empty tmpfs)", sb->config_dir);
  if (sb->user_site) pl_log(PL_LOG_VERBOSE, "sandbox: hide %s (empty tmpfs)", sb->user_site);
  if (sb->project && !sb->scratch)
    pl_log(PL_LOG_VERBOSE, "sandbox: bind %s/.git/hooks and .git/config read-only", sb->project);
  if (!pl_log_on(PL_LOG_DEBUG)) return;
  const char *places[WRITABLE_MAX];
  size_t n = writable_places(sb, places);
  for (size_t i = 0; i < n; i++)
    pl_log(PL_LOG_DEBUG, "sandbox: writable: %s%s", places[i],
           pl_sandbox_has_landlock() ? " (Landlock)" : "");
}

/* Where pylock keeps private keys (pylock key generate): config_dir/keys,
 * or for a sandbox that names no configuration directory (a build, a
 * probe), the user's, "" when there is none to hide (not there, no home). */
static int keys_dir(const char *config_dir, char out[PATH_MAX], pl_error_t *err) {
  if (config_dir) {
    int w = snprintf(out, PATH_MAX, "%s/keys", config_dir);
    return w < 0 || w >= PATH_MAX ? pl_fail(err, ENAMETOOLONG, "%s/keys", config_dir) : 0;
  }
  cleanup_free char *dir = NULL;
  pl_error_t e = NULL;
  struct stat st;
  out[0] = '\0';
  if (pl_path_user_config("keys", &dir, &e) < 0 || strlen(dir) >= PATH_MAX || stat(dir, &st) < 0 ||
      !S_ISDIR(st.st_mode)) {
    pl_error_free(&e);
    return 0;
  }
  snprintf(out, PATH_MAX, "%s", dir);
  return 0;
}

int pl_sandbox_enter(const struct pl_sandbox *sb, pl_error_t *err) {
  log_mounts(sb);
  char keys[PATH_MAX];
  if (keys_dir(sb->config_dir, keys, err) < 0) return -1;
  /* On the host, first: what gets covered must exist. */
  if ((sb->config_dir && (ensure_dir(sb->config_dir, err) < 0 || ensure_dir(keys, err) < 0)) ||
      (sb->user_site && ensure_dir(sb->user_site, err) < 0))
    return -1;
  if (pl_sandbox_unshare(sb->no_network ? CLONE_NEWNET : 0, getuid(), getgid(), err) < 0) return -1;
  if (sb->no_network && loopback_up(err) < 0) return -1;
  /* Copies of what must stay reachable, taken before anything covers it. */
  const char *keep[] = {sb->project, sb->state_root, sb->config_dir, sb->scratch};
  int kept[] = {-1, -1, -1, -1};
  size_t nkeep = sizeof keep / sizeof keep[0];
  size_t ndirs = sb->strict ? 3 : sb->scratch || sb->sealed ? 1 : 0;
  int rc = -1;
  for (size_t i = 0; i < nkeep; i++)
    if (keep[i] && (i == 3 || under_tmp(keep[i], ndirs)) &&
        (kept[i] = clone_tree(keep[i], err)) < 0)
      goto out;
  if (sb->layer && pl_sandbox_mount_overlay(sb->layer, sb->prefix, err) < 0) goto out;
  if (ndirs && private_tmp(ndirs, keep, kept, 3, err) < 0) goto out;
  if (mount_allow_list(sb, err) < 0) goto out;
  if (private_pts(err) < 0) goto out;
  if (sb->state_root && bind_read_only(sb->state_root, err) < 0) goto out;
  if (kept[3] >= 0 &&
      (pl_mkdir_p(sb->scratch, 0700, err) < 0 || attach(kept[3], sb->scratch, err) < 0))
    goto out;
  rc = 0;
out:
  for (size_t i = 0; i < nkeep; i++)
    if (kept[i] >= 0) close(kept[i]);
  if (rc < 0) return -1;
  if (sb->config_dir && bind_read_only(sb->config_dir, err) < 0) return -1;
  /* The private keys that sign registries: code that read one could sign
   * anything for every client of the registry. */
  if (keys[0] && hide_dir(-1, keys, err) < 0) return -1;
  if (sb->user_site && hide_dir(-1, sb->user_site, err) < 0) return -1;
  if (sb->project && !sb->scratch && protect_git(sb->project, err) < 0) return -1;
  if (!sb->scratch && !sb->sealed && hide_session_services(sb, err) < 0) return -1;
  const char *places[WRITABLE_MAX];
  size_t nplaces = writable_places(sb, places);
  if ((sb->state_root && pin_ancestors(sb, sb->state_root, places, nplaces, err) < 0) ||
      (sb->config_dir && pin_ancestors(sb, sb->config_dir, places, nplaces, err) < 0))
    return -1;
  /* The working directory was looked up before the mounts: enter it again
   * through them, or it would stay on the host's (writable) mount. */
  const char *cwd = sb->cwd ? sb->cwd : "/";
  if (chdir(cwd) == 0) return 0;
  /* Gone in here (a private /tmp): the project, if the command has one. */
  if (errno == ENOENT && sb->project && chdir(sb->project) == 0) return 0;
  return pl_fail(err, errno, "enter %s in the sandbox", cwd);
}

/* ---- checking a namespace before joining it ------------------------------- */

struct mnt {
  unsigned long id, parent;
  char *root;  /* the directory of its filesystem it shows, unescaped */
  char *point; /* unescaped, in the line's buffer */
  char *opts;  /* per-mount options: "ro,nosuid,..." */
  char *fstype;
  char *super; /* superblock options */
};

#define MOUNTS_MAX 4096

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s) {
  char *o = strchr(s, '\\'); /* most lines have none: nothing to move */
  if (o == NULL) return;
  for (char *p = o; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
        p[3] <= '7') {
      *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
}

/* The next field of *s, cut off: fields are separated by runs of spaces
 * (as strtok_r splits them; the kernel escapes any in a path), NULL when
 * there is none left.  Not strtok: its per-call cost (two SSE4.2 scans of
 * a one-byte set) made up most of the check. */
static char *next_field(char **s) {
  char *p = *s;
  while (*p == ' ')
    p++;
  if (*p == '\0') return NULL;
  char *field = p;
  p = strchrnul(p, ' ');
  if (*p) *p++ = '\0';
  *s = p;
  return field;
}

/* One line into m (its fields point into the line, which is cut up).  The
 * superblock options stay escaped: unescaped where they are read. */
static bool parse_mount(char *line, struct mnt *m) {
  char *f[32];
  size_t n = 0;
  for (char *t; n < 32 && (t = next_field(&line)) != NULL;)
    f[n++] = t;
  size_t dash = 6;
  while (dash < n && strcmp(f[dash], "-") != 0)
    dash++;
  if (dash + 3 >= n) return false;
  char *end;
  m->id = strtoul(f[0], &end, 10);
  if (*end) return false;
  m->parent = strtoul(f[1], &end, 10);
  if (*end) return false;
  m->root = f[3];
  m->point = f[4];
  m->opts = f[5];
  m->fstype = f[dash + 1];
  m->super = f[dash + 3];
  unescape(m->root);
  unescape(m->point);
  return true;
}

static bool read_only(const struct mnt *m) {
  return strncmp(m->opts, "ro", 2) == 0 && (m->opts[2] == ',' || m->opts[2] == '\0');
}

/* The only mount attached to mount `parent` at `point` (the first `len`
 * bytes of a path; "/" when len is 1): NULL when none; *twice when more
 * than one (a table no path walk reads one way). */
static const struct mnt *attached(const struct mnt *ms, size_t n, unsigned long parent,
                                  const char *point, size_t len, bool *twice) {
  const struct mnt *found = NULL;
  for (size_t i = 0; i < n; i++) {
    if (ms[i].parent != parent || ms[i].id == parent || strlen(ms[i].point) != len ||
        strncmp(ms[i].point, point, len) != 0)
      continue;
    if (found) *twice = true;
    found = &ms[i];
  }
  return found;
}

/* The mount on top at `point`, as a path walk from the root meets it: from
 * the root mount, at "/" and at each of point's ancestors and point itself,
 * whatever is mounted on the mount reached so far there.  Only if that
 * walk ends on a mount at point itself is it returned: a mount over an
 * ancestor (over /opt, for /opt/python3.12) hides the mounts below it from
 * every path, though the table still lists them at their points. */
static const struct mnt *top_at(const struct mnt *ms, size_t n, const char *point) {
  /* The root: at "/", on no mount of the table (its parent is outside). */
  const struct mnt *cur = NULL;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(ms[i].point, "/") != 0) continue;
    bool inside = false;
    for (size_t j = 0; j < n && !inside; j++)
      inside = j != i && ms[j].id == ms[i].parent;
    if (inside) continue;
    if (cur) return NULL;
    cur = &ms[i];
  }
  if (cur == NULL || point[0] != '/') return NULL;
  size_t len = strlen(point), at = 1, steps = 0;
  bool twice = false;
  for (;;) {
    for (const struct mnt *m; (m = attached(ms, n, cur->id, point, at, &twice)) != NULL;) {
      if (++steps > n) return NULL; /* a loop of parents: no kernel's table */
      cur = m;
    }
    if (twice) return NULL;
    if (at >= len) break;
    const char *slash = strchr(point + at + 1, '/');
    at = slash ? (size_t)(slash - point) : len;
  }
  return strcmp(cur->point, point) == 0 ? cur : NULL;
}

/* Is `path` below `dir` (or dir itself)? */
static bool beneath(const char *path, const char *dir) {
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || n == 1);
}

/* The top mount at dir read-only, and every mount under it too. */
static int check_read_only_tree(const struct mnt *ms, size_t n, const char *dir, const char *what,
                                pl_error_t *err) {
  const struct mnt *top = top_at(ms, n, dir);
  if (top == NULL || !read_only(top))
    return pl_fail(err, 0, "%s %s is not mounted read-only there", what, dir);
  for (size_t i = 0; i < n; i++)
    if (beneath(ms[i].point, dir) && !read_only(&ms[i]) && ms[i].id != top->id &&
        strcmp(ms[i].point, dir) != 0)
      return pl_fail(err, 0, "%s is writable below %s %s", ms[i].point, what, dir);
  return 0;
}

/* The overlay's layers, as the superblock options list them (as mountinfo
 * and statmount show them: comma-separated, a comma inside a value escaped
 * as \054): layer first, then prefix, as one "lowerdir+=" option each or
 * one "lowerdir=" list, and no other directory: not another layer (above
 * the generation, a directory others could write would shadow it), not an
 * upper or work directory, not a data layer.  Every option that names a
 * directory is looked at, not a match found among them.
 * any_generation: the layer may be any generation beside `layer`. */
static bool overlay_layers_ok(const char *super, const char *layer, const char *prefix,
                              bool any_generation) {
  cleanup_free char *l = pl_overlay_escape(layer), *p = pl_overlay_escape(prefix);
  if (l == NULL || p == NULL) return false;
  static const char *const named[] = {"lowerdir", "upperdir", "workdir", "datadir"};
  char *dir[2] = {NULL, NULL};
  size_t n = 0;
  bool ok = true;
  for (const char *o = super; *o && ok;) {
    const char *end = strchrnul(o, ',');
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
      if (strncmp(o, named[i], strlen(named[i])) != 0) continue;
      if (n == 2 || (dir[n] = strndup(o, (size_t)(end - o))) == NULL) {
        ok = false;
        break;
      }
      unescape(dir[n++]);
      break;
    }
    o = *end ? end + 1 : end;
  }
  cleanup_free char *first = dir[0], *second = dir[1];
  if (!ok) return false;
  if (n == 1) { /* before Linux 6.8: one list, escaped for overlayfs */
    cleanup_free char *list = pl_join("lowerdir=", l, ":", p);
    return !any_generation && list && strcmp(first, list) == 0;
  }
  cleanup_free char *want = pl_join("lowerdir+=", prefix);
  if (n != 2 || want == NULL || strcmp(second, want) != 0) return false;
  if (!any_generation) {
    free(want);
    want = pl_join("lowerdir+=", layer);
    return want && strcmp(first, want) == 0;
  }
  /* ".../generations/N": the first layer is ".../generations/" and a number. */
  const char *slash = strrchr(layer, '/');
  size_t k = strlen("lowerdir+=");
  if (slash == NULL || strncmp(first, "lowerdir+=", k) != 0 ||
      strncmp(first + k, layer, (size_t)(slash - layer + 1)) != 0)
    return false;
  const char *num = first + k + (slash - layer + 1);
  return *num && strspn(num, "0123456789") == strlen(num);
}

/* ---- the same, from the kernel's mount objects (Linux 6.11) ------------------ */

/* Not in the C library's headers of this distribution (the kernel's are 6.1):
 * the parts of statmount(2), listmount(2) and statx's unique mount id used
 * here, as the kernel's UAPI lays them out.  The numbers are the same on
 * every architecture but alpha and mips, which pylock does not build for. */
#ifndef SYS_statmount
#define SYS_statmount 457
#endif
#ifndef SYS_listmount
#define SYS_listmount 458
#endif
#define PL_STATX_MNT_ID_UNIQUE 0x4000U
#define PL_STATX_ATTR_MOUNT_ROOT 0x2000U
#define PL_STATMOUNT_MNT_BASIC 0x2U
#define PL_STATMOUNT_MNT_ROOT 0x8U
#define PL_STATMOUNT_FS_TYPE 0x20U
#define PL_STATMOUNT_MNT_OPTS 0x80U
#define PL_MOUNT_ATTR_RDONLY 0x1U
#define PL_NS_GET_MNTNS_ID _IOR(0xb7, 0x5, uint64_t)

struct pl_mnt_id_req {
  uint32_t size, spare;
  uint64_t mnt_id, param, mnt_ns_id;
};

struct pl_statmount {
  uint32_t size, mnt_opts;
  uint64_t mask;
  uint32_t sb_dev_major, sb_dev_minor;
  uint64_t sb_magic;
  uint32_t sb_flags, fs_type;
  uint64_t mnt_id, mnt_parent_id;
  uint32_t mnt_id_old, mnt_parent_id_old;
  uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
  uint32_t mnt_root, mnt_point;
  uint64_t mnt_ns_id;
  uint64_t spare[49];
  char str[];
};

#define NS_STATMOUNT_SIZE (3 * PATH_MAX + 1024)
#define NS_DEPTH_MAX 16

struct ns_view {
  int root;       /* /proc/PID/root: the process's root in its namespace */
  uint64_t ns_id; /* the namespace the mount ids must be in */
  struct pl_statmount *sm;
};

/* What the kernel says of mount `id` in the namespace: 0, -1 (errno), or 1
 * when this kernel cannot say it (too old for statmount or for a field). */
static int ns_statmount(const struct ns_view *v, uint64_t id, uint64_t want) {
  struct pl_mnt_id_req req = {
      .size = sizeof req, .mnt_id = id, .param = want, .mnt_ns_id = v->ns_id};
  if (syscall(SYS_statmount, &req, v->sm, NS_STATMOUNT_SIZE, 0) < 0)
    return errno == ENOSYS || errno == E2BIG || errno == EOPNOTSUPP ? 1 : -1;
  return (v->sm->mask & want) == want ? 0 : 1;
}

/* The mount on top at `path` in there, into v->sm: 0; 2 when there is no
 * mount at path (path is inside a mount, or is not there); -1; 1 as above. */
static int ns_mount_at(const struct ns_view *v, const char *path, uint64_t want) {
  struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  cleanup_close int fd =
      (int)syscall(SYS_openat2, v->root, path[1] ? path + 1 : ".", &how, sizeof how);
  if (fd < 0) return errno == ENOENT ? 2 : errno == ENOSYS ? 1 : -1;
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, PL_STATX_MNT_ID_UNIQUE, &sx) < 0)
    return errno == ENOSYS ? 1 : -1;
  if (!(sx.stx_mask & PL_STATX_MNT_ID_UNIQUE) ||
      !(sx.stx_attributes_mask & PL_STATX_ATTR_MOUNT_ROOT))
    return 1;
  if (!(sx.stx_attributes & PL_STATX_ATTR_MOUNT_ROOT)) return 2;
  return ns_statmount(v, sx.stx_mnt_id, want);
}

static bool fstype_is(const struct pl_statmount *sm, const char *type) {
  return strcmp(sm->str + sm->fs_type, type) == 0;
}

/* Every mount below mount `id` (its children and theirs) read-only: 0, -1, 1.
 * listmount answers a mount's children on 6.8 and 6.9, every mount below it
 * since: the walk goes down only into a child of `id` itself, so a chain of
 * k nested mounts costs k listings per level, not 2^k. */
static int ns_read_only_below(const struct ns_view *v, uint64_t id, int depth, const char **bad) {
  uint64_t kids[32], last = 0;
  for (;;) {
    struct pl_mnt_id_req req = {
        .size = sizeof req, .mnt_id = id, .param = last, .mnt_ns_id = v->ns_id};
    long n = syscall(SYS_listmount, &req, kids, sizeof kids / sizeof kids[0], 0);
    if (n < 0) return errno == ENOSYS ? 1 : -1;
    for (long i = 0; i < n; i++) {
      int r = ns_statmount(v, kids[i], PL_STATMOUNT_MNT_BASIC);
      if (r != 0) return r;
      if (!(v->sm->mnt_attr & PL_MOUNT_ATTR_RDONLY)) {
        *bad = "a writable mount";
        return -1;
      }
      if (depth >= NS_DEPTH_MAX) {
        *bad = "mounts nested too deep";
        return -1;
      }
      if (v->sm->mnt_parent_id != id) continue;
      r = ns_read_only_below(v, kids[i], depth + 1, bad);
      if (r != 0) return r;
    }
    if (n < (long)(sizeof kids / sizeof kids[0])) return 0;
    last = kids[n - 1];
  }
}

/* check_read_only_tree, from the kernel. */
static int ns_read_only_tree(const struct ns_view *v, const char *dir, const char *what,
                             pl_error_t *err) {
  int r = ns_mount_at(v, dir, PL_STATMOUNT_MNT_BASIC);
  if (r == 1) return 1;
  if (r != 0 || !(v->sm->mnt_attr & PL_MOUNT_ATTR_RDONLY))
    return pl_fail(err, 0, "%s %s is not mounted read-only there", what, dir);
  const char *bad = "";
  r = ns_read_only_below(v, v->sm->mnt_id, 0, &bad);
  if (r < 0)
    return pl_fail(err, 0, "%s below %s %s", *bad ? bad : "a mount that cannot be read", what, dir);
  return r;
}

static int ns_check(const struct ns_view *v, const struct pl_sandbox *sb, pl_error_t *err) {
  int r = ns_mount_at(v, sb->prefix,
                      PL_STATMOUNT_MNT_BASIC | PL_STATMOUNT_MNT_ROOT | PL_STATMOUNT_FS_TYPE |
                          PL_STATMOUNT_MNT_OPTS);
  if (r == 1) return 1;
  if (r != 0 || !fstype_is(v->sm, "overlay") || !(v->sm->mnt_attr & PL_MOUNT_ATTR_RDONLY))
    return pl_fail(err, 0, "no read-only overlay on %s", sb->prefix);
  /* The overlay's root: a bind of one of its directories is the same overlay. */
  if (strcmp(v->sm->str + v->sm->mnt_root, "/") != 0)
    return pl_fail(err, 0, "%s shows %s of the overlay, not its root", sb->prefix,
                   v->sm->str + v->sm->mnt_root);
  /* The superblock options as mountinfo shows them, without its leading "ro,". */
  if (!overlay_layers_ok(v->sm->str + v->sm->mnt_opts, sb->layer, sb->prefix, false))
    return pl_fail(err, 0, "the overlay on %s is not of %s", sb->prefix, sb->layer);
  uint64_t kid;
  struct pl_mnt_id_req req = {.size = sizeof req, .mnt_id = v->sm->mnt_id, .mnt_ns_id = v->ns_id};
  long n = syscall(SYS_listmount, &req, &kid, 1, 0);
  if (n < 0)
    return errno == ENOSYS ? 1 : pl_fail(err, errno, "list the mounts inside %s", sb->prefix);
  if (n > 0) return pl_fail(err, 0, "a mount is inside the overlay on %s", sb->prefix);
  if (sb->state_root && (r = ns_read_only_tree(v, sb->state_root, "pylock's state", err)) != 0)
    return r;
  if (sb->config_dir &&
      (r = ns_read_only_tree(v, sb->config_dir, "pylock's configuration", err)) != 0)
    return r;
  r = ns_mount_at(v, PL_SANDBOX_PTS, PL_STATMOUNT_FS_TYPE | PL_STATMOUNT_MNT_OPTS);
  if (r == 1) return 1;
  if (r == 0 &&
      (!fstype_is(v->sm, "devpts") || strstr(v->sm->str + v->sm->mnt_opts, "ptmxmode=666") == NULL))
    return pl_fail(err, 0, "%s is the host's: its terminals are reachable", PL_SANDBOX_PTS);
  if (r < 0) return pl_fail(err, errno, "look at %s in there", PL_SANDBOX_PTS);
  if (sb->user_site) {
    r = ns_mount_at(v, sb->user_site, PL_STATMOUNT_MNT_BASIC | PL_STATMOUNT_FS_TYPE);
    if (r == 1) return 1;
    if (r != 0 || !fstype_is(v->sm, "tmpfs") || !(v->sm->mnt_attr & PL_MOUNT_ATTR_RDONLY))
      return pl_fail(err, 0, "the user site %s is not hidden", sb->user_site);
  }
  return 0;
}

int pl_sandbox_check_ns(long pid, int mntns, const struct pl_sandbox *sb, pl_error_t *err) {
  if (sb->layer == NULL) return 1;
  struct ns_view v = {.root = -1};
  if (ioctl(mntns, PL_NS_GET_MNTNS_ID, &v.ns_id) < 0) return 1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/root", pid);
  cleanup_close int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return pl_fail(err, errno, "open %s", path);
  v.root = root;
  cleanup_free struct pl_statmount *sm = malloc(NS_STATMOUNT_SIZE);
  if (sm == NULL) return pl_fail(err, ENOMEM, "statmount");
  v.sm = sm;
  return ns_check(&v, sb, err);
}

int pl_sandbox_check_mounts(const char *mountinfo, const struct pl_sandbox *sb, bool any_generation,
                            pl_error_t *err) {
  cleanup_free char *text = strdup(mountinfo);
  if (text == NULL) return pl_fail(err, ENOMEM, "mountinfo");
  /* One entry a line, at most MOUNTS_MAX (not a fixed MOUNTS_MAX table:
   * zeroing 200 KiB cost more than the parse). */
  size_t cap = 1;
  for (const char *p = text; cap <= MOUNTS_MAX && (p = strchr(p, '\n')) != NULL; p++)
    cap++;
  if (cap > MOUNTS_MAX) cap = MOUNTS_MAX;
  cleanup_free struct mnt *ms = malloc(cap * sizeof *ms);
  if (ms == NULL) return pl_fail(err, ENOMEM, "mountinfo");
  size_t n = 0;
  for (char *line = text, *next; *line; line = next) {
    char *nl = strchr(line, '\n');
    next = nl ? nl + 1 : line + strlen(line);
    if (nl) *nl = '\0';
    if (*line == '\0') continue; /* as strtok would: no empty lines */
    if (n == cap) return pl_fail(err, E2BIG, "more than %d mounts", MOUNTS_MAX);
    if (!parse_mount(line, &ms[n])) return pl_fail(err, EINVAL, "a mountinfo line is malformed");
    n++;
  }
  const struct mnt *ov = top_at(ms, n, sb->prefix);
  if (ov == NULL || strcmp(ov->fstype, "overlay") != 0 || !read_only(ov))
    return pl_fail(err, 0, "no read-only overlay on %s", sb->prefix);
  /* The overlay's root: a bind of one of its directories is the same overlay. */
  if (strcmp(ov->root, "/") != 0)
    return pl_fail(err, 0, "%s shows %s of the overlay, not its root", sb->prefix, ov->root);
  if (!overlay_layers_ok(ov->super, sb->layer, sb->prefix, any_generation))
    return pl_fail(err, 0, "the overlay on %s is not of %s", sb->prefix, sb->layer);
  for (size_t i = 0; i < n; i++)
    if (ms[i].parent == ov->id)
      return pl_fail(err, 0, "%s is mounted inside the overlay on %s", ms[i].point, sb->prefix);
  if (sb->state_root && check_read_only_tree(ms, n, sb->state_root, "pylock's state", err) < 0)
    return -1;
  if (sb->config_dir &&
      check_read_only_tree(ms, n, sb->config_dir, "pylock's configuration", err) < 0)
    return -1;
  /* The devpts pylock mounts (private_pts) is the only one made with
   * ptmxmode=666; the host's keeps its terminals. */
  const struct mnt *pts = top_at(ms, n, PL_SANDBOX_PTS);
  if (pts && (strcmp(pts->fstype, "devpts") != 0 || strstr(pts->super, "ptmxmode=666") == NULL))
    return pl_fail(err, 0, "%s is the host's: its terminals are reachable", PL_SANDBOX_PTS);
  if (sb->user_site) {
    const struct mnt *us = top_at(ms, n, sb->user_site);
    if (us == NULL || strcmp(us->fstype, "tmpfs") != 0 || !read_only(us))
      return pl_fail(err, 0, "the user site %s is not hidden", sb->user_site);
  }
  return 0;
}
