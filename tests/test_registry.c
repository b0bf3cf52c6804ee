/* Unit tests: lib/registry.c — what the registry writer signs, the client accepts. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ed25519.h"
#include "file.h"
#include "registry.h"
#include "tuf.h"

static const char METADATA[] = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";

static uint32_t crc32(const void *data, size_t n) {
  const unsigned char *p = data;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

static void put16(FILE *f, unsigned v) {
  fputc(v & 255, f), fputc(v >> 8 & 255, f);
}
static void put32(FILE *f, uint32_t v) {
  put16(f, v & 0xffff), put16(f, v >> 16);
}

/* A stored (uncompressed) zip holding the given entries. */
static void write_zip(const char *path, const char *const *names, const char *const *datas, int n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  long offs[8];
  for (int i = 0; i < n; i++) {
    offs[i] = ftell(f);
    size_t nl = strlen(names[i]), dl = strlen(datas[i]);
    put32(f, 0x04034b50), put16(f, 20), put16(f, 0), put16(f, 0), put16(f, 0), put16(f, 0x21);
    put32(f, crc32(datas[i], dl)), put32(f, (uint32_t)dl), put32(f, (uint32_t)dl);
    put16(f, (unsigned)nl), put16(f, 0);
    fwrite(names[i], 1, nl, f);
    fwrite(datas[i], 1, dl, f);
  }
  long cd = ftell(f);
  for (int i = 0; i < n; i++) {
    size_t nl = strlen(names[i]), dl = strlen(datas[i]);
    put32(f, 0x02014b50), put16(f, 20), put16(f, 20), put16(f, 0), put16(f, 0), put16(f, 0);
    put16(f, 0x21), put32(f, crc32(datas[i], dl)), put32(f, (uint32_t)dl), put32(f, (uint32_t)dl);
    put16(f, (unsigned)nl), put16(f, 0), put16(f, 0), put16(f, 0), put16(f, 0), put32(f, 0);
    put32(f, (uint32_t)offs[i]);
    fwrite(names[i], 1, nl, f);
  }
  long end = ftell(f);
  put32(f, 0x06054b50), put16(f, 0), put16(f, 0), put16(f, (unsigned)n), put16(f, (unsigned)n);
  put32(f, (uint32_t)(end - cd)), put32(f, (uint32_t)cd), put16(f, 0);
  fclose(f);
}

struct fx {
  char dir[64], reg[96], wheel[160], anchor[128];
  struct pl_key k1, k2;
  pl_error_t err;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-test-reg-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->reg, sizeof f->reg, "%s/reg", f->dir);
  snprintf(f->anchor, sizeof f->anchor, "%s/reg/1.root.json", f->dir);
  snprintf(f->wheel, sizeof f->wheel, "%s/demo-1.0-py3-none-any.whl", f->dir);
  const char *names[] = {"demo/__init__.py", "demo-1.0.dist-info/METADATA",
                         "demo-1.0.dist-info/RECORD"};
  const char *datas[] = {"x = 1\n", METADATA, ""};
  write_zip(f->wheel, names, datas, 3);
  assert_int_equal(pl_key_generate(&f->k1, &f->err), 0);
  assert_int_equal(pl_key_generate(&f->k2, &f->err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  pl_error_free(&f->err);
  free(f);
  return 0;
}

static struct pl_tuf *client(struct fx *f) {
  struct pl_tuf_options o = {.url = f->reg, .root_path = f->anchor};
  struct pl_tuf *t = NULL;
  pl_error_free(&f->err);
  if (pl_tuf_update(&o, &t, &f->err) < 0) return NULL;
  return t;
}

static void test_registry_written_by_init_and_add_verifies_in_client(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
  struct pl_tuf *t = client(f);
  if (t == NULL) fail_msg("%s", f->err->msg);
  assert_int_equal(pl_tuf_target_count(t), 2);
  char *buf;
  size_t len;
  assert_int_equal(
      pl_tuf_fetch_target_mem(t, "demo-1.0-py3-none-any.whl.metadata", &buf, &len, &f->err), 0);
  assert_string_equal(buf, METADATA);
  free(buf);
  assert_int_equal(pl_tuf_fetch_target_mem(t, "demo-1.0-py3-none-any.whl", &buf, &len, &f->err), 0);
  free(buf);
  int64_t v;
  pl_tuf_role_info(t, PL_TUF_TARGETS, &v, NULL);
  assert_int_equal(v, 2);
  pl_tuf_free(t);
  /* Adding the same bytes again changes nothing but versions. */
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
}

static void test_registry_add_refuses_new_bytes_under_published_name(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
  const char *names[] = {"demo-1.0.dist-info/METADATA"};
  const char *datas[] = {"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: changed\n"};
  write_zip(f->wheel, names, datas, 1);
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "already in the registry with different content"));
}

static void test_registry_add_refuses_wheel_without_metadata(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *names[] = {"demo/__init__.py"};
  const char *datas[] = {"x = 1\n"};
  write_zip(f->wheel, names, datas, 1);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "no *.dist-info/METADATA"));
}

static void test_registry_sign_rotates_root_and_client_follows(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *rm[] = {f->k1.keyid};
  struct pl_registry_opts rot = {.keys = &f->k1,
                                 .nkeys = 1,
                                 .add_root_keys = &f->k2,
                                 .nadd_root_keys = 1,
                                 .remove_root_keyids = rm,
                                 .nremove_root_keyids = 1};
  assert_int_equal(pl_registry_sign(f->reg, &rot, &f->err), 0);
  struct pl_tuf *t = client(f);
  if (t == NULL) fail_msg("%s", f->err->msg);
  int64_t v;
  pl_tuf_role_info(t, PL_TUF_ROOT, &v, NULL);
  assert_int_equal(v, 2);
  pl_tuf_free(t);
  /* The old key alone can no longer sign a root. */
  struct pl_registry_opts old = {.keys = &f->k1, .nkeys = 1, .renew_root = true};
  assert_int_equal(pl_registry_sign(f->reg, &old, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "cannot sign 3.root.json"));
  struct stat st;
  char p3[160];
  snprintf(p3, sizeof p3, "%s/3.root.json", f->reg);
  assert_int_equal(stat(p3, &st), -1);
}

static void test_registry_threshold_two_needs_both_keys(void **state) {
  struct fx *f = *state;
  struct pl_key both[2] = {f->k1, f->k2};
  struct pl_registry_opts o = {.keys = both, .nkeys = 1, .threshold = 2};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), -1);
  o.nkeys = 2;
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  struct pl_tuf *t = client(f);
  assert_non_null(t);
  pl_tuf_free(t);
  struct pl_registry_opts one = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_sign(f->reg, &one, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "needs 2 signature(s)"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_registry_written_by_init_and_add_verifies_in_client),
      T(test_registry_add_refuses_new_bytes_under_published_name),
      T(test_registry_add_refuses_wheel_without_metadata),
      T(test_registry_sign_rotates_root_and_client_follows),
      T(test_registry_threshold_two_needs_both_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
