/* Unit tests: lib/wheel.c and its parsers — what may enter an environment. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "archive_path.h"
#include "cleanup.h"
#include "digest.h"
#include "distname.h"
#include "dyn_archive.h"
#include "metadata.h"
#include "record.h"
#include "tags.h"
#include "wheel.h"

static const struct pl_wheel_interp cp312 = {
    .impl = "cp",
    .py_major = 3,
    .py_minor = 12,
    .abi = "cp312",
    .abi3 = true,
    .arch = "x86_64",
    .libc = PL_LIBC_GLIBC,
    .libc_major = 2,
    .libc_minor = 36,
};

/* ---- a tiny wheel builder ---------------------------------------------- */

struct zfile {
  const char *name;
  const char *data; /* NULL: size bytes of zeros */
  size_t size;
  unsigned type; /* 0: regular file */
  const char *link;
  int perm;
};

#define ZMAX 64
struct spec {
  const char *filename; /* default demo-1.0-py3-none-any.whl */
  struct zfile files[ZMAX];
  size_t n;
  const char *metadata;
  const char *wheel;
  const char *record;       /* replaces the generated RECORD when set */
  const char *record_extra; /* appended to the generated RECORD */
  const char *omit;         /* path left out of the generated RECORD */
  const char *bad_hash;     /* path whose digest is altered in RECORD */
  const char *bad_size;     /* path whose size is altered in RECORD */
  enum pl_hash_algo algo;   /* default sha256 */
};

static void add(struct spec *s, const char *name, const char *data) {
  assert_true(s->n < ZMAX);
  s->files[s->n++] = (struct zfile){.name = name, .data = data, .size = data ? strlen(data) : 0};
}

static void add_zeros(struct spec *s, const char *name, size_t size) {
  assert_true(s->n < ZMAX);
  s->files[s->n++] = (struct zfile){.name = name, .size = size};
}

static void write_entry(struct archive *a, const struct zfile *f) {
  struct archive_entry *e = archive_entry_new();
  unsigned type = f->type ? f->type : AE_IFREG;
  archive_entry_set_pathname_utf8(e, f->name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, f->perm ? f->perm : (type == AE_IFDIR ? 0755 : 0644));
  if (f->link) archive_entry_set_symlink(e, f->link);
  archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)f->size : 0);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  if (type == AE_IFREG && f->size) {
    if (f->data) {
      assert_int_equal(archive_write_data(a, f->data, f->size), (la_ssize_t)f->size);
    } else {
      char *z = calloc(1, f->size);
      assert_int_equal(archive_write_data(a, z, f->size), (la_ssize_t)f->size);
      free(z);
    }
  }
  archive_entry_free(e);
}

/* RECORD row for f, quoting the path as Python's csv module would. */
static void record_row(char **rec, size_t *len, FILE *out, const struct spec *s,
                       const struct zfile *f) {
  enum pl_hash_algo algo = s->algo ? s->algo : PL_HASH_SHA256;
  unsigned char d[PL_HASH_MAX];
  size_t dl;
  pl_error_t err = NULL;
  char *z = f->data ? NULL : calloc(1, f->size + 1);
  assert_int_equal(pl_digest_buffer(algo, f->data ? f->data : z, f->size, d, &dl, &err), 0);
  free(z);
  if (s->bad_hash && strcmp(s->bad_hash, f->name) == 0) d[0] ^= 1;
  char b64[2 * PL_HASH_MAX];
  pl_record_b64(b64, sizeof b64, d, dl);
  size_t size = f->size + (s->bad_size && strcmp(s->bad_size, f->name) == 0 ? 1 : 0);
  if (strpbrk(f->name, ",\"")) {
    fputc('"', out);
    for (const char *p = f->name; *p; p++) {
      if (*p == '"') fputc('"', out);
      fputc(*p, out);
    }
    fputc('"', out);
  } else {
    fputs(f->name, out);
  }
  fprintf(out, ",%s=%s,%zu\n", pl_hash_algo_name(algo), b64, size);
}

