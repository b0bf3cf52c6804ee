/* pylock — bounded registry reads; see fetch.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dyn_curl.h"
#include "interrupt.h"
#include "log.h"
#include "pylock_version.h"

struct pl_fetcher {
  int dirfd;       /* local registry, or -1 */
  char *url;       /* http(s) base without trailing '/', or NULL */
  char *ca_bundle; /* CA file for https, or NULL for the system's store */
  CURL *curl;
  unsigned deadline_floor; /* seconds */
};

uint64_t pl_fetch_deadline_ms(uint64_t length, unsigned floor_s) {
  const uint64_t rate = PL_FETCH_DEADLINE_RATE, s = length / rate;
  if (s > UINT64_MAX / 4000) return UINT64_MAX / 4;
  return (uint64_t)floor_s * 1000 + s * 1000 + (length % rate) * 1000 / rate;
}

unsigned pl_fetch_deadline_floor(void) {
  const char *v = getenv(PL_FETCH_DEADLINE_FLOOR_ENV);
  char *end = NULL;
  unsigned long n = v && *v >= '1' && *v <= '9' ? strtoul(v, &end, 10) : 0;
  return n >= 1 && n <= PL_FETCH_DEADLINE_FLOOR && end && *end == '\0' ? (unsigned)n
                                                                       : PL_FETCH_DEADLINE_FLOOR;
}

int pl_fetch_path_ok(const char *p) {
  if (p == NULL || *p == '\0' || *p == '/' || strlen(p) > 1024) return 0;
  const char *seg = p;
  for (const char *c = p;; c++) {
    if (*c == '/' || *c == '\0') {
      size_t n = (size_t)(c - seg);
      if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
        return 0;
      if (*c == '\0') return 1;
      seg = c + 1;
    } else if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\') {
      return 0;
    }
  }
}

static int fetcher_init(struct pl_fetcher *f, const char *base, pl_error_t *err) {
  if (strncmp(base, "http://", 7) == 0 || strncmp(base, "https://", 8) == 0) {
    if (pl_dynlib_load(PL_LIB_CURL, err) < 0) return -1;
    static bool curl_ready;
    if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
      return pl_fail(err, 0, "cannot initialise libcurl");
    curl_ready = true;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
      n--;
    f->url = strndup(base, n);
    f->curl = curl_easy_init();
    if (f->url == NULL || f->curl == NULL) return pl_fail(err, ENOMEM, "open registry %s", base);
    return 0;
  }
  const char *path = base;
  if (strncmp(base, "file://", 7) == 0) {
    path = base + 7;
    if (strncmp(path, "localhost/", 10) == 0) path += 9;
    if (*path != '/')
      return pl_fail(err, 0, "registry URL %s: file:// URLs need an absolute path", base);
  } else if (strstr(base, "://")) {
    return pl_fail_hint(err, 0, "use a directory, file:///DIR, http:// or https://",
                        "registry URL %s: unsupported scheme", base);
  }
  f->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f->dirfd < 0) return pl_fail(err, errno, "open registry directory %s", path);
  return 0;
}

int pl_fetcher_open(const char *base, const char *ca_bundle, struct pl_fetcher **out,
                    pl_error_t *err) {
  struct pl_fetcher *f = calloc(1, sizeof *f);
  if (f == NULL) return pl_fail(err, ENOMEM, "open registry %s", base);
  f->dirfd = -1;
  f->deadline_floor = pl_fetch_deadline_floor();
  if (ca_bundle && (f->ca_bundle = strdup(ca_bundle)) == NULL) {
    pl_fetcher_free(f);
    return pl_fail(err, ENOMEM, "open registry %s", base);
  }
  if (fetcher_init(f, base, err) < 0) {
    pl_fetcher_free(f);
    return -1;
  }
  *out = f;
  return 0;
}

void pl_fetcher_free(struct pl_fetcher *f) {
  if (f == NULL) return;
  if (f->dirfd >= 0) close(f->dirfd);
  if (f->curl) curl_easy_cleanup(f->curl);
  free(f->url);
  free(f->ca_bundle);
  free(f);
}

