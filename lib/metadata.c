/* pylock — METADATA and WHEEL parsing; see metadata.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "metadata.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "archive_path.h"
#include "distname.h"

static bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

int pl_headers_parse(const char *buf, size_t len, pl_header_fn fn, void *ctx, pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  size_t pos = 0, line = 0;
  int count = 0;
  while (pos < len) {
    line++;
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - buf) : len;
    size_t lend = end > pos && buf[end - 1] == '\r' ? end - 1 : end;
    if (lend == pos) return 0; /* empty line: the body follows */
    if (memchr(buf + pos, '\0', end - pos)) return pl_fail(err, 0, "line %zu: NUL byte", line);
    if (is_blank(buf[pos]))
      return pl_fail(err, 0, "line %zu: continuation line without a field", line);
    const char *colon = memchr(buf + pos, ':', lend - pos);
    if (colon == NULL)
      return pl_fail(err, 0, "line %zu: \"%s\" is not a \"Field: value\" header", line,
                     pl_path_quote(q, sizeof q, buf + pos, lend - pos));
    size_t kstart = pos, klen = (size_t)(colon - (buf + pos));
    for (size_t i = 0; i < klen; i++) {
      char c = buf[kstart + i];
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_'))
        return pl_fail(err, 0, "line %zu: bad field name \"%s\"", line,
                       pl_path_quote(q, sizeof q, buf + kstart, klen));
    }
    if (klen == 0) return pl_fail(err, 0, "line %zu: empty field name", line);
    if (++count > PL_HEADERS_MAX)
      return pl_fail(err, 0, "more than %d header fields", PL_HEADERS_MAX);
    size_t vstart = (size_t)(colon - buf) + 1;
    /* Extend over continuation lines. */
    size_t vend = lend;
    pos = nl ? end + 1 : len;
    while (pos < len && is_blank(buf[pos])) {
      line++;
      const char *nl2 = memchr(buf + pos, '\n', len - pos);
      size_t e2 = nl2 ? (size_t)(nl2 - buf) : len;
      if (memchr(buf + pos, '\0', e2 - pos)) return pl_fail(err, 0, "line %zu: NUL byte", line);
      vend = e2 > pos && buf[e2 - 1] == '\r' ? e2 - 1 : e2;
      pos = nl2 ? e2 + 1 : len;
    }
    while (vstart < vend && is_blank(buf[vstart]))
      vstart++;
    while (vend > vstart && (is_blank(buf[vend - 1]) || buf[vend - 1] == '\r'))
      vend--;
    if (fn(ctx, buf + kstart, klen, buf + vstart, vend - vstart, err) < 0) return -1;
  }
  return 0;
}

static bool key_is(const char *key, size_t klen, const char *want) {
  return strlen(want) == klen && strncasecmp(key, want, klen) == 0;
}

/* Copy a field we keep: bounded, single line. */
static int take(char **slot, const char *field, const char *val, size_t vlen, pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  if (*slot) return pl_fail(err, 0, "field %s appears more than once", field);
  if (vlen == 0) return pl_fail(err, 0, "field %s is empty", field);
  if (vlen > PL_HEADER_VALUE_MAX)
    return pl_fail(err, 0, "field %s is longer than %d bytes", field, PL_HEADER_VALUE_MAX);
  for (size_t i = 0; i < vlen; i++)
    if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f)
      return pl_fail(err, 0, "field %s \"%s\" spans lines or has control characters", field,
                     pl_path_quote(q, sizeof q, val, vlen));
  *slot = strndup(val, vlen);
  return *slot ? 0 : pl_fail(err, ENOMEM, "copying field %s", field);
}

/* "M.m" with 1-3 digits each, into major and minor. */
static bool parse_mm(const char *s, unsigned *major, unsigned *minor) {
  unsigned v[2] = {0, 0};
  int part = 0, digits = 0;
  for (; *s; s++) {
    if (*s == '.' && part == 0 && digits > 0) {
      part = 1;
      digits = 0;
    } else if (*s >= '0' && *s <= '9' && digits < 3) {
      v[part] = v[part] * 10 + (unsigned)(*s - '0');
      digits++;
    } else {
      return false;
    }
  }
  if (part != 1 || digits == 0) return false;
  *major = v[0];
  *minor = v[1];
  return true;
}

static int metadata_field(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                          pl_error_t *err) {
  struct pl_metadata *md = ctx;
  if (key_is(key, klen, "Metadata-Version"))
    return take(&md->metadata_version, "Metadata-Version", val, vlen, err);
  if (key_is(key, klen, "Name")) return take(&md->name, "Name", val, vlen, err);
  if (key_is(key, klen, "Version")) return take(&md->version, "Version", val, vlen, err);
  return 0;
}

void pl_metadata_free(struct pl_metadata *md) {
  if (md == NULL) return;
  free(md->metadata_version);
  free(md->name);
  free(md->version);
  memset(md, 0, sizeof *md);
}