/* Build the wheel described by s into a memfd; returns the fd. */
static int build(const struct spec *s) {
  assert_int_equal(pl_dynlib_load(PL_LIB_ARCHIVE, NULL), 0);
  const char *md =
      s->metadata ? s->metadata : "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\nbody\n";
  const char *wh = s->wheel ? s->wheel
                            : "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n";
  struct zfile meta[3] = {{.name = "demo-1.0.dist-info/METADATA", .data = md, .size = strlen(md)},
                          {.name = "demo-1.0.dist-info/WHEEL", .data = wh, .size = strlen(wh)},
                          {.name = "demo-1.0.dist-info/RECORD"}};
  char *rec = NULL;
  size_t rlen = 0;
  FILE *out = open_memstream(&rec, &rlen);
  for (size_t i = 0; i < s->n; i++)
    if ((s->files[i].type == 0 || s->files[i].type == AE_IFREG) && !s->files[i].link &&
        !(s->omit && strcmp(s->omit, s->files[i].name) == 0))
      record_row(&rec, &rlen, out, s, &s->files[i]);
  for (int i = 0; i < 2; i++)
    if (!(s->omit && strcmp(s->omit, meta[i].name) == 0)) record_row(&rec, &rlen, out, s, &meta[i]);
  fputs("demo-1.0.dist-info/RECORD,,\n", out);
  if (s->record_extra) fputs(s->record_extra, out);
  fclose(out);
  meta[2].data = s->record ? s->record : rec;
  meta[2].size = strlen(meta[2].data);

  int fd = memfd_create("wheel", MFD_CLOEXEC);
  assert_true(fd >= 0);
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
  assert_int_equal(archive_write_zip_set_compression_deflate(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
  for (size_t i = 0; i < s->n; i++)
    write_entry(a, &s->files[i]);
  for (int i = 0; i < 3; i++)
    write_entry(a, &meta[i]);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  free(rec);
  return fd;
}

static const char *FN = "demo-1.0-py3-none-any.whl";

/* Verify; on failure the error message is kept in *msg (caller frees). */
static int verify_with(const struct spec *s, const struct pl_wheel_limits *lim, char **msg) {
  pl_error_t err = NULL;
  struct pl_wheel_info info = {0};
  int fd = build(s);
  int r = pl_wheel_verify_stream(fd, s->filename ? s->filename : FN, &cp312, lim, NULL, NULL, &info,
                                 &err);
  close(fd);
  if (msg) *msg = r < 0 ? pl_error_string(err) : NULL;
  if (r == 0) assert_null(err);
  pl_error_free(&err);
  pl_wheel_info_free(&info);
  return r;
}

static void expect_ok(const struct spec *s) {
  char *msg = NULL;
  int r = verify_with(s, NULL, &msg);
  if (r != 0) print_error("unexpected rejection: %s\n", msg);
  assert_int_equal(r, 0);
}

static void expect_reject(const struct spec *s, const struct pl_wheel_limits *lim,
                          const char *needle) {
  char *msg = NULL;
  assert_int_equal(verify_with(s, lim, &msg), -1);
  assert_non_null(msg);
  if (strstr(msg, needle) == NULL) print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
  assert_non_null(strstr(msg, needle));
  assert_non_null(strstr(msg, "wheel demo-1.0")); /* names the wheel */
  free(msg);
}

static struct spec base(void) {
  struct spec s = {0};
  add(&s, "demo/__init__.py", "print('hi')\n");
  add(&s, "demo/data.txt", "some data\n");
  return s;
}

/* ---- whole-wheel behaviour --------------------------------------------- */

static void test_wheel_accepts_valid_wheel_and_reports_its_contents(void **state) {
  struct spec s = base();
  s.files[0].perm = 0755;
  int fd = build(&s);
  pl_error_t err = NULL;
  struct pl_wheel_info info = {0};
  assert_int_equal(pl_wheel_verify(fd, FN, &cp312, &info, &err), 0);
  assert_null(err);
  assert_string_equal(info.name, "demo");
  assert_string_equal(info.version, "1.0");
  assert_string_equal(info.metadata_version, "2.1");
  assert_string_equal(info.dist_info, "demo-1.0.dist-info");
  assert_null(info.data_dir);
  assert_true(info.wheel.root_is_purelib);
  assert_int_equal(info.wheel.version_major, 1);
  assert_int_equal(info.wheel.ntags, 1);
  assert_string_equal(info.filename.python[0], "py3");
  assert_int_equal(info.record.n, 5); /* 2 files, METADATA, WHEEL, RECORD */
  assert_int_equal(info.files, 5);
  const struct pl_record_entry *e = pl_record_find(&info.record, "demo/__init__.py");
  assert_non_null(e);
  assert_int_equal(e->algo, PL_HASH_SHA256);
  assert_int_equal(e->size, 12);
  assert_true(e->executable);
  assert_false(pl_record_find(&info.record, "demo/data.txt")->executable);
  pl_wheel_info_free(&info);
  close(fd);
}

static void test_wheel_rejects_dotdot_path(void **state) {
  struct spec s = base();
  add(&s, "../evil.py", "x");
  expect_reject(&s, NULL, "\"..\" component");
  s = base();
  add(&s, "demo/../../evil.py", "x");
  expect_reject(&s, NULL, "\"..\" component");
  s = base();
  add(&s, "demo/..hidden..py", "x"); /* dots inside a name are fine */
  expect_ok(&s);
}

static void test_wheel_rejects_absolute_path(void **state) {
  struct spec s = base();
  add(&s, "/etc/evil", "x");
  expect_reject(&s, NULL, "absolute member name");
}

static void test_wheel_rejects_backslash_and_control_chars_in_names(void **state) {
  struct spec s = base();
  add(&s, "demo\\evil.py", "x"); /* rejected, whether or not libarchive maps it to '/' */
  assert_int_equal(verify_with(&s, NULL, NULL), -1);
  s = base();
  add(&s, "demo/\x1b[2Jevil.py", "x");
  expect_reject(&s, NULL, "\\x1b"); /* and the message shows it escaped */
  s = base();
  add(&s, "demo/caf\xc3\xa9.py", "x"); /* UTF-8 names are fine */
  expect_ok(&s);
}

static void test_wheel_rejects_symlink_entry(void **state) {
  struct spec s = base();
  s.files[s.n++] = (struct zfile){.name = "demo/link", .type = AE_IFLNK, .link = "/etc/passwd"};
  expect_reject(&s, NULL, "symbolic links are not allowed");
}

static void test_wheel_entry_type_check_rejects_hardlinks_and_devices(void **state) {
  pl_error_t err = NULL;
  assert_int_equal(pl_wheel_check_entry_type("a", AE_IFREG, "b", NULL, &err), -1);
  assert_non_null(strstr(err->msg, "hard links are not allowed"));
  assert_int_equal(pl_wheel_check_entry_type("a", AE_IFCHR, NULL, NULL, &err), -1);
  assert_non_null(strstr(err->msg, "character device"));
  assert_int_equal(pl_wheel_check_entry_type("a", AE_IFIFO, NULL, NULL, &err), -1);
  assert_non_null(strstr(err->msg, "fifo"));
  pl_error_free(&err);
  assert_int_equal(pl_wheel_check_entry_type("a", AE_IFREG, NULL, NULL, &err), 0);
  assert_int_equal(pl_wheel_check_entry_type("a/", AE_IFDIR, NULL, NULL, &err), 0);
  assert_null(err);
}

/* libarchive will not write a fifo or device into a zip, so rewrite the
 * unix mode in the central directory entry of `name`. */
static void patch_mode(int fd, const char *name, unsigned mode) {
  off_t size = lseek(fd, 0, SEEK_END);
  unsigned char *z = malloc((size_t)size);
  assert_int_equal(pread(fd, z, (size_t)size, 0), size);
  size_t nl = strlen(name);
  bool done = false;
  for (off_t i = 0; i + 46 + (off_t)nl <= size; i++)
    if (memcmp(z + i, "PK\1\2", 4) == 0 && z[i + 28] == nl && z[i + 29] == 0 &&
        memcmp(z + i + 46, name, nl) == 0) {
      z[i + 5] = 3; /* made by unix */
      z[i + 40] = (unsigned char)(mode & 0xff);
      z[i + 41] = (unsigned char)(mode >> 8);
      done = true;
    }
  assert_true(done);
  assert_int_equal(pwrite(fd, z, (size_t)size, 0), size);
  free(z);
}

static void test_wheel_rejects_device_and_socket_entries(void **state) {
  /* (libarchive reads a fifo's mode as a regular file: its bytes are then
   * verified like any other file's.) */
  static const unsigned modes[] = {0020644, 0060644, 0140644};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    struct spec s = base();
    int fd = build(&s);
    patch_mode(fd, "demo/data.txt", modes[i]);
    pl_error_t err = NULL;
    struct pl_wheel_info info = {0};
    assert_int_equal(pl_wheel_verify(fd, FN, &cp312, &info, &err), -1);
    assert_non_null(strstr(err->msg, "is not allowed in a wheel"));
    pl_error_free(&err);
    close(fd);
  }
  struct spec s = base(); /* the patch itself leaves a regular file acceptable */
  int fd = build(&s);
  patch_mode(fd, "demo/data.txt", 0100755);
  pl_error_t err = NULL;
  struct pl_wheel_info info = {0};
  assert_int_equal(pl_wheel_verify(fd, FN, &cp312, &info, &err), 0);
  assert_true(pl_record_find(&info.record, "demo/data.txt")->executable);
  pl_wheel_info_free(&info);
  close(fd);
}

static void test_wheel_rejects_duplicate_entry(void **state) {
  struct spec s = base();
  add(&s, "demo/__init__.py", "print('other')\n");
  expect_reject(&s, NULL, "duplicate entry \"demo/__init__.py\"");
}

static void test_wheel_rejects_names_differing_only_in_case(void **state) {
  struct spec s = base();
  add(&s, "demo/DATA.txt", "x");
  expect_reject(&s, NULL, "differ only in letter case");
}

static void test_wheel_rejects_file_that_is_also_a_directory(void **state) {
  struct spec s = base();
  add(&s, "demo/data.txt/inner.py", "x");
  expect_reject(&s, NULL, "is a file but");
  s = base();
  s.files[s.n++] = (struct zfile){.name = "demo/sub/", .type = AE_IFDIR};
  add(&s, "demo/sub/inner.py", "x"); /* a directory entry and its files are fine */
  expect_ok(&s);
}

static void test_wheel_rejects_file_missing_from_record(void **state) {
  struct spec s = base();
  s.omit = "demo/data.txt";
  expect_reject(&s, NULL, "entry \"demo/data.txt\": not listed in RECORD");
}

static void test_wheel_rejects_record_entry_absent_from_archive(void **state) {
  struct spec s = base();
  s.record_extra = "demo/ghost.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n";
  expect_reject(&s, NULL, "RECORD lists \"demo/ghost.py\" but the wheel has no such file");
}

static void test_wheel_rejects_record_hash_mismatch(void **state) {
  struct spec s = base();
  s.bad_hash = "demo/data.txt";
  expect_reject(&s, NULL, "entry \"demo/data.txt\": hash mismatch: RECORD says sha256=");
  s = base();
  s.bad_hash = "demo-1.0.dist-info/METADATA"; /* the parsed metadata too */
  expect_reject(&s, NULL, "hash mismatch");
}

static void test_wheel_rejects_record_size_mismatch(void **state) {
  struct spec s = base();
  s.bad_size = "demo/data.txt";
  expect_reject(&s, NULL, "entry \"demo/data.txt\": size mismatch: RECORD says 11 bytes, got 10");
}

static void test_wheel_rejects_md5_and_sha1_in_record(void **state) {
  struct spec s = base();
  s.record_extra = "demo/x.py,md5=1B2M2Y8AsgTpgAmY7PhCfg,0\n";
  add(&s, "demo/x.py", "");
  s.omit = "demo/x.py";
  expect_reject(&s, NULL, "md5 is weaker than sha256");
  s.record_extra = "demo/x.py,sha1=2jmj7l5rSw0yVb_vlWAYkK_YBwk,0\n";
  expect_reject(&s, NULL, "sha1 is weaker than sha256");
}

static void test_wheel_accepts_sha512_record(void **state) {
  struct spec s = base();
  s.algo = PL_HASH_SHA512;
  expect_ok(&s);
}

static void test_wheel_accepts_quoted_record_paths_with_commas(void **state) {
  struct spec s = base();
  add(&s, "demo/a,b\"c.txt", "quoted");
  expect_ok(&s);
}

static void test_wheel_rejects_zip_bomb_entry(void **state) {
  struct spec s = base();
  add_zeros(&s, "demo/bomb.bin", 8u << 20); /* ~1000:1 */
  expect_reject(&s, NULL, "compression ratio limit (zip bomb?)");
}

static void test_wheel_accepts_large_incompressible_entry(void **state) {
  struct spec s = base();
  size_t n = 2u << 20;
  char *buf = malloc(n + 1);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    buf[i] = (char)('A' + ((x >> 16) % 26)); /* ~1.7:1, past the 1 MiB floor */
  }
  buf[n] = '\0';
  add(&s, "demo/big.txt", buf);
  expect_ok(&s);
  free(buf);
}

