/*
 * itr-series-send: IPv4 UDP frames from many source addresses, over an
 * AF_PACKET socket, for the series benchmark (bench/series/run.sh).
 *
 *   itr-series-send IFNAME DST_MAC create N
 *       one frame from each of N sources, then exits
 *   itr-series-send IFNAME DST_MAC active N K HZ SECONDS
 *       HZ times a second for SECONDS (0: until SIGTERM), one frame from
 *       each of K (at most 1462) sources spread evenly over the N: the
 *       k-th of them sends a payload of 10 + K - k bytes, so that the
 *       ranking by bytes is stable
 *
 * Sources are 10.128.0.0 + i (i < N), the destination 10.99.0.2. The IPv4
 * header checksum is rewritten per frame; the UDP checksum is 0 (none).
 * Prints one line: frames sent, seconds taken, frames the kernel refused.
 */
#define _GNU_SOURCE /* sendmmsg */
#include "frames.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FIRST_SOURCE 0x0a800000u /* 10.128.0.0 */
#define DESTINATION "10.99.0.2"
#define BATCH 64
#define MAX_PAYLOAD 1472 /* a 1500-byte IPv4 packet */
#define MAX_ACTIVE (MAX_PAYLOAD - 10)
#define FRAME_LEN_MAX (14 + 20 + 8 + MAX_PAYLOAD)
#define IP_OFF 14
#define IP_CSUM_OFF (IP_OFF + 10)
#define IP_SRC_OFF (IP_OFF + 12)
#define UDP_CSUM_OFF (IP_OFF + 20 + 6)
#define SEND_RETRIES 2000 /* a full transmit path is retried, 50 us apart */

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static double now_s(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t ipv4_checksum(const uint8_t *hdr) {
  uint32_t sum = 0;

  for (int i = 0; i < 20; i += 2)
    if (i != 10)
      sum += (uint32_t)hdr[i] << 8 | hdr[i + 1];
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* One frame per payload length, built once; sources are patched in. */
struct frames {
  uint8_t data[BATCH][FRAME_LEN_MAX];
  struct iovec iov[BATCH];
  struct mmsghdr msg[BATCH];
  struct sockaddr_ll sll;
  uint8_t dst_mac[6];
  unsigned long sent, refused;
};

static int build(struct frames *f, int slot, uint32_t source, size_t payload) {
  struct frame_spec spec = {.family = 4, .dst = DESTINATION};
  char src[INET_ADDRSTRLEN];
  struct in_addr a = {.s_addr = htonl(FIRST_SOURCE)};
  size_t len;
  uint8_t *p = f->data[slot];

  inet_ntop(AF_INET, &a, src, sizeof(src));
  spec.src = src;
  spec.payload_len = payload;
  memcpy(spec.dst_mac, f->dst_mac, 6);
  len = frame_build(&spec, p, FRAME_LEN_MAX);
  if (len == 0)
    return -EINVAL;
  source += FIRST_SOURCE;
  p[IP_SRC_OFF] = (uint8_t)(source >> 24);
  p[IP_SRC_OFF + 1] = (uint8_t)(source >> 16);
  p[IP_SRC_OFF + 2] = (uint8_t)(source >> 8);
  p[IP_SRC_OFF + 3] = (uint8_t)source;
  {
    uint16_t c = ipv4_checksum(p + IP_OFF);

    p[IP_CSUM_OFF] = (uint8_t)(c >> 8);
    p[IP_CSUM_OFF + 1] = (uint8_t)c;
  }
  p[UDP_CSUM_OFF] = 0;
  p[UDP_CSUM_OFF + 1] = 0;
  f->iov[slot].iov_base = p;
  f->iov[slot].iov_len = len;
  return 0;
}

/* Sends the first n slots, retrying while the transmit path is full. */
static int flush(struct frames *f, int fd, int n) {
  int done = 0, retries = 0;

  while (done < n) {
    int r = sendmmsg(fd, f->msg + done, (unsigned)(n - done), 0);

    if (r > 0) {
      done += r;
      f->sent += (unsigned long)r;
      retries = 0;
      continue;
    }
    if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) &&
        retries++ < SEND_RETRIES) {
      usleep(50);
      continue;
    }
    if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
      perror("sendmmsg");
      return -1;
    }
    f->refused++; /* give this frame up */
    done++;
  }
  return 0;
}

