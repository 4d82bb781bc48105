/*
 * vsock-test: both ends of the vsock end-to-end tests and benchmark, linked statically so the
 * same binary runs in the busybox guest and on the host (or in the test box).
 *
 *   vsock-test listen PORT [COUNT]           AF_VSOCK server (guest side); serves COUNT
 *                                            connections (default: forever)
 *   vsock-test uds-listen PATH [COUNT]       the same server on a Unix socket (host side of a
 *                                            guest-initiated hybrid vsock connection)
 *   vsock-test connect CID PORT CMD...       AF_VSOCK client; retries for up to 300 s while
 *                                            nothing listens yet
 *   vsock-test uds-connect PATH PORT CMD...  hybrid vsock client: CONNECT PORT, expect OK, then CMD;
 *                                            retries for up to 300 s while the guest is not
 *                                            listening yet
 *
 * Client commands, each on a fresh connection:
 *   send BYTES      the server reads BYTES and answers their SHA-256; we compare with ours
 *   recv BYTES      the server sends BYTES then their SHA-256; we compare with ours
 *   message TEXT    the server echoes; we print the line that came back
 * Data is a deterministic xorshift stream. The client prints one result line and exits 0 when
 * the digests match.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define CHUNK (64 * 1024)
#define LINE_MAX_BYTES 256

/* ---- SHA-256 (FIPS 180-4) */

typedef struct {
  uint32_t h[8];
  uint64_t length;
  uint8_t block[64];
  size_t used;
} sha256;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_init(sha256 *s) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, h0, sizeof h0);
  s->length = 0;
  s->used = 0;
}

static void sha256_block(sha256 *s, const uint8_t *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) {
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  }
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
  uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
  s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha256_update(sha256 *s, const uint8_t *p, size_t n) {
  s->length += n;
  while (n > 0) {
    size_t take = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->block + s->used, p, take);
    s->used += take;
    p += take;
    n -= take;
    if (s->used == 64) {
      sha256_block(s, s->block);
      s->used = 0;
    }
  }
}

static void sha256_hex(sha256 *s, char out[65]) {
  uint64_t bits = s->length * 8;
  uint8_t pad = 0x80;
  sha256_update(s, &pad, 1);
  uint8_t zero = 0;
  while (s->used != 56) {
    sha256_update(s, &zero, 1);
  }
  uint8_t len[8];
  for (int i = 0; i < 8; i++) {
    len[i] = (uint8_t)(bits >> (56 - 8 * i));
  }
  sha256_update(s, len, 8);
  for (int i = 0; i < 8; i++) {
    sprintf(out + 8 * i, "%08x", s->h[i]);
  }
}

/* ---- data and I/O helpers */

static void fill(uint8_t *buf, size_t n, uint64_t *state) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = *state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    *state = x;
    size_t take = n - i < 8 ? n - i : 8;
    memcpy(buf + i, &x, take);
  }
}

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads one line (without the newline) a byte at a time, so no data after it is consumed. */
static int read_line(int fd, char *line, size_t max) {
  size_t n = 0;
  while (n + 1 < max) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    if (c == '\n') {
      line[n] = 0;
      return 0;
    }
    line[n++] = c;
  }
  return -1;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static uint8_t buffer[CHUNK];

/* Streams n generated bytes to fd and returns their digest in hex. */
static int send_stream(int fd, uint64_t n, char hex[65]) {
  sha256 s;
  sha256_init(&s);
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  while (n > 0) {
    size_t take = n < CHUNK ? n : CHUNK;
    fill(buffer, take, &state);
    sha256_update(&s, buffer, take);
    if (write_all(fd, buffer, take) < 0) return -1;
    n -= take;
  }
  sha256_hex(&s, hex);
  return 0;
}

/* Reads exactly n bytes from fd and returns their digest in hex. */
static int recv_stream(int fd, uint64_t n, char hex[65]) {
  sha256 s;
  sha256_init(&s);
  while (n > 0) {
    size_t want = n < CHUNK ? n : CHUNK;
    ssize_t r = read(fd, buffer, want);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    sha256_update(&s, buffer, (size_t)r);
    n -= (uint64_t)r;
  }
  sha256_hex(&s, hex);
  return 0;
}

/* ---- server */

static void serve(int fd) {
  char line[LINE_MAX_BYTES];
  char hex[65];
  if (read_line(fd, line, sizeof line) < 0) return;
  unsigned long long n;
  if (sscanf(line, "sink %llu", &n) == 1) {
    if (recv_stream(fd, n, hex) == 0) {
      dprintf(fd, "%s\n", hex);
    }
  } else if (sscanf(line, "source %llu", &n) == 1) {
    if (send_stream(fd, n, hex) == 0) {
      dprintf(fd, "%s\n", hex);
    }
  } else if (strcmp(line, "echo") == 0) {
    ssize_t r;
    while ((r = read(fd, buffer, sizeof buffer)) > 0) {
      if (write_all(fd, buffer, (size_t)r) < 0) break;
    }
  }
}

static int run_server(int listener, long count) {
  if (listen(listener, 16) < 0) {
    perror("vsock-test: listen");
    return 1;
  }
  printf("vsock-test: listening\n");
  fflush(stdout);
  for (long served = 0; count <= 0 || served < count; served++) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      perror("vsock-test: accept");
      return 1;
    }
    serve(fd);
    close(fd);
  }
  return 0;
}