static void test_wheel_rejects_entry_over_size_limit(void **state) {
  struct pl_wheel_limits lim = pl_wheel_default_limits;
  lim.max_entry_size = 10;
  struct spec s = {0};
  add(&s, "demo/__init__.py", "0123456789");
  char *msg = NULL;
  assert_int_equal(verify_with(&s, &lim, &msg), -1); /* METADATA is over 10 bytes */
  assert_non_null(strstr(msg, "size limit: expected at most 10 bytes"));
  free(msg);
}

static void test_wheel_rejects_too_many_entries(void **state) {
  struct pl_wheel_limits lim = pl_wheel_default_limits;
  struct spec s = base(); /* 2 files + 3 dist-info files */
  lim.max_entries = 5;
  assert_int_equal(verify_with(&s, &lim, NULL), 0);
  add(&s, "demo/one_more.py", "");
  expect_reject(&s, &lim, "entry count limit: expected at most 5 entries");
}

static void test_wheel_rejects_wheel_version_2(void **state) {
  struct spec s = base();
  s.wheel = "Wheel-Version: 2.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
  expect_reject(&s, NULL, "Wheel-Version 2.0 is not supported");
  s.wheel = "Wheel-Version: 1.9\nRoot-Is-Purelib: false\nTag: py3-none-any\n";
  expect_ok(&s);
}

