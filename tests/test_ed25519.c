/* Unit tests: lib/ed25519.c — keys, signatures, keyids, key files. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ed25519.h"

static void test_ed25519_signature_verifies_and_tampering_fails(void **state) {
  pl_error_t err = NULL;
  struct pl_key k;
  assert_int_equal(pl_key_generate(&k, &err), 0);
  unsigned char sig[PL_ED25519_SIG];
  assert_int_equal(pl_key_sign(&k, "hello", 5, sig, &err), 0);
  assert_int_equal(pl_key_verify(k.pub, "hello", 5, sig, &err), 0);
  assert_int_equal(pl_key_verify(k.pub, "hellO", 5, sig, &err), -1);
  pl_error_free(&err);
  sig[3] ^= 1;
  assert_int_equal(pl_key_verify(k.pub, "hello", 5, sig, &err), -1);
  pl_error_free(&err);
  pl_key_wipe(&k);
}

static void test_ed25519_rfc8032_vector_1(void **state) {
  /* RFC 8032 section 7.1, TEST 1: empty message. */
  pl_error_t err = NULL;
  struct pl_key pub;
  assert_int_equal(
      pl_key_from_public_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                             &pub, &err),
      0);
  static const char sighex[] =
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
      "b46bd25bf5f0595bbe24655141438e7a100b";
  unsigned char sig[64];
  for (int i = 0; i < 64; i++) {
    unsigned v;
    sscanf(sighex + 2 * i, "%2x", &v);
    sig[i] = (unsigned char)v;
  }
  assert_int_equal(pl_key_verify(pub.pub, "", 0, sig, &err), 0);
}

static void test_ed25519_keyid_is_sha256_of_canonical_public_key(void **state) {
  pl_error_t err = NULL;
  struct pl_key k;
  /* Expected value: sha256 of
   * {"keytype":"ed25519","keyval":{"public":"d75a...511a"},"scheme":"ed25519"}. */
  assert_int_equal(
      pl_key_from_public_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", &k,
                             &err),
      0);
  assert_string_equal(k.keyid, "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916");
  assert_false(k.has_seed);
}

static void test_ed25519_key_file_round_trip_is_private_and_never_overwritten(void **state) {
  pl_error_t err = NULL;
  char dir[] = "/tmp/pl-test-key-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], pub[256];
  snprintf(path, sizeof path, "%s/k.key", dir);
  snprintf(pub, sizeof pub, "%s/k.key.pub", dir);
  struct pl_key k, back, pubk;
  assert_int_equal(pl_key_generate(&k, &err), 0);
  assert_int_equal(pl_key_save(path, &k, &err), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(pl_key_load(path, &back, &err), 0);
  assert_true(back.has_seed);
  assert_memory_equal(back.seed, k.seed, 32);
  assert_string_equal(back.keyid, k.keyid);
  assert_int_equal(pl_key_load(pub, &pubk, &err), 0);
  assert_false(pubk.has_seed);
  assert_string_equal(pubk.keyid, k.keyid);
  assert_int_equal(pl_key_save(path, &k, &err), -1);
  assert_int_equal(err->errnum, EEXIST);
  pl_error_free(&err);
  chmod(path, 0644);
  assert_int_equal(pl_key_load(path, &back, &err), -1);
  assert_non_null(strstr(err->hint, "chmod 600"));
  pl_error_free(&err);
  unlink(path);
  unlink(pub);
  rmdir(dir);
  pl_key_wipe(&k);
  pl_key_wipe(&back);
}

/* Standard input (a pipe) carries a key that never sat in a file; a key
 * file is the caller's, or refused: its owner could swap in their own. */
static void test_ed25519_key_from_a_pipe_and_a_file_not_ours(void **state) {
  pl_error_t err = NULL;
  struct pl_key k, back;
  assert_int_equal(pl_key_generate(&k, &err), 0);
  char hex[65], text[128];
  for (int i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", k.seed[i]);
  int n = snprintf(text, sizeof text, "%s\n%s\n", PL_KEY_PRIVATE_HEADER, hex);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], text, (size_t)n), n);
  close(fds[1]);
  assert_int_equal(pl_key_load_fd(fds[0], "stdin", false, &back, &err), 0);
  close(fds[0]);
  assert_true(back.has_seed);
  assert_string_equal(back.keyid, k.keyid);
  pl_key_wipe(&back);
  /* A pipe is no key file. */
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], text, (size_t)n), n);
  close(fds[1]);
  assert_int_equal(pl_key_load_fd(fds[0], "pipe", true, &back, &err), -1);
  close(fds[0]);
  pl_error_free(&err);
  if (geteuid() == 0) {
    char dir[] = "/tmp/pl-test-key-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k.key", dir);
    assert_int_equal(pl_key_save(path, &k, &err), 0);
    assert_int_equal(pl_key_load(path, &back, &err), 0);
    pl_key_wipe(&back);
    assert_int_equal(chown(path, 4242, 4242), 0);
    assert_int_equal(pl_key_load(path, &back, &err), -1);
    assert_int_equal(err->errnum, PL_REFUSED);
    assert_non_null(strstr(err->msg, "owned by uid 4242"));
    pl_error_free(&err);
    unlink(path);
    snprintf(path, sizeof path, "%s/k.key.pub", dir);
    unlink(path);
    rmdir(dir);
  }
  pl_key_wipe(&k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ed25519_signature_verifies_and_tampering_fails),
      cmocka_unit_test(test_ed25519_rfc8032_vector_1),
      cmocka_unit_test(test_ed25519_keyid_is_sha256_of_canonical_public_key),
      cmocka_unit_test(test_ed25519_key_file_round_trip_is_private_and_never_overwritten),
      cmocka_unit_test(test_ed25519_key_from_a_pipe_and_a_file_not_ours),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
