/* pylock — RECORD parsing; see record.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_path.h"
#include "cleanup.h"

#define FIELD_MAX (PL_PATH_MAX + 1)

const char *pl_hash_algo_name(enum pl_hash_algo algo) {
  switch (algo) {
  case PL_HASH_SHA256: return "sha256";
  case PL_HASH_SHA384: return "sha384";
  case PL_HASH_SHA512: return "sha512";
  default: return "none";
  }
}

size_t pl_hash_algo_len(enum pl_hash_algo algo) {
  switch (algo) {
  case PL_HASH_SHA256: return 32;
  case PL_HASH_SHA384: return 48;
  case PL_HASH_SHA512: return 64;
  default: return 0;
  }
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void pl_record_b64(char *dst, size_t cap, const unsigned char *d, size_t len) {
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len && o + 1 < cap; i++) {
    acc = (acc << 8) | d[i];
    bits += 8;
    while (bits >= 6 && o + 1 < cap) {
      bits -= 6;
      dst[o++] = b64url[(acc >> bits) & 63];
    }
  }
  if (bits > 0 && o + 1 < cap) dst[o++] = b64url[(acc << (6 - bits)) & 63];
  if (cap) dst[o] = '\0';
}

/* Decode exactly `want` bytes of canonical unpadded urlsafe base64. */
static bool b64url_decode(const char *s, size_t n, unsigned char *out, size_t want) {
  if (n != (want * 8 + 5) / 6) return false;
  unsigned acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    const char *p = s[i] ? memchr(b64url, s[i], 64) : NULL;
    if (p == NULL) return false;
    acc = (acc << 6) | (unsigned)(p - b64url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
    }
  }
  /* Leftover bits must be zero, so one digest has one spelling. */
  return o == want && (acc & ((1u << bits) - 1)) == 0;
}

/* One CSV field (Python's csv "excel" dialect, strict): either bare text
 * without quotes, or "quoted" with "" for a quote, then ',' or end of line.
 * Returns 0 and advances *pos; *eol set when the row ended. */
static int read_field(const char *buf, size_t len, size_t *pos, char *out, size_t *olen, bool *eol,
                      size_t line, pl_error_t *err) {
  size_t i = *pos, o = 0;
  bool quoted = i < len && buf[i] == '"';
  if (quoted) i++;
  for (;;) {
    if (i >= len) {
      if (quoted) return pl_fail(err, 0, "RECORD line %zu: unterminated quoted field", line);
      *eol = true;
      break;
    }
    char c = buf[i];
    if (quoted && c == '"') {
      if (i + 1 < len && buf[i + 1] == '"') {
        c = '"';
        i++;
      } else {
        i++;
        if (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
          return pl_fail(err, 0, "RECORD line %zu: text after a closing quote", line);
        quoted = false;
        continue;
      }
    } else if (!quoted && (c == ',' || c == '\n' || c == '\r')) {
      break;
    } else if (!quoted && c == '"') {
      return pl_fail(err, 0, "RECORD line %zu: quote inside an unquoted field", line);
    } else if (c == '\0') {
      return pl_fail(err, 0, "RECORD line %zu: NUL byte", line);
    }
    if (o + 1 >= FIELD_MAX)
      return pl_fail(err, 0, "RECORD line %zu: field longer than %d bytes", line, FIELD_MAX - 1);
    out[o++] = c;
    i++;
  }
  out[o] = '\0';
  *olen = o;
  if (i < len && buf[i] == ',') {
    i++;
    *eol = false;
  } else {
    if (i < len && buf[i] == '\r') i++;
    if (i < len && buf[i] == '\n') i++;
    *eol = true;
  }
  *pos = i;
  return 0;
}

static int parse_hash(const char *f, size_t n, struct pl_record_entry *e, size_t line,
                      pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  const char *eq = memchr(f, '=', n);
  if (eq == NULL)
    return pl_fail(err, 0, "RECORD line %zu: hash \"%s\" is not algorithm=digest", line,
                   pl_path_quote(q, sizeof q, f, n));
  size_t alen = (size_t)(eq - f);
  static const struct {
    const char *name;
    enum pl_hash_algo algo;
  } ok[] = {{"sha256", PL_HASH_SHA256}, {"sha384", PL_HASH_SHA384}, {"sha512", PL_HASH_SHA512}};
  static const char *const weak[] = {"md5", "sha1", "sha224"};
  e->algo = PL_HASH_NONE;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (alen == strlen(ok[i].name) && memcmp(f, ok[i].name, alen) == 0) e->algo = ok[i].algo;
  if (e->algo == PL_HASH_NONE) {
    /* The wheel spec forbids hashes weaker than sha256: a collision would let
     * two different files satisfy the same RECORD row. */
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++)
      if (alen == strlen(weak[i]) && memcmp(f, weak[i], alen) == 0)
        return pl_fail(err, 0,
                       "RECORD line %zu: hash algorithm %s is weaker than sha256 (rejected)", line,
                       weak[i]);
    return pl_fail(err, 0,
                   "RECORD line %zu: unsupported hash algorithm \"%s\" (expected sha256, sha384 "
                   "or sha512)",
                   line, pl_path_quote(q, sizeof q, f, alen));
  }
  e->digest_len = pl_hash_algo_len(e->algo);
  if (!b64url_decode(eq + 1, n - alen - 1, e->digest, e->digest_len))
    return pl_fail(err, 0,
                   "RECORD line %zu: %s digest \"%s\" is not %zu bytes of unpadded urlsafe base64",
                   line, pl_hash_algo_name(e->algo),
                   pl_path_quote(q, sizeof q, eq + 1, n - alen - 1), e->digest_len);
  return 0;
}

