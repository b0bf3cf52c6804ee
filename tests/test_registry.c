/* Unit tests: lib/registry.c and lib/fetchwheel.c — the writer signs only
 * wheels a client accepts, and a client takes a wheel only signed, then
 * verified.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "canonjson.h"
#include "cleanup.h"
#include "ed25519.h"
#include "fetchwheel.h"
#include "file.h"
#include "projindex.h"
#include "registry.h"
#include "sha.h"
#include "tuf.h"
#include "tuf_meta.h"
#include "wheelgen.h"

static const char METADATA[] = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";
static const char *const WHL = "demo-1.0-py3-none-any.whl";

struct fx {
  char dir[64], reg[96], wheel[160], anchor[128], out[96], state[96];
  struct pl_key k1, k2;
  pl_error_t err;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-test-reg-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->reg, sizeof f->reg, "%s/reg", f->dir);
  snprintf(f->anchor, sizeof f->anchor, "%s/reg/1.root.json", f->dir);
  snprintf(f->out, sizeof f->out, "%s/out", f->dir);
  assert_int_equal(mkdir(f->out, 0755), 0);
  /* What pylock signed of each registry is kept in the state root. */
  snprintf(f->state, sizeof f->state, "%s/state", f->dir);
  setenv("PYLOCK_STATE_DIR", f->state, 1);
  snprintf(f->wheel, sizeof f->wheel, "%s",
           wheelgen(f->dir, "demo", "1.0", "py3-none-any", "x = 1\n", METADATA, WHEEL_OK));
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
  unsetenv("PYLOCK_STATE_DIR");
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

/* init --bins: every bin held by the online key, consistent snapshots;
 * an add with the online key alone signs the wheel's bins, snapshot and
 * timestamp and nothing else, and the client finds the wheel in its bin. */
static void test_registry_bins_add_signs_only_its_bins_with_the_online_key(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts init = {
      .keys = &f->k1, .nkeys = 1, .online_keys = &f->k2, .nonline_keys = 1, .bins = 8};
  assert_int_equal(pl_registry_init(f->reg, &init, &f->err), 0);
  int fd = open(f->reg, O_RDONLY | O_DIRECTORY);
  assert_int_equal(faccessat(fd, "1.targets.json", F_OK, 0), 0);
  assert_int_equal(faccessat(fd, "1.bins-7.json", F_OK, 0), 0);
  assert_int_equal(faccessat(fd, "targets.json", F_OK, 0), -1);
  struct pl_registry_opts online = {.keys = &f->k2, .nkeys = 1};
  struct pl_registry_opts offline = {.keys = &f->k1, .nkeys = 1};
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &offline, w, 1, &f->err), -1); /* cannot sign bins */
  pl_error_free(&f->err);
  assert_int_equal(pl_registry_add(f->reg, &online, w, 1, &f->err), 0);
  assert_int_equal(faccessat(fd, "2.targets.json", F_OK, 0), -1); /* top-level untouched */
  assert_int_equal(faccessat(fd, "2.snapshot.json", F_OK, 0), 0);
  char bin[32], file[48];
  int nbins2 = 0;
  for (uint32_t b = 0; b < 8; b++) {
    pl_tuf_succinct_name("bins", 3, b, bin, sizeof bin);
    snprintf(file, sizeof file, "2.%s.json", bin);
    nbins2 += faccessat(fd, file, F_OK, 0) == 0;
  }
  uint32_t bw = pl_tuf_succinct_bin(WHL, 3, &f->err);
  uint32_t bm = pl_tuf_succinct_bin("demo-1.0-py3-none-any.whl.metadata", 3, &f->err);
  assert_int_equal(nbins2, bw == bm ? 1 : 2);
  close(fd);
  struct pl_tuf *t = client(f);
  if (t == NULL) fail_msg("%s", f->err->msg);
  assert_int_equal(pl_tuf_target_count(t), 2);
  char *buf;
  size_t len;
  assert_int_equal(
      pl_tuf_fetch_target_mem(t, "demo-1.0-py3-none-any.whl.metadata", &buf, &len, &f->err), 0);
  assert_string_equal(buf, METADATA);
  free(buf);
  pl_tuf_free(t);
  /* sign with the online key renews every bin; targets stays as it was. */
  assert_int_equal(pl_registry_sign(f->reg, &online, &f->err), 0);
  t = client(f);
  if (t == NULL) fail_msg("%s", f->err->msg);
  int64_t v;
  pl_tuf_role_info(t, PL_TUF_TARGETS, &v, NULL);
  assert_int_equal(v, 1);
  pl_tuf_free(t);
}

/* index: a registry made without pages gets one per project from its
 * signed files, signed by the online key into the bins that list them;
 * the top-level targets is left alone; the pages agree with the targets
 * (the checks of `registry verify --targets`); a second index signs
 * nothing; a key that cannot sign the bins changes nothing. */