static int fetch_local(struct pl_fetcher *f, const char *rel, uint64_t max, pl_fetch_sink sink,
                       void *ctx, pl_error_t *err) {
  cleanup_close int fd = openat(f->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return pl_fail(err, errno, "%s", rel);
  struct stat st;
  if (fstat(fd, &st) < 0) return pl_fail(err, errno, "%s", rel);
  if (!S_ISREG(st.st_mode)) return pl_fail(err, 0, "%s: not a regular file", rel);
  char buf[65536];
  uint64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return pl_fail(err, errno, "%s: read", rel);
    if (r == 0) return 0;
    total += (uint64_t)r;
    if (total > max)
      return pl_fail(err, EFBIG, "%s: longer than the %llu bytes expected", rel,
                     (unsigned long long)max);
    if (sink(ctx, buf, (size_t)r, err) < 0) return -1;
  }
}

struct http_ctx {
  pl_fetch_sink sink;
  void *ctx;
  pl_error_t *err;
  uint64_t max, total;
  bool too_big, sink_failed;
};

static size_t http_write(char *data, size_t size, size_t nmemb, void *p) {
  struct http_ctx *h = p;
  size_t n = size * nmemb;
  if (n > h->max - h->total) {
    h->too_big = true;
    return 0;
  }
  h->total += n;
  if (h->sink(h->ctx, data, n, h->err) < 0) {
    h->sink_failed = true;
    return 0;
  }
  return n;
}

/* Percent-encode everything but unreserved characters and '/': '+' in a
 * local version would mean a space to some object stores. */
static char *url_join(const char *base, const char *rel) {
  size_t bl = strlen(base), rl = strlen(rel);
  char *u = malloc(bl + 1 + 3 * rl + 1);
  if (u == NULL) return NULL;
  memcpy(u, base, bl);
  char *o = u + bl;
  *o++ = '/';
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *c = (const unsigned char *)rel; *c; c++) {
    if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
        *c == '-' || *c == '.' || *c == '_' || *c == '~' || *c == '/') {
      *o++ = (char)*c;
    } else {
      *o++ = '%';
      *o++ = hex[*c >> 4];
      *o++ = hex[*c & 15];
    }
  }
  *o = '\0';
  return u;
}

/* CURLOPT_XFERINFOFUNCTION: a Ctrl-C (interrupt.h) ends the transfer, and
 * a status line may turn meanwhile. */
static int http_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow) {
  (void)p, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  pl_progress_tick();
  return pl_interrupted() ? 1 : 0;
}

/* Set easy handle c up to fetch url into h, bounded as fetch.h says; its
 * deadline in milliseconds into *deadline. */
static void http_setup(const struct pl_fetcher *f, CURL *c, const char *url, struct http_ctx *h,
                       char *errbuf, uint64_t *deadline) {
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  /* Redirects may not leave http(s) (no file://, no gopher://...). */
  if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK) {
    /* libcurl before 7.85 (RHEL 9) knows only the bitmask form. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#pragma GCC diagnostic pop
  }
  /* Error pages are not data: >= 400 ends the transfer before any body. */
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  /* TLS is verified: metadata is signed, but wheels' confidentiality and
   * the registry's availability still rest on talking to the right host. */
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  /* A private CA (an internal registry): the bundle the user names replaces
   * the system's, the way OpenSSL's and curl's own tools read it.  Verification
   * stays on; only the anchors change. */
  if (f->ca_bundle) curl_easy_setopt(c, CURLOPT_CAINFO, f->ca_bundle);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)PL_FETCH_CONNECT_TIMEOUT);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)PL_FETCH_LOW_SPEED);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)PL_FETCH_STALL_TIMEOUT);
  /* The stall check alone lets a trickle last for days: see fetch.h. */
  *deadline = pl_fetch_deadline_ms(h->max, f->deadline_floor);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, *deadline > LONG_MAX ? LONG_MAX : (long)*deadline);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "pylock/" PYLOCK_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_progress);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

/* What the transfer of url on c, ended with rc, amounts to: 0, or -1 with
 * err saying why (ENOENT: the server has no such file). */