static int parse_size(const char *f, size_t n, uint64_t *out, size_t line, pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  uint64_t v = 0;
  if (n == 0 || n > 20) goto bad;
  for (size_t i = 0; i < n; i++) {
    if (f[i] < '0' || f[i] > '9') goto bad;
    unsigned d = (unsigned)(f[i] - '0');
    if (v > (UINT64_MAX - d) / 10) goto bad;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
bad:
  return pl_fail(err, 0, "RECORD line %zu: size \"%s\" is not a decimal number", line,
                 pl_path_quote(q, sizeof q, f, n));
}

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const struct pl_record_entry *)a)->path,
                ((const struct pl_record_entry *)b)->path);
}

void pl_record_free(struct pl_record *rec) {
  if (rec == NULL) return;
  for (size_t i = 0; i < rec->n; i++)
    free(rec->entries[i].path);
  free(rec->entries);
  rec->entries = NULL;
  rec->n = 0;
}

/* Installed paths: leading "../" components, then a safe relative path. */
static int installed_path_check(const char *p, pl_error_t *err) {
  size_t up = 0;
  while (strncmp(p, "../", 3) == 0 && up < PL_PATH_DEPTH_MAX) {
    p += 3;
    up++;
  }
  size_t plen;
  return pl_archive_path_check(p, false, &plen, err);
}