static void test_registry_index_adds_pages_signing_only_what_lists_them(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts init = {
      .keys = &f->k1, .nkeys = 1, .online_keys = &f->k2, .nonline_keys = 1, .bins = 8};
  struct pl_registry_opts online = {.keys = &f->k2, .nkeys = 1};
  struct pl_registry_opts offline = {.keys = &f->k1, .nkeys = 1};
  struct pl_registry_index_stats st;
  assert_int_equal(pl_registry_init(f->reg, &init, &f->err), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &online, w, 1, &f->err), 0);
  int fd = open(f->reg, O_RDONLY | O_DIRECTORY);
  assert_int_equal(pl_registry_index(f->reg, &offline, &st, &f->err), -1);
  pl_error_free(&f->err);
  assert_int_equal(faccessat(fd, "3.snapshot.json", F_OK, 0), -1);
  if (pl_registry_index(f->reg, &online, &st, &f->err) < 0) fail_msg("%s", f->err->msg);
  assert_int_equal(st.pages_written, 1);
  assert_int_equal(st.pages_removed, 0);
  assert_false(st.already);
  assert_true(st.bins_signed >= 1 && st.bins_signed <= 2);
  assert_int_equal(faccessat(fd, "3.snapshot.json", F_OK, 0), 0);
  assert_int_equal(faccessat(fd, "2.targets.json", F_OK, 0), -1);
  struct pl_tuf *t = client(f);
  if (t == NULL) fail_msg("%s", f->err->msg);
  assert_int_equal(pl_tuf_target_count(t), 4); /* wheel, .metadata, page, marker */
  struct pl_projindex_check c;
  pl_projindex_check_init(&c, t);
  assert_true(c.marker);
  if (pl_projindex_check_page(&c, "simple/demo/index.json", &f->err) < 0 ||
      pl_projindex_check_wheel(&c, WHL, METADATA, strlen(METADATA), &f->err) < 0)
    fail_msg("%s", f->err->msg);
  /* The page says no Requires-Python: a METADATA with one disagrees. */
  const char other[] = "Metadata-Version: 2.1\nName: demo\nRequires-Python: >=3.99\n";
  assert_int_equal(pl_projindex_check_wheel(&c, WHL, other, strlen(other), &f->err), -1);
  assert_non_null(strstr(f->err->msg, "requires-python"));
  pl_error_free(&f->err);
  pl_projindex_check_free(&c);
  pl_tuf_free(t);
  assert_int_equal(pl_registry_index(f->reg, &online, &st, &f->err), 0);
  assert_true(st.already);
  assert_int_equal(st.pages_written + st.pages_removed + st.bins_signed, 0);
  assert_int_equal(faccessat(fd, "4.snapshot.json", F_OK, 0), -1);
  close(fd);
}

static void test_registry_add_refuses_new_bytes_under_published_name(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
  wheelgen(f->dir, "demo", "1.0", "py3-none-any", "x = 2\n", NULL, WHEEL_OK);
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "already in the registry with different content"));
}

/* Every file of the registry, names and bytes, as one string. */
static char *snapshot_dir(const char *dir) {
  char cmd[512], *out = NULL;
  size_t len = 0;
  snprintf(cmd, sizeof cmd,
           "cd %s && find . -printf '%%p %%y %%m\\n' | sort && find . -type f | sort | xargs "
           "sha256sum",
           dir);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  FILE *m = open_memstream(&out, &len);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    fwrite(buf, 1, n, m);
  fclose(m);
  assert_int_equal(pclose(p), 0);
  return out;
}

static const struct {
  enum wheel_flaw flaw;
  const char *needle; /* names the entry and the check */
} flaws[] = {
    {WHEEL_DOTDOT, "\"../evil.py\" has an empty, \".\" or \"..\" component"},
    {WHEEL_SYMLINK, "entry \"demo/link\": symbolic links are not allowed"},
    {WHEEL_RECORD_MISMATCH, "entry \"demo/__init__.py\": hash mismatch: RECORD says sha256="},
    {WHEEL_SCRIPT_PYTHON3, "scripts/python3\" would shadow the interpreter"},
    {WHEEL_STDLIB_JSON, "data/lib/python3.12/json/__init__.py\" would shadow the standard library"},
    {WHEEL_ENTRY_POINT_PIP, "entry point pip = demo:main (console_scripts) would shadow pip"},
};

static void test_registry_add_refuses_unsafe_wheels_leaving_registry_untouched(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  char good[512];
  snprintf(good, sizeof good, "%s",
           wheelgen(f->dir, "other", "2.0", "py3-none-any", "y = 1\n", NULL, WHEEL_OK));
  for (size_t i = 0; i < sizeof flaws / sizeof flaws[0]; i++) {
    char *before = snapshot_dir(f->reg);
    wheelgen(f->dir, "demo", "1.0", "py3-none-any", "x = 1\n", NULL, flaws[i].flaw);
    /* A good wheel first: it must not be published either. */
    const char *w[] = {good, f->wheel};
    assert_int_equal(pl_registry_add(f->reg, &o, w, 2, &f->err), -1);
    char *msg = pl_error_string(f->err);
    if (strstr(msg, flaws[i].needle) == NULL ||
        strstr(msg, "wheel demo-1.0-py3-none-any.whl") == NULL)
      fail_msg("message \"%s\" lacks \"%s\" or the wheel's name", msg, flaws[i].needle);
    free(msg);
    char *after = snapshot_dir(f->reg);
    assert_string_equal(before, after);
    free(before);
    free(after);
  }
}

struct hooks_seen {
  char wheel[64], hooks[64];
  int calls;
};

static void note_hooks(void *ctx, const char *wheel, char *const *hooks, size_t n) {
  struct hooks_seen *h = ctx;
  h->calls++;
  snprintf(h->wheel, sizeof h->wheel, "%s", wheel);
  snprintf(h->hooks, sizeof h->hooks, "%s%s", n ? hooks[0] : "", n > 1 ? ",..." : "");
}

static void test_registry_add_reports_startup_hooks_once_added(void **state) {
  struct fx *f = *state;
  struct hooks_seen h = {0};
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1, .startup_hooks = note_hooks, .ctx = &h};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  char pth[512];
  snprintf(pth, sizeof pth, "%s",
           wheelgen(f->dir, "hooked", "1.0", "py3-none-any", "x = 1\n", NULL, WHEEL_PTH));
  const char *w[] = {f->wheel, pth};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 2, &f->err), 0);
  assert_int_equal(h.calls, 1); /* demo has none */
  assert_string_equal(h.wheel, "hooked-1.0-py3-none-any.whl");
  assert_string_equal(h.hooks, "hooked.pth");
  /* A failed add reports nothing. */
  h.calls = 0;
  wheelgen(f->dir, "demo", "1.0", "py3-none-any", "x = 1\n", NULL, WHEEL_SCRIPT_PYTHON3);
  assert_int_equal(pl_registry_add(f->reg, &o, (const char *[]){pth, f->wheel}, 2, &f->err), -1);
  assert_int_equal(h.calls, 0);
}