int pl_metadata_parse(const char *buf, size_t len, struct pl_metadata *out, pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  struct pl_metadata md = {0};
  unsigned major, minor;
  if (len > PL_METADATA_MAX_BYTES) {
    pl_fail(err, 0, "METADATA is %zu bytes, more than the %u allowed", len, PL_METADATA_MAX_BYTES);
    goto fail;
  }
  if (pl_headers_parse(buf, len, metadata_field, &md, err) < 0) goto fail;
  if (!md.metadata_version || !md.name || !md.version) {
    pl_fail(err, 0, "METADATA lacks %s",
            !md.metadata_version ? "Metadata-Version"
            : !md.name           ? "Name"
                                 : "Version");
    goto fail;
  }
  if (!parse_mm(md.metadata_version, &major, &minor) || major < 1 || major > 2) {
    pl_fail(err, 0, "METADATA: unsupported Metadata-Version \"%s\" (expected 1.x or 2.x)",
            pl_path_quote(q, sizeof q, md.metadata_version, strlen(md.metadata_version)));
    goto fail;
  }
  if (!pl_distname_valid(md.name, strlen(md.name))) {
    pl_fail(err, 0, "METADATA: Name \"%s\" is not a valid project name",
            pl_path_quote(q, sizeof q, md.name, strlen(md.name)));
    goto fail;
  }
  if (!pl_version_valid(md.version, strlen(md.version))) {
    pl_fail(err, 0, "METADATA: Version \"%s\" has characters a version cannot have",
            pl_path_quote(q, sizeof q, md.version, strlen(md.version)));
    goto fail;
  }
  *out = md;
  return 0;
fail:
  pl_metadata_free(&md);
  return -1;
}

struct wheelfile_ctx {
  struct pl_wheelfile *wf;
  char *wheel_version;
  char *purelib;
};

static int wheelfile_field(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                           pl_error_t *err) {
  struct wheelfile_ctx *c = ctx;
  if (key_is(key, klen, "Wheel-Version"))
    return take(&c->wheel_version, "Wheel-Version", val, vlen, err);
  if (key_is(key, klen, "Root-Is-Purelib"))
    return take(&c->purelib, "Root-Is-Purelib", val, vlen, err);
  if (key_is(key, klen, "Build")) return take(&c->wf->build, "Build", val, vlen, err);
  if (key_is(key, klen, "Tag")) {
    if (c->wf->ntags >= PL_WHEEL_TAGS_MAX)
      return pl_fail(err, 0, "more than %d Tag lines", PL_WHEEL_TAGS_MAX);
    if (c->wf->ntags == 0) {
      c->wf->tags = calloc(PL_WHEEL_TAGS_MAX, sizeof *c->wf->tags);
      if (c->wf->tags == NULL) return pl_fail(err, ENOMEM, "parsing WHEEL");
    }
    char *tag = NULL;
    if (take(&tag, "Tag", val, vlen, err) < 0) return -1;
    c->wf->tags[c->wf->ntags++] = tag;
  }
  return 0;
}

void pl_wheelfile_free(struct pl_wheelfile *wf) {
  if (wf == NULL) return;
  for (size_t i = 0; i < wf->ntags; i++)
    free(wf->tags[i]);
  free(wf->tags);
  free(wf->build);
  memset(wf, 0, sizeof *wf);
}

int pl_wheelfile_parse(const char *buf, size_t len, struct pl_wheelfile *out, pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  struct pl_wheelfile wf = {0};
  struct wheelfile_ctx c = {.wf = &wf};
  int r = -1;
  if (len > PL_WHEELFILE_MAX_BYTES) {
    pl_fail(err, 0, "WHEEL is %zu bytes, more than the %u allowed", len, PL_WHEELFILE_MAX_BYTES);
    goto out;
  }
  if (pl_headers_parse(buf, len, wheelfile_field, &c, err) < 0) goto out;
  if (c.wheel_version == NULL) {
    pl_fail(err, 0, "WHEEL lacks Wheel-Version");
    goto out;
  }
  if (!parse_mm(c.wheel_version, &wf.version_major, &wf.version_minor)) {
    pl_fail(err, 0, "WHEEL: Wheel-Version \"%s\" is not MAJOR.MINOR",
            pl_path_quote(q, sizeof q, c.wheel_version, strlen(c.wheel_version)));
    goto out;
  }
  /* A new major version of the wheel format may change what files mean;
   * installing it as 1.x could put files where they do not belong. */
  if (wf.version_major != 1) {
    pl_fail(err, 0, "WHEEL: Wheel-Version %u.%u is not supported (expected 1.x)", wf.version_major,
            wf.version_minor);
    goto out;
  }
  if (c.purelib == NULL) {
    pl_fail(err, 0, "WHEEL lacks Root-Is-Purelib");
    goto out;
  }
  if (strcasecmp(c.purelib, "true") == 0) {
    wf.root_is_purelib = true;
  } else if (strcasecmp(c.purelib, "false") == 0) {
    wf.root_is_purelib = false;
  } else {
    pl_fail(err, 0, "WHEEL: Root-Is-Purelib \"%s\" is neither true nor false",
            pl_path_quote(q, sizeof q, c.purelib, strlen(c.purelib)));
    goto out;
  }
  *out = wf;
  memset(&wf, 0, sizeof wf);
  r = 0;
out:
  pl_wheelfile_free(&wf);
  free(c.wheel_version);
  free(c.purelib);
  return r;
}