static void test_wheel_rejects_metadata_name_mismatch(void **state) {
  struct spec s = base();
  s.metadata = "Metadata-Version: 2.1\nName: other\nVersion: 1.0\n";
  expect_reject(&s, NULL, "METADATA name mismatch: filename says demo, METADATA says \"other\"");
  s.metadata = "Metadata-Version: 2.1\nName: DEMO\nVersion: 1.0\n"; /* PEP 503 equal */
  expect_ok(&s);
}

static void test_wheel_rejects_metadata_version_mismatch(void **state) {
  struct spec s = base();
  s.metadata = "Metadata-Version: 2.1\nName: demo\nVersion: 1.1\n";
  expect_reject(&s, NULL, "METADATA version mismatch: filename says 1.0, METADATA says \"1.1\"");
}

static void test_wheel_rejects_missing_metadata_version(void **state) {
  struct spec s = base();
  s.metadata = "Name: demo\nVersion: 1.0\n";
  expect_reject(&s, NULL, "lacks Metadata-Version");
}

static void test_wheel_rejects_bad_filename(void **state) {
  struct spec s = base();
  s.filename = "demo-1.0-py3-none.whl";
  char *msg = NULL;
  assert_int_equal(verify_with(&s, NULL, &msg), -1);
  assert_non_null(strstr(msg, "fewer than 5 dash-separated parts"));
  free(msg);
}

static void test_wheel_rejects_incompatible_tag(void **state) {
  struct spec s = base();
  s.filename = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl";
  s.wheel = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64\n";
  expect_reject(&s, NULL, "incompatible tags: no tag of cp311-cp311-manylinux_2_17_x86_64 fits");
  s.filename = "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl";
  s.wheel = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp312-cp312-manylinux_2_17_x86_64\n";
  expect_ok(&s);
}

static void test_wheel_rejects_filename_tag_missing_from_wheel_file(void **state) {
  struct spec s = base();
  s.filename = "demo-1.0-py2.py3-none-any.whl";
  expect_reject(&s, NULL, "tag mismatch: filename has py2-none-any");
}

static void test_wheel_rejects_second_dist_info_and_foreign_data_dir(void **state) {
  struct spec s = base();
  add(&s, "other-2.0.dist-info/METADATA", "x");
  expect_reject(&s, NULL, "more than one .dist-info directory");
  s = base();
  add(&s, "evil.data/scripts/x", "x");
  expect_reject(&s, NULL, "unexpected .data directory");
  s = base();
  add(&s, "demo-1.0.data/etc/x", "x");
  expect_reject(&s, NULL, "not under a known scheme");
  s = base();
  add(&s, "demo-1.0.data/scripts/tool", "#!python\n");
  expect_ok(&s);
}

static void test_wheel_rejects_missing_record(void **state) {
  struct spec s = base();
  s.record = "";
  expect_reject(&s, NULL, "not listed in RECORD");
}

/* ---- streaming ----------------------------------------------------------- */

struct sink_state {
  int begun, ended;
  size_t bytes;
  int fail_at;
};

static int s_begin(void *c, const struct pl_wheel_entry *e, pl_error_t *err) {
  struct sink_state *s = c;
  if (++s->begun == s->fail_at) return pl_fail(err, ENOSPC, "disk full");
  return 0;
}
static int s_data(void *c, const void *b, size_t n, pl_error_t *err) {
  ((struct sink_state *)c)->bytes += n;
  return 0;
}
static int s_end(void *c, const struct pl_wheel_entry *e, pl_error_t *err) {
  struct sink_state *s = c;
  assert_true(e->is_dir || e->record != NULL);
  s->ended++;
  return 0;
}

static void test_wheel_stream_sink_sees_every_verified_entry_and_can_abort(void **state) {
  struct spec s = base();
  const struct pl_wheel_sink sink = {s_begin, s_data, s_end, NULL};
  struct sink_state st = {0};
  struct pl_wheel_info info = {0};
  pl_error_t err = NULL;
  int fd = build(&s);
  assert_int_equal(pl_wheel_verify_stream(fd, FN, &cp312, NULL, &sink, &st, &info, &err), 0);
  assert_int_equal(st.begun, 5);
  assert_int_equal(st.ended, 5);
  assert_int_equal(st.bytes, info.total_size);
  pl_wheel_info_free(&info);
  struct sink_state st2 = {.fail_at = 2};
  assert_int_equal(pl_wheel_verify_stream(fd, FN, &cp312, NULL, &sink, &st2, &info, &err), -1);
  assert_non_null(strstr(err->msg, "disk full"));
  pl_error_free(&err);
  close(fd);
}

/* ---- shadowing the interpreter, and startup hooks ------------------------ */