static void test_registry_add_refuses_invalid_wheel_filename(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  char bad[192];
  snprintf(bad, sizeof bad, "%s/demo-1.0.whl", f->dir);
  assert_int_equal(rename(f->wheel, bad), 0);
  const char *w[] = {bad};
  char *before = snapshot_dir(f->reg);
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "wheel filename \"demo-1.0.whl\""));
  char *after = snapshot_dir(f->reg);
  assert_string_equal(before, after);
  free(before);
  free(after);
}

/* ---- the client side: pl_trusted_wheel_fetch ---- */

/* Sign `name` (the bytes of file src) as a target without any wheel check,
 * as a careless or hostile writer would, and re-sign snapshot and timestamp. */
static void publish_unchecked(struct fx *f, const char *name, const char *src) {
  pl_error_t err = NULL;
  char *data, *raw, *out;
  size_t len, rawlen, outlen;
  assert_int_equal(pl_read_file_at(AT_FDCWD, src, 1 << 20, &data, &len, &err), 0);
  int regfd = open(f->reg, O_RDONLY | O_DIRECTORY);
  char tname[300], sha[PL_SHA256_HEX];
  snprintf(tname, sizeof tname, "targets/%s", name);
  assert_int_equal(pl_write_file_atomic_at(regfd, tname, data, len, 0644, &err), 0);
  assert_int_equal(pl_sha256_hex(data, len, sha, &err), 0);
  free(data);

  json_t *doc;
  assert_int_equal(pl_read_file_at(regfd, "targets.json", 1 << 24, &raw, &rawlen, &err), 0);
  assert_int_equal(pl_json_parse(raw, rawlen, "targets.json", &doc, &err), 0);
  free(raw);
  json_t *tg = json_object_get(doc, "signed");
  assert_int_equal(pl_tuf_targets_add(tg, name, len, sha, &err), 0);
  int64_t tv = pl_tuf_get_version(tg) + 1;
  pl_tuf_set_version(tg, tv);
  const struct pl_key *keys[] = {&f->k1};
  assert_int_equal(pl_tuf_sign(tg, keys, 1, &out, &outlen, &err), 0);
  assert_int_equal(pl_write_file_atomic_at(regfd, "targets.json", out, outlen, 0644, &err), 0);
  free(out);
  pl_json_decref(doc);

  time_t exp = time(NULL) + 7 * 86400;
  json_t *snap = pl_tuf_new_snapshot(tv + 100, exp, tv, NULL, 0, &err);
  char *sbytes;
  size_t slen;
  assert_int_equal(pl_tuf_sign(snap, keys, 1, &sbytes, &slen, &err), 0);
  assert_int_equal(pl_write_file_atomic_at(regfd, "snapshot.json", sbytes, slen, 0644, &err), 0);
  json_t *ts = pl_tuf_new_timestamp(tv + 100, exp, tv + 100, sbytes, slen, &err);
  assert_int_equal(pl_tuf_sign(ts, keys, 1, &out, &outlen, &err), 0);
  assert_int_equal(pl_write_file_atomic_at(regfd, "timestamp.json", out, outlen, 0644, &err), 0);
  free(out);
  free(sbytes);
  pl_json_decref(snap);
  pl_json_decref(ts);
  close(regfd);
}

