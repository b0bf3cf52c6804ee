/* Test helper: lock every entry made in the watched directories the moment
 * it appears, as code in a sandbox would (gc_attacks.bats): the state root
 * is read-only there, but flock() needs no write access.
 *
 *   inotify-flock READY DIR...   watch each DIR (IN_CREATE, IN_MOVED_TO),
 *                                create READY, then open and flock every new
 *                                entry, holding them; print "locked NAME"
 *                                for each lock taken, "watch DIR: ERR" for a
 *                                directory it cannot watch, "WATCHING STAGE"
 *                                for a maker's stage it can watch.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <unistd.h>

#define DIRS_MAX 16

int main(int argc, char **argv) {
  if (argc < 3 || argc - 2 > DIRS_MAX) {
    fprintf(stderr, "usage: inotify-flock READY DIR...\n");
    return 2;
  }
  int in = inotify_init1(IN_CLOEXEC);
  int wd[DIRS_MAX], dfd[DIRS_MAX];
  int n = argc - 2;
  for (int i = 0; i < n; i++) {
    dfd[i] = open(argv[i + 2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    wd[i] = inotify_add_watch(in, argv[i + 2], IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
    if (wd[i] < 0) printf("watch %s: %s\n", argv[i + 2], strerror(errno));
  }
  fflush(stdout);
  int ready = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (ready >= 0) close(ready);
  char buf[65536] __attribute__((aligned(8)));
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r <= 0) return 1;
    for (char *p = buf; p < buf + r;) {
      struct inotify_event *e = (struct inotify_event *)p;
      p += sizeof *e + e->len;
      int at = -1;
      for (int i = 0; i < n; i++)
        if (wd[i] == e->wd) at = dfd[i];
      if (e->len == 0 || at < 0) continue;
      if (strncmp(e->name, ".stage-", 7) == 0) {
        /* where makers stage theirs: watched too, if it can be */
        char path[8192];
        for (int i = 0; i < n; i++)
          if (wd[i] == e->wd) snprintf(path, sizeof path, "%s/%s", argv[i + 2], e->name);
        int sw = inotify_add_watch(in, path, IN_CREATE | IN_ONLYDIR);
        if (sw >= 0) {
          printf("WATCHING %s\n", path);
          fflush(stdout);
        }
      }
      int fd = openat(at, e->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
        printf("locked %s\n", e->name); /* and kept: fd stays open */
        fflush(stdout);
      } else if (fd >= 0) {
        close(fd);
      }
    }
  }
}