static void test_wheel_refuses_scripts_named_like_the_interpreter_or_pip(void **state) {
  static const char *const refused[] = {"python",  "python3",   "python3.12", "python3.13t",
                                        "Python3", "python2.7", "pip",        "pip3",
                                        "pip3.12", "PIP3",      "pyvenv.cfg", "python3.12._pth"};
  static const char *const allowed[] = {"pipx",   "pip-compile", "pythonista", "python3-config",
                                        "pydoc3", "pipdeptree",  "mypython",   "demo"};
  char path[128];
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    struct spec s = base();
    snprintf(path, sizeof path, "demo-1.0.data/scripts/%s", refused[i]);
    add(&s, path, "#!python\n");
    expect_reject(&s, NULL, "would shadow");
  }
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
    struct spec s = base();
    snprintf(path, sizeof path, "demo-1.0.data/scripts/%s", allowed[i]);
    add(&s, path, "#!python\n");
    expect_ok(&s);
  }
  struct spec s = base();
  add(&s, "demo-1.0.data/scripts/python3", "#!python\n");
  expect_reject(&s, NULL, "entry \"demo-1.0.data/scripts/python3\" would shadow the interpreter");
  s = base();
  add(&s, "demo-1.0.data/scripts/pip", "#!python\n");
  expect_reject(&s, NULL, "would shadow pip");
}

static void test_wheel_refuses_entry_points_named_like_the_interpreter_or_pip(void **state) {
  struct spec s = base();
  add(&s, "demo-1.0.dist-info/entry_points.txt",
      "[console_scripts]\ndemo = demo:main\n pip = demo:main \n");
  expect_reject(&s, NULL, "entry point pip = demo:main (console_scripts) would shadow pip");
  s = base();
  add(&s, "demo-1.0.dist-info/entry_points.txt", "[gui_scripts]\npython3.12=demo:main\n");
  expect_reject(&s, NULL, "(gui_scripts) would shadow the interpreter");
  /* Other groups name plugins, not programs; a later line replaces an earlier one. */
  s = base();
  add(&s, "demo-1.0.dist-info/entry_points.txt",
      "[pygments.lexers]\npython = demo:Lexer\n[console_scripts]\ndemo-tool = demo:main\n");
  expect_ok(&s);
  /* entry_points.txt is read from the bytes RECORD vouches for. */
  s = base();
  add(&s, "demo-1.0.dist-info/entry_points.txt", "[console_scripts]\ndemo = demo:main\n");
  s.bad_hash = "demo-1.0.dist-info/entry_points.txt";
  expect_reject(&s, NULL, "entry_points.txt");
}

static void test_reserved_script_names_spare_pips_own_scripts(void **state) {
  assert_true(pl_wheel_reserved_script("pip3.12", false));
  assert_false(pl_wheel_reserved_script("pip3.12", true));
  assert_false(pl_wheel_reserved_script("pip", true));
  assert_true(pl_wheel_reserved_script("python3", true)); /* pip may not be the interpreter */
  assert_true(pl_wheel_reserved_script("x._pth", true));
  assert_false(pl_wheel_reserved_script("pip-run", false));
  assert_false(pl_wheel_reserved_script("pip3x", false));
}

static void test_wheel_refuses_data_files_that_shadow_the_interpreter(void **state) {
  static const char *const refused[][2] = {
      {"lib/python3.12/json/__init__.py", "the standard library"},
      {"lib/python3.12/os.py", "the standard library"},
      {"lib64/python3.12/lib-dynload/_json.cpython-312-x86_64-linux-gnu.so",
       "the standard library"},
      {"lib/python312.zip", "the standard library"},
      {"lib/python3.12/site-packages", "the standard library"},
      {"lib/pythonX/site-packages/x.py", "the standard library"},
      {"lib/libpython3.12.so.1.0", "the interpreter's shared library"},
      {"bin/python3", "the interpreter"},
      {"local/bin/python3.12", "the interpreter"},
      {"sbin/pip3", "pip"},
      {"pyvenv.cfg", "what the interpreter reads at start"},
      {"bin/pyvenv.cfg", "what the interpreter reads at start"},
      {"bin/python3.12._pth", "what the interpreter reads at start"},
      {"lib/libpython3.12.so.1.0._pth", "the interpreter's shared library"},
      {"pip.conf", "pip's configuration"},
  };
  static const char *const allowed[] = {"lib/python3.12/site-packages/demo_extra.py",
                                        "lib/python3/dist-packages/demo_extra.py",
                                        "lib/python3.13t/site-packages/demo_extra.py",
                                        "lib/python/site-packages/demo_extra.py",
                                        "share/man/man1/demo.1",
                                        "include/demo.h",
                                        "etc/demo.conf",
                                        "bin/demo",
                                        "share/completions/python3",
                                        "libexec/demo"};
  char path[256], needle[128];
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    struct spec s = base();
    snprintf(path, sizeof path, "demo-1.0.data/data/%s", refused[i][0]);
    add(&s, path, "x\n");
    snprintf(needle, sizeof needle, "data/%s\" would shadow %s", refused[i][0], refused[i][1]);
    expect_reject(&s, NULL, needle);
  }
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
    struct spec s = base();
    snprintf(path, sizeof path, "demo-1.0.data/data/%s", allowed[i]);
    add(&s, path, "x\n");
    expect_ok(&s);
  }
  /* Headers and site directories shadow nothing of the interpreter's. */
  struct spec s = base();
  add(&s, "demo-1.0.data/headers/python3", "x\n");
  add(&s, "demo-1.0.data/purelib/json/__init__.py", "x\n");
  expect_ok(&s);
}