static int entries_in(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

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

static void test_trusted_wheel_fetch_places_a_verified_wheel(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
  struct pl_tuf *t = client(f);
  assert_non_null(t);
  int outfd = open(f->out, O_RDONLY | O_DIRECTORY);
  struct pl_wheel_info info = {0};
  if (pl_trusted_wheel_fetch(t, WHL, outfd, "w.whl", &cp312, &info, &f->err) < 0)
    fail_msg("%s", f->err->msg);
  assert_string_equal(info.name, "demo");
  assert_int_equal(info.metadata_len, strlen(METADATA));
  assert_memory_equal(info.metadata, METADATA, strlen(METADATA));
  bool present = false;
  assert_int_equal(pl_trusted_wheel_check_metadata(t, WHL, &info, &present, &f->err), 0);
  assert_true(present);
  pl_wheel_info_free(&info);
  assert_int_equal(entries_in(f->out), 1); /* w.whl, and no temporary file */
  struct stat st;
  assert_int_equal(fstatat(outfd, "w.whl", &st, 0), 0);
  const struct pl_tuf_target *e;
  assert_int_equal(pl_tuf_find_target(t, WHL, &e, &f->err), 0);
  assert_int_equal((uint64_t)st.st_size, e->length);
  int fd = openat(outfd, "w.whl", O_RDONLY);
  assert_int_equal(pl_tuf_verify_target_fd(t, WHL, fd, &f->err), 0);
  close(fd);
  close(outfd);
  pl_tuf_free(t);
}

static void test_trusted_wheel_fetch_refuses_signed_unsafe_wheels_leaving_nothing(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  int outfd = open(f->out, O_RDONLY | O_DIRECTORY);
  for (size_t i = 0; i < sizeof flaws / sizeof flaws[0]; i++) {
    char name[64];
    snprintf(name, sizeof name, "demo-1.%zu-py3-none-any.whl", i);
    char ver[8];
    snprintf(ver, sizeof ver, "1.%zu", i);
    publish_unchecked(f, name,
                      wheelgen(f->dir, "demo", ver, "py3-none-any", "x\n", NULL, flaws[i].flaw));
    struct pl_tuf *t = client(f);
    if (t == NULL) fail_msg("%s", f->err->msg);
    struct pl_wheel_info info = {0};
    assert_int_equal(pl_trusted_wheel_fetch(t, name, outfd, "w.whl", NULL, &info, &f->err), -1);
    char *msg = pl_error_string(f->err);
    if (strstr(msg, flaws[i].needle) == NULL)
      fail_msg("message \"%s\" lacks \"%s\"", msg, flaws[i].needle);
    assert_non_null(strstr(msg, name));
    free(msg);
    assert_null(info.name);
    assert_int_equal(entries_in(f->out), 0);
    pl_tuf_free(t);
  }
  close(outfd);
}

static void test_trusted_wheel_fetch_refuses_changed_bytes_and_wrong_tags(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
  const char *cp27 = "demo-2.0-cp27-none-any.whl";
  publish_unchecked(f, cp27,
                    wheelgen(f->dir, "demo", "2.0", "cp27-none-any", "x\n", NULL, WHEEL_OK));
  struct pl_tuf *t = client(f);
  assert_non_null(t);
  int outfd = open(f->out, O_RDONLY | O_DIRECTORY);
  struct pl_wheel_info info = {0};
  /* Tags are judged only against an interpreter. */
  assert_int_equal(pl_trusted_wheel_fetch(t, cp27, outfd, "w.whl", &cp312, &info, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "cp27"));
  assert_int_equal(entries_in(f->out), 0);
  assert_int_equal(pl_trusted_wheel_fetch(t, cp27, outfd, "w.whl", NULL, &info, &f->err), 0);
  pl_wheel_info_free(&info);
  assert_int_equal(unlinkat(outfd, "w.whl", 0), 0);
  /* Bytes changed after signing never reach the wheel checks. */
  char path[256];
  snprintf(path, sizeof path, "%s/targets/%s", f->reg, WHL);
  int fd = open(path, O_WRONLY);
  assert_int_equal(pwrite(fd, "X", 1, 10), 1);
  close(fd);
  assert_int_equal(pl_trusted_wheel_fetch(t, WHL, outfd, "w.whl", &cp312, &info, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "sha256 mismatch"));
  assert_int_equal(entries_in(f->out), 0);
  /* Neither a non-wheel target nor a path as destination. */
  assert_int_equal(pl_trusted_wheel_fetch(t, "demo-1.0-py3-none-any.whl.metadata", outfd, "w", NULL,
                                          &info, &f->err),
                   -1);
  assert_int_equal(pl_trusted_wheel_fetch(t, cp27, outfd, "../w.whl", NULL, &info, &f->err), -1);
  assert_int_equal(entries_in(f->out), 0);
  close(outfd);
  pl_tuf_free(t);
}

static void test_trusted_wheel_metadata_target_must_equal_the_wheels(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *wn = "demo-3.0-py3-none-any.whl";
  publish_unchecked(f, wn, wheelgen(f->dir, "demo", "3.0", "py3-none-any", "x\n", NULL, WHEEL_OK));
  struct pl_tuf *t = client(f);
  int outfd = open(f->out, O_RDONLY | O_DIRECTORY);
  struct pl_wheel_info info = {0};
  assert_int_equal(pl_trusted_wheel_fetch(t, wn, outfd, "w.whl", NULL, &info, &f->err), 0);
  bool present = true;
  assert_int_equal(pl_trusted_wheel_check_metadata(t, wn, &info, &present, &f->err), 0);
  assert_false(present); /* none signed: nothing to compare */
  pl_tuf_free(t);
  char lie[128];
  snprintf(lie, sizeof lie, "%s/lie", f->dir);
  FILE *l = fopen(lie, "w");
  fputs("Metadata-Version: 2.1\nName: demo\nVersion: 3.0\nRequires-Dist: evil\n", l);
  fclose(l);
  publish_unchecked(f, "demo-3.0-py3-none-any.whl.metadata", lie);
  t = client(f);
  assert_int_equal(pl_trusted_wheel_check_metadata(t, wn, &info, &present, &f->err), -1);
  assert_true(present);
  assert_non_null(strstr(f->err->msg, "differs from demo-3.0.dist-info/METADATA"));
  pl_wheel_info_free(&info);
  close(outfd);
  pl_tuf_free(t);
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

/* ---- the registry writes only where it means to ---- */

static void test_registry_snapshot_lists_length_and_sha256_of_targets(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
  int regfd = open(f->reg, O_RDONLY | O_DIRECTORY);
  char *raw, *tg;
  size_t len, tglen;
  json_t *doc;
  char sha[PL_SHA256_HEX];
  assert_int_equal(pl_read_file_at(regfd, "snapshot.json", 1 << 20, &raw, &len, &f->err), 0);
  assert_int_equal(pl_read_file_at(regfd, "targets.json", 1 << 20, &tg, &tglen, &f->err), 0);
  assert_int_equal(pl_json_parse(raw, len, "snapshot.json", &doc, &f->err), 0);
  assert_int_equal(pl_sha256_hex(tg, tglen, sha, &f->err), 0);
  json_t *e =
      json_object_get(json_object_get(json_object_get(doc, "signed"), "meta"), "targets.json");
  assert_int_equal(json_integer_value(json_object_get(e, "length")), tglen);
  assert_string_equal(json_string_value(json_object_get(json_object_get(e, "hashes"), "sha256")),
                      sha);
  pl_json_decref(doc);
  free(raw);
  free(tg);
  close(regfd);
}

/* path's mode set to mode; pylock must refuse the registry, changing nothing. */
static void assert_refused_with_mode(struct fx *f, const char *path, mode_t mode,
                                     const char *needle) {
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  const char *w[] = {f->wheel};
  assert_int_equal(chmod(path, mode), 0);
  char *before = snapshot_dir(f->reg);
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), -1);
  if (strstr(f->err->msg, needle) == NULL || strstr(f->err->msg, "chmod go-w") == NULL)
    fail_msg("message \"%s\" lacks \"%s\" or the fix", f->err->msg, needle);
  assert_int_equal(pl_registry_sign(f->reg, &o, &f->err), -1);
  char *after = snapshot_dir(f->reg);
  assert_string_equal(before, after);
  free(before);
  free(after);
  assert_int_equal(chmod(path, 0755), 0);
}

