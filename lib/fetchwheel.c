/* pylock — signed, then verified wheels; see fetchwheel.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "fetchwheel.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

bool pl_target_is_wheel(const char *target) {
  const char *base = strrchr(target, '/');
  base = base ? base + 1 : target;
  size_t n = strlen(base);
  return n > 4 && strcmp(base + n - 4, ".whl") == 0;
}

static void discard(int fd) {
  if (ftruncate(fd, 0) == 0) lseek(fd, 0, SEEK_SET);
}

int pl_trusted_wheel_fetch_fd(struct pl_tuf *t, const char *target, int fd,
                              const struct pl_wheel_interp *interp, struct pl_wheel_info *info,
                              pl_error_t *err) {
  if (!pl_target_is_wheel(target)) return pl_fail(err, EINVAL, "%s: not a wheel target", target);
  const struct pl_tuf_target *e;
  if (pl_tuf_find_target(t, target, &e, err) < 0) return -1;
  /* pl_wheel_verify reads the file from offset 0 while TUF hashes only what
   * it writes: bytes already there would be verified without being signed. */
  struct stat st;
  if (fstat(fd, &st) < 0) return pl_fail(err, errno, "%s: fstat", target);
  if (!S_ISREG(st.st_mode) || st.st_size != 0)
    return pl_fail(err, EINVAL, "%s: the destination is not an empty regular file", target);
  if (pl_tuf_fetch_target(t, target, fd, err) < 0) return -1;
  if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != e->length) {
    discard(fd);
    return pl_fail(err, EIO,
                   "%s: the downloaded file changed size after its check (expected %" PRIu64
                   " bytes)",
                   target, e->length);
  }
  const char *base = strrchr(target, '/');
  if (pl_wheel_verify(fd, base ? base + 1 : target, interp, info, err) < 0) {
    discard(fd);
    return -1;
  }
  return 0;
}

int pl_trusted_wheel_fetch(struct pl_tuf *t, const char *target, int dirfd, const char *dest_name,
                           const struct pl_wheel_interp *interp, struct pl_wheel_info *info,
                           pl_error_t *err) {
  if (dest_name[0] == '\0' || strchr(dest_name, '/') || strcmp(dest_name, ".") == 0 ||
      strcmp(dest_name, "..") == 0)
    return pl_fail(err, EINVAL, "%s: destination \"%s\" is not a plain file name", target,
                   dest_name);
  cleanup_free char *tmp = NULL;
  int fd = pl_tmpfile_open_at(dirfd, dest_name, 0644, &tmp, err);
  if (fd < 0) return pl_error_wrap(err, "%s", target);
  struct pl_wheel_info got = {0};
  if (pl_trusted_wheel_fetch_fd(t, target, fd, interp, &got, err) < 0) {
    close(fd);
    unlinkat(dirfd, tmp, 0);
    return -1;
  }
  if (pl_tmpfile_commit_at(dirfd, fd, tmp, dest_name, err) < 0) {
    pl_wheel_info_free(&got);
    return pl_error_wrap(err, "%s", target);
  }
  *info = got;
  return 0;
}

int pl_trusted_wheel_check_metadata(struct pl_tuf *t, const char *target,
                                    const struct pl_wheel_info *info, bool *present,
                                    pl_error_t *err) {
  cleanup_free char *name = NULL;
  if (asprintf(&name, "%s.metadata", target) < 0) {
    name = NULL;
    return pl_fail(err, ENOMEM, "%s", target);
  }
  const struct pl_tuf_target *e;
  *present = false;
  if (pl_tuf_find_target(t, name, &e, err) < 0) {
    if (!pl_error_is(*err, ENOENT)) return -1;
    pl_error_free(err);
    return 0;
  }
  *present = true;
  cleanup_free char *buf = NULL;
  size_t len;
  if (pl_tuf_fetch_target_mem(t, name, &buf, &len, err) < 0) return -1;
  /* A resolver reads this file instead of the wheel: if it says other
   * dependencies than the wheel's own METADATA, the lock was built on a lie. */
  if (len != info->metadata_len || memcmp(buf, info->metadata, len) != 0)
    return pl_fail(err, 0,
                   "%s: differs from %s/METADATA in %s (%zu bytes signed, %zu in the wheel)", name,
                   info->dist_info, target, len, info->metadata_len);
  return 0;
}
