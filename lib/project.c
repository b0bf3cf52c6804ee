/* pylock — finding and opening a project; see project.h. */
#include "project.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

static int has_lock_file(const char *dir) {
  char path[PATH_MAX];
  int r = snprintf(path, sizeof path, "%s/%s", dir, PL_LOCK_FILE);
  if (r < 0 || (size_t)r >= sizeof path) return 0;
  return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

int pl_project_find(const char *dir, char **root, pl_error_t *err) {
  if (dir) {
    cleanup_free char *abs = realpath(dir, NULL);
    if (abs == NULL) return pl_fail(err, errno, "project directory %s", dir);
    if (!has_lock_file(abs))
      return pl_fail_hint(err, 0, "create one with: pylock init DIR", "no %s in %s", PL_LOCK_FILE,
                          abs);
    *root = steal_pointer(&abs);
    return 0;
  }
  cleanup_free char *cwd = getcwd(NULL, 0);
  if (cwd == NULL) return pl_fail(err, errno, "getcwd");
  size_t len = strlen(cwd);
  for (;;) {
    if (has_lock_file(cwd)) {
      *root = steal_pointer(&cwd);
      return 0;
    }
    if (len <= 1) break;
    char *slash = strrchr(cwd, '/');
    if (slash == NULL) break;
    len = (size_t)(slash - cwd);
    if (len == 0) len = 1;
    cwd[len] = '\0';
  }
  return pl_fail_hint(err, 0, "run 'pylock init' in the project directory, or pass -C DIR",
                      "not inside a pylock project (no %s here or in any parent directory)",
                      PL_LOCK_FILE);
}

int pl_project_open_state(const char *root, pl_error_t *err) {
  cleanup_close int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return pl_fail(err, errno, "open %s", root);
  int fd = openat(rootfd, PL_STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return pl_fail_hint(err, errno, "recreate it with: pylock sync", "open %s/%s", root,
                        PL_STATE_DIR);
  return fd;
}

int pl_project_current(const char *root, int state_fd, char **gen, char **layer, pl_error_t *err) {
  char target[256];
  ssize_t n = readlinkat(state_fd, PL_CURRENT_LINK, target, sizeof target - 1);
  if (n < 0)
    return pl_fail_hint(err, errno, "rebuild it with: pylock sync",
                        "%s/%s/%s: no current environment generation", root, PL_STATE_DIR,
                        PL_CURRENT_LINK);
  target[n] = '\0';
  /* The link is ours; still, never let it point outside .pylock. */
  if (strncmp(target, PL_GENERATIONS_DIR "/", sizeof PL_GENERATIONS_DIR) != 0 ||
      strstr(target, "..") || strchr(target + sizeof PL_GENERATIONS_DIR, '/'))
    return pl_fail(err, 0, "%s/%s/%s points to '%s', not to a generation", root, PL_STATE_DIR,
                   PL_CURRENT_LINK, target);
  if (asprintf(layer, "%s/%s/%s", root, PL_STATE_DIR, target) < 0)
    return pl_fail(err, ENOMEM, "current generation");
  *gen = strdup(target);
  if (*gen == NULL) {
    free(*layer);
    *layer = NULL;
    return pl_fail(err, ENOMEM, "current generation");
  }
  return 0;
}
