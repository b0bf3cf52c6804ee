/* Unit tests: lib/sandbox.c's check of a mount namespace before joining it
 * and its reading of the session bus address, and lib/keepalive.c's check
 * of a holder's user namespace and its walk of the overlay's merged
 * directories.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "keepalive.h"
#include "sandbox.h"

#define STATE "/home/u/.local/state/pylock"
#define LAYER STATE "/projects/app-0123456789abcdef/generations/3"

static const struct pl_sandbox sb = {.project = "/home/u/app",
                                     .state_root = STATE,
                                     .config_dir = "/home/u/.config/pylock",
                                     .prefix = "/usr",
                                     .layer = LAYER,
                                     .user_site = "/home/u/.local/lib/python3.11"};

/* What pl_sandbox_enter makes of sb, on a small host. */
#define HOST                                                                                       \
  "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"                                      \
  "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw\n"                   \
  "24 22 0:5 / /dev rw,nosuid shared:3 - devtmpfs udev rw,size=10m\n"
#define OVERLAY(id, opts, layer)                                                                   \
  id " 22 0:40 / /usr " opts " - overlay none ro,lowerdir+=" layer                                 \
     ",lowerdir+=/usr,redirect_dir=nofollow,userxattr\n"
#define REST                                                                                       \
  "66 22 254:1 /home/u/.local/state/pylock /home/u/.local/state/pylock ro,nosuid,nodev - ext4 "    \
  "/dev/vda1 rw\n"                                                                                 \
  "67 22 254:1 /home/u/.config/pylock /home/u/.config/pylock ro,nosuid,nodev - ext4 /dev/vda1 "    \
  "rw\n"                                                                                           \
  "68 22 0:41 / /home/u/.local/lib/python3.11 ro,nosuid,nodev,noexec - tmpfs tmpfs ro,size=4k\n"

static int check(const char *info, bool any, const char **why) {
  static pl_error_t err;
  pl_error_free(&err);
  int r = pl_sandbox_check_mounts(info, &sb, any, &err);
  *why = err ? err->msg : "";
  return r;
}

static void test_mounts_as_pylock_makes_them_pass(void **state) {
  const char *why;
  assert_int_equal(check(HOST OVERLAY("65", "ro,nosuid,nodev,relatime", LAYER) REST, false, &why),
                   0);
}

static void test_mounts_of_another_project_or_generation_are_refused(void **state) {
  const char *why;
  const char *other =
      HOST OVERLAY("65", "ro", STATE "/projects/evil-0000000000000000/generations/3") REST;
  assert_int_equal(check(other, false, &why), -1);
  assert_non_null(strstr(why, "is not of"));
  assert_int_equal(check(other, true, &why), -1);
  const char *older =
      HOST OVERLAY("65", "ro", STATE "/projects/app-0123456789abcdef/generations/2") REST;
  assert_int_equal(check(older, false, &why), -1);
  assert_int_equal(check(older, true, &why), 0); /* the shim's "inside this project" */
  const char *prefixed =
      HOST OVERLAY("65", "ro", STATE "/projects/app-0123456789abcdef/generations/3x") REST;
  assert_int_equal(check(prefixed, true, &why), -1);
}

/* An overlay's options as the kernel shows them, whole: its layers are
 * exactly the generation's and the prefix, whatever else is in there. */
#define OVERLAY_OPTS(super)                                                                        \
  HOST "65 22 0:40 / /usr ro,nosuid,nodev - overlay none ro," super "\n" REST