static int http_result(const struct pl_fetcher *f, CURL *c, CURLcode rc, const char *url,
                       const struct http_ctx *h, const char *errbuf, uint64_t deadline,
                       pl_error_t *err) {
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (h->sink_failed) return -1;
  if (rc == CURLE_ABORTED_BY_CALLBACK && pl_interrupt_check(err) < 0)
    return pl_error_wrap(err, "%s", url);
  if (h->too_big || rc == CURLE_FILESIZE_EXCEEDED)
    return pl_fail(err, EFBIG, "%s: longer than the %llu bytes expected", url,
                   (unsigned long long)h->max);
  if (rc == CURLE_HTTP_RETURNED_ERROR || (rc == CURLE_OK && status != 200)) {
    if (status == 403 || status == 404 || status == 410)
      return pl_fail(err, -ENOENT, "%s: HTTP %ld", url, status); /* absent, no errno text */
    return pl_fail(err, -EIO, "%s: HTTP %ld", url, status);
  }
  curl_off_t took_us = 0;
  if (rc == CURLE_OPERATION_TIMEDOUT &&
      curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &took_us) == CURLE_OK &&
      (uint64_t)took_us / 1000 + 50 >= deadline)
    return pl_fail_hint(err, 0,
                        "the server or the network to it is too slow, or holding the transfer "
                        "back: try again, or another mirror",
                        "%s: not received within its deadline of %.1f s (%u s, and %llu bytes at "
                        "%u KiB/s): %llu bytes came",
                        url, (double)deadline / 1000, f->deadline_floor, (unsigned long long)h->max,
                        PL_FETCH_DEADLINE_RATE / 1024, (unsigned long long)h->total);
  if (rc != CURLE_OK)
    return pl_fail_hint(err, EIO, "check the registry URL and the network", "%s: %s", url,
                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
  return 0;
}

static int fetch_http(struct pl_fetcher *f, const char *rel, uint64_t max, pl_fetch_sink sink,
                      void *ctx, pl_error_t *err) {
  cleanup_free char *url = url_join(f->url, rel);
  if (url == NULL) return pl_fail(err, ENOMEM, "%s", rel);
  struct http_ctx h = {.sink = sink, .ctx = ctx, .err = err, .max = max};
  char errbuf[CURL_ERROR_SIZE] = "";
  uint64_t deadline = 0;
  http_setup(f, f->curl, url, &h, errbuf, &deadline);
  CURLcode rc = curl_easy_perform(f->curl);
  return http_result(f, f->curl, rc, url, &h, errbuf, deadline, err);
}

int pl_fetch(struct pl_fetcher *f, const char *relpath, uint64_t max, pl_fetch_sink sink, void *ctx,
             pl_error_t *err) {
  if (!pl_fetch_path_ok(relpath))
    return pl_fail(err, 0, "refusing unsafe registry path \"%s\"", relpath);
  return f->url ? fetch_http(f, relpath, max, sink, ctx, err)
                : fetch_local(f, relpath, max, sink, ctx, err);
}

/* One transfer of pl_fetch_many in flight. */
struct slot {
  CURL *c;
  bool busy;
  size_t job;
  char *url;
  struct http_ctx h;
  pl_error_t err;
  uint64_t deadline;
  char errbuf[CURL_ERROR_SIZE];
};

/* Start job j of jobs on slot s, added to m. */
static int slot_start(struct pl_fetcher *f, CURLM *m, struct slot *s,
                      const struct pl_fetch_job *jobs, size_t j, pl_error_t *err) {
  s->url = url_join(f->url, jobs[j].relpath);
  if (s->url == NULL) return pl_fail(err, ENOMEM, "%s", jobs[j].relpath);
  s->job = j;
  s->err = NULL;
  s->errbuf[0] = '\0';
  s->h = (struct http_ctx){
      .sink = jobs[j].sink, .ctx = jobs[j].ctx, .err = &s->err, .max = jobs[j].max};
  http_setup(f, s->c, s->url, &s->h, s->errbuf, &s->deadline);
  if (curl_multi_add_handle(m, s->c) != CURLM_OK) {
    free(s->url);
    s->url = NULL;
    return pl_fail(err, ENOMEM, "%s: cannot start the transfer", jobs[j].relpath);
  }
  s->busy = true;
  return 0;
}

/* Take slot s off m: its transfer over, or abandoned. */
static void slot_stop(CURLM *m, struct slot *s) {
  curl_multi_remove_handle(m, s->c);
  free(s->url);
  s->url = NULL;
  pl_error_free(&s->err);
  s->busy = false;
}

/* The transfers of m that ended: each judged; the first failure into
 * *failed and err.  -1 once one failed. */
