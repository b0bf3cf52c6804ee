/* libFuzzer target: installing a wheel (lib/install.c over lib/wheel.c): spreading .data,
 * entry_points.txt (console and GUI scripts), #!python shebangs, RECORD rewritten as pip
 * writes it, into a fresh tree.  Byte-code compiling (a child process) is left out.  Whatever
 * is installed must be plain files and directories inside the tree, none writable by others
 * or set-id.  Input: see wheel_input.h.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "install.h"
#include "wheel_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_DEBUG=1 prints why each input was refused (to check that seeds get far). */
static void debug(const pl_error_t err) {
  static int on = -1;
  if (on < 0) on = getenv("FUZZ_DEBUG") != NULL;
  if (on && err && err->msg) fprintf(stderr, "fuzz: refused: %s\n", err->msg);
}

static char work[256], tree[300];
/* The base's prefix is an empty directory of the work directory: the
 * installer looks every destination up in it (a file the base has is
 * refused), so it must exist, and nothing in it may refuse a wheel. */
static char prefix[300], python[350], purelib[350], platlib[350], scripts[350], include[350];
static struct pl_interp interp = {
    .version = "3.12.1",
    .short_version = "3.12",
    .cache_tag = "cpython-312",
};

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *f) {
  return remove(path);
}

static void remove_work(void) {
  nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  setlocale(LC_CTYPE, "C.UTF-8");
  /* Its files are written and fsync'ed on every input: in memory when possible. */
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(work, sizeof work, "%s/fuzz_install.XXXXXX", tmp);
  if (mkdtemp(work) == NULL) abort();
  snprintf(tree, sizeof tree, "%s/tree", work);
  snprintf(prefix, sizeof prefix, "%s/prefix", work);
  if (mkdir(prefix, 0700) < 0) abort();
  snprintf(python, sizeof python, "%s/bin/python3.12", prefix);
  snprintf(purelib, sizeof purelib, "%s/lib/python3.12/site-packages", prefix);
  snprintf(platlib, sizeof platlib, "%s/lib64/python3.12/site-packages", prefix);
  snprintf(scripts, sizeof scripts, "%s/bin", prefix);
  snprintf(include, sizeof include, "%s/include/python3.12", prefix);
  interp.python = python;
  interp.prefix = interp.data = prefix;
  interp.purelib = purelib;
  interp.platlib = platlib;
  interp.scripts = scripts;
  interp.include = include;
  atexit(remove_work);
  return 0;
}

/* Every installed entry is a plain file or directory, not writable by group or others and
 * not set-id (the tree is what the shared cache keeps). */
static int check_entry(const char *path, const struct stat *st, int type, struct FTW *f) {
  if (type == FTW_SL || type == FTW_SLN || type == FTW_NS || type == FTW_DNR) abort();
  if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) abort();
  if (st->st_mode & (S_ISUID | S_ISGID | S_ISVTX | S_IWGRP | S_IWOTH)) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char filename[256];
  int small;
  int fd = wheel_input(data, size, filename, &small);
  if (fd < 0) return 0;
  if (mkdir(tree, 0700) < 0) abort();
  int tree_fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (tree_fd < 0) abort();
  struct pl_install_result out = {0};
  pl_error_t err = NULL;
  if (pl_install_wheel(tree_fd, tree, fd, filename, &interp, false, &out, &err) == 0) {
    if (out.files == 0 || out.name == NULL || out.dist_info == NULL) abort();
    struct stat st;
    char path[PL_PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/RECORD", out.dist_info);
    if (fstatat(tree_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) abort();
    pl_install_result_free(&out);
  } else if (err == NULL || err->msg == NULL) {
    abort();
  }
  debug(err);
  pl_error_free(&err);
  /* Also after a failure: what was written before it must be as safe. */
  if (nftw(tree, check_entry, 16, FTW_PHYS) < 0) abort();
  close(tree_fd);
  close(fd);
  /* Files are created read-only, in writable directories: removable as they are. */
  if (nftw(tree, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) abort();
  return 0;
}
