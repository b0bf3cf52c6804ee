/* pylock — libarchive, loaded on first use; see dynlib.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DYN_ARCHIVE_H
#define PYLOCK_DYN_ARCHIVE_H
#include <archive.h>
#include <archive_entry.h>
#include "dynlib.h"

#define PL_ARCHIVE_SYMBOLS(X)                                                                      \
  X(archive_read_new)                                                                              \
  X(archive_read_free)                                                                             \
  X(archive_read_support_format_zip)                                                               \
  X(archive_read_support_format_zip_seekable)                                                      \
  X(archive_read_support_filter_none)                                                              \
  X(archive_read_open_filename)                                                                    \
  X(archive_read_open_fd)                                                                          \
  X(archive_read_open_memory)                                                                      \
  X(archive_read_next_header)                                                                      \
  X(archive_read_data)                                                                             \
  X(archive_read_data_skip)                                                                        \
  X(archive_read_data_block)                                                                       \
  X(archive_error_string)                                                                          \
  X(archive_entry_pathname)                                                                        \
  X(archive_entry_filetype)                                                                        \
  X(archive_entry_size)                                                                            \
  X(archive_entry_size_is_set)                                                                     \
  X(archive_entry_mode)                                                                            \
  X(archive_entry_hardlink)                                                                        \
  X(archive_entry_symlink)                                                                         \
  X(archive_entry_pathname_utf8)                                                                   \
  X(archive_filter_bytes)                                                                          \
  X(archive_entry_new)                                                                             \
  X(archive_entry_free)                                                                            \
  X(archive_entry_set_pathname)                                                                    \
  X(archive_entry_set_pathname_utf8)                                                               \
  X(archive_entry_set_size)                                                                        \
  X(archive_entry_set_filetype)                                                                    \
  X(archive_entry_set_perm)                                                                        \
  X(archive_entry_set_symlink)                                                                     \
  X(archive_entry_set_hardlink)                                                                    \
  X(archive_write_new)                                                                             \
  X(archive_write_free)                                                                            \
  X(archive_write_set_format_zip)                                                                  \
  X(archive_write_zip_set_compression_deflate)                                                     \
  X(archive_write_zip_set_compression_store)                                                       \
  X(archive_write_open_fd)                                                                         \
  X(archive_write_header)                                                                          \
  X(archive_write_data)                                                                            \
  X(archive_write_close)

struct pl_archive_table {
  PL_ARCHIVE_SYMBOLS(PL_DYN_FIELD)
};
extern struct pl_archive_table pl_archive_fn;
#include "dyn_archive_defs.h"
#endif
