/* libFuzzer target: the TUF client workflow (lib/tuf.c) over a registry directory whose
 * metadata is the input: envelope and role parsing, signature thresholds, root rotation,
 * rollback and fast-forward checks against the state a first update left, meta lengths and
 * hashes, target lists.  A hostile registry holds its own keys, so what lies behind the
 * signature check is fuzzed too: the harness signs for it.
 *
 * Input: up to eight documents separated by a line "%%":
 *   0 root.json (also the trusted anchor and 1.root.json), 1 timestamp.json,
 *   2 snapshot.json, 3 targets.json: the first update, into an empty state directory;
 *   4 2.root.json, 5-7 new timestamp, snapshot and targets: a second update over that state
 *   (an empty document leaves the file as it was; 4 empty: no rotation).
 * A document whose "signatures" is an array of the strings "1" and "2" (or empty, meaning
 * "1") gets its "signed" signed by the harness's key 1 and 2 in that order (seeds and the
 * dictionary know their keyids); any other document is written as it is.  Snapshot and
 * targets are also written as VERSION.NAME.json, for consistent snapshots.
 * SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonjson.h"
#include "ed25519.h"
#include "tuf.h"
#include "tuf_meta.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_DEBUG=1 prints why each input was refused (to check that seeds get far). */
static void debug(const pl_error_t err) {
  static int on = -1;
  if (on < 0) on = getenv("FUZZ_DEBUG") != NULL;
  if (on && err && err->msg) fprintf(stderr, "fuzz: refused: %s\n", err->msg);
}

#define NOW ((time_t)1000000000) /* 2001-09-09: the seeds' metadata is valid then */
#define SEP "\n%%\n"
#define NDOCS 8

/* Test keys, for this harness only: keyids aac6c85a... and d6ed7915... */
static const char *const key_seeds[2] = {
    "301dc5ce1f0f9d400d145869e332bbea3086938fd4b12b7802ccbebe0d3c917a",
    "ef986586b7f9e6a40ee82371961b4f995380e415f5394e062d0b7a8fae7746be"};
static struct pl_key keys[2];
static char work[256], reg[272], state[272], anchor[272];

static void empty_dir(const char *path) {
  DIR *d = opendir(path);
  if (d == NULL) abort();
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      unlinkat(dirfd(d), e->d_name, 0);
  closedir(d);
}

static void remove_work(void) {
  empty_dir(reg);
  empty_dir(state);
  unlink(anchor);
  rmdir(reg);
  rmdir(state);
  rmdir(work);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  pl_error_t err = NULL;
  /* Its files are written and fsync'ed on every input: in memory when possible. */
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(work, sizeof work, "%s/fuzz_tuf.XXXXXX", tmp);
  if (mkdtemp(work) == NULL) abort();
  snprintf(reg, sizeof reg, "%s/reg", work);
  snprintf(state, sizeof state, "%s/state", work);
  snprintf(anchor, sizeof anchor, "%s/anchor.json", work);
  if (mkdir(reg, 0700) < 0 || mkdir(state, 0700) < 0) abort();
  atexit(remove_work);
  for (int i = 0; i < 2; i++) {
    char path[300];
    snprintf(path, sizeof path, "%s/k%d.key", work, i + 1);
    FILE *f = fopen(path, "w");
    if (f == NULL || fchmod(fileno(f), 0600) < 0) abort();
    fprintf(f, "%s\n%s\n", PL_KEY_PRIVATE_HEADER, key_seeds[i]);
    fclose(f);
    if (pl_key_load(path, &keys[i], &err) < 0) abort();
    unlink(path);
  }
  return 0;
}

static void put(const char *dir, const char *name, const char *buf, size_t len) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) abort();
  if (len && write(fd, buf, len) != (ssize_t)len) abort();
  close(fd);
}

/* The keys a document asks the harness to sign with ("signatures": ["1", "2"...]), or 0
 * when it is to be written as it is. */
static size_t signers(const json_t *sigs, const struct pl_key **out) {
  if (!json_is_array(sigs) || json_array_size(sigs) > 4) return 0;
  size_t n = 0;
  for (size_t i = 0; i < json_array_size(sigs); i++) {
    const char *s = json_string_value(json_array_get(sigs, i));
    if (s == NULL || (strcmp(s, "1") != 0 && strcmp(s, "2") != 0)) return 0;
    out[n++] = &keys[s[0] - '1'];
  }
  if (n == 0) out[n++] = &keys[0];
  return n;
}