static int reap(struct pl_fetcher *f, CURLM *m, struct slot *slots, size_t nslots, size_t *failed,
                pl_error_t *err) {
  CURLMsg *msg;
  int left = 0, rc = 0;
  while ((msg = curl_multi_info_read(m, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    struct slot *s = NULL;
    for (size_t i = 0; i < nslots && s == NULL; i++)
      if (slots[i].busy && slots[i].c == msg->easy_handle) s = &slots[i];
    if (s == NULL) continue;
    CURLcode res = msg->data.result;
    if (rc == 0 && http_result(f, s->c, res, s->url, &s->h, s->errbuf, s->deadline, &s->err) < 0) {
      *failed = s->job;
      *err = s->err;
      s->err = NULL;
      rc = -1;
    }
    slot_stop(m, s);
  }
  return rc;
}

/* pl_fetch_many over HTTP: one multi handle, at most PL_FETCH_PARALLEL
 * transfers at once, each with the bounds and deadline of pl_fetch from
 * the moment it starts. */
static int fetch_many_http(struct pl_fetcher *f, const struct pl_fetch_job *jobs, size_t n,
                           size_t *failed, pl_error_t *err) {
  struct slot slots[PL_FETCH_PARALLEL];
  memset(slots, 0, sizeof slots);
  size_t nslots = n < PL_FETCH_PARALLEL ? n : PL_FETCH_PARALLEL, next = 0;
  CURLM *m = curl_multi_init();
  int rc = m ? 0 : pl_fail(err, ENOMEM, "fetch");
  for (size_t i = 0; i < nslots && rc == 0; i++)
    if ((slots[i].c = curl_easy_init()) == NULL) rc = pl_fail(err, ENOMEM, "fetch");
  if (rc == 0) curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)PL_FETCH_PARALLEL);
  while (rc == 0) {
    size_t busy = 0;
    for (size_t i = 0; i < nslots && rc == 0; i++) {
      if (!slots[i].busy && next < n) {
        *failed = next;
        if (slot_start(f, m, &slots[i], jobs, next++, err) < 0) rc = -1;
      }
      busy += slots[i].busy;
    }
    if (rc < 0 || busy == 0) break;
    int running = 0;
    if (curl_multi_perform(m, &running) != CURLM_OK) {
      rc = pl_fail(err, EIO, "fetch: the transfers broke down");
      break;
    }
    rc = reap(f, m, slots, nslots, failed, err);
    if (rc == 0 && running > 0 && curl_multi_wait(m, NULL, 0, 1000, NULL) != CURLM_OK)
      rc = pl_fail(err, EIO, "fetch: the transfers broke down");
    if (rc == 0 && pl_interrupt_check(err) < 0) rc = -1;
  }
  /* The first failure ends the rest: what they brought is unverified. */
  for (size_t i = 0; i < nslots; i++) {
    if (slots[i].busy) slot_stop(m, &slots[i]);
    if (slots[i].c) curl_easy_cleanup(slots[i].c);
  }
  if (m) curl_multi_cleanup(m);
  return rc;
}

int pl_fetch_many(struct pl_fetcher *f, const struct pl_fetch_job *jobs, size_t n, size_t *failed,
                  pl_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    if (!pl_fetch_path_ok(jobs[i].relpath)) {
      *failed = i;
      return pl_fail(err, 0, "refusing unsafe registry path \"%s\"", jobs[i].relpath);
    }
  }
  if (f->url && n > 1) return fetch_many_http(f, jobs, n, failed, err);
  for (size_t i = 0; i < n; i++) {
    *failed = i;
    if (pl_fetch(f, jobs[i].relpath, jobs[i].max, jobs[i].sink, jobs[i].ctx, err) < 0) return -1;
  }
  return 0;
}

struct membuf {
  char *p;
  size_t len, cap;
};

static int mem_sink(void *ctx, const void *data, size_t n, pl_error_t *err) {
  struct membuf *m = ctx;
  if (m->len + n + 1 > m->cap) {
    size_t ncap = m->cap ? m->cap : 4096;
    while (ncap < m->len + n + 1)
      ncap *= 2;
    char *np = realloc(m->p, ncap);
    if (np == NULL) return pl_fail(err, ENOMEM, "fetch");
    m->p = np;
    m->cap = ncap;
  }
  memcpy(m->p + m->len, data, n);
  m->len += n;
  return 0;
}

int pl_fetch_mem(struct pl_fetcher *f, const char *relpath, size_t max, char **buf, size_t *len,
                 pl_error_t *err) {
  struct membuf m = {0};
  if (pl_fetch(f, relpath, max, mem_sink, &m, err) < 0 || mem_sink(&m, "", 0, err) < 0) {
    free(m.p);
    return -1;
  }
  m.p[m.len] = '\0';
  *buf = m.p;
  *len = m.len;
  return 0;
}
