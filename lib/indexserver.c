/* pylock — the resolver's index server; see indexserver.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "indexserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "distname.h"
#include "tags.h"

struct pl_indexserver {
  struct pl_simpleindex *ix;
  int pair[2]; /* [0]: the listener arrives here; [1]: the child's end */
  int stop[2]; /* a byte on [1]: stop serving */
  pthread_t thread;
  struct pl_indexserver_stats stats;
  pl_error_t refused;
};

/* ------------------------------------------------------------ requests */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int pl_indexserver_parse_request(const char *buf, size_t len, bool *head, char *path, size_t cap,
                                 pl_error_t *err) {
  const char *eol = memchr(buf, '\r', len);
  if (eol == NULL) return pl_fail(err, EINVAL, "no request line");
  size_t llen = (size_t)(eol - buf);
  const char *sp = memchr(buf, ' ', llen);
  if (sp == NULL) return pl_fail(err, EINVAL, "no method");
  size_t mlen = (size_t)(sp - buf);
  if (mlen == 3 && memcmp(buf, "GET", 3) == 0)
    *head = false;
  else if (mlen == 4 && memcmp(buf, "HEAD", 4) == 0)
    *head = true;
  else
    return pl_fail(err, EINVAL, "method %.*s", (int)(mlen > 16 ? 16 : mlen), buf);
  const char *target = sp + 1, *tend = memchr(target, ' ', (size_t)(eol - target));
  if (tend == NULL || (size_t)(eol - tend) < 9 || memcmp(tend + 1, "HTTP/1.", 7) != 0)
    return pl_fail(err, EINVAL, "not an HTTP/1 request line");
  if (target == tend || *target != '/') return pl_fail(err, EINVAL, "not an absolute path");
  size_t w = 0;
  for (const char *s = target; s < tend && *s != '?' && *s != '#'; s++) {
    char c = *s;
    if (c == '%') {
      int hi = s + 2 < tend ? hexval(s[1]) : -1, lo = s + 2 < tend ? hexval(s[2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return pl_fail(err, EINVAL, "bad escape");
      c = (char)(hi * 16 + lo), s += 2;
    }
    if (w + 1 >= cap) return pl_fail(err, ENAMETOOLONG, "path too long");
    path[w++] = c;
  }
  path[w] = '\0';
  return 0;
}

/* ------------------------------------------------------------ I/O */

/* Wait until fd is ready for events or stop is signalled: 1 ready, 0 not
 * (stopped or timed out), -1 error. */
static int wait_fd(const struct pl_indexserver *s, int fd, short events) {
  struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = s->stop[0], .events = POLLIN}};
  for (;;) {
    int r = poll(p, 2, PL_INDEXSERVER_IO_TIMEOUT_S * 1000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r;
    if (p[1].revents) return 0;
    return 1;
  }
}

static int send_all(const struct pl_indexserver *s, int fd, const char *p, size_t n) {
  while (n > 0) {
    if (wait_fd(s, fd, POLLOUT) != 1) return -1;
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

static int send_head(const struct pl_indexserver *s, int fd, const char *status, const char *type,
                     uint64_t length) {
  char h[256];
  int n = snprintf(h, sizeof h,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %llu\r\n"
                   "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                   status, type, (unsigned long long)length);
  return n > 0 && (size_t)n < sizeof h ? send_all(s, fd, h, (size_t)n) : -1;
}

static void send_status(const struct pl_indexserver *s, int fd, const char *status) {
  send_head(s, fd, status, "text/plain", 0);
}

/* Send the verified file open at wfd, exactly `size` bytes of it. */
static int send_file(struct pl_indexserver *s, int fd, int wfd, uint64_t size) {
  char chunk[64 << 10];
  while (size > 0) {
    ssize_t r = read(wfd, chunk, size < sizeof chunk ? (size_t)size : sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || send_all(s, fd, chunk, (size_t)r) < 0) return -1;
    size -= (uint64_t)r;
    s->stats.bytes += (uint64_t)r;
  }
  return 0;
}

/* Read a request head into buf (cap bytes): its length, or -1. */
static ssize_t read_request(const struct pl_indexserver *s, int fd, char *buf, size_t cap) {
  size_t len = 0;
  while (len < cap - 1) {
    if (wait_fd(s, fd, POLLIN) != 1) return -1;
    ssize_t r = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) return -1;
    len += (size_t)r;
    buf[len] = '\0';
    if (strstr(buf, "\r\n\r\n")) return (ssize_t)len;
  }
  return -1;
}

/* ------------------------------------------------------------ answers */

/* A file could not be served for a reason other than its absence: keep
 * the first reason, for the resolver to report. */
static void refuse(struct pl_indexserver *s, int fd, pl_error_t *e) {
  send_status(s, fd, "502 Bad Gateway");
  if (s->refused == NULL)
    s->refused = *e, *e = NULL;
  else
    pl_error_free(e);
}

static void answer_text(struct pl_indexserver *s, int fd, bool head, const char *type, char *body,
                        size_t len, unsigned *counter) {
  if (send_head(s, fd, "200 OK", type, len) == 0 && !head && send_all(s, fd, body, len) == 0)
    s->stats.bytes += len;
  (*counter)++;
  free(body);
}

static double clock_s(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Account the time since t0 (wall) and c0 (this thread's CPU) to fetching. */
static void fetched(struct pl_indexserver *s, double t0, double c0) {
  s->stats.fetch_s += clock_s(CLOCK_MONOTONIC) - t0;
  s->stats.fetch_cpu_s += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
}

static void answer(struct pl_indexserver *s, int fd, bool head, const char *path) {
  pl_error_t e = NULL;
  /* What the registry and the checks cost, sending apart. */
  double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
  char *body = NULL;
  size_t len = 0;
  const char *rest;
  if (strcmp(path, "/simple/") == 0 || strcmp(path, "/simple") == 0) {
    int r = pl_simpleindex_root(s->ix, &body, &len, &e);
    fetched(s, t0, c0);
    if (r == 0) return answer_text(s, fd, head, "text/html", body, len, &s->stats.pages);
  } else if (strncmp(path, "/simple/", 8) == 0) {
    rest = path + 8;
    size_t l = strcspn(rest, "/");
    char project[PL_DISTNAME_MAX + 1];
    bool ok = (rest[l] == '\0' || strcmp(rest + l, "/") == 0) && pl_distname_valid(rest, l) &&
              pl_distname_normalize(rest, l, project, sizeof project) >= 0 &&
              pl_simpleindex_page(s->ix, project, &body, &len, &e) == 0;
    fetched(s, t0, c0);
    if (ok) return answer_text(s, fd, head, "text/html", body, len, &s->stats.pages);
  } else if (strncmp(path, "/files/", 7) == 0 && strchr(path + 7, '/') == NULL) {
    rest = path + 7;
    size_t l = strlen(rest);
    char file[PL_WHEEL_FILENAME_MAX + 1];
    if (l > 9 && strcmp(rest + l - 9, ".metadata") == 0 && l - 9 < sizeof file) {
      memcpy(file, rest, l - 9);
      file[l - 9] = '\0';
      int r = pl_simpleindex_metadata(s->ix, file, &body, &len, &e);
      fetched(s, t0, c0);
      if (r == 0)
        return answer_text(s, fd, head, "application/octet-stream", body, len, &s->stats.metadata);
    } else {
      cleanup_close int wfd = -1;
      uint64_t size = 0;
      int r = pl_simpleindex_wheel(s->ix, rest, &wfd, &size, &e);
      fetched(s, t0, c0);
      if (r == 0) {
        if (send_head(s, fd, "200 OK", "application/octet-stream", size) == 0 && !head)
          send_file(s, fd, wfd, size);
        s->stats.wheels++;
        return;
      }
    }
  }
  if (e == NULL || e->errnum == ENOENT) {
    pl_error_free(&e);
    return send_status(s, fd, "404 Not Found");
  }
  refuse(s, fd, &e);
}

static void serve_connection(struct pl_indexserver *s, int fd) {
  char req[PL_INDEXSERVER_REQUEST_MAX], path[PL_INDEXSERVER_REQUEST_MAX];
  ssize_t n = read_request(s, fd, req, sizeof req);
  if (n < 0) return;
  bool head = false;
  pl_error_t e = NULL;
  s->stats.requests++;
  if (pl_indexserver_parse_request(req, (size_t)n, &head, path, sizeof path, &e) < 0) {
    pl_error_free(&e);
    return send_status(s, fd, "400 Bad Request");
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  answer(s, fd, head, path);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  s->stats.serve_s += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Receive the listener the child made (SCM_RIGHTS), or -1. */
static int receive_listener(const struct pl_indexserver *s) {
  struct pollfd p[2] = {{.fd = s->pair[0], .events = POLLIN}, {.fd = s->stop[0], .events = POLLIN}};
  while (poll(p, 2, -1) < 0)
    if (errno != EINTR) return -1;
  if (p[1].revents || !(p[0].revents & POLLIN)) return -1;
  char byte;
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  struct msghdr m = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  if (recvmsg(s->pair[0], &m, MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int)))
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void *server_main(void *arg) {
  struct pl_indexserver *s = arg;
  cleanup_close int lfd = receive_listener(s);
  while (lfd >= 0 && wait_fd(s, lfd, POLLIN) >= 0) {
    struct pollfd stop = {.fd = s->stop[0], .events = POLLIN};
    if (poll(&stop, 1, 0) != 0) break;
    cleanup_close int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0) serve_connection(s, c);
  }
  return NULL;
}

/* ------------------------------------------------------------ lifetime */

int pl_indexserver_start(struct pl_simpleindex *ix, struct pl_indexserver **out, pl_error_t *err) {
  struct pl_indexserver *s = calloc(1, sizeof *s);
  if (s == NULL) return pl_fail(err, ENOMEM, "index server");
  s->ix = ix;
  s->pair[0] = s->pair[1] = s->stop[0] = s->stop[1] = -1;
  int e = 0;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s->pair) < 0 ||
      pipe2(s->stop, O_CLOEXEC) < 0)
    e = errno;
  else
    e = pthread_create(&s->thread, NULL, server_main, s);
  if (e != 0) {
    for (int i = 0; i < 2; i++) {
      if (s->pair[i] >= 0) close(s->pair[i]);
      if (s->stop[i] >= 0) close(s->stop[i]);
    }
    free(s);
    return pl_fail(err, e, "index server");
  }
  *out = s;
  return 0;
}

/* The listener is made here, in the child, because a network namespace's
 * sockets can be made only from inside it; pylock (outside) accepts on it
 * because a socket stays in the namespace it was made in.  pip, in the
 * namespace, can reach it and nothing else; the child keeps no copy. */
int pl_indexserver_listen(void *ctx, pl_error_t *err) {
  struct pl_indexserver *s = ctx;
  cleanup_close int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return pl_fail(err, errno, "index server: socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PL_INDEXSERVER_PORT)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0)
    return pl_fail(err, errno, "index server: listen on 127.0.0.1:%d", PL_INDEXSERVER_PORT);
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  char byte = 'L';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  struct msghdr m = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(s->pair[1], &m, MSG_NOSIGNAL) != 1)
    return pl_fail(err, errno, "index server: hand the listener over");
  /* None of pylock's ends stays in the sandbox, not even in the process
   * that waits there for pip (exec closes them in pip only). */
  close(s->pair[0]), close(s->pair[1]), close(s->stop[0]), close(s->stop[1]);
  s->pair[0] = s->pair[1] = s->stop[0] = s->stop[1] = -1;
  return 0;
}

void pl_indexserver_stop(struct pl_indexserver *s, struct pl_indexserver_stats *stats,
                         pl_error_t *refused) {
  if (write(s->stop[1], "x", 1) < 0) {
    /* a pipe with room for a byte: cannot fail but by a bug */
  }
  pthread_join(s->thread, NULL);
  if (stats) *stats = s->stats;
  if (refused)
    *refused = s->refused;
  else
    pl_error_free(&s->refused);
  for (int i = 0; i < 2; i++) {
    if (s->pair[i] >= 0) close(s->pair[i]);
    close(s->stop[i]);
  }
  free(s);
}