static int parse_rows(const char *buf, size_t len, const char *record_path, bool installed,
                      struct pl_record *out, pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  struct pl_record rec = {0};
  size_t cap = 0;
  cleanup_free char *f0 = malloc(FIELD_MAX);
  cleanup_free char *f1 = malloc(FIELD_MAX);
  cleanup_free char *f2 = malloc(FIELD_MAX);
  if (!f0 || !f1 || !f2) return pl_fail(err, ENOMEM, "parsing RECORD");
  if (len > PL_RECORD_MAX_BYTES)
    return pl_fail(err, 0, "RECORD is %zu bytes, more than the %u allowed", len,
                   PL_RECORD_MAX_BYTES);

  size_t pos = 0, line = 0;
  while (pos < len) {
    line++;
    if (buf[pos] == '\n' || buf[pos] == '\r') { /* blank line */
      if (buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n') pos++;
      pos++;
      continue;
    }
    char *fields[3] = {f0, f1, f2};
    size_t flen[3];
    bool eol = false;
    int nf = 0;
    while (!eol) {
      if (nf == 3) {
        pl_fail(err, 0, "RECORD line %zu: more than 3 fields", line);
        goto fail;
      }
      if (read_field(buf, len, &pos, fields[nf], &flen[nf], &eol, line, err) < 0) goto fail;
      nf++;
    }
    if (nf != 3) {
      pl_fail(err, 0, "RECORD line %zu: %d field(s), expected path,hash,size", line, nf);
      goto fail;
    }
    if (rec.n >= PL_RECORD_MAX_ROWS) {
      pl_fail(err, 0, "RECORD has more than %u rows", PL_RECORD_MAX_ROWS);
      goto fail;
    }
    size_t plen;
    if ((installed ? installed_path_check(f0, err) : pl_archive_path_check(f0, false, &plen, err)) <
        0) {
      pl_error_wrap(err, "RECORD line %zu", line);
      goto fail;
    }
    struct pl_record_entry e = {0};
    bool self = installed ? flen[1] == 0 && flen[2] == 0 : strcmp(f0, record_path) == 0;
    if (self) {
      /* RECORD cannot contain its own digest; its row carries none. */
      if (flen[1] != 0 || flen[2] != 0) {
        pl_fail(err, 0, "RECORD line %zu: the row for %s must have empty hash and size", line,
                pl_path_quote(q, sizeof q, f0, flen[0]));
        goto fail;
      }
    } else {
      if (flen[1] == 0 || flen[2] == 0) {
        pl_fail(err, 0, "RECORD line %zu: \"%s\" has no %s", line,
                pl_path_quote(q, sizeof q, f0, flen[0]), flen[1] == 0 ? "hash" : "size");
        goto fail;
      }
      if (parse_hash(f1, flen[1], &e, line, err) < 0) goto fail;
      if (parse_size(f2, flen[2], &e.size, line, err) < 0) goto fail;
      e.has_size = true;
    }
    if (rec.n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      struct pl_record_entry *v = realloc(rec.entries, ncap * sizeof *v);
      if (v == NULL) {
        pl_fail(err, ENOMEM, "parsing RECORD");
        goto fail;
      }
      rec.entries = v;
      cap = ncap;
    }
    e.path = strdup(f0);
    if (e.path == NULL) {
      pl_fail(err, ENOMEM, "parsing RECORD");
      goto fail;
    }
    rec.entries[rec.n++] = e;
  }
  if (rec.n) qsort(rec.entries, rec.n, sizeof *rec.entries, cmp_entry);
  for (size_t i = 1; i < rec.n; i++)
    if (strcmp(rec.entries[i - 1].path, rec.entries[i].path) == 0) {
      pl_fail(err, 0, "RECORD lists \"%s\" twice",
              pl_path_quote(q, sizeof q, rec.entries[i].path, strlen(rec.entries[i].path)));
      goto fail;
    }
  *out = rec;
  return 0;
fail:
  pl_record_free(&rec);
  return -1;
}

int pl_record_parse(const char *buf, size_t len, const char *record_path, struct pl_record *out,
                    pl_error_t *err) {
  return parse_rows(buf, len, record_path, false, out, err);
}

int pl_record_parse_installed(const char *buf, size_t len, struct pl_record *out, pl_error_t *err) {
  return parse_rows(buf, len, NULL, true, out, err);
}

struct strbuf {
  char *p;
  size_t len, cap;
};

static int sb_add(struct strbuf *b, const char *s, size_t n) {
  if (n > PL_RECORD_MAX_BYTES || b->len + n > PL_RECORD_MAX_BYTES) return -1;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + n + 1)
      ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (np == NULL) return -1;
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

/* Python's csv.writer, QUOTE_MINIMAL: quote a field holding the delimiter,
 * the quote character or a line break; double quotes inside. */
static int sb_field(struct strbuf *b, const char *f) {
  if (strpbrk(f, ",\"\r\n") == NULL) return sb_add(b, f, strlen(f));
  if (sb_add(b, "\"", 1) < 0) return -1;
  for (const char *c = f; *c; c++)
    if (sb_add(b, c, 1) < 0 || (*c == '"' && sb_add(b, "\"", 1) < 0)) return -1;
  return sb_add(b, "\"", 1);
}

int pl_record_format(struct pl_record *rec, char **out, size_t *len, pl_error_t *err) {
  struct strbuf b = {0};
  if (rec->n) qsort(rec->entries, rec->n, sizeof *rec->entries, cmp_entry);
  for (size_t i = 0; i < rec->n; i++) {
    const struct pl_record_entry *e = &rec->entries[i];
    char hash[16 + 2 * PL_HASH_MAX], size[24];
    hash[0] = size[0] = '\0';
    if (e->algo != PL_HASH_NONE) {
      size_t n = (size_t)snprintf(hash, sizeof hash, "%s=", pl_hash_algo_name(e->algo));
      pl_record_b64(hash + n, sizeof hash - n, e->digest, e->digest_len);
    }
    if (e->has_size) snprintf(size, sizeof size, "%llu", (unsigned long long)e->size);
    if (sb_field(&b, e->path) < 0 || sb_add(&b, ",", 1) < 0 || sb_add(&b, hash, strlen(hash)) < 0 ||
        sb_add(&b, ",", 1) < 0 || sb_add(&b, size, strlen(size)) < 0 || sb_add(&b, "\r\n", 2) < 0) {
      free(b.p);
      return pl_fail(err, ENOMEM, "rendering RECORD");
    }
  }
  if (b.p == NULL && sb_add(&b, "", 0) < 0) return pl_fail(err, ENOMEM, "rendering RECORD");
  *out = b.p;
  *len = b.len;
  return 0;
}

bool pl_record_resolve(const char *base, const char *path, char *out, size_t cap) {
  size_t o = 0;
  if (cap == 0) return false;
  out[0] = '\0';
  for (int part = 0; part < 2; part++) {
    const char *p = part ? path : base;
    while (*p) {
      const char *end = strchrnul(p, '/');
      size_t n = (size_t)(end - p);
      if (n == 0 || (n == 1 && p[0] == '.')) {
        /* empty or "." component: nothing */
      } else if (n == 2 && p[0] == '.' && p[1] == '.') {
        if (o == 0) return false;
        char *slash = memrchr(out, '/', o);
        o = slash ? (size_t)(slash - out) : 0;
        out[o] = '\0';
      } else {
        if (o + (o ? 1 : 0) + n + 1 > cap) return false;
        if (o) out[o++] = '/';
        memcpy(out + o, p, n);
        o += n;
        out[o] = '\0';
      }
      p = *end ? end + 1 : end;
    }
  }
  return o > 0;
}

const struct pl_record_entry *pl_record_find(const struct pl_record *rec, const char *path) {
  struct pl_record_entry key = {.path = (char *)path};
  if (rec->n == 0) return NULL;
  return bsearch(&key, rec->entries, rec->n, sizeof key, cmp_entry);
}
