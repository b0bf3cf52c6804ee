/* Test helper (make bench): pylock's full wheel verification, as the
 * installer runs it, on each WHEEL given, so that its throughput can be
 * timed against sha256sum over the same uncompressed bytes.
 *
 * usage: wheel-verify WHEEL...
 * Prints "files N bytes B" (regular files and their uncompressed bytes, over
 * all wheels); exits 1 naming the first wheel that fails.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "wheel.h"

int main(int argc, char **argv) {
  unsigned long long files = 0, bytes = 0;
  for (int i = 1; i < argc; i++) {
    pl_error_t err = NULL;
    struct pl_wheel_info info = {0};
    const char *base = strrchr(argv[i], '/');
    int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      perror(argv[i]);
      return 1;
    }
    if (pl_wheel_verify(fd, base ? base + 1 : argv[i], NULL, &info, &err) < 0) {
      char *msg = pl_error_string(err);
      fprintf(stderr, "wheel-verify: %s\n", msg);
      free(msg);
      return 1;
    }
    files += info.files;
    bytes += info.total_size;
    pl_wheel_info_free(&info);
    close(fd);
  }
  printf("files %llu bytes %llu\n", files, bytes);
  return 0;
}