static void test_an_overlay_with_another_directory_than_its_two_layers_is_refused(void **state) {
  const char *why;
  static const char *const bad[] = {
      /* a layer above the generation's (strstr found the two layers in there) */
      "lowerdir+=/tmp/evil,lowerdir+=" LAYER ",lowerdir+=/usr,userxattr",
      /* one between, or below */
      "lowerdir+=" LAYER ",lowerdir+=/tmp/evil,lowerdir+=/usr,userxattr",
      "lowerdir+=" LAYER ",lowerdir+=/usr,lowerdir+=/tmp/evil,userxattr",
      /* a data layer, an upper directory others could write */
      "lowerdir+=" LAYER ",lowerdir+=/usr,datadir+=/tmp/evil,userxattr",
      "lowerdir+=" LAYER ",lowerdir+=/usr,upperdir=/tmp/u,workdir=/tmp/w,userxattr",
      /* the list form, one more layer in front or behind */
      "lowerdir=/tmp/evil:" LAYER ":/usr,userxattr",
      "lowerdir=" LAYER ":/usr:/tmp/evil,userxattr",
      /* the list form whose last layer is "/usr,x" (a comma is shown as \054) */
      "lowerdir=" LAYER ":/usr\\054userxattr",
      /* a layer whose name holds the options pylock's would show */
      "lowerdir+=/tmp/e\\054lowerdir+=" LAYER "\\054lowerdir+=/usr,userxattr",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cleanup_free char *info = NULL;
    assert_true(asprintf(&info, OVERLAY_OPTS("%s"), bad[i]) > 0);
    if (check(info, false, &why) != -1 || strstr(why, "is not of") == NULL)
      fail_msg("accepted: %s", bad[i]);
    if (check(info, true, &why) != -1) fail_msg("accepted as any generation: %s", bad[i]);
  }
  assert_int_equal(check(OVERLAY_OPTS("lowerdir=" LAYER ":/usr,userxattr"), false, &why), 0);
  assert_int_equal(
      check(OVERLAY_OPTS("lowerdir+=" LAYER ",lowerdir+=/usr,redirect_dir=nofollow,userxattr"),
            false, &why),
      0);
}

/* A mount over an ancestor of what the check looks at hides it from every
 * path, though the table still lists it at its point. */
static void test_a_mount_over_an_ancestor_hides_what_is_below_and_is_refused(void **state) {
  const char *why;
  const char *over_root = HOST OVERLAY("65", "ro", LAYER) REST "70 22 0:50 / / rw - tmpfs t rw\n";
  assert_int_equal(check(over_root, false, &why), -1);
  assert_non_null(strstr(why, "no read-only overlay"));
  const char *over_home =
      HOST OVERLAY("65", "ro", LAYER) REST "70 22 0:50 / /home/u/.local rw - tmpfs t rw\n";
  assert_int_equal(check(over_home, false, &why), -1);
  assert_non_null(strstr(why, "pylock's state"));
  const char *over_config =
      HOST OVERLAY("65", "ro", LAYER) REST "70 22 0:50 / /home/u/.config rw - tmpfs t rw\n";
  assert_int_equal(check(over_config, false, &why), -1);
  assert_non_null(strstr(why, "pylock's configuration"));
  /* Below the mount over the ancestor, the same mounts again: what a path meets. */
  const char *again = HOST "70 22 0:50 / /home rw - tmpfs t rw\n" OVERLAY(
      "65", "ro", LAYER) "66 70 254:1 /x /home/u/.local/state/pylock ro - ext4 /dev/vda1 rw\n"
                         "67 70 254:1 /y /home/u/.config/pylock ro - ext4 /dev/vda1 rw\n"
                         "68 70 0:41 / /home/u/.local/lib/python3.11 ro - tmpfs tmpfs ro\n";
  assert_int_equal(check(again, false, &why), 0);
  /* Two mounts on the same mount at the same point: no path walk reads that one way. */
  const char *twice = HOST OVERLAY("65", "ro", LAYER) OVERLAY("69", "ro", LAYER) REST;
  assert_int_equal(check(twice, false, &why), -1);
}

static void test_a_bind_of_a_directory_of_the_overlay_over_the_prefix_is_refused(void **state) {
  const char *why;
  const char *sub = HOST "65 22 0:40 /lib /usr ro,nosuid,nodev - overlay none ro,lowerdir+=" LAYER
                         ",lowerdir+=/usr,redirect_dir=nofollow,userxattr\n" REST;
  assert_int_equal(check(sub, false, &why), -1);
  assert_non_null(strstr(why, "not its root"));
}

static void test_writable_overlay_is_refused(void **state) {
  const char *why;
  assert_int_equal(check(HOST OVERLAY("65", "rw,relatime", LAYER) REST, false, &why), -1);
  assert_non_null(strstr(why, "no read-only overlay"));
}