static void test_wheel_lists_its_startup_hooks(void **state) {
  struct spec s = base();
  add(&s, "zz_demo.pth", "import demo\n");
  add(&s, "demo/nested.pth", "not at a site directory's root\n");
  add(&s, "demo-1.0.data/purelib/a_demo.pth", "x\n");
  add(&s, "demo-1.0.data/platlib/sitecustomize.py", "x\n");
  add(&s, "demo-1.0.data/data/lib/python3.12/site-packages/usercustomize/__init__.py", "x\n");
  add(&s, "demo-1.0.data/data/lib/python3.12/site-packages/usercustomize/more.py", "x\n");
  add(&s, "demo-1.0.data/data/share/demo/b.pth", "not in a site directory\n");
  int fd = build(&s);
  pl_error_t err = NULL;
  struct pl_wheel_info info = {0};
  assert_int_equal(pl_wheel_verify(fd, FN, &cp312, &info, &err), 0);
  close(fd);
  assert_int_equal(info.nstartup_hooks, 4);
  assert_string_equal(info.startup_hooks[0], "a_demo.pth");
  assert_string_equal(info.startup_hooks[1], "sitecustomize.py");
  assert_string_equal(info.startup_hooks[2], "usercustomize");
  assert_string_equal(info.startup_hooks[3], "zz_demo.pth");
  pl_wheel_info_free(&info);

  s = base();
  fd = build(&s);
  assert_int_equal(pl_wheel_verify(fd, FN, &cp312, &info, &err), 0);
  close(fd);
  assert_int_equal(info.nstartup_hooks, 0);
  pl_wheel_info_free(&info);

  assert_int_equal(pl_wheel_startup_hook("x.pth"), 5);
  assert_int_equal(pl_wheel_startup_hook("sitecustomize.cpython-312-x86_64-linux-gnu.so"), 45);
  assert_int_equal(pl_wheel_startup_hook("sitecustomize/__init__.py"), 13);
  assert_int_equal(pl_wheel_startup_hook("pkg/x.pth"), 0);
  assert_int_equal(pl_wheel_startup_hook(".pth"), 0);
  assert_int_equal(pl_wheel_startup_hook("sitecustomizer.py"), 0);
}

/* ---- real wheels ---------------------------------------------------------- */

