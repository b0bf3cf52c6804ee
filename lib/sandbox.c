/* pylock — namespaces and mounts of `pylock run`; see sandbox.h. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

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

/* An empty read-only tmpfs over `path`: what was there cannot be seen. */
static int hide_dir(const char *path, pl_error_t *err) {
  cleanup_close int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,nr_inodes=1,mode=0555") < 0)
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
  if (mfd < 0 || move_mount(mfd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
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

int pl_sandbox_enter(const struct pl_sandbox *sb, pl_error_t *err) {
  if (pl_sandbox_unshare(sb->no_network ? CLONE_NEWNET : 0, getuid(), getgid(), err) < 0) return -1;
  if (sb->no_network && loopback_up(err) < 0) return -1;
  if (pl_sandbox_mount_overlay(sb->layer, sb->prefix, err) < 0) return -1;
  if (sb->state_dir && bind_read_only(sb->state_dir, err) < 0) return -1;
  struct stat st;
  if (sb->user_site && stat(sb->user_site, &st) == 0 && S_ISDIR(st.st_mode) &&
      hide_dir(sb->user_site, err) < 0)
    return -1;
  return 0;
}
