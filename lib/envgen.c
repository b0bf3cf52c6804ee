/* pylock — creating and switching environment generations; see envgen.h. */
#include "envgen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"
#include "project.h"

int pl_envgen_create(int state_fd, unsigned n, const struct pl_interp *in, pl_error_t *err) {
  char gen[64];
  snprintf(gen, sizeof gen, "%s/%u", PL_GENERATIONS_DIR, n);
  if (pl_mkdir_p_at(state_fd, gen, 0755, err) < 0) return -1;
  cleanup_close int gfd = openat(state_fd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gfd < 0) return pl_fail(err, errno, "open %s", gen);
  const char *dirs[] = {
#define REL(name) pl_interp_relative(in, in->name),
      PL_SCHEME_DIRS(REL)
#undef REL
  };
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    if (dirs[i] == NULL) return pl_fail(err, EINVAL, "scheme path outside the prefix");
    if (dirs[i][0] && pl_mkdir_p_at(gfd, dirs[i], 0755, err) < 0)
      return pl_error_wrap(err, "generation %u", n);
  }
  if (fsync(gfd) < 0) return pl_fail(err, errno, "fsync %s", gen);
  return 0;
}

int pl_envgen_switch(int state_fd, unsigned n, pl_error_t *err) {
  char target[64], tmp[64];
  snprintf(target, sizeof target, "%s/%u", PL_GENERATIONS_DIR, n);
  snprintf(tmp, sizeof tmp, ".%s.tmp.%d", PL_CURRENT_LINK, (int)getpid());
  unlinkat(state_fd, tmp, 0);
  if (symlinkat(target, state_fd, tmp) < 0) return pl_fail(err, errno, "symlink %s", tmp);
  if (renameat(state_fd, tmp, state_fd, PL_CURRENT_LINK) < 0) {
    int e = errno;
    unlinkat(state_fd, tmp, 0);
    return pl_fail(err, e, "switch to generation %u", n);
  }
  if (fsync(state_fd) < 0) return pl_fail(err, errno, "fsync .pylock");
  return 0;
}
