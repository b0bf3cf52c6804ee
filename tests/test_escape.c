/* Unit tests: lib/escape.c — the one escaping rule, for every byte and every UTF-8 edge. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "canonjson.h"
#include "escape.h"

/* ---- an oracle written apart from lib/escape.c: encode, then compare ---- */

/* The UTF-8 encoding of cp (any value below 2^21, surrogates included). */
static size_t encode(uint32_t cp, unsigned char *b) {
  if (cp < 0x80) return b[0] = (unsigned char)cp, 1;
  if (cp < 0x800) return b[0] = 0xc0 | (cp >> 6), b[1] = 0x80 | (cp & 0x3f), 2;
  if (cp < 0x10000)
    return b[0] = 0xe0 | (cp >> 12), b[1] = 0x80 | ((cp >> 6) & 0x3f), b[2] = 0x80 | (cp & 0x3f), 3;
  b[0] = 0xf0 | (cp >> 18), b[1] = 0x80 | ((cp >> 12) & 0x3f), b[2] = 0x80 | ((cp >> 6) & 0x3f);
  b[3] = 0x80 | (cp & 0x3f);
  return 4;
}

/* The characters the rule makes visible, listed as the header does. */
static bool listed_unsafe(uint32_t cp) {
  static const uint32_t bidi[] = {0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b,
                                  0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069};
  if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f)) return true;
  for (size_t i = 0; i < sizeof bidi / sizeof bidi[0]; i++)
    if (bidi[i] == cp) return true;
  return false;
}

/* What one character must become in mode. */
static void expected_char(enum pl_escape_mode mode, uint32_t cp, char *want) {
  unsigned char b[4];
  size_t n = encode(cp, b);
  bool json = mode == PL_ESCAPE_JSON;
  if (json && (cp == '"' || cp == '\\'))
    snprintf(want, 16, "\\%c", (char)cp);
  else if (!listed_unsafe(cp))
    memcpy(want, b, n), want[n] = '\0';
  else if (cp == '\n' || cp == '\t' || cp == '\r' || (json && (cp == '\b' || cp == '\f')))
    snprintf(want, 16, "\\%c",
             cp == '\n'   ? 'n'
             : cp == '\t' ? 't'
             : cp == '\r' ? 'r'
             : cp == '\b' ? 'b'
                          : 'f');
  else if (!json && cp <= 0x7f)
    snprintf(want, 16, "\\x%02x", (unsigned)cp);
  else
    snprintf(want, 16, "\\u%04x", (unsigned)cp);
}

/* What a byte that is not valid UTF-8 must become in mode. */
static void expected_bad(enum pl_escape_mode mode, unsigned char byte, char *want) {
  if (mode == PL_ESCAPE_JSON)
    snprintf(want, 16, "\\ufffd");
  else
    snprintf(want, 16, "\\x%02x", byte);
}

static char *esc(enum pl_escape_mode mode, const void *s, size_t len) {
  size_t need = pl_escape(mode, s, len, NULL, 0);
  char *out = malloc(need + 1);
  assert_non_null(out);
  assert_int_equal(pl_escape(mode, s, len, out, need + 1), need);
  assert_int_equal(strlen(out), need);
  return out;
}

static void assert_renders(enum pl_escape_mode mode, const void *s, size_t len, const char *want) {
  char *got = esc(mode, s, len);
  if (strcmp(got, want) != 0) {
    print_error("input of %zu bytes (first 0x%02x): got \"%s\", want \"%s\"\n", len,
                len ? ((const unsigned char *)s)[0] : 0, got, want);
    fail();
  }
  free(got);
}

static const enum pl_escape_mode modes[] = {PL_ESCAPE_TEXT, PL_ESCAPE_JSON};

/* ---- the tests ---- */

static void test_escape_every_single_byte(void **state) {
  for (size_t m = 0; m < 2; m++)
    for (unsigned b = 0; b < 256; b++) {
      unsigned char c = (unsigned char)b;
      char want[16];
      if (b < 0x80)
        expected_char(modes[m], b, want);
      else
        expected_bad(modes[m], c, want);
      assert_renders(modes[m], &c, 1, want);
    }
}