static void test_a_mount_over_or_inside_the_overlay_is_refused(void **state) {
  const char *why;
  /* Something bind-mounted on top of the prefix: the overlay is no longer what runs. */
  const char *over = HOST OVERLAY("65", "ro", LAYER) REST
      "70 65 254:1 /home/u/evil /usr rw,relatime - ext4 /dev/vda1 rw\n";
  assert_int_equal(check(over, false, &why), -1);
  const char *inside = HOST OVERLAY("65", "ro", LAYER) REST
      "70 65 254:1 /home/u/evil /usr/lib/python3.11 rw,relatime - ext4 /dev/vda1 rw\n";
  assert_int_equal(check(inside, false, &why), -1);
  assert_non_null(strstr(why, "inside the overlay"));
}

static void test_writable_state_or_configuration_is_refused(void **state) {
  const char *why;
  const char *rw_state = HOST OVERLAY(
      "65", "ro",
      LAYER) "66 22 254:1 /home/u/.local/state/pylock /home/u/.local/state/pylock rw,nosuid - ext4 "
             "/dev/vda1 rw\n"
             "67 22 254:1 /home/u/.config/pylock /home/u/.config/pylock ro - ext4 /dev/vda1 rw\n"
             "68 22 0:41 / /home/u/.local/lib/python3.11 ro - tmpfs tmpfs ro\n";
  assert_int_equal(check(rw_state, false, &why), -1);
  assert_non_null(strstr(why, "pylock's state"));
  const char *rw_below = HOST OVERLAY("65", "ro", LAYER) REST
      "71 66 0:50 / /home/u/.local/state/pylock/cache rw - tmpfs tmpfs rw\n";
  assert_int_equal(check(rw_below, false, &why), -1);
  assert_non_null(strstr(why, "is writable below"));
  const char *no_config = HOST OVERLAY(
      "65", "ro", LAYER) "66 22 254:1 /home/u/.local/state/pylock /home/u/.local/state/pylock ro - "
                         "ext4 /dev/vda1 rw\n"
                         "68 22 0:41 / /home/u/.local/lib/python3.11 ro - tmpfs tmpfs ro\n";
  assert_int_equal(check(no_config, false, &why), -1);
  assert_non_null(strstr(why, "configuration"));
}

static void test_a_visible_user_site_is_refused(void **state) {
  const char *why;
  const char *site = HOST OVERLAY(
      "65", "ro",
      LAYER) "66 22 254:1 /home/u/.local/state/pylock /home/u/.local/state/pylock ro - ext4 "
             "/dev/vda1 rw\n"
             "67 22 254:1 /home/u/.config/pylock /home/u/.config/pylock ro - ext4 /dev/vda1 rw\n";
  assert_int_equal(check(site, false, &why), -1);
  assert_non_null(strstr(why, "user site"));
}

static void test_the_hosts_devpts_is_refused_and_a_private_one_passes(void **state) {
  const char *why;
  const char *host_pts = HOST OVERLAY("65", "ro", LAYER) REST
      "25 24 0:22 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts "
      "rw,gid=5,mode=620,ptmxmode=000\n";
  assert_int_equal(check(host_pts, false, &why), -1);
  assert_non_null(strstr(why, "/dev/pts"));
  const char *own_pts = HOST OVERLAY("65", "ro", LAYER) REST
      "25 24 0:22 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts "
      "rw,gid=5,mode=620,ptmxmode=000\n"
      "72 25 0:60 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts "
      "rw,mode=620,ptmxmode=666\n";
  assert_int_equal(check(own_pts, false, &why), 0);
}

static void test_malformed_mountinfo_is_refused(void **state) {
  const char *why;
  assert_int_equal(check("65 22 0:40 / /usr ro\n", false, &why), -1);
  assert_int_equal(check("", false, &why), -1);
}

static void test_escaped_mount_points_are_read(void **state) {
  struct pl_sandbox s2 = sb;
  s2.prefix = "/opt/my python";
  s2.user_site = NULL;
  s2.config_dir = NULL;
  const char *info = HOST "65 22 0:40 / /opt/my\\040python ro - overlay none ro,lowerdir+=" LAYER
                          ",lowerdir+=/opt/my\\040python,userxattr\n"
                          "66 22 254:1 / /home/u/.local/state/pylock ro - ext4 /dev/vda1 rw\n";
  pl_error_t err = NULL;
  assert_int_equal(pl_sandbox_check_mounts(info, &s2, false, &err), 0);
}