static void test_registry_refuses_directories_others_can_write(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  char targets[160];
  snprintf(targets, sizeof targets, "%s/targets", f->reg);
  assert_refused_with_mode(f, f->reg, 0777, "(yours, mode 0777) is writable by others");
  assert_refused_with_mode(f, f->reg, 0775, "(yours, mode 0775) is writable by its group");
  assert_refused_with_mode(f, targets, 01777, "targets (yours, mode 1777) is writable by others");
  /* And init does not adopt one either. */
  char other[128];
  snprintf(other, sizeof other, "%s/shared", f->dir);
  assert_int_equal(mkdir(other, 0755), 0);
  assert_int_equal(chmod(other, 0770), 0);
  assert_int_equal(pl_registry_init(other, &o, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "writable by its group"));
  assert_int_equal(entries_in(other), 0);
}

static void test_registry_refuses_a_directory_another_user_owns(void **state) {
  struct fx *f = *state;
  if (geteuid() != 0) skip(); /* giving a directory away needs root */
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  char *before = snapshot_dir(f->reg);
  assert_int_equal(chown(f->reg, 65534, 65534), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "is owned by"));
  assert_non_null(strstr(f->err->msg, "uid 65534) with mode 0755, not by you"));
  char *after = snapshot_dir(f->reg);
  assert_string_equal(before, after);
  free(before);
  free(after);
}

/* A directory of the maintainer's own files a planted link points at. */
static void make_victim(struct fx *f, char *victim, size_t n) {
  snprintf(victim, n, "%s/victim", f->dir);
  assert_int_equal(mkdir(victim, 0700), 0);
  char p[256];
  snprintf(p, sizeof p, "%s/config.toml", victim);
  FILE *c = fopen(p, "w");
  fputs("mine = true\n", c);
  fclose(c);
}

static void test_registry_never_follows_a_planted_targets_link(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  char victim[128], targets[160], moved[160];
  make_victim(f, victim, sizeof victim);
  char *vbefore = snapshot_dir(victim);
  /* In a fresh directory, before init. */
  assert_int_equal(mkdir(f->reg, 0755), 0);
  snprintf(targets, sizeof targets, "%s/targets", f->reg);
  assert_int_equal(symlink(victim, targets), 0);
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "targets is a symbolic link"));
  assert_int_equal(entries_in(f->reg), 2); /* the link, and the publisher's lock file */
  /* In a registry, before add. */
  assert_int_equal(unlink(targets), 0);
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  snprintf(moved, sizeof moved, "%s/targets.real", f->dir);
  assert_int_equal(rename(targets, moved), 0);
  assert_int_equal(symlink(victim, targets), 0);
  char *before = snapshot_dir(f->reg);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "targets is a symbolic link"));
  char *after = snapshot_dir(f->reg), *vafter = snapshot_dir(victim);
  assert_string_equal(before, after);
  assert_string_equal(vbefore, vafter);
  free(before);
  free(after);
  free(vbefore);
  free(vafter);
}

static void test_registry_never_follows_a_planted_metadata_link(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  char victim[128], vfile[160], link[200];
  make_victim(f, victim, sizeof victim);
  snprintf(vfile, sizeof vfile, "%s/config.toml", victim);
  char *vbefore = snapshot_dir(victim);
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  static const char *const names[] = {"timestamp.json", "targets.json", "root.json", "2.root.json",
                                      "targets/demo-1.0-py3-none-any.whl.metadata"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char saved[220];
    snprintf(link, sizeof link, "%s/%s", f->reg, names[i]);
    snprintf(saved, sizeof saved, "%s/saved", f->dir);
    bool existed = rename(link, saved) == 0; /* a link in place of a file, or a new name */
    assert_int_equal(symlink(vfile, link), 0);
    char *before = snapshot_dir(f->reg);
    struct pl_registry_opts renew = {.keys = &f->k1, .nkeys = 1, .renew_root = true};
    const char *w[] = {f->wheel};
    int r = i == 4 ? pl_registry_add(f->reg, &o, w, 1, &f->err)
                   : pl_registry_sign(f->reg, &renew, &f->err);
    assert_int_equal(r, -1);
    if (strstr(f->err->msg, "is a symbolic link, not a file") == NULL ||
        strstr(f->err->msg, names[i]) == NULL)
      fail_msg("message \"%s\" does not refuse the link %s", f->err->msg, names[i]);
    char *after = snapshot_dir(f->reg), *vafter = snapshot_dir(victim);
    assert_string_equal(before, after);
    assert_string_equal(vbefore, vafter);
    free(before);
    free(after);
    free(vafter);
    assert_int_equal(unlink(link), 0);
    if (existed) assert_int_equal(rename(saved, link), 0);
  }
  free(vbefore);
}

static void test_registry_add_checks_name_lengths_before_writing(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  char name[201];
  memset(name, 'a', 200);
  name[200] = '\0';
  /* 200 + "-" + version + "-py3-none-any.whl": 225 and 226 characters. */
  char fits[512], over[512];
  snprintf(fits, sizeof fits, "%s",
           wheelgen(f->dir, name, "1.0.0.0", "py3-none-any", "x = 1\n", NULL, WHEEL_OK));
  snprintf(over, sizeof over, "%s",
           wheelgen(f->dir, name, "10.0.0.0", "py3-none-any", "x = 1\n", NULL, WHEEL_OK));
  assert_int_equal(strlen(strrchr(fits, '/') + 1), PL_REGISTRY_WHEEL_NAME_MAX);
  char *before = snapshot_dir(f->reg);
  const char *w[] = {f->wheel, over};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 2, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "a wheel file name of 226 characters is too long"));
  char *after = snapshot_dir(f->reg);
  assert_string_equal(before, after);
  free(before);
  free(after);
  const char *ok[] = {f->wheel, fits};
  if (pl_registry_add(f->reg, &o, ok, 2, &f->err) < 0) fail_msg("%s", f->err->msg);
  struct pl_tuf *t = client(f);
  if (t == NULL) fail_msg("%s", f->err->msg);
  assert_int_equal(pl_tuf_target_count(t), 4); /* both wheels and their .metadata */
  pl_tuf_free(t);
}

