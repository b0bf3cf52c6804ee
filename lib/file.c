/* pylock — bounded reads and atomic writes; see file.h. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int pl_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int pl_read_file_at(int dirfd, const char *name, size_t max, char **out, size_t *len,
                    pl_error_t *err) {
  cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return pl_fail(err, errno, "open %s", name);
  struct stat st;
  if (fstat(fd, &st) < 0) return pl_fail(err, errno, "stat %s", name);
  if (!S_ISREG(st.st_mode)) return pl_fail(err, 0, "%s is not a regular file", name);
  if ((size_t)st.st_size > max)
    return pl_fail(err, EFBIG, "%s is %lld bytes, more than the %zu allowed", name,
                   (long long)st.st_size, max);
  /* /proc files report size 0: read until EOF, growing up to max. */
  size_t cap = st.st_size > 0 ? (size_t)st.st_size : (max < 4096 ? max : 4096);
  cleanup_free char *buf = malloc(cap + 1);
  if (buf == NULL) return pl_fail(err, ENOMEM, "read %s", name);
  size_t got = 0;
  for (;;) {
    if (got == cap) {
      if (st.st_size > 0 || cap >= max) {
        char probe;
        if (st.st_size == 0 && read(fd, &probe, 1) > 0)
          return pl_fail(err, EFBIG, "%s is larger than the %zu bytes allowed", name, max);
        break; /* a regular file never reads past the size we saw */
      }
      size_t ncap = cap * 2 < max ? cap * 2 : max;
      char *nbuf = realloc(buf, ncap + 1);
      if (nbuf == NULL) return pl_fail(err, ENOMEM, "read %s", name);
      buf = nbuf;
      cap = ncap;
    }
    ssize_t n = read(fd, buf + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return pl_fail(err, errno, "read %s", name);
    if (n == 0) break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  if (len) *len = got;
  *out = steal_pointer(&buf);
  return 0;
}

int pl_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
                            mode_t mode, pl_error_t *err) {
  char tmp[512];
  int r = snprintf(tmp, sizeof tmp, ".%s.tmp.%d", name, (int)getpid());
  if (r < 0 || (size_t)r >= sizeof tmp || strchr(name, '/'))
    return pl_fail(err, EINVAL, "bad file name %s", name);
  unlinkat(dirfd, tmp, 0);
  cleanup_close int fd =
      openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return pl_fail(err, errno, "create %s", tmp);
  if (pl_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    return pl_fail(err, e, "write %s", name);
  }
  if (renameat(dirfd, tmp, dirfd, name) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    return pl_fail(err, e, "rename %s to %s", tmp, name);
  }
  return 0;
}

int pl_mkdir_p_at(int dirfd, const char *relpath, mode_t mode, pl_error_t *err) {
  cleanup_free char *copy = strdup(relpath);
  if (copy == NULL) return pl_fail(err, ENOMEM, "mkdir %s", relpath);
  /* An absolute path starts at /, whatever dirfd is; AT_FDCWD at ".". */
  const char *start = relpath[0] == '/' ? "/" : dirfd == AT_FDCWD ? "." : NULL;
  cleanup_close int cur = start ? open(start, O_PATH | O_DIRECTORY | O_CLOEXEC)
                                : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return pl_fail(err, errno, "open %s", start ? start : "directory");
  char *save = NULL;
  for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, ".") == 0) continue;
    if (strcmp(part, "..") == 0) return pl_fail(err, EINVAL, "'..' in %s", relpath);
    if (mkdirat(cur, part, mode) < 0 && errno != EEXIST)
      return pl_fail(err, errno, "mkdir %s (in %s)", part, relpath);
    int next = openat(cur, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return pl_fail(err, errno, "open %s (in %s)", part, relpath);
    close(cur);
    cur = next;
  }
  return 0;
}