static void test_blank_lines_and_runs_of_spaces_read_as_single_separators(void **state) {
  const char *why;
  const char *spaced = "\n" HOST "\n\n65  22 0:40 / /usr   ro - overlay none ro,lowerdir+=" LAYER
                       ",lowerdir+=/usr,userxattr\n" REST "\n";
  assert_int_equal(check(spaced, false, &why), 0);
}

static void test_more_mounts_than_the_bound_are_refused(void **state) {
  const char *why;
  const char *line = "99 22 0:99 / /srv/x rw - tmpfs tmpfs rw\n";
  size_t n = 4097, len = strlen(line);
  const char *head = HOST OVERLAY("65", "ro", LAYER) REST;
  char *big = malloc(strlen(head) + n * len + 1);
  assert_non_null(big);
  size_t hl = strlen(head);
  memcpy(big, head, hl);
  char *p = big + hl;
  for (size_t i = 0; i < n; i++, p += len)
    memcpy(p, line, len);
  *p = '\0';
  assert_int_equal(check(big, false, &why), -1);
  assert_non_null(strstr(why, "more than"));
  big[hl + 4000 * len] = '\0'; /* within the bound: read, and it passes */
  assert_int_equal(check(big, false, &why), 0);
  free(big);
}

/* Run fn in a child that made a user namespace (and, nested, a second one
 * inside it); the parent opens the innermost one's ns file and asks. */
