/*
 * loadgen: the benchmark's servers and clients, one small epoll program so that the load generator is not the
 * bottleneck on a 2-core machine (one thread per mode, except the TLS clients, which use blocking threads).
 *
 *   loadgen serve PORT             echo on PORT, echo-then-close on PORT+1 (closes after 64 bytes), discard on PORT+2
 *   loadgen rate ADDR:PORT CONC SECS        connect, send 64 B, read the 64 B echo until EOF, close; CONC at once
 *   loadgen pingpong ADDR:PORT CONNS SECS   64 B ping-pong on CONNS connections; round-trip percentiles
 *   loadgen hold ADDR:PORT N SECS           opens N connections (1-byte echo each), prints "ready", holds them
 *                                           until stdin closes or SECS pass
 *   loadgen tls-rate ADDR:PORT THREADS SECS SNI   full TLS handshake, 64 B echo, read to EOF, close
 *   loadgen tls-bulk ADDR:PORT SECS SNI           one TLS connection writing 64 KiB chunks (to a discard upstream)
 *
 * Client modes print one JSON object on stdout. Client CPU seconds (user+system) are included so a report can
 * show whether the client was saturated.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define MAXEV 512

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

static void raise_nofile(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

static struct sockaddr_in parse_addr(const char *s) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  char host[64];
  const char *colon = strrchr(s, ':');
  if (!colon || colon - s >= (long)sizeof host) {
    fprintf(stderr, "address '%s' must be IPv4:port\n", s);
    exit(2);
  }
  memcpy(host, s, colon - s);
  host[colon - s] = 0;
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "address '%s' must be IPv4:port\n", s);
    exit(2);
  }
  a.sin_port = htons(atoi(colon + 1));
  return a;
}

static int nb_socket(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* ---------------------------------------------------------------- server */

enum { KIND_LISTEN_ECHO, KIND_LISTEN_CLOSE, KIND_LISTEN_SINK, KIND_ECHO, KIND_CLOSE, KIND_SINK };

typedef struct {
  int fd;
  int kind;
  int echoed;
} sconn;

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(fd, 4096) < 0) die("listen");
  return fd;
}

static void sclose(int ep, sconn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

static int serve(int port) {
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < 3; i++) {
    sconn *l = calloc(1, sizeof *l);
    l->fd = listen_on(port + i);
    l->kind = KIND_LISTEN_ECHO + i;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev);
  }
  printf("serving %d %d %d\n", port, port + 1, port + 2);
  fflush(stdout);
  static char buf[65536];
  struct epoll_event evs[MAXEV];
  for (;;) {
    int n = epoll_wait(ep, evs, MAXEV, -1);
    for (int i = 0; i < n; i++) {
      sconn *c = evs[i].data.ptr;
      if (c->kind <= KIND_LISTEN_SINK) {
        for (;;) {
          int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          sconn *k = calloc(1, sizeof *k);
          k->fd = fd;
          k->kind = c->kind + 3;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = k};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          sclose(ep, c);
          break;
        }
        if (r < 0) break;
        if (c->kind == KIND_SINK) continue;
        /* Echo blocking-ish: the peers of this benchmark never leave more than a socket buffer unread. */
        ssize_t off = 0;
        while (off < r) {
          ssize_t w = write(c->fd, buf + off, r - off);
          if (w < 0) {
            if (errno == EAGAIN) {
              struct pollfd p = {.fd = c->fd, .events = POLLOUT};
              poll(&p, 1, 1000);
              continue;
            }
            break;
          }
          off += w;
        }
        c->echoed += (int)r;
        if (c->kind == KIND_CLOSE && c->echoed >= MSG) {
          /* Request/response done: the server closes first, so TIME_WAIT stays on the server side. */
          sclose(ep, c);
          break;
        }
      }
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- rate */

typedef struct {
  int fd;
  int state; /* 0 connecting, 1 reading */
  int got;
  uint64_t t0;
} slot;

static int start_slot(int ep, slot *s, struct sockaddr_in *to) {
  s->fd = nb_socket();
  if (s->fd < 0) return -1;
  s->state = 0;
  s->got = 0;
  s->t0 = now_ns();
  int r = connect(s->fd, (struct sockaddr *)to, sizeof *to);
  if (r < 0 && errno != EINPROGRESS) {
    close(s->fd);
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
  return 0;
}

static int rate(struct sockaddr_in to, int conc, double secs) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  slot *slots = calloc(conc, sizeof *slots);
  static char msg[MSG], buf[4096];
  memset(msg, 'x', sizeof msg);
  long done = 0, errors = 0;
  double c0 = cpu_s(), t0 = now_s(), end = t0 + secs;
  for (int i = 0; i < conc; i++)
    if (start_slot(ep, &slots[i], &to) < 0) errors++;
  struct epoll_event evs[MAXEV];
  while (now_s() < end) {
    int n = epoll_wait(ep, evs, MAXEV, 100);
    for (int i = 0; i < n; i++) {
      slot *s = evs[i].data.ptr;
      int fail = 0, finished = 0;
      if (s->state == 0) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err || write(s->fd, msg, MSG) != MSG) {
          fail = 1;
        } else {
          s->state = 1;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
          epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
          continue;
        }
      } else {
        for (;;) {
          ssize_t r = read(s->fd, buf, sizeof buf);
          if (r > 0) {
            s->got += (int)r;
            continue;
          }
          if (r == 0) {
            if (s->got >= MSG) finished = 1; else fail = 1;
          } else if (errno != EAGAIN) {
            fail = 1;
          }
          break;
        }
      }
      if (fail || finished) {
        epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
        if (finished) done++; else errors++;
        if (start_slot(ep, s, &to) < 0) errors++;
      }
    }
  }
  double el = now_s() - t0;
  printf("{\"conns\":%ld,\"errors\":%ld,\"secs\":%.3f,\"rate\":%.1f,\"client_cpu_s\":%.3f}\n", done, errors, el,
         done / el, cpu_s() - c0);
  return 0;
}