static void test_escape_every_code_point_valid_or_not(void **state) {
  /* Every code point up to 2^21 in its shortest form: valid ones per the
   * list, surrogates and those above U+10FFFF byte by byte. */
  for (size_t m = 0; m < 2; m++)
    for (uint32_t cp = 0; cp < 0x200000; cp++) {
      unsigned char b[4];
      size_t n = encode(cp, b);
      char want[40] = "";
      if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        for (size_t i = 0; i < n; i++)
          expected_bad(modes[m], b[i], want + strlen(want));
      } else {
        expected_char(modes[m], cp, want);
      }
      bool valid = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
      char out[PL_ESCAPE_UNIT_MAX];
      size_t olen;
      assert_int_equal(pl_escape_unit(modes[m], (const char *)b, n, out, &olen), valid ? n : 1);
      assert_renders(modes[m], b, n, want);
    }
}

static void test_escape_every_overlong_form_is_bytes(void **state) {
  /* Each code point below a length's minimum, encoded at that length. */
  for (uint32_t cp = 0; cp < 0x10000; cp++) {
    unsigned char b[4];
    size_t lens[3] = {cp < 0x80 ? 2u : 0u, cp < 0x800 ? 3u : 0u, 4};
    for (size_t k = 0; k < 3; k++) {
      size_t n = lens[k];
      if (n == 2) b[0] = 0xc0 | (cp >> 6), b[1] = 0x80 | (cp & 0x3f);
      if (n == 3) b[0] = 0xe0, b[1] = 0x80 | ((cp >> 6) & 0x3f), b[2] = 0x80 | (cp & 0x3f);
      if (n == 4)
        b[0] = 0xf0, b[1] = 0x80 | ((cp >> 12) & 0x3f), b[2] = 0x80 | ((cp >> 6) & 0x3f),
        b[3] = 0x80 | (cp & 0x3f);
      if (n == 0) continue;
      char want[40] = "";
      for (size_t i = 0; i < n; i++)
        expected_bad(PL_ESCAPE_TEXT, b[i], want + strlen(want));
      assert_renders(PL_ESCAPE_TEXT, b, n, want);
    }
  }
}

/* The validity of a 2-, 3- or 4-byte sequence, by decoding it loosely and
 * checking the value's range: another formulation than lib/escape.c's. */