static void test_registry_refuses_keys_inside_the_registry(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  char keys[128], key[192], outside[192], via[160];
  snprintf(keys, sizeof keys, "%s/keys", f->reg);
  snprintf(key, sizeof key, "%s/k1.key", keys);
  assert_int_equal(mkdir(keys, 0700), 0);
  assert_int_equal(pl_key_save(key, &f->k1, &f->err), 0);
  char *before = snapshot_dir(f->reg);
  /* By its path, and through a link from outside: the inode decides. */
  snprintf(via, sizeof via, "%s/via", f->dir);
  assert_int_equal(symlink(keys, via), 0);
  snprintf(outside, sizeof outside, "%s/k1.key", via);
  const char *const paths[] = {key, outside};
  for (size_t i = 0; i < 2; i++) {
    o.key_files = &paths[i];
    o.nkey_files = 1;
    assert_int_equal(pl_registry_sign(f->reg, &o, &f->err), -1);
    if (strstr(f->err->msg, "is inside") == NULL ||
        strstr(f->err->msg, "publishing the directory would publish the key") == NULL)
      fail_msg("message \"%s\" does not refuse %s", f->err->msg, paths[i]);
  }
  char *after = snapshot_dir(f->reg);
  assert_string_equal(before, after);
  free(before);
  free(after);
  /* key generate's check: inside (even where nothing exists yet), outside. */
  snprintf(key, sizeof key, "%s/targets/new/k.key", f->reg);
  assert_int_equal(pl_registry_check_key_path(key, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "which holds a registry (root.json)"));
  snprintf(key, sizeof key, "%s/out/k.key", f->dir);
  assert_int_equal(pl_registry_check_key_path(key, &f->err), 0);
}

static void test_registry_init_makes_directories_0755_whatever_the_umask(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  static const mode_t masks[] = {0077, 0};
  for (size_t i = 0; i < 2; i++) {
    char dir[128], targets[160];
    snprintf(dir, sizeof dir, "%s/reg%zu", f->dir, i);
    snprintf(targets, sizeof targets, "%s/targets", dir);
    mode_t old = umask(masks[i]);
    int r = pl_registry_init(dir, &o, &f->err);
    umask(old);
    assert_int_equal(r, 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(stat(targets, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
  }
}

static void test_registry_temp_names_are_pylocks_alone(void **state) {
  (void)state;
  assert_true(pl_registry_is_temp_name(".pylock-tmp-0123456789abcdef"));
  static const char *const not_ours[] = {
      "",
      ".pylock-tmp-",
      ".pylock-tmp-0123456789abcde",   /* 15 digits */
      ".pylock-tmp-0123456789abcdef0", /* 17 */
      ".pylock-tmp-0123456789ABCDEF",  /* not how pylock writes them */
      ".pylock-tmp-0123456789abcdeg",
      ".pylock-tmp-0123456789abcdef/x",
      "pylock-tmp-0123456789abcdef",
      ".six.tmp0123456789abcdef", /* another tool's (or an older pylock's) */
      ".pylock-publish.lock",
      "index.json",
  };
  for (size_t i = 0; i < sizeof not_ours / sizeof *not_ours; i++)
    assert_false(pl_registry_is_temp_name(not_ours[i]));
}

static void note_swept(void *ctx, const char *dir, const char *name, long pid) {
  (void)dir;
  char *seen = ctx;
  size_t n = strlen(seen);
  snprintf(seen + n, 512 - n, "%s %ld;", name, pid);
}

/* path under f->dir, made as a file holding "x". */
static void plant(struct fx *f, const char *rel) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", f->dir, rel);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("x", fp);
  fclose(fp);
}

static bool there(struct fx *f, const char *rel) {
  char path[256];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", f->dir, rel);
  return lstat(path, &st) == 0;
}

static void test_registry_next_publisher_sweeps_only_a_dead_ones_temporaries(void **state) {
  struct fx *f = *state;
  char seen[512] = "", path[256], lock[256];
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1, .swept = note_swept, .ctx = seen};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  assert_string_equal(seen, "");
  snprintf(lock, sizeof lock, "%s/.pylock-publish.lock", f->reg);
  struct stat st;
  assert_int_equal(stat(lock, &st), 0);
  assert_int_equal(st.st_size, 0); /* a publisher that finished leaves no pid */
  snprintf(path, sizeof path, "%s/targets/simple", f->reg);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/targets/simple/demo", f->reg);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/outside", f->dir);
  assert_int_equal(mkdir(path, 0755), 0);
  /* A dead publisher's temporaries... */
  plant(f, "reg/.pylock-tmp-0123456789abcdef");
  plant(f, "reg/targets/.pylock-tmp-1123456789abcdef");
  plant(f, "reg/targets/simple/.pylock-tmp-2123456789abcdef");
  plant(f, "reg/targets/simple/demo/.pylock-tmp-3123456789abcdef");
  /* ...and what is not pylock's, or only reached through a link. */
  plant(f, "reg/.pylock-tmp-notours");
  plant(f, "reg/targets/.demo.tmp0123456789abcdef");
  plant(f, "outside/.pylock-tmp-4123456789abcdef");
  plant(f, "outside/file");
  snprintf(path, sizeof path, "%s/reg/targets/simple/linked", f->dir);
  char target[256];
  snprintf(target, sizeof target, "%s/outside", f->dir);
  assert_int_equal(symlink(target, path), 0);
  snprintf(path, sizeof path, "%s/reg/targets/.pylock-tmp-5123456789abcdef", f->dir);
  snprintf(target, sizeof target, "%s/outside/file", f->dir);
  assert_int_equal(symlink(target, path), 0);
  /* No pid in the lock: nobody died publishing, nothing is swept. */
  assert_int_equal(pl_registry_add(f->reg, &o, (const char *const[]){f->wheel}, 1, &f->err), 0);
  assert_string_equal(seen, "");
  assert_true(there(f, "reg/.pylock-tmp-0123456789abcdef"));
  /* A publisher killed with its pid in the lock: the next one sweeps. */
  FILE *fp = fopen(lock, "w");
  assert_non_null(fp);
  fputs("pid 4194999\n", fp);
  fclose(fp);
  assert_int_equal(pl_registry_sign(f->reg, &o, &f->err), 0);
  assert_non_null(strstr(seen, ".pylock-tmp-0123456789abcdef 4194999;"));
  assert_non_null(strstr(seen, "targets/.pylock-tmp-1123456789abcdef 4194999;"));
  assert_non_null(strstr(seen, "targets/simple/.pylock-tmp-2123456789abcdef 4194999;"));
  assert_non_null(strstr(seen, "targets/simple/demo/.pylock-tmp-3123456789abcdef 4194999;"));
  assert_false(there(f, "reg/.pylock-tmp-0123456789abcdef"));
  assert_false(there(f, "reg/targets/.pylock-tmp-1123456789abcdef"));
  assert_false(there(f, "reg/targets/simple/.pylock-tmp-2123456789abcdef"));
  assert_false(there(f, "reg/targets/simple/demo/.pylock-tmp-3123456789abcdef"));
  assert_true(there(f, "reg/.pylock-tmp-notours"));
  assert_true(there(f, "reg/targets/.demo.tmp0123456789abcdef"));
  assert_true(there(f, "reg/targets/.pylock-tmp-5123456789abcdef")); /* a link: not ours */
  assert_true(there(f, "outside/.pylock-tmp-4123456789abcdef"));     /* not followed */
  assert_true(there(f, "outside/file"));
  assert_int_equal(stat(lock, &st), 0);
  assert_int_equal(st.st_size, 0);
  /* Still a registry a client verifies. */
  struct pl_tuf *t = client(f);
  assert_non_null(t);
  pl_tuf_free(t);
}

