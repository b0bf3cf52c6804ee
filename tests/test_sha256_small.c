/* pylock — unit tests: the front end's SHA-256 (lib/sha256_small.c) against FIPS 180-4 and OpenSSL.
 */
/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha.h"
#include "sha256_small.h"

static void hex_of(const void *data, size_t n, char out[PL_SHA256_HEX]) {
  unsigned char md[32];
  pl_sha256_small(data, n, md);
  pl_hex_encode(md, sizeof md, out);
}

/* FIPS 180-4's examples (NIST's SHA256.pdf) and the empty message. */
static void test_sha256_small_gives_the_standard_digests(void **state) {
  char hex[PL_SHA256_HEX];
  hex_of("", 0, hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hex_of("abc", 3, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hex_of(two, strlen(two), hex);
  assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  char *million = malloc(1000000);
  assert_non_null(million);
  memset(million, 'a', 1000000);
  hex_of(million, 1000000, hex);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(million);
}

/* Every length across the padding's edges (55, 56, 63, 64, 119, 120...) and
 * some beyond: the same digest as OpenSSL's, which the full pylock uses. */
static void test_sha256_small_agrees_with_openssl_at_every_length(void **state) {
  unsigned char buf[1100];
  uint32_t x = 0x12345678;
  for (size_t i = 0; i < sizeof buf; i++) {
    x = x * 1103515245u + 12345u;
    buf[i] = (unsigned char)(x >> 16);
  }
  for (size_t n = 0; n <= sizeof buf; n++) {
    char mine[PL_SHA256_HEX], theirs[PL_SHA256_HEX];
    pl_error_t err = NULL;
    hex_of(buf, n, mine);
    assert_int_equal(pl_sha256_hex(buf, n, theirs, &err), 0);
    if (strcmp(mine, theirs) != 0) fail_msg("length %zu: %s, OpenSSL %s", n, mine, theirs);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_small_gives_the_standard_digests),
      cmocka_unit_test(test_sha256_small_agrees_with_openssl_at_every_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