static bool valid_sequence(const unsigned char *b, size_t n) {
  if (n == 2 && (b[0] & 0xe0) != 0xc0) return false;
  if (n == 3 && (b[0] & 0xf0) != 0xe0) return false;
  if (n == 4 && (b[0] & 0xf8) != 0xf0) return false;
  uint32_t cp = b[0] & (0x7f >> n);
  for (size_t i = 1; i < n; i++) {
    if ((b[i] & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (b[i] & 0x3f);
  }
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  return cp >= min[n] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

/* s takes 1 or n bytes at its first unit, as the oracle says. */
static void check_first_unit(const unsigned char *b, size_t n) {
  for (size_t m = 0; m < 2; m++) {
    char out[PL_ESCAPE_UNIT_MAX];
    size_t olen;
    size_t took = pl_escape_unit(modes[m], (const char *)b, n, out, &olen);
    size_t want = valid_sequence(b, n) ? n : 1;
    if (took != want) {
      print_error("%02x %02x %02x %02x (n=%zu): took %zu, want %zu\n", b[0], n > 1 ? b[1] : 0,
                  n > 2 ? b[2] : 0, n > 3 ? b[3] : 0, n, took, want);
      fail();
    }
    if (want == 1 && b[0] >= 0x80) {
      char w[16];
      expected_bad(modes[m], b[0], w);
      assert_int_equal(olen, strlen(w));
      assert_memory_equal(out, w, olen);
    }
  }
}

static void test_escape_every_two_and_three_byte_sequence(void **state) {
  unsigned char b[3];
  for (unsigned b0 = 0xc0; b0 <= 0xdf; b0++)
    for (unsigned b1 = 0; b1 < 256; b1++) {
      b[0] = (unsigned char)b0, b[1] = (unsigned char)b1;
      check_first_unit(b, 2);
    }
  for (unsigned b0 = 0xe0; b0 <= 0xef; b0++)
    for (unsigned b1 = 0; b1 < 256; b1++)
      for (unsigned b2 = 0; b2 < 256; b2++) {
        b[0] = (unsigned char)b0, b[1] = (unsigned char)b1, b[2] = (unsigned char)b2;
        check_first_unit(b, 3);
      }
}

static void test_escape_four_byte_sequences_and_bytes_f5_to_ff(void **state) {
  static const unsigned char tails[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff};
  unsigned char b[4];
  for (unsigned b0 = 0xf0; b0 <= 0xff; b0++)
    for (unsigned b1 = 0; b1 < 256; b1++)
      for (size_t i = 0; i < sizeof tails; i++)
        for (size_t j = 0; j < sizeof tails; j++) {
          b[0] = (unsigned char)b0, b[1] = (unsigned char)b1, b[2] = tails[i], b[3] = tails[j];
          check_first_unit(b, 4);
        }
}

static void test_escape_truncated_sequences_show_each_byte_and_resync(void **state) {
  assert_renders(PL_ESCAPE_TEXT, "\xe2\x82", 2, "\\xe2\\x82");
  assert_renders(PL_ESCAPE_TEXT,
                 "\xe2\x82"
                 "A\xe2\x82\xac",
                 6, "\\xe2\\x82A\xe2\x82\xac");
  assert_renders(PL_ESCAPE_TEXT, "\xf0\x9f\x98", 3, "\\xf0\\x9f\\x98");
  assert_renders(PL_ESCAPE_TEXT, "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
  assert_renders(PL_ESCAPE_TEXT, "\xc3", 1, "\\xc3");
  assert_renders(PL_ESCAPE_JSON,
                 "\xf0\x9f\x98"
                 "x",
                 4, "\\ufffd\\ufffd\\ufffdx");
  /* The boundaries of each length. */
  assert_renders(PL_ESCAPE_TEXT, "\x7f\xc2\xa0\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 11,
                 "\\x7f\xc2\xa0\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf");
  assert_renders(PL_ESCAPE_TEXT, "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xf4\x90\x80\x80", 12,
                 "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\\xf4\\x90\\x80\\x80");
}

static void test_escape_terminal_attacks_are_made_visible(void **state) {
  /* OSC retitle, CSI by its 8-bit C1 form (raw and as UTF-8), a bidi
   * override, a fake second line. */
  const char *in = "\x1b]0;pwned\x07|\x9b"
                   "31m|\xc2\x9b"
                   "31m|\xe2\x80\xae"
                   "evil|a\nb\tc\rd";
  assert_renders(PL_ESCAPE_TEXT, in, strlen(in),
                 "\\x1b]0;pwned\\x07|\\x9b31m|\\u009b31m|\\u202eevil|a\\nb\\tc\\rd");
  assert_renders(PL_ESCAPE_JSON, in, strlen(in),
                 "\\u001b]0;pwned\\u0007|\\ufffd31m|\\u009b31m|\\u202eevil|a\\nb\\tc\\rd");
  assert_renders(PL_ESCAPE_JSON, "say \"hi\" \\ \x08\x0c\x7f", 14,
                 "say \\\"hi\\\" \\\\ \\b\\f\\u007f");
  assert_renders(PL_ESCAPE_TEXT, "C:\\path \"q\"", 11, "C:\\path \"q\"");
  /* An embedded NUL, when a length says so, is shown too. */
  assert_renders(PL_ESCAPE_TEXT, "a\0b", 3, "a\\x00b");
  assert_renders(PL_ESCAPE_JSON, "a\0b", 3, "a\\u0000b");
}

static void test_escape_truncates_at_a_unit_boundary_like_snprintf(void **state) {
  char out[8];
  /* "ab\x1b" -> "ab\x1b" is 6 bytes; with room for 4, the unit is dropped whole. */
  assert_int_equal(pl_escape(PL_ESCAPE_TEXT,
                             "ab\x1b"
                             "c",
                             4, out, 5),
                   7);
  assert_string_equal(out, "ab");
  assert_int_equal(pl_escape(PL_ESCAPE_TEXT,
                             "ab\x1b"
                             "c",
                             4, out, 8),
                   7);
  assert_string_equal(out, "ab\\x1bc");
  assert_int_equal(pl_escape(PL_ESCAPE_TEXT, "\xe2\x82\xac", 3, out, 3), 3);
  assert_string_equal(out, "");
  assert_int_equal(pl_escape(PL_ESCAPE_TEXT, "abc", 3, NULL, 0), 3);
  char *d = pl_escape_dup(PL_ESCAPE_JSON, "\x01\"");
  assert_string_equal(d, "\\u0001\\\"");
  free(d);
}

/* The JSON rendering of s, parsed by jansson (strict UTF-8), gives back s
 * with each invalid byte replaced by U+FFFD. */
static void check_json_roundtrip(const unsigned char *s, size_t len) {
  char *body = esc(PL_ESCAPE_JSON, s, len);
  size_t blen = strlen(body);
  char *doc = malloc(blen + 5);
  assert_non_null(doc);
  snprintf(doc, blen + 5, "[\"%s\"]", body);
  pl_error_t err = NULL;
  json_t *v = NULL;
  if (pl_json_parse(doc, strlen(doc), "escaped", &v, &err) < 0) {
    print_error("%s: %s\n", doc, err->msg);
    fail();
  }
  /* Expected: s with invalid bytes as U+FFFD (EF BF BD). */
  char *want = malloc(3 * len + 1);
  size_t w = 0;
  for (size_t i = 0; i < len;) {
    size_t n = 0;
    for (size_t k = 2; k <= 4 && i + k <= len && n == 0; k++)
      if (valid_sequence(s + i, k)) n = k;
    if (s[i] < 0x80) n = 1;
    if (n == 0) {
      memcpy(want + w, "\xef\xbf\xbd", 3), w += 3, i++;
    } else {
      memcpy(want + w, s + i, n), w += n, i += n;
    }
  }
  json_t *str = json_array_get(v, 0);
  assert_int_equal(json_string_length(str), w);
  assert_memory_equal(json_string_value(str), want, w);
  free(want);
  pl_json_decref(v);
  free(doc);
  free(body);
}

static void test_escape_json_is_valid_utf8_json_that_decodes_back(void **state) {
  unsigned char all[255];
  for (int i = 1; i < 256; i++)
    all[i - 1] = (unsigned char)i;
  check_json_roundtrip(all, sizeof all);
  const char *samples[] = {"\x1b]0;pwned\x07",         "\xc2\x80\xc2\x9f\xe2\x80\xa8\xe2\x80\xa9",
                           "\xed\xa0\x80\xed\xbf\xbf", "\xf4\x90\x80\x80\xf8\x88\x80\x80\x80",
                           "\xe0\x80\xaf\xc0\xaf",     "caf\xc3\xa9 \xf0\x9f\x90\x8d \xe2\x80\xae"};
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
    check_json_roundtrip((const unsigned char *)samples[i], strlen(samples[i]));
  /* Random strings biased towards UTF-8 lead and continuation bytes. */
  srand(12345);
  static const unsigned char pool[] = {0x01, 0x1b, 0x22, 0x41, 0x5c, 0x7f, 0x80, 0x9b,
                                       0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe2, 0xed, 0xef,
                                       0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x90, 0x8f, 0x61};
  for (int t = 0; t < 20000; t++) {
    unsigned char s[24];
    size_t len = 1 + (size_t)rand() % sizeof s;
    for (size_t i = 0; i < len; i++)
      s[i] = pool[(size_t)rand() % sizeof pool];
    check_json_roundtrip(s, len);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape_every_single_byte),
      cmocka_unit_test(test_escape_every_code_point_valid_or_not),
      cmocka_unit_test(test_escape_every_overlong_form_is_bytes),
      cmocka_unit_test(test_escape_every_two_and_three_byte_sequence),
      cmocka_unit_test(test_escape_four_byte_sequences_and_bytes_f5_to_ff),
      cmocka_unit_test(test_escape_truncated_sequences_show_each_byte_and_resync),
      cmocka_unit_test(test_escape_terminal_attacks_are_made_visible),
      cmocka_unit_test(test_escape_truncates_at_a_unit_boundary_like_snprintf),
      cmocka_unit_test(test_escape_json_is_valid_utf8_json_that_decodes_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
