/* pylock — the one escaping rule for outside text shown on a terminal, in a log or in JSON.
 *
 * Text pylock prints may come from a registry or mirror (metadata not yet
 * signature-checked, target names), from a pylock.toml out of a pull request,
 * from a wheel or from pip.  Printed raw, an escape sequence in it can fake
 * output, retitle or reprogram the terminal, and a bidi control can reorder
 * what the user reads.  So every such string leaves pylock rendered by this
 * rule, one unit (a UTF-8 character, or one byte that is not valid UTF-8) at
 * a time:
 *
 *   kept as is        printable ASCII and every other valid UTF-8 character
 *   made visible      C0 controls, '\t' and '\n' included, and DEL;
 *                     C1 controls (U+0080-U+009F); the bidi and line controls
 *                     U+061C, U+200E, U+200F, U+2028, U+2029, U+202A-U+202E,
 *                     U+2066-U+2069; every byte that is not part of valid UTF-8
 *                     (a raw 0x80-0x9F, an overlong form, a surrogate, a code
 *                     point above U+10FFFF, a truncated sequence)
 *
 * Text mode (terminal, log): "\n", "\t", "\r"; other C0 and DEL as "\x1b";
 * a C1 or bidi character as "\u009b", "\u202e"; an invalid byte as "\xff".
 * A backslash stays as it is: the rendering is for reading, not for undoing,
 * and no sequence of printable characters can act on a terminal.
 * Even '\n' is escaped: the output layer, not the text, decides where a line
 * ends, so an outside string can never start a line that looks like pylock's.
 *
 * JSON mode (the inside of a string literal): '"' and '\\' escaped; C0 as
 * \b \f \n \r \t or \u00XX; DEL, C1 and the bidi and line controls as \uXXXX
 * (so the same string, decoded, and raw output still safe on a terminal); an
 * invalid byte as \ufffd, U+REPLACEMENT CHARACTER, one per byte.  The result is
 * always valid UTF-8 and valid JSON.  lib/ only transforms; pylock/output.c
 * prints.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_ESCAPE_H
#define PYLOCK_ESCAPE_H

#include <stddef.h>

enum pl_escape_mode { PL_ESCAPE_TEXT, PL_ESCAPE_JSON };

/* The longest rendering of one unit ("\u202e" is 6 bytes, a character 4). */
#define PL_ESCAPE_UNIT_MAX 8

/* Render the unit at the start of s[0, len) (len >= 1) into out, its length in
 * *outlen (not NUL-terminated); return how many bytes of s it took (1 to 4). */
size_t pl_escape_unit(enum pl_escape_mode mode, const char *s, size_t len,
                      char out[PL_ESCAPE_UNIT_MAX], size_t *outlen);

/* Render s[0, len) into out (cap bytes, NUL-terminated when cap > 0; a unit is
 * never cut); return the length of the whole rendering, as snprintf does. */
size_t pl_escape(enum pl_escape_mode mode, const char *s, size_t len, char *out, size_t cap);

/* The rendering of the string s in a new string; NULL when out of memory. */
char *pl_escape_dup(enum pl_escape_mode mode, const char *s);

#endif