static bool ask_about_child_userns(bool nested) {
  int ready[2], done[2];
  assert_int_equal(pipe(ready), 0);
  assert_int_equal(pipe(done), 0);
  unsigned me = (unsigned)geteuid(), group = (unsigned)getegid();
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(ready[0]);
    close(done[1]);
    if (unshare(CLONE_NEWUSER) < 0) _exit(1);
    /* Map ourselves, or the nested one cannot be made. */
    char map[32];
    int n = snprintf(map, sizeof map, "%u %u 1\n", me, me);
    int fd = open("/proc/self/setgroups", O_WRONLY);
    if (fd < 0 || write(fd, "deny", 4) != 4) _exit(1);
    close(fd);
    fd = open("/proc/self/uid_map", O_WRONLY);
    if (fd < 0 || write(fd, map, (size_t)n) != n) _exit(1);
    close(fd);
    n = snprintf(map, sizeof map, "%u %u 1\n", group, group);
    fd = open("/proc/self/gid_map", O_WRONLY);
    if (fd < 0 || write(fd, map, (size_t)n) != n) _exit(1);
    close(fd);
    if (nested && unshare(CLONE_NEWUSER) < 0) _exit(1);
    if (write(ready[1], "x", 1) != 1) _exit(1);
    if (read(done[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  close(ready[1]);
  close(done[0]);
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  bool ok = pl_keepalive_userns_is_our_child(fd);
  close(fd);
  assert_int_equal(write(done[1], "x", 1), 1);
  waitpid(pid, NULL, 0);
  close(ready[0]), close(done[1]);
  return ok;
}

static void test_a_child_user_namespace_is_ours_and_a_nested_one_is_not(void **state) {
  assert_true(ask_about_child_userns(false));
  assert_false(ask_about_child_userns(true));
  /* Our own namespace is not a child of itself. */
  int fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
  assert_false(pl_keepalive_userns_is_our_child(fd));
  close(fd);
}

/* Map ourselves in a new user namespace (the caller's ids, 1:1). */
static bool map_self(unsigned me, unsigned group) {
  char map[32];
  int n = snprintf(map, sizeof map, "%u %u 1\n", me, me);
  int fd = open("/proc/self/setgroups", O_WRONLY);
  if (fd < 0 || write(fd, "deny", 4) != 4) return false;
  close(fd);
  fd = open("/proc/self/uid_map", O_WRONLY);
  if (fd < 0 || write(fd, map, (size_t)n) != n) return false;
  close(fd);
  n = snprintf(map, sizeof map, "%u %u 1\n", group, group);
  fd = open("/proc/self/gid_map", O_WRONLY);
  if (fd < 0 || write(fd, map, (size_t)n) != n) return false;
  close(fd);
  return true;
}

static int by_string(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* text's lines, sorted, in place. */
static const char *sorted_lines(char *text) {
  char *lines[64], *copy = strdup(text);
  size_t n = 0, cap = strlen(text) + 1;
  assert_non_null(copy);
  for (char *p = copy, *nl; n < 64 && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
    *nl = '\0';
    lines[n++] = p;
  }
  qsort(lines, n, sizeof *lines, by_string);
  size_t at = 0;
  for (size_t i = 0; i < n; i++)
    at += (size_t)snprintf(text + at, cap - at, "%s\n", lines[i]);
  text[at] = '\0';
  free(copy);
  return text;
}

static void mkdirs(const char *top, const char *const *rel) {
  char path[512];
  for (; *rel; rel++) {
    snprintf(path, sizeof path, "%s/%s", top, *rel);
    assert_int_equal(mkdir(path, 0755), 0);
  }
}

/* A prefix and a generation, as pylock lays them out, under `top`: the base
 * has a standard library, its site-packages and bin; the generation the
 * scheme directories and two packages, one of which the base has too. */
static void warm_layout(const char *top, char *prefix, char *layer, size_t size) {
  static const char *const base[] = {"prefix",
                                     "prefix/bin",
                                     "prefix/lib",
                                     "prefix/lib/py",
                                     "prefix/lib/py/encodings",
                                     "prefix/lib/py/site-packages",
                                     "prefix/lib/py/site-packages/pip",
                                     "prefix/share",
                                     NULL};
  static const char *const gen[] = {"gen",
                                    "gen/bin",
                                    "gen/lib",
                                    "gen/lib/py",
                                    "gen/lib/py/site-packages",
                                    "gen/lib/py/site-packages/requests",
                                    "gen/lib/py/site-packages/requests/sub",
                                    "gen/lib/py/site-packages/pip",
                                    "gen/include",
                                    NULL};
  snprintf(prefix, size, "%s/prefix", top);
  snprintf(layer, size, "%s/gen", top);
  mkdirs(top, base);
  mkdirs(top, gen);
}

/* In a child's own namespaces, the overlay of `layer` on `prefix`: what
 * pl_keepalive_warm returns, then the directories it keeps open as the
 * child's /proc/self/fd names them, relative to the prefix, sorted; NULL
 * when the overlay cannot be made here.  A walk that blocks fails (alarm). */
static char *warm_and_list(const char *top, const char *prefix, const char *layer) {
  char out[600];
  snprintf(out, sizeof out, "%s/kept", top);
  unsigned me = (unsigned)geteuid(), group = (unsigned)getegid();
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    FILE *f = fopen(out, "w");
    if (f == NULL) _exit(1);
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 || !map_self(me, group) ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        pl_sandbox_mount_overlay(layer, prefix, NULL) < 0) {
      fputs("no overlay\n", f);
      _exit(fclose(f) == 0 ? 0 : 1);
    }
    int kept = pl_keepalive_warm(prefix, layer);
    fprintf(f, "%d\n", kept);
    for (int fd = 0; fd < 256; fd++) {
      char link[64], target[700];
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n < 0 || fd == fileno(f)) continue;
      target[n] = '\0';
      int flags = fcntl(fd, F_GETFL);
      if (strncmp(target, prefix, strlen(prefix)) == 0)
        fprintf(f, "%s%s\n", target + strlen(prefix),
                (flags & O_ACCMODE) == O_RDONLY ? "" : " (writable)");
    }
    _exit(fclose(f) == 0 ? 0 : 1);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = fopen(out, "r");
  assert_non_null(f);
  assert_true(getdelim(&text, &len, '\0', f) > 0);
  fclose(f);
  if (strcmp(text, "no overlay\n") == 0) {
    free(text);
    return NULL;
  }
  return text;
}

static void remove_tree(const char *top) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
  assert_int_equal(system(cmd), 0);
}

/* The prefix, lib, lib/py, its site-packages and bin, and pip, which both
 * layers have; not the generation's own (requests, include), nor the base's
 * own (encodings, share); 6 of them. */
#define WARM_KEPT "\n/bin\n/lib\n/lib/py\n/lib/py/site-packages\n/lib/py/site-packages/pip\n6\n"

static void test_a_holder_keeps_exactly_the_merged_directories_open(void **state) {
  char top[] = "/tmp/pylock-warm-XXXXXX";
  assert_non_null(mkdtemp(top));
  char prefix[600], layer[600];
  warm_layout(top, prefix, layer, sizeof prefix);
  char *text = warm_and_list(top, prefix, layer);
  if (text == NULL) {
    remove_tree(top);
    skip();
  }
  assert_string_equal(sorted_lines(text), WARM_KEPT);
  free(text);
  remove_tree(top);
}

static void test_a_holder_follows_no_link_and_opens_no_fifo_of_the_layer(void **state) {
  char top[] = "/tmp/pylock-warm-XXXXXX";
  assert_non_null(mkdtemp(top));
  char prefix[600], layer[600];
  warm_layout(top, prefix, layer, sizeof prefix);
  /* In the generation: links to a directory outside, FIFOs, one of them where
   * the base has a directory (it hides it), one where the base has none. */
  static const char *const outside[] = {"outside", "outside/sub", NULL};
  mkdirs(top, outside);
  char path[700], away[700];
  snprintf(away, sizeof away, "%s/outside", top);
  static const char *const links[] = {"gen/lib/py/site-packages/zz-link", "gen/lib/py/encodings",
                                      "gen/lib/zz-link", NULL};
  for (const char *const *l = links; *l; l++) {
    snprintf(path, sizeof path, "%s/%s", top, *l);
    assert_int_equal(symlink(away, path), 0);
  }
  static const char *const fifos[] = {"gen/share", "gen/lib/py/site-packages/zz-fifo", NULL};
  for (const char *const *l = fifos; *l; l++) {
    snprintf(path, sizeof path, "%s/%s", top, *l);
    assert_int_equal(mkfifo(path, 0600), 0);
  }
  char *text = warm_and_list(top, prefix, layer);
  if (text == NULL) {
    remove_tree(top);
    skip();
  }
  /* The same as without the links and FIFOs: nothing of them, nothing outside. */
  assert_string_equal(sorted_lines(text), WARM_KEPT);
  free(text);
  remove_tree(top);
}

/* ---- pl_sandbox_check_ns: a real namespace, made as pylock makes it ---------- */

enum ns_variant {
  NS_AS_PYLOCK,
  NS_WRITABLE_STATE,
  NS_WRITABLE_BELOW_STATE,
  NS_WRITABLE_CONFIG,
  NS_MOUNT_INSIDE_OVERLAY,
  NS_NO_OVERLAY,
  NS_OTHER_LAYER,
  NS_WRITABLE_OVERLAY,
  NS_USER_SITE_VISIBLE,
  NS_HOSTS_PTS,
  NS_STATE_COVERED_WRITABLE,
};

struct ns_fixture {
  char top[64], prefix[128], layer[128], other[128], state[128], config[128], site[128];
  struct pl_sandbox sb;
};

static void ns_fixture(struct ns_fixture *f) {
  snprintf(f->top, sizeof f->top, "/tmp/pylock-nscheck-XXXXXX");
  assert_non_null(mkdtemp(f->top));
  static const char *const dirs[] = {"prefix", "prefix/lib", "layer",  "layer/lib", "other",
                                     "state",  "state/sub",  "config", "site",      NULL};
  mkdirs(f->top, dirs);
  snprintf(f->prefix, sizeof f->prefix, "%s/prefix", f->top);
  snprintf(f->layer, sizeof f->layer, "%s/layer", f->top);
  snprintf(f->other, sizeof f->other, "%s/other", f->top);
  snprintf(f->state, sizeof f->state, "%s/state", f->top);
  snprintf(f->config, sizeof f->config, "%s/config", f->top);
  snprintf(f->site, sizeof f->site, "%s/site", f->top);
  f->sb = (struct pl_sandbox){.project = f->top,
                              .state_root = f->state,
                              .config_dir = f->config,
                              .prefix = f->prefix,
                              .layer = f->layer,
                              .user_site = f->site};
}

static bool ro_bind(const char *dir, bool ro, bool rec) {
  return mount(dir, dir, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) == 0 &&
         (!ro || mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                       NULL) == 0);
}