static void test_wheel_accepts_debian_python_wheels(void **state) {
  glob_t g;
  if (glob("/usr/share/python-wheels/*.whl", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
    skip(); /* needs python3-pip-whl / python3-setuptools-whl */
    return;
  }
  for (size_t i = 0; i < g.gl_pathc; i++) {
    cleanup_close int fd = open(g.gl_pathv[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    assert_true(fd >= 0);
    pl_error_t err = NULL;
    struct pl_wheel_info info = {0};
    const char *base_name = strrchr(g.gl_pathv[i], '/') + 1;
    int r = pl_wheel_verify(fd, base_name, &cp312, &info, &err);
    if (r != 0) print_error("%s: %s\n", g.gl_pathv[i], err->msg);
    assert_int_equal(r, 0);
    assert_true(info.files > 10);
    assert_int_equal(info.files, info.record.n);
    pl_wheel_info_free(&info);
  }
  globfree(&g);
}

/* ---- parsers ---------------------------------------------------------------- */

static void test_archive_path_check_accepts_relative_and_rejects_escapes(void **state) {
  pl_error_t err = NULL;
  size_t len;
  assert_int_equal(pl_archive_path_check("a/b.py", false, &len, &err), 0);
  assert_int_equal(len, 6);
  assert_int_equal(pl_archive_path_check("a/b/", true, &len, &err), 0);
  assert_int_equal(len, 3);
  assert_int_equal(pl_archive_path_check("a/b/", false, &len, &err), -1);
  assert_int_equal(pl_archive_path_check("a//b", false, &len, &err), -1);
  assert_int_equal(pl_archive_path_check("a\\b", false, &len, &err), -1);
  assert_non_null(strstr(err->msg, "backslash"));
  assert_int_equal(pl_archive_path_check("./a", false, &len, &err), -1);
  assert_int_equal(pl_archive_path_check("a/..", false, &len, &err), -1);
  assert_int_equal(pl_archive_path_check("a\xff", false, &len, &err), -1);
  assert_int_equal(pl_archive_path_check("\xc0\xaf", false, &len, &err), -1); /* overlong '/' */
  char deep[400];
  for (int i = 0; i < 70; i++)
    memcpy(deep + 2 * i, "d/", 2);
  memcpy(deep + 140, "f", 2);
  assert_int_equal(pl_archive_path_check(deep, false, &len, &err), -1);
  assert_non_null(strstr(err->msg, "deeper than"));
  pl_error_free(&err);
}

static void test_record_parses_quoted_fields_and_rejects_malformed_rows(void **state) {
  pl_error_t err = NULL;
  struct pl_record rec;
  const char *ok = "\"a,b.py\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n"
                   "x.dist-info/RECORD,,\n\n";
  assert_int_equal(pl_record_parse(ok, strlen(ok), "x.dist-info/RECORD", &rec, &err), 0);
  assert_int_equal(rec.n, 2);
  assert_non_null(pl_record_find(&rec, "a,b.py"));
  assert_int_equal(pl_record_find(&rec, "a,b.py")->digest[0], 0xe3);
  pl_record_free(&rec);
  static const struct {
    const char *text, *why;
  } bad[] = {
      {"a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=,0\n", "base64"},
      {"a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFV,0\n", "base64"},
      {"a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,\n", "has no size"},
      {"a.py,,0\n", "has no hash"},
      {"a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,-1\n", "not a decimal"},
      {"a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\n", "expected path,hash,size"},
      {"a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0,x\n", "more than 3"},
      {"\"a.py,sha256=x,0\n", "unterminated"},
      {"\"a\"b,sha256=x,0\n", "after a closing quote"},
      {"a.py,blake2b=x,0\n", "unsupported hash algorithm"},
      {"../a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n", "\"..\""},
      {"a,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
       "a,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n",
       "twice"},
      {"x.dist-info/RECORD,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n", "empty hash"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(
        pl_record_parse(bad[i].text, strlen(bad[i].text), "x.dist-info/RECORD", &rec, &err), -1);
    if (!strstr(err->msg, bad[i].why)) print_error("%zu: %s\n", i, err->msg);
    assert_non_null(strstr(err->msg, bad[i].why));
  }
  pl_error_free(&err);
}

static void test_metadata_parses_headers_and_rejects_bad_ones(void **state) {
  pl_error_t err = NULL;
  struct pl_metadata md;
  const char *ok = "Metadata-Version: 2.1\r\nName:  Foo.Bar \r\nSummary: a\n  long one\n"
                   "Version: 1.0.post1\n\nName: ignored-in-body\n";
  assert_int_equal(pl_metadata_parse(ok, strlen(ok), &md, &err), 0);
  assert_string_equal(md.name, "Foo.Bar");
  assert_string_equal(md.version, "1.0.post1");
  pl_metadata_free(&md);
  const char *bad[] = {
      "Metadata-Version: 2.1\nName: a\nName: b\nVersion: 1\n", /* twice */
      "Metadata-Version: 2.1\nName: a\n b\nVersion: 1\n",      /* spans lines */
      "Metadata-Version: 3.0\nName: a\nVersion: 1\n",          /* future major */
      "Metadata-Version: 2.1\nName: -a\nVersion: 1\n",         /* invalid name */
      "Metadata-Version: 2.1\nName: a\nVersion: 1 2\n",        /* invalid version */
      "Metadata-Version: 2.1\nName a\nVersion: 1\n",           /* not a header */
      "Metadata-Version: 2.1\nVersion: 1\n",                   /* no name */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pl_metadata_parse(bad[i], strlen(bad[i]), &md, &err), -1);
  pl_error_free(&err);
}

static void test_wheelfile_requires_version_1_and_purelib(void **state) {
  pl_error_t err = NULL;
  struct pl_wheelfile wf;
  const char *ok = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp312-cp312-linux_x86_64\n"
                   "Tag: cp312-abi3-linux_x86_64\nBuild: 1\n";
  assert_int_equal(pl_wheelfile_parse(ok, strlen(ok), &wf, &err), 0);
  assert_false(wf.root_is_purelib);
  assert_int_equal(wf.ntags, 2);
  assert_string_equal(wf.build, "1");
  pl_wheelfile_free(&wf);
  const char *bad[] = {"Wheel-Version: 2.0\nRoot-Is-Purelib: true\n",
                       "Wheel-Version: 1\nRoot-Is-Purelib: true\n", "Wheel-Version: 1.0\n",
                       "Wheel-Version: 1.0\nRoot-Is-Purelib: yes\n", "Root-Is-Purelib: true\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pl_wheelfile_parse(bad[i], strlen(bad[i]), &wf, &err), -1);
  pl_error_free(&err);
}

static void test_filename_parses_build_tag_and_compressed_sets(void **state) {
  pl_error_t err = NULL;
  struct pl_wheel_filename fn;
  assert_int_equal(
      pl_wheel_filename_parse("Foo_Bar-1.0.post1-2b-py2.py3-none-manylinux_2_17_x86_64."
                              "manylinux2014_x86_64.whl",
                              &fn, &err),
      0);
  assert_string_equal(fn.name, "Foo_Bar");
  assert_string_equal(fn.version, "1.0.post1");
  assert_string_equal(fn.build, "2b");
  assert_int_equal(fn.npython, 2);
  assert_string_equal(fn.python[1], "py3");
  assert_int_equal(fn.nplatform, 2);
  assert_string_equal(fn.platform[1], "manylinux2014_x86_64");
  pl_wheel_filename_free(&fn);
  const char *bad[] = {"foo-1.0-py3-none-any.zip",
                       "foo-1.0-py3-none.whl",
                       "foo-1.0-x-y-py3-none-any.whl",
                       "foo-1.0-b1-py3-none-any.whl",
                       "foo-1.0-py3..py2-none-any.whl",
                       "../foo-1.0-py3-none-any.whl",
                       "foo bar-1.0-py3-none-any.whl",
                       "foo-1.0-py3-none-any/.whl",
                       ".whl"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (pl_wheel_filename_parse(bad[i], &fn, &err) == 0) print_error("accepted %s\n", bad[i]);
    assert_non_null(err);
  }
  pl_error_free(&err);
}

static void test_tags_follow_packaging_rules_for_cpython_312_glibc(void **state) {
  assert_true(pl_tag_supported(&cp312, "py3", "none", "any"));
  assert_true(pl_tag_supported(&cp312, "py312", "none", "any"));
  assert_true(pl_tag_supported(&cp312, "py30", "none", "any"));
  assert_false(pl_tag_supported(&cp312, "py313", "none", "any"));
  assert_false(pl_tag_supported(&cp312, "py2", "none", "any"));
  assert_true(pl_tag_supported(&cp312, "cp312", "cp312", "manylinux_2_17_x86_64"));
  assert_true(pl_tag_supported(&cp312, "cp312", "cp312", "manylinux_2_36_x86_64"));
  assert_false(pl_tag_supported(&cp312, "cp312", "cp312", "manylinux_2_38_x86_64"));
  assert_true(pl_tag_supported(&cp312, "cp312", "cp312", "manylinux2014_x86_64"));
  assert_true(pl_tag_supported(&cp312, "cp312", "cp312", "manylinux1_x86_64"));
  assert_true(pl_tag_supported(&cp312, "cp312", "cp312", "linux_x86_64"));
  assert_false(pl_tag_supported(&cp312, "cp312", "cp312", "any"));
  assert_false(pl_tag_supported(&cp312, "cp312", "cp312", "manylinux_2_17_aarch64"));
  assert_false(pl_tag_supported(&cp312, "cp312", "cp312", "musllinux_1_1_x86_64"));
  assert_false(pl_tag_supported(&cp312, "cp312", "cp312", "macosx_11_0_x86_64"));
  assert_false(pl_tag_supported(&cp312, "cp312", "cp312", "win_amd64"));
  assert_false(pl_tag_supported(&cp312, "cp311", "cp311", "manylinux_2_17_x86_64"));
  assert_false(pl_tag_supported(&cp312, "cp313", "cp313", "manylinux_2_17_x86_64"));
  assert_true(pl_tag_supported(&cp312, "cp38", "abi3", "manylinux_2_17_x86_64"));
  assert_false(pl_tag_supported(&cp312, "cp313", "abi3", "manylinux_2_17_x86_64"));
  assert_false(pl_tag_supported(&cp312, "cp38", "abi3", "any"));
  assert_true(pl_tag_supported(&cp312, "cp312", "none", "any"));
  assert_false(pl_tag_supported(&cp312, "cp311", "none", "any"));
  assert_false(pl_tag_supported(&cp312, "pp310", "pypy310_pp73", "manylinux_2_17_x86_64"));
  struct pl_wheel_interp musl = cp312;
  musl.libc = PL_LIBC_MUSL;
  musl.libc_major = 1;
  musl.libc_minor = 2;
  assert_true(pl_tag_supported(&musl, "cp312", "cp312", "musllinux_1_1_x86_64"));
  assert_false(pl_tag_supported(&musl, "cp312", "cp312", "musllinux_1_3_x86_64"));
  assert_false(pl_tag_supported(&musl, "cp312", "cp312", "manylinux_2_17_x86_64"));
  struct pl_wheel_interp ft = cp312;
  ft.abi = "cp313t";
  ft.py_minor = 13;
  ft.abi3 = false;
  assert_false(pl_tag_supported(&ft, "cp38", "abi3", "manylinux_2_17_x86_64"));
  assert_true(pl_tag_supported(&ft, "cp313", "cp313t", "manylinux_2_17_x86_64"));
}

static void test_distname_normalizes_per_pep503(void **state) {
  assert_true(pl_distname_equal("Foo.Bar", 7, "foo_bar", 7));
  assert_true(pl_distname_equal("foo--bar", 8, "FOO-BAR", 7));
  assert_false(pl_distname_equal("foobar", 6, "foo-bar", 7));
  assert_true(pl_version_matches_filename("1.0-rc1", "1.0_rc1", 7));
  assert_true(pl_version_matches_filename("1.0RC1", "1.0rc1", 6));
  assert_false(pl_version_matches_filename("1.0", "1.0.0", 5));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wheel_accepts_valid_wheel_and_reports_its_contents),
      cmocka_unit_test(test_wheel_rejects_dotdot_path),
      cmocka_unit_test(test_wheel_rejects_absolute_path),
      cmocka_unit_test(test_wheel_rejects_backslash_and_control_chars_in_names),
      cmocka_unit_test(test_wheel_rejects_symlink_entry),
      cmocka_unit_test(test_wheel_entry_type_check_rejects_hardlinks_and_devices),
      cmocka_unit_test(test_wheel_rejects_device_and_socket_entries),
      cmocka_unit_test(test_wheel_rejects_duplicate_entry),
      cmocka_unit_test(test_wheel_rejects_names_differing_only_in_case),
      cmocka_unit_test(test_wheel_rejects_file_that_is_also_a_directory),
      cmocka_unit_test(test_wheel_rejects_file_missing_from_record),
      cmocka_unit_test(test_wheel_rejects_record_entry_absent_from_archive),
      cmocka_unit_test(test_wheel_rejects_record_hash_mismatch),
      cmocka_unit_test(test_wheel_rejects_record_size_mismatch),
      cmocka_unit_test(test_wheel_rejects_md5_and_sha1_in_record),
      cmocka_unit_test(test_wheel_accepts_sha512_record),
      cmocka_unit_test(test_wheel_accepts_quoted_record_paths_with_commas),
      cmocka_unit_test(test_wheel_rejects_zip_bomb_entry),
      cmocka_unit_test(test_wheel_accepts_large_incompressible_entry),
      cmocka_unit_test(test_wheel_rejects_entry_over_size_limit),
      cmocka_unit_test(test_wheel_rejects_too_many_entries),
      cmocka_unit_test(test_wheel_rejects_wheel_version_2),
      cmocka_unit_test(test_wheel_rejects_metadata_name_mismatch),
      cmocka_unit_test(test_wheel_rejects_metadata_version_mismatch),
      cmocka_unit_test(test_wheel_rejects_missing_metadata_version),
      cmocka_unit_test(test_wheel_rejects_bad_filename),
      cmocka_unit_test(test_wheel_rejects_incompatible_tag),
      cmocka_unit_test(test_wheel_rejects_filename_tag_missing_from_wheel_file),
      cmocka_unit_test(test_wheel_rejects_second_dist_info_and_foreign_data_dir),
      cmocka_unit_test(test_wheel_rejects_missing_record),
      cmocka_unit_test(test_wheel_stream_sink_sees_every_verified_entry_and_can_abort),
      cmocka_unit_test(test_wheel_refuses_scripts_named_like_the_interpreter_or_pip),
      cmocka_unit_test(test_wheel_refuses_entry_points_named_like_the_interpreter_or_pip),
      cmocka_unit_test(test_reserved_script_names_spare_pips_own_scripts),
      cmocka_unit_test(test_wheel_refuses_data_files_that_shadow_the_interpreter),
      cmocka_unit_test(test_wheel_lists_its_startup_hooks),
      cmocka_unit_test(test_wheel_accepts_debian_python_wheels),
      cmocka_unit_test(test_archive_path_check_accepts_relative_and_rejects_escapes),
      cmocka_unit_test(test_record_parses_quoted_fields_and_rejects_malformed_rows),
      cmocka_unit_test(test_metadata_parses_headers_and_rejects_bad_ones),
      cmocka_unit_test(test_wheelfile_requires_version_1_and_purelib),
      cmocka_unit_test(test_filename_parses_build_tag_and_compressed_sets),
      cmocka_unit_test(test_tags_follow_packaging_rules_for_cpython_312_glibc),
      cmocka_unit_test(test_distname_normalizes_per_pep503),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