/* ---- what is signed again must be what was signed ---- */

/* dir/name, a TUF document, with target `name` listed as sha256 (length 1)
 * in its signed body, signatures left as they were: a writer without keys. */
static void forge_target(const char *dir, const char *file, const char *name, const char *sha) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  cleanup_free char *raw = NULL;
  size_t len;
  cleanup_json json_t *doc = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_read_file_at(AT_FDCWD, path, 1 << 20, &raw, &len, &err), 0);
  assert_int_equal(pl_json_parse(raw, len, file, &doc, &err), 0);
  json_t *tg = json_object_get(doc, "signed");
  assert_int_equal(pl_tuf_targets_add(tg, name, 1, sha, &err), 0);
  char *out = json_dumps(doc, 0);
  assert_non_null(out);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, path, out, strlen(out), 0644, &err), 0);
  free(out);
}

static char *slurp(const char *dir, const char *file) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  char *raw = NULL;
  size_t len;
  pl_error_t err = NULL;
  assert_int_equal(pl_read_file_at(AT_FDCWD, path, 1 << 20, &raw, &len, &err), 0);
  return raw;
}

struct edits {
  int removed, added, changed, withdrawn;
  char last[128];
};

static void count_edit(void *ctx, const char *file, enum pl_registry_edit kind,
                       const char *target) {
  struct edits *e = ctx;
  (void)file;
  e->removed += kind == PL_REGISTRY_EDIT_REMOVED;
  e->added += kind == PL_REGISTRY_EDIT_ADDED;
  e->changed += kind == PL_REGISTRY_EDIT_CHANGED;
  e->withdrawn += kind == PL_REGISTRY_EDIT_WITHDRAWN;
  snprintf(e->last, sizeof e->last, "%s", target ? target : "");
}

static const char EVIL_SHA[] = "ab00000000000000000000000000000000000000000000000000000000000000";

static void test_registry_add_and_index_refuse_a_target_written_in_unsigned(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  forge_target(f->reg, "targets.json", "evil-1.0-py3-none-any.whl", EVIL_SHA);
  cleanup_free char *before = slurp(f->reg, "targets.json");
  cleanup_free char *snap = slurp(f->reg, "snapshot.json");
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), -1);
  assert_int_equal(f->err->errnum, PL_REFUSED);
  assert_non_null(strstr(f->err->msg, "targets.json changed since it was signed"));
  pl_error_free(&f->err);
  struct pl_registry_index_stats st;
  assert_int_equal(pl_registry_index(f->reg, &o, &st, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "targets.json changed since it was signed"));
  pl_error_free(&f->err);
  const char *spec[] = {"demo==1.0"};
  assert_int_equal(pl_registry_withdraw(f->reg, &o, spec, 1, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "targets.json changed since it was signed"));
  cleanup_free char *after = slurp(f->reg, "targets.json");
  cleanup_free char *snap_after = slurp(f->reg, "snapshot.json");
  assert_string_equal(after, before);
  assert_string_equal(snap_after, snap);
}