/* The child's namespaces: the mounts pl_sandbox_enter makes, but for `v`. */
static bool ns_setup(const struct ns_fixture *f, enum ns_variant v, unsigned me, unsigned group) {
  char sub[160];
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 || !map_self(me, group) ||
      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return false;
  if (v == NS_STATE_COVERED_WRITABLE) {
    /* A writable mount below the state, then the read-only state (not
     * recursive) on top of it all: it is covered. */
    snprintf(sub, sizeof sub, "%s/sub", f->state);
    if (mount("tmpfs", sub, "tmpfs", 0, "size=4k") < 0) return false;
  }
  if (v != NS_NO_OVERLAY) {
    if (pl_sandbox_mount_overlay(v == NS_OTHER_LAYER ? f->other : f->layer, f->prefix, NULL) < 0)
      return false;
    if (v == NS_WRITABLE_OVERLAY && mount(NULL, f->prefix, NULL, MS_REMOUNT | MS_BIND, NULL) < 0)
      return false;
  }
  if (v == NS_MOUNT_INSIDE_OVERLAY) {
    snprintf(sub, sizeof sub, "%s/lib", f->prefix);
    if (mount("tmpfs", sub, "tmpfs", MS_RDONLY, "size=4k") < 0) return false;
  }
  if (!ro_bind(f->state, v != NS_WRITABLE_STATE, v != NS_STATE_COVERED_WRITABLE) ||
      !ro_bind(f->config, v != NS_WRITABLE_CONFIG, true))
    return false;
  if (v == NS_WRITABLE_BELOW_STATE) {
    snprintf(sub, sizeof sub, "%s/sub", f->state);
    if (mount("tmpfs", sub, "tmpfs", 0, "size=4k") < 0) return false;
  }
  if (v != NS_USER_SITE_VISIBLE &&
      mount("none", f->site, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k") < 0)
    return false;
  if (v != NS_HOSTS_PTS) {
    struct stat st;
    if (stat("/dev/pts", &st) == 0 && mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                                            "newinstance,ptmxmode=0666,mode=0620") < 0)
      return false;
  }
  return true;
}

/* pl_sandbox_check_ns on a child whose namespaces are set up as `v` says:
 * its result, -2 when the child could not set them up (no overlay here). */
static int ns_check_variant(struct ns_fixture *f, enum ns_variant v, const char **why) {
  static pl_error_t err;
  pl_error_free(&err);
  *why = "";
  int ready[2], done[2];
  assert_int_equal(pipe(ready), 0);
  assert_int_equal(pipe(done), 0);
  unsigned me = (unsigned)geteuid(), group = (unsigned)getegid();
  pid_t pid = fork();
  if (pid == 0) {
    char c = ns_setup(f, v, me, group) ? 'y' : 'n';
    close(ready[0]);
    close(done[1]);
    if (write(ready[1], &c, 1) != 1) _exit(1);
    if (read(done[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  close(ready[1]);
  close(done[0]);
  char c = 'n';
  assert_int_equal(read(ready[0], &c, 1), 1);
  int r = -2;
  if (c == 'y') {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    r = pl_sandbox_check_ns(pid, fd, &f->sb, &err);
    *why = err ? err->msg : "";
    close(fd);
  }
  assert_int_equal(write(done[1], "x", 1), 1);
  waitpid(pid, NULL, 0);
  close(ready[0]), close(done[1]);
  return r;
}

static void
test_the_kernels_mounts_as_pylock_makes_them_pass_and_each_difference_fails(void **state) {
  struct ns_fixture f;
  ns_fixture(&f);
  const char *why;
  int r = ns_check_variant(&f, NS_AS_PYLOCK, &why);
  if (r == -2 || r == 1) { /* no overlay in a user namespace here, or a kernel before 6.11 */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f.top);
    assert_int_equal(system(cmd), 0);
    skip();
  }
  assert_string_equal(why, "");
  assert_int_equal(r, 0);
  static const struct {
    enum ns_variant v;
    const char *why;
  } bad[] = {
      {NS_WRITABLE_STATE, "pylock's state"},
      {NS_WRITABLE_BELOW_STATE, "a writable mount below pylock's state"},
      {NS_WRITABLE_CONFIG, "pylock's configuration"},
      {NS_MOUNT_INSIDE_OVERLAY, "a mount is inside the overlay"},
      {NS_NO_OVERLAY, "no read-only overlay"},
      {NS_OTHER_LAYER, "is not of"},
      {NS_WRITABLE_OVERLAY, "no read-only overlay"},
      {NS_USER_SITE_VISIBLE, "is not hidden"},
      {NS_HOSTS_PTS, "its terminals are reachable"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = ns_check_variant(&f, bad[i].v, &why);
    if (r != -1 || strstr(why, bad[i].why) == NULL)
      fail_msg("variant %d: %d \"%s\", not \"%s\"", (int)bad[i].v, r, why, bad[i].why);
  }
  /* What no path reaches (a writable mount the read-only state covers) is not looked at. */
  r = ns_check_variant(&f, NS_STATE_COVERED_WRITABLE, &why);
  assert_string_equal(why, "");
  assert_int_equal(r, 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f.top);
  assert_int_equal(system(cmd), 0);
}

/* The socket of a bus address, or "" when it names none. */
static const char *bus(const char *address, size_t cap) {
  static char out[256];
  if (!pl_sandbox_bus_socket(address, out, cap)) out[0] = '\0';
  return out;
}

static void test_the_bus_socket_is_read_from_a_unix_path_address(void **state) {
  assert_string_equal(bus("unix:path=/run/user/1000/bus", 256), "/run/user/1000/bus");
  assert_string_equal(bus("unix:path=/tmp/dbus-x,guid=0123abcd", 256), "/tmp/dbus-x");
  assert_string_equal(bus("unix:guid=0123,path=/tmp/b", 256), "/tmp/b");
  /* The first unix:path= of a list; escaped bytes as they are meant. */
  assert_string_equal(bus("unix:abstract=/tmp/a;unix:path=/tmp/b;unix:path=/tmp/c", 256), "/tmp/b");
  assert_string_equal(bus("unix:path=/home/u/my%20bus%2cx", 256), "/home/u/my bus,x");
  assert_string_equal(bus("tcp:host=x,port=1;unix:path=/b%", 256), "/b%");
  assert_string_equal(bus("unix:path=/a%00b", 256), "/a%00b"); /* never a NUL */
}

static void test_a_bus_address_naming_no_socket_path_gives_none(void **state) {
  assert_string_equal(bus("", 256), "");
  assert_string_equal(bus("unix:abstract=/tmp/dbus-x,guid=1", 256), "");
  assert_string_equal(bus("unix:path=relative/bus", 256), "");
  assert_string_equal(bus("unix:path=", 256), "");
  assert_string_equal(bus("tcp:host=localhost,port=1234", 256), "");
  assert_string_equal(bus("xunix:path=/tmp/b", 256), "");
  assert_string_equal(bus("unix:path=/run/user/1000/bus", 8), ""); /* does not fit */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mounts_as_pylock_makes_them_pass),
      cmocka_unit_test(test_mounts_of_another_project_or_generation_are_refused),
      cmocka_unit_test(test_an_overlay_with_another_directory_than_its_two_layers_is_refused),
      cmocka_unit_test(test_a_mount_over_an_ancestor_hides_what_is_below_and_is_refused),
      cmocka_unit_test(test_a_bind_of_a_directory_of_the_overlay_over_the_prefix_is_refused),
      cmocka_unit_test(test_writable_overlay_is_refused),
      cmocka_unit_test(test_a_mount_over_or_inside_the_overlay_is_refused),
      cmocka_unit_test(test_writable_state_or_configuration_is_refused),
      cmocka_unit_test(test_a_visible_user_site_is_refused),
      cmocka_unit_test(test_the_hosts_devpts_is_refused_and_a_private_one_passes),
      cmocka_unit_test(test_malformed_mountinfo_is_refused),
      cmocka_unit_test(test_escaped_mount_points_are_read),
      cmocka_unit_test(test_blank_lines_and_runs_of_spaces_read_as_single_separators),
      cmocka_unit_test(test_more_mounts_than_the_bound_are_refused),
      cmocka_unit_test(test_a_child_user_namespace_is_ours_and_a_nested_one_is_not),
      cmocka_unit_test(test_a_holder_keeps_exactly_the_merged_directories_open),
      cmocka_unit_test(test_a_holder_follows_no_link_and_opens_no_fifo_of_the_layer),
      cmocka_unit_test(test_the_kernels_mounts_as_pylock_makes_them_pass_and_each_difference_fails),
      cmocka_unit_test(test_the_bus_socket_is_read_from_a_unix_path_address),
      cmocka_unit_test(test_a_bus_address_naming_no_socket_path_gives_none),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
