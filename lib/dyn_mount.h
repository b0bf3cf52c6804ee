/* pylock — libmount, loaded on first use; see dynlib.h.  Used to describe
 * filesystems (doctor), never on the run path.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DYN_MOUNT_H
#define PYLOCK_DYN_MOUNT_H
#include <libmount/libmount.h>

#include "dynlib.h"

#define PL_MOUNT_SYMBOLS(X)                                                                        \
  X(mnt_new_table_from_file)                                                                       \
  X(mnt_table_find_mountpoint)                                                                     \
  X(mnt_fs_get_source)                                                                             \
  X(mnt_fs_get_target)                                                                             \
  X(mnt_fs_get_fstype)                                                                             \
  X(mnt_fs_get_options)                                                                            \
  X(mnt_unref_table)

struct pl_mount_table {
  PL_MOUNT_SYMBOLS(PL_DYN_FIELD)
};
extern struct pl_mount_table pl_mount_fn;
#include "dyn_mount_defs.h"
#endif