/* Write document `doc` as dir/name (and as dir/VERSION.name when versioned). */
static void put_doc(const char *doc, size_t len, const char *name, int versioned) {
  pl_error_t err = NULL;
  cleanup_json json_t *v = NULL;
  char *signed_text = NULL;
  int64_t version = 0;
  if (pl_json_parse(doc, len, name, &v, &err) == 0) {
    const json_t *body = json_object_get(v, "signed");
    const struct pl_key *k[4];
    size_t nk = signers(json_object_get(v, "signatures"), k);
    if (json_is_object(body) && nk && pl_tuf_sign(body, k, nk, &signed_text, &len, &err) == 0)
      doc = signed_text;
    if (json_is_integer(json_object_get(body, "version")))
      version = json_integer_value(json_object_get(body, "version"));
  }
  pl_error_free(&err);
  put(reg, name, doc, len);
  if (versioned && version > 0) {
    char vname[64];
    snprintf(vname, sizeof vname, "%lld.%s", (long long)version, name);
    put(reg, vname, doc, len);
  }
  if (strcmp(name, "root.json") == 0) {
    put(reg, "1.root.json", doc, len);
    put(work, "anchor.json", doc, len);
    /* What `pylock trust add` accepts. */
    int64_t rv = 0;
    if (pl_tuf_check_root(doc, len, "root.json", &rv, NULL, &err) == 0) {
      if (rv < 1) abort();
    } else if (err == NULL || err->msg == NULL) {
      abort();
    }
    debug(err);
    pl_error_free(&err);
  }
  free(signed_text);
}

/* What a verified update offers must be consistent. */
static void inspect(struct pl_tuf *t) {
  for (int r = 0; r < PL_TUF_NROLES; r++) {
    int64_t v;
    time_t e;
    pl_tuf_role_info(t, (enum pl_tuf_role)r, &v, &e);
    if (getenv("FUZZ_DEBUG"))
      fprintf(stderr, "fuzz: %s version %lld expires %lld\n", pl_tuf_role_names[r], (long long)v,
              (long long)e);
    if (v < 1 || e <= NOW) abort();
  }
  size_t n = pl_tuf_target_count(t);
  for (size_t i = 0; i < n; i++) {
    const struct pl_tuf_target *a = pl_tuf_target_at(t, i), *b = NULL;
    pl_error_t err = NULL;
    /* Found by name, unless it has no sha256 (the only hash pylock checks wheels with). */
    if (pl_tuf_find_target(t, a->name, &b, &err) == 0 ? a != b || !a->sha256[0] : a->sha256[0])
      abort();
    pl_error_free(&err);
    if (i && strcmp(pl_tuf_target_at(t, i - 1)->name, a->name) >= 0) abort();
  }
}

static void update(void) {
  struct pl_tuf_options o = {.url = reg, .root_path = anchor, .state_dir = state, .now = NOW};
  struct pl_tuf *t = NULL;
  pl_error_t err = NULL;
  if (pl_tuf_update(&o, &t, &err) == 0) {
    inspect(t);
    pl_tuf_free(t);
  } else if (err == NULL || err->msg == NULL) {
    abort();
  }
  debug(err);
  pl_error_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[NDOCS] = {"root.json",     "timestamp.json", "snapshot.json",
                                           "targets.json",  "2.root.json",    "timestamp.json",
                                           "snapshot.json", "targets.json"};
  const char *doc[NDOCS] = {0};
  size_t len[NDOCS] = {0}, n = 0;
  const char *p = (const char *)data, *end = p + size;
  while (n < NDOCS) {
    const char *s = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
    doc[n] = p;
    len[n++] = (size_t)((s ? s : end) - p);
    if (s == NULL) break;
    p = s + strlen(SEP);
  }
  empty_dir(reg);
  empty_dir(state);
  for (size_t i = 0; i < 4 && i < n; i++)
    if (len[i]) put_doc(doc[i], len[i], names[i], i == 2 || i == 3);
  update();
  if (n <= 4) return 0;
  for (size_t i = 4; i < n; i++)
    if (len[i]) put_doc(doc[i], len[i], names[i], i == 6 || i == 7);
  update();
  return 0;
}