/* ---- client */

static int run_client(int fd, int argc, char **argv, const char *how) {
  char hex[65], peer[LINE_MAX_BYTES];
  if (argc < 2) {
    fprintf(stderr, "vsock-test: missing command\n");
    return 2;
  }
  if (strcmp(argv[0], "message") == 0) {
    dprintf(fd, "echo\n%s\n", argv[1]);
    if (read_line(fd, peer, sizeof peer) < 0) {
      fprintf(stderr, "vsock-test: no reply\n");
      return 1;
    }
    printf("vsock-test: message via %s reply=%s\n", how, peer);
    return strcmp(peer, argv[1]) == 0 ? 0 : 1;
  }
  uint64_t n = strtoull(argv[1], NULL, 10);
  double start = now();
  int failed;
  if (strcmp(argv[0], "send") == 0) {
    dprintf(fd, "sink %llu\n", (unsigned long long)n);
    failed = send_stream(fd, n, hex) < 0 || read_line(fd, peer, sizeof peer) < 0;
  } else if (strcmp(argv[0], "recv") == 0) {
    dprintf(fd, "source %llu\n", (unsigned long long)n);
    failed = recv_stream(fd, n, hex) < 0 || read_line(fd, peer, sizeof peer) < 0;
  } else {
    fprintf(stderr, "vsock-test: unknown command %s\n", argv[0]);
    return 2;
  }
  double seconds = now() - start;
  if (failed) {
    fprintf(stderr, "vsock-test: %s %llu via %s: connection ended early\n", argv[0],
            (unsigned long long)n, how);
    return 1;
  }
  int match = strcmp(hex, peer) == 0;
  printf("vsock-test: %s bytes=%llu via=%s sha256=%s peer-sha256=%s seconds=%.3f MBps=%.1f %s\n",
         argv[0], (unsigned long long)n, how, hex, peer, seconds, n / 1e6 / seconds,
         match ? "match" : "MISMATCH");
  return match ? 0 : 1;
}

static int vsock_socket(void) {
  int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
  if (fd < 0) perror("vsock-test: socket(AF_VSOCK)");
  return fd;
}

static int unix_address(const char *path, struct sockaddr_un *a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a->sun_path) {
    fprintf(stderr, "vsock-test: path too long: %s\n", path);
    return -1;
  }
  strcpy(a->sun_path, path);
  return 0;
}

/*
 * Connects over AF_VSOCK, retrying while the peer is not there yet: a guest still booting refuses,
 * and vhost answers ENODEV until the guest driver has started the device.
 */
static int vsock_connect(unsigned cid, unsigned port) {
  struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
  double give_up = now() + 300;
  while (1) {
    int fd = vsock_socket();
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    int e = errno;
    close(fd);
    if ((e != ECONNRESET && e != ECONNREFUSED && e != ETIMEDOUT && e != EINTR && e != ENODEV)
        || now() > give_up) {
      errno = e;
      perror("vsock-test: connect");
      return -1;
    }
    usleep(200 * 1000);
  }
}

/* Connects through a hybrid vsock Unix socket, retrying until the guest listens. */
static int uds_connect(const char *path, const char *port) {
  struct sockaddr_un a;
  if (unix_address(path, &a) < 0) return -1;
  double give_up = now() + 300;
  while (1) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    char line[LINE_MAX_BYTES];
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
      dprintf(fd, "CONNECT %s\n", port);
      if (read_line(fd, line, sizeof line) == 0 && strncmp(line, "OK ", 3) == 0) {
        return fd;
      }
    }
    if (fd >= 0) close(fd);
    if (now() > give_up) {
      fprintf(stderr, "vsock-test: no answer through %s port %s\n", path, port);
      return -1;
    }
    usleep(200 * 1000);
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 3 && strcmp(argv[1], "listen") == 0) {
    int fd = vsock_socket();
    if (fd < 0) return 1;
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                            .svm_port = (unsigned)atoi(argv[2])};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
      perror("vsock-test: bind");
      return 1;
    }
    return run_server(fd, argc > 3 ? atol(argv[3]) : 0);
  }
  if (argc >= 3 && strcmp(argv[1], "uds-listen") == 0) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    if (fd < 0 || unix_address(argv[2], &a) < 0) return 1;
    unlink(argv[2]);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
      perror("vsock-test: bind");
      return 1;
    }
    return run_server(fd, argc > 3 ? atol(argv[3]) : 0);
  }
  if (argc >= 6 && strcmp(argv[1], "connect") == 0) {
    int fd = vsock_connect((unsigned)atol(argv[2]), (unsigned)atoi(argv[3]));
    if (fd < 0) return 1;
    return run_client(fd, argc - 4, argv + 4, "vsock");
  }
  if (argc >= 6 && strcmp(argv[1], "uds-connect") == 0) {
    int fd = uds_connect(argv[2], argv[3]);
    if (fd < 0) return 1;
    return run_client(fd, argc - 4, argv + 4, "unix");
  }
  fprintf(stderr,
          "usage: vsock-test listen PORT [COUNT] | uds-listen PATH [COUNT]\n"
          "       vsock-test connect CID PORT CMD... | uds-connect PATH PORT CMD...\n"
          "       CMD: send BYTES | recv BYTES | message TEXT\n");
  return 2;
}