static void
test_registry_sign_lists_hand_edits_and_signs_additions_only_when_accepted(void **state) {
  struct fx *f = *state;
  struct edits e = {0};
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1, .edit = count_edit, .ctx = &e};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  forge_target(f->reg, "targets.json", "evil-1.0-py3-none-any.whl", EVIL_SHA);
  cleanup_free char *before = slurp(f->reg, "timestamp.json");
  assert_int_equal(pl_registry_sign(f->reg, &o, &f->err), -1);
  assert_int_equal(f->err->errnum, PL_REFUSED);
  assert_int_equal(e.added, 1);
  assert_string_equal(e.last, "evil-1.0-py3-none-any.whl");
  cleanup_free char *after = slurp(f->reg, "timestamp.json");
  assert_string_equal(after, before);
  pl_error_free(&f->err);
  o.accept_edits = true;
  assert_int_equal(pl_registry_sign(f->reg, &o, &f->err), 0);
  assert_int_equal(e.added, 2);
  /* Signed now, and recorded: a routine add works again. */
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
}

static void test_registry_withdraw_delists_and_clients_lose_the_target(void **state) {
  struct fx *f = *state;
  struct edits e = {0};
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1, .edit = count_edit, .ctx = &e};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &o, w, 1, &f->err), 0);
  const char *missing[] = {"demo==2.0"};
  assert_int_equal(pl_registry_withdraw(f->reg, &o, missing, 1, &f->err), -1);
  assert_int_equal(f->err->errnum, ENOENT);
  pl_error_free(&f->err);
  const char *spec[] = {"Demo==1.0"};
  assert_int_equal(pl_registry_withdraw(f->reg, &o, spec, 1, &f->err), 0);
  assert_int_equal(e.withdrawn, 2); /* the wheel and its .metadata */
  struct pl_tuf *t = client(f);
  if (t == NULL) fail_msg("%s", f->err->msg);
  const struct pl_tuf_target *tt;
  assert_int_equal(pl_tuf_find_target(t, WHL, &tt, &f->err), -1);
  pl_tuf_free(t);
  char path[256];
  snprintf(path, sizeof path, "%s/targets/%s", f->reg, WHL);
  assert_int_equal(access(path, F_OK), -1);
}

static void test_registry_root_is_anchored_to_the_one_pylock_signed(void **state) {
  struct fx *f = *state;
  struct pl_registry_opts o = {.keys = &f->k1, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  /* Another registry's root (k2's, self-signed) put in place of this one. */
  char other[128];
  snprintf(other, sizeof other, "%s/other", f->dir);
  struct pl_registry_opts o2 = {.keys = &f->k2, .nkeys = 1};
  assert_int_equal(pl_registry_init(other, &o2, &f->err), 0);
  cleanup_free char *root2 = slurp(other, "root.json");
  char path[256];
  snprintf(path, sizeof path, "%s/root.json", f->reg);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, path, root2, strlen(root2), 0644, &f->err), 0);
  struct pl_registry_opts both = {.keys = (struct pl_key[]){f->k1, f->k2}, .nkeys = 2};
  const char *w[] = {f->wheel};
  assert_int_equal(pl_registry_add(f->reg, &both, w, 1, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "root.json changed since it was signed"));
}

/* A registry's files are read without following a link: a name swapped
 * for one after it was checked (others may write the directory) is not
 * read through. */
static void test_registry_files_are_read_without_following_a_link(void **state) {
  struct fx *f = *state;
  char target[128], link[128];
  snprintf(target, sizeof target, "%s/elsewhere.json", f->dir);
  snprintf(link, sizeof link, "%s/planted.json", f->dir);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, target, "{}", 2, 0644, &f->err), 0);
  assert_int_equal(symlink(target, link), 0);
  cleanup_free char *raw = NULL;
  size_t len = 0;
  assert_int_equal(pl_read_file_nofollow_at(AT_FDCWD, link, 4096, &raw, &len, &f->err), -1);
  assert_true(pl_error_is(f->err, ELOOP));
  assert_null(raw);
  pl_error_free(&f->err);
  assert_int_equal(pl_read_file_nofollow_at(AT_FDCWD, target, 4096, &raw, &len, &f->err), 0);
  assert_int_equal(len, 2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_registry_written_by_init_and_add_verifies_in_client),
      T(test_registry_bins_add_signs_only_its_bins_with_the_online_key),
      T(test_registry_index_adds_pages_signing_only_what_lists_them),
      T(test_registry_add_refuses_new_bytes_under_published_name),
      T(test_registry_add_refuses_unsafe_wheels_leaving_registry_untouched),
      T(test_registry_add_reports_startup_hooks_once_added),
      T(test_registry_add_refuses_invalid_wheel_filename),
      T(test_trusted_wheel_fetch_places_a_verified_wheel),
      T(test_trusted_wheel_fetch_refuses_signed_unsafe_wheels_leaving_nothing),
      T(test_trusted_wheel_fetch_refuses_changed_bytes_and_wrong_tags),
      T(test_trusted_wheel_metadata_target_must_equal_the_wheels),
      T(test_registry_sign_rotates_root_and_client_follows),
      T(test_registry_threshold_two_needs_both_keys),
      T(test_registry_snapshot_lists_length_and_sha256_of_targets),
      T(test_registry_refuses_directories_others_can_write),
      T(test_registry_refuses_a_directory_another_user_owns),
      T(test_registry_never_follows_a_planted_targets_link),
      T(test_registry_never_follows_a_planted_metadata_link),
      T(test_registry_add_checks_name_lengths_before_writing),
      T(test_registry_refuses_keys_inside_the_registry),
      T(test_registry_init_makes_directories_0755_whatever_the_umask),
      T(test_registry_temp_names_are_pylocks_alone),
      T(test_registry_next_publisher_sweeps_only_a_dead_ones_temporaries),
      T(test_registry_add_and_index_refuse_a_target_written_in_unsigned),
      T(test_registry_sign_lists_hand_edits_and_signs_additions_only_when_accepted),
      T(test_registry_withdraw_delists_and_clients_lose_the_target),
      T(test_registry_root_is_anchored_to_the_one_pylock_signed),
      T(test_registry_files_are_read_without_following_a_link),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