/* ---------------------------------------------------------------- ping-pong */

typedef struct {
  int fd;
  int got;
  uint64_t t0;
} pp;

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int connect_blocking(struct sockaddr_in *to) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)to, sizeof *to) < 0) die("connect");
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

static int pingpong(struct sockaddr_in to, int conns, double secs) {
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  pp *ps = calloc(conns, sizeof *ps);
  static char msg[MSG], buf[4096];
  memset(msg, 'p', sizeof msg);
  size_t cap = 1 << 20, cnt = 0;
  uint32_t *lat = malloc(cap * sizeof *lat);
  for (int i = 0; i < conns; i++) {
    ps[i].fd = connect_blocking(&to);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ps[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, ps[i].fd, &ev);
  }
  double c0 = cpu_s(), t0 = now_s();
  double warm = t0 + (secs > 4 ? 1.0 : secs * 0.2), end = t0 + secs;
  for (int i = 0; i < conns; i++) {
    ps[i].t0 = now_ns();
    if (write(ps[i].fd, msg, MSG) != MSG) die("write");
  }
  struct epoll_event evs[MAXEV];
  long errors = 0;
  while (now_s() < end) {
    int n = epoll_wait(ep, evs, MAXEV, 100);
    for (int i = 0; i < n; i++) {
      pp *p = evs[i].data.ptr;
      ssize_t r = read(p->fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        errors++;
        epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
        continue;
      }
      p->got += (int)r;
      if (p->got < MSG) continue;
      uint64_t t = now_ns();
      if (now_s() >= warm) {
        if (cnt == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
        uint64_t d = t - p->t0;
        lat[cnt++] = d > 0xffffffffu ? 0xffffffffu : (uint32_t)d;
      }
      p->got -= MSG;
      p->t0 = t;
      if (write(p->fd, msg, MSG) != MSG) errors++;
    }
  }
  qsort(lat, cnt, sizeof *lat, cmp_u32);
#define PCT(q) (cnt ? lat[(size_t)((cnt - 1) * (q))] / 1000.0 : 0.0)
  printf("{\"samples\":%zu,\"errors\":%ld,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"client_cpu_s\":%.3f}\n", cnt,
         errors, PCT(0.50), PCT(0.99), PCT(0.999), cpu_s() - c0);
  return 0;
}

/* ---------------------------------------------------------------- hold */

static int hold(struct sockaddr_in to, int n, double secs) {
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  slot *s = calloc(n, sizeof *s);
  int next = 0, inflight = 0, ok = 0, failed = 0;
  double end = now_s() + secs;
  struct epoll_event evs[MAXEV];
  char b = 'h', buf[16];
  while ((ok + failed < n) && now_s() < end) {
    while (next < n && inflight < 256) {
      if (start_slot(ep, &s[next], &to) < 0) {
        failed++;
        s[next].fd = -1;
      } else {
        inflight++;
      }
      next++;
    }
    int k = epoll_wait(ep, evs, MAXEV, 100);
    for (int i = 0; i < k; i++) {
      slot *c = evs[i].data.ptr;
      if (c->state == 0) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err || write(c->fd, &b, 1) != 1) goto bad;
        c->state = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        continue;
      }
      if (read(c->fd, buf, sizeof buf) <= 0) goto bad;
      /* Released with a reset when the process exits: 9,800 TIME_WAIT entries per run would eat the ephemeral ports. */
      struct linger lg = {.l_onoff = 1, .l_linger = 0};
      setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      c->state = 2;
      epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      ok++;
      inflight--;
      continue;
    bad:
      epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      close(c->fd);
      c->fd = -1;
      failed++;
      inflight--;
    }
  }
  printf("{\"ready\":true,\"held\":%d,\"failed\":%d}\n", ok, failed);
  fflush(stdout);
  struct pollfd p = {.fd = 0, .events = POLLIN};
  while (now_s() < end) {
    if (poll(&p, 1, 200) > 0) {
      if (read(0, buf, sizeof buf) <= 0) break;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- TLS */

typedef struct {
  struct sockaddr_in to;
  const char *sni;
  double end;
  SSL_CTX *ctx;
  long done, errors;
  double bytes;
  int bulk;
} tls_job;

static SSL *tls_connect(tls_job *j, int *fdp) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  *fdp = fd;
  if (connect(fd, (struct sockaddr *)&j->to, sizeof j->to) < 0) return NULL;
  SSL *ssl = SSL_new(j->ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, j->sni);
  if (SSL_connect(ssl) != 1) {
    SSL_free(ssl);
    return NULL;
  }
  return ssl;
}

static void *tls_worker(void *arg) {
  tls_job *j = arg;
  static const char msg[MSG] = {0};
  char buf[4096];
  if (j->bulk) {
    int fd;
    SSL *ssl = tls_connect(j, &fd);
    if (!ssl) {
      j->errors++;
      close(fd);
      return NULL;
    }
    static char chunk[65536];
    while (now_s() < j->end) {
      int w = SSL_write(ssl, chunk, sizeof chunk);
      if (w <= 0) {
        j->errors++;
        break;
      }
      j->bytes += w;
    }
    SSL_free(ssl);
    close(fd);
    return NULL;
  }
  while (now_s() < j->end) {
    int fd;
    SSL *ssl = tls_connect(j, &fd);
    int ok = 0;
    if (ssl) {
      if (SSL_write(ssl, msg, MSG) == MSG) {
        int got = 0, r;
        while ((r = SSL_read(ssl, buf, sizeof buf)) > 0) got += r;
        ok = got >= MSG;
      }
      SSL_free(ssl);
    }
    close(fd);
    if (ok) j->done++; else j->errors++;
  }
  return NULL;
}

static int tls(struct sockaddr_in to, int threads, double secs, const char *sni, int bulk) {
  signal(SIGPIPE, SIG_IGN);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  /* Every handshake is a full one: no session cache, no tickets. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  pthread_t th[64];
  tls_job jobs[64];
  if (threads > 64) threads = 64;
  double c0 = cpu_s(), t0 = now_s();
  for (int i = 0; i < threads; i++) {
    jobs[i] = (tls_job){.to = to, .sni = sni, .end = t0 + secs, .ctx = ctx, .bulk = bulk};
    pthread_create(&th[i], NULL, tls_worker, &jobs[i]);
  }
  long done = 0, errors = 0;
  double bytes = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    done += jobs[i].done;
    errors += jobs[i].errors;
    bytes += jobs[i].bytes;
  }
  double el = now_s() - t0;
  if (bulk)
    printf("{\"bytes\":%.0f,\"errors\":%ld,\"secs\":%.3f,\"gbit_s\":%.3f,\"client_cpu_s\":%.3f}\n", bytes, errors, el,
           bytes * 8 / el / 1e9, cpu_s() - c0);
  else
    printf("{\"handshakes\":%ld,\"errors\":%ld,\"secs\":%.3f,\"rate\":%.1f,\"client_cpu_s\":%.3f}\n", done, errors, el,
           done / el, cpu_s() - c0);
  return 0;
}

int main(int argc, char **argv) {
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 3 && !strcmp(argv[1], "serve")) return serve(atoi(argv[2]));
  if (argc >= 5 && !strcmp(argv[1], "rate")) return rate(parse_addr(argv[2]), atoi(argv[3]), atof(argv[4]));
  if (argc >= 5 && !strcmp(argv[1], "pingpong")) return pingpong(parse_addr(argv[2]), atoi(argv[3]), atof(argv[4]));
  if (argc >= 5 && !strcmp(argv[1], "hold")) return hold(parse_addr(argv[2]), atoi(argv[3]), atof(argv[4]));
  if (argc >= 6 && !strcmp(argv[1], "tls-rate"))
    return tls(parse_addr(argv[2]), atoi(argv[3]), atof(argv[4]), argv[5], 0);
  if (argc >= 5 && !strcmp(argv[1], "tls-bulk")) return tls(parse_addr(argv[2]), 1, atof(argv[3]), argv[4], 1);
  fprintf(stderr,
          "usage: loadgen serve PORT | rate ADDR:PORT CONC SECS | pingpong ADDR:PORT CONNS SECS | hold ADDR:PORT N SECS"
          " | tls-rate ADDR:PORT THREADS SECS SNI | tls-bulk ADDR:PORT SECS SNI\n");
  return 2;
}