static int open_socket(const char *ifname, struct sockaddr_ll *sll) {
  int fd, ifindex = (int)if_nametoindex(ifname);

  if (ifindex == 0) {
    fprintf(stderr, "itr-series-send: no interface %s\n", ifname);
    return -1;
  }
  fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket(AF_PACKET)");
    return -1;
  }
  memset(sll, 0, sizeof(*sll));
  sll->sll_family = AF_PACKET;
  sll->sll_ifindex = ifindex;
  sll->sll_halen = 6;
  return fd;
}

static void init_msgs(struct frames *f) {
  for (int i = 0; i < BATCH; i++) {
    memset(&f->msg[i], 0, sizeof(f->msg[i]));
    f->msg[i].msg_hdr.msg_iov = &f->iov[i];
    f->msg[i].msg_hdr.msg_iovlen = 1;
    f->msg[i].msg_hdr.msg_name = &f->sll;
    f->msg[i].msg_hdr.msg_namelen = sizeof(f->sll);
  }
  memcpy(f->sll.sll_addr, f->dst_mac, 6);
}

static unsigned long number(const char *s, unsigned long max) {
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul(s, &end, 0);
  if (errno || *end || end == s || v > max) {
    fprintf(stderr, "itr-series-send: bad number '%s' (at most %lu)\n", s, max);
    exit(2);
  }
  return v;
}

static void usage(void) {
  fprintf(stderr, "usage: itr-series-send IFNAME DST_MAC create N\n"
                  "       itr-series-send IFNAME DST_MAC active N K HZ "
                  "SECONDS\n");
  exit(2);
}

int main(int argc, char **argv) {
  static struct frames f;
  unsigned long n, k = 0, hz = 0, seconds = 0;
  bool active;
  double start;
  int fd, slot = 0;

  if (argc < 5)
    usage();
  if (frame_parse_mac(argv[2], f.dst_mac) != 0)
    usage();
  active = strcmp(argv[3], "active") == 0;
  if (!active && strcmp(argv[3], "create") != 0)
    usage();
  if (active && argc != 8)
    usage();
  if (!active && argc != 5)
    usage();
  n = number(argv[4], 1u << 24);
  if (active) {
    k = number(argv[5], n < MAX_ACTIVE ? n : MAX_ACTIVE);
    hz = number(argv[6], 1000);
    seconds = number(argv[7], 86400);
    if (k == 0 || hz == 0)
      usage();
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  fd = open_socket(argv[1], &f.sll);
  if (fd < 0)
    return 1;
  init_msgs(&f);
  start = now_s();

  if (!active) {
    for (unsigned long i = 0; i < n && !stop; i++) {
      if (build(&f, slot, (uint32_t)i, 0) != 0)
        return 1;
      if (++slot == BATCH) {
        if (flush(&f, fd, slot) != 0)
          return 1;
        slot = 0;
      }
    }
  } else {
    double next = start;

    while (!stop && (seconds == 0 || now_s() - start < (double)seconds)) {
      for (unsigned long j = 0; j < k; j++) {
        if (build(&f, slot, (uint32_t)(j * (n / k)), 10 + k - j) != 0)
          return 1;
        if (++slot == BATCH) {
          if (flush(&f, fd, slot) != 0)
            return 1;
          slot = 0;
        }
      }
      if (slot && flush(&f, fd, slot) != 0)
        return 1;
      slot = 0;
      next += 1.0 / (double)hz;
      while (!stop && now_s() < next)
        usleep(1000);
    }
  }
  if (slot && flush(&f, fd, slot) != 0)
    return 1;
  printf("sent=%lu seconds=%.3f refused=%lu\n", f.sent, now_s() - start,
         f.refused);
  close(fd);
  return 0;
}
