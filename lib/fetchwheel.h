/* pylock — the one way a wheel leaves a registry: signed, then verified.
 *
 * A wheel is trusted only when both halves hold: its bytes are exactly a
 * target the registry signed (TUF length and sha256, lib/tuf.h), and what is
 * inside passes pl_wheel_verify() (lib/wheel.h).  These functions do both, in
 * that order, on a file no one else names, and hand the wheel out only after
 * both passed.  The install pipeline and `pylock registry verify --targets`
 * take wheels through here.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_FETCHWHEEL_H
#define PYLOCK_FETCHWHEEL_H

#include <stdbool.h>

#include "error.h"
#include "tuf.h"
#include "wheel.h"

/* True if the target path names a wheel ("*.whl"); its last component is
 * the wheel's filename. */
bool pl_target_is_wheel(const char *target);

/* Fetch wheel `target` into fd (a fresh, empty, read-write regular file no
 * one else writes), check it against the signed length and sha256, then
 * verify it with pl_wheel_verify() (tags too when interp is not NULL).  On
 * success fills *info; on any failure fd is truncated to 0 bytes. */
int pl_trusted_wheel_fetch_fd(struct pl_tuf *t, const char *target, int fd,
                              const struct pl_wheel_interp *interp, struct pl_wheel_info *info,
                              pl_error_t *err);

/* The same into dirfd/dest_name (a single path component): the bytes go to a
 * temporary file beside it, which is renamed to dest_name (replacing it) only
 * once both checks passed.  On any failure nothing new remains in dirfd. */
int pl_trusted_wheel_fetch(struct pl_tuf *t, const char *target, int dirfd, const char *dest_name,
                           const struct pl_wheel_interp *interp, struct pl_wheel_info *info,
                           pl_error_t *err);

/* If the registry signs "<target>.metadata" (PEP 658, what a resolver reads
 * instead of the wheel), fetch it through TUF and check that it equals the
 * METADATA of the verified wheel `info`.  *present tells whether it is
 * signed; an unsigned one is not an error. */
int pl_trusted_wheel_check_metadata(struct pl_tuf *t, const char *target,
                                    const struct pl_wheel_info *info, bool *present,
                                    pl_error_t *err);

#endif
