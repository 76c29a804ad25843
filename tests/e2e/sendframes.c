/*
 * sendframes: send crafted Ethernet frames over an AF_PACKET raw socket.
 *
 *   sendframes [OPTIONS] IFNAME SPEC...
 *
 * Each SPEC is one argument, a comma-separated list of KEY=VALUE:
 *
 *   family=0|4|6     0: raw frame with an ethertype and zero payload;
 *                    4/6: IPv4/IPv6 UDP datagram. Default: 0 when ethertype
 *                    is given, else 6 if src contains ':', else 4.
 *   src=ADDR         source address (family 4/6)
 *   dst=ADDR         destination address (family 4/6)
 *   payload=N        UDP payload bytes (family 4/6), or bytes after the
 *                    Ethernet/VLAN headers (family 0). Default 0.
 *   count=N          frames to send. Default 1.
 *   sources=N        IPv4: send count frames from each of N consecutive
 *                    source addresses from src on (the IPv4 header checksum
 *                    follows; the UDP one does not). Default 1.
 *   vlan=[TPID:]ID   a VLAN tag, repeatable, outermost first (up to 3).
 *                    TPID defaults to 0x8100 (802.1Q); 0x88a8 for 802.1ad.
 *   ethertype=N      ethertype of a family 0 frame (e.g. 0x0806 for ARP).
 *   ipopts=N         IPv4 options bytes (multiple of 4, at most 40).
 *   ext=N            IPv6 destination-options headers (8 bytes each).
 *   frag=N           IPv4 fragment offset in 8-byte units.
 *   mf=0|1           IPv4 More Fragments flag.
 *   dst-mac=MAC      destination MAC of this spec (overrides --dst-mac).
 *   src-mac=MAC      source MAC of this spec (overrides --src-mac).
 *
 * Numbers take C syntax (decimal, 0x hex). Frame length in bytes:
 *   14 + 4 * vlans + payload                          (family 0)
 *   14 + 4 * vlans + 20 + ipopts + 8 + payload        (family 4)
 *   14 + 4 * vlans + 40 + 8 * ext + 8 + payload       (family 6)
 *
 * For each SPEC, in order, one line goes to stdout once its frames are sent:
 *   len=<frame length without FCS> count=<frames sent> spec=<SPEC>
 *
 * Options:
 *   --dst-mac MAC    default destination MAC (02:00:00:00:00:02)
 *   --src-mac MAC    default source MAC (02:00:00:00:00:01)
 *   --dry-run        build and report the frames, send nothing
 *   --hex            also dump each spec's frame in hex to stderr
 *   --while FILE     send each spec's count again and again for as long as
 *                    FILE exists (steady traffic); the line says how many
 *                    were sent in all
 *   --help
 *
 * Exit status: 0 when every frame was sent, 1 on a send error, 2 on bad
 * usage or a spec that does not describe a valid frame.
 */
#include "frames.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SEND 1
#define EXIT_USAGE 2

/* Longest frame: 14 + 3 * 4 + 40 + 65535 bytes (IPv6, 3 VLAN tags). */
#define FRAME_BUF_LEN (65536 + 128)
#define MAX_COUNT 10000000UL
/* A full transmit path (ENOBUFS) is retried this often, 1 ms apart. */
#define SEND_RETRIES 2000

struct spec {
  const char *text;
  struct frame_spec fs;
  bool family_set;
  unsigned long count;
  unsigned long sources; /* consecutive IPv4 sources, count frames each */
  char src[INET6_ADDRSTRLEN + 1];
  char dst[INET6_ADDRSTRLEN + 1];
  bool dst_mac_set;
  bool src_mac_set;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: sendframes [--dst-mac MAC] [--src-mac MAC] [--dry-run] "
          "[--hex] [--while FILE] IFNAME SPEC...\n"
          "SPEC: KEY=VALUE[,KEY=VALUE...] with keys family, src, dst, "
          "payload, count,\n"
          "      vlan=[TPID:]ID, ethertype, ipopts, ext, frag, mf, dst-mac, "
          "src-mac\n"
          "e.g.: sendframes va family=4,src=10.0.0.1,dst=10.0.0.2,"
          "payload=100,count=5,vlan=100\n");
}

/* Parses an unsigned number in C syntax that must lie in [0, max]. */
static int parse_ulong(const char *text, unsigned long max,
                       unsigned long *out) {
  char *end;

  if (text[0] == '\0' || text[0] == '-' || text[0] == '+')
    return -1;
  errno = 0;
  unsigned long v = strtoul(text, &end, 0);
  if (errno != 0 || *end != '\0' || v > max)
    return -1;
  *out = v;
  return 0;
}

static int spec_error(const struct spec *s, const char *what,
                      const char *value) {
  fprintf(stderr, "sendframes: spec \"%s\": %s: \"%s\"\n", s->text, what,
          value);
  return -1;
}

static int parse_vlan(struct spec *s, const char *value) {
  unsigned long tpid = 0x8100, id;
  const char *colon = strchr(value, ':');

  if (s->fs.vlan_num >= FRAME_MAX_VLAN)
    return spec_error(s, "more VLAN tags than supported (3)", value);
  if (colon != NULL) {
    char tpid_text[16];
    size_t n = (size_t)(colon - value);
    if (n == 0 || n >= sizeof(tpid_text))
      return spec_error(s, "bad VLAN TPID", value);
    memcpy(tpid_text, value, n);
    tpid_text[n] = '\0';
    if (parse_ulong(tpid_text, 0xffff, &tpid) != 0 || tpid == 0)
      return spec_error(s, "bad VLAN TPID", value);
    value = colon + 1;
  }
  if (parse_ulong(value, 0xfff, &id) != 0)
    return spec_error(s, "VLAN ID must be 0..4095", value);
  s->fs.vlan_tpid[s->fs.vlan_num] = (uint16_t)tpid;
  s->fs.vlan_id[s->fs.vlan_num] = (uint16_t)id;
  s->fs.vlan_num++;
  return 0;
}

static int copy_addr(struct spec *s, char *dst, const char *value) {
  if (strlen(value) > INET6_ADDRSTRLEN)
    return spec_error(s, "address too long", value);
  strcpy(dst, value);
  return 0;
}

static int parse_pair(struct spec *s, const char *key, const char *value) {
  unsigned long v;

  if (strcmp(key, "family") == 0) {
    if (parse_ulong(value, 6, &v) != 0 || (v != 0 && v != 4 && v != 6))
      return spec_error(s, "family must be 0, 4 or 6", value);
    s->fs.family = (int)v;
    s->family_set = true;
  } else if (strcmp(key, "src") == 0) {
    return copy_addr(s, s->src, value);
  } else if (strcmp(key, "dst") == 0) {
    return copy_addr(s, s->dst, value);
  } else if (strcmp(key, "payload") == 0) {
    if (parse_ulong(value, 65535, &v) != 0)
      return spec_error(s, "payload must be 0..65535", value);
    s->fs.payload_len = v;
  } else if (strcmp(key, "count") == 0) {
    if (parse_ulong(value, MAX_COUNT, &v) != 0)
      return spec_error(s, "count must be 0..10000000", value);
    s->count = v;
  } else if (strcmp(key, "sources") == 0) {
    if (parse_ulong(value, 1UL << 24, &v) != 0 || v == 0)
      return spec_error(s, "sources must be 1..16777216", value);
    s->sources = v;
  } else if (strcmp(key, "vlan") == 0) {
    return parse_vlan(s, value);
  } else if (strcmp(key, "ethertype") == 0) {
    if (parse_ulong(value, 0xffff, &v) != 0)
      return spec_error(s, "ethertype must be 0..0xffff", value);
    s->fs.ethertype = (uint16_t)v;
    if (!s->family_set) {
      s->fs.family = 0;
      s->family_set = true;
    }
  } else if (strcmp(key, "ipopts") == 0) {
    if (parse_ulong(value, 40, &v) != 0 || v % 4 != 0)
      return spec_error(s, "ipopts must be a multiple of 4, at most 40", value);
    s->fs.ipv4_options_len = (int)v;
  } else if (strcmp(key, "ext") == 0) {
    if (parse_ulong(value, 32, &v) != 0)
      return spec_error(s, "ext must be 0..32", value);
    s->fs.ipv6_ext_headers = (int)v;
  } else if (strcmp(key, "frag") == 0) {
    if (parse_ulong(value, 0x1fff, &v) != 0)
      return spec_error(s, "frag must be 0..8191", value);
    s->fs.frag_offset = (uint16_t)v;
  } else if (strcmp(key, "mf") == 0) {
    if (parse_ulong(value, 1, &v) != 0)
      return spec_error(s, "mf must be 0 or 1", value);
    s->fs.more_fragments = v == 1;
  } else if (strcmp(key, "dst-mac") == 0) {
    if (frame_parse_mac(value, s->fs.dst_mac) != 0)
      return spec_error(s, "bad MAC address", value);
    s->dst_mac_set = true;
  } else if (strcmp(key, "src-mac") == 0) {
    if (frame_parse_mac(value, s->fs.src_mac) != 0)
      return spec_error(s, "bad MAC address", value);
    s->src_mac_set = true;
  } else {
    return spec_error(s, "unknown key", key);
  }
  return 0;
}

static int parse_spec(struct spec *s, const char *text) {
  char buf[1024];

  memset(s, 0, sizeof(*s));
  s->text = text;
  s->count = 1;
  s->sources = 1;
  if (strlen(text) >= sizeof(buf))
    return spec_error(s, "spec too long", "...");
  strcpy(buf, text);

  char *save = NULL;
  for (char *item = strtok_r(buf, ",", &save); item != NULL;
       item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    if (eq == NULL || eq == item)
      return spec_error(s, "expected KEY=VALUE", item);
    *eq = '\0';
    if (parse_pair(s, item, eq + 1) != 0)
      return -1;
  }

  if (!s->family_set) {
    if (s->src[0] == '\0')
      return spec_error(s, "no family, ethertype or src given", text);
    s->fs.family = strchr(s->src, ':') != NULL ? 6 : 4;
  }
  if (s->fs.family != 4 && (s->fs.ipv4_options_len != 0 ||
                            s->fs.frag_offset != 0 || s->fs.more_fragments))
    return spec_error(s, "ipopts, frag and mf apply to IPv4 only", text);
  if (s->fs.family != 6 && s->fs.ipv6_ext_headers != 0)
    return spec_error(s, "ext applies to IPv6 only", text);
  if (s->fs.family != 4 && s->sources != 1)
    return spec_error(s, "sources applies to IPv4 only", text);
  if (s->fs.family != 0 && s->fs.ethertype != 0)
    return spec_error(s, "ethertype applies to family 0 only", text);
  if (s->fs.family == 0 && (s->src[0] != '\0' || s->dst[0] != '\0'))
    return spec_error(s, "src and dst apply to IP frames only", text);
  if (s->fs.family != 0) {
    int af = s->fs.family == 4 ? AF_INET : AF_INET6;
    unsigned char addr[sizeof(struct in6_addr)];
    const char *what =
        s->fs.family == 4 ? "not an IPv4 address" : "not an IPv6 address";

    if (s->src[0] == '\0' || s->dst[0] == '\0')
      return spec_error(s, "an IP frame needs src and dst", text);
    if (inet_pton(af, s->src, addr) != 1)
      return spec_error(s, what, s->src);
    if (inet_pton(af, s->dst, addr) != 1)
      return spec_error(s, what, s->dst);
    s->fs.src = s->src;
    s->fs.dst = s->dst;
  }
  return 0;
}

static void dump_hex(const char *text, const uint8_t *frame, size_t len) {
  fprintf(stderr, "# %s (%zu bytes)\n", text, len);
  for (size_t i = 0; i < len; i++)
    fprintf(stderr, "%02x%s", frame[i],
            (i % 16 == 15 || i == len - 1) ? "\n" : " ");
}

static int send_frame(int fd, const struct sockaddr_ll *sll,
                      const uint8_t *frame, size_t len) {
  const struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};

  for (int attempt = 0;; attempt++) {
    ssize_t n =
        sendto(fd, frame, len, 0, (const struct sockaddr *)sll, sizeof(*sll));
    if (n == (ssize_t)len)
      return 0;
    if (n >= 0) {
      fprintf(stderr, "sendframes: short send: %zd of %zu bytes\n", n, len);
      return -EIO;
    }
    if ((errno == ENOBUFS || errno == EAGAIN || errno == EINTR) &&
        attempt < SEND_RETRIES) {
      nanosleep(&pause, NULL);
      continue;
    }
    return -errno;
  }
}

struct run {
  const char *ifname;
  int nspecs;
  struct spec *specs;
  uint8_t *frames; /* nspecs buffers of FRAME_BUF_LEN bytes */
  size_t *lens;
  int fd; /* -1: dry run */
  struct sockaddr_ll sll;
};

static uint8_t *run_frame(const struct run *run, int i) {
  return run->frames + (size_t)i * FRAME_BUF_LEN;
}

static int build_all(struct run *run, char **texts, const uint8_t dst_mac[6],
                     const uint8_t src_mac[6]) {
  for (int i = 0; i < run->nspecs; i++) {
    struct spec *s = &run->specs[i];
    if (parse_spec(s, texts[i]) != 0)
      return -1;
    if (!s->dst_mac_set)
      memcpy(s->fs.dst_mac, dst_mac, 6);
    if (!s->src_mac_set)
      memcpy(s->fs.src_mac, src_mac, 6);
    run->lens[i] = frame_build(&s->fs, run_frame(run, i), FRAME_BUF_LEN);
    if (run->lens[i] == 0)
      return spec_error(s, "frame too long (IP length over 65535 bytes)",
                        s->text);
  }
  return 0;
}

static int open_socket(struct run *run) {
  unsigned ifindex = if_nametoindex(run->ifname);
  if (ifindex == 0) {
    fprintf(stderr, "sendframes: interface \"%s\": %s\n", run->ifname,
            strerror(errno));
    return -1;
  }
  run->fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (run->fd < 0) {
    fprintf(stderr, "sendframes: AF_PACKET socket: %s%s\n", strerror(errno),
            errno == EPERM ? " (needs CAP_NET_RAW)" : "");
    return -1;
  }
  run->sll.sll_family = AF_PACKET;
  run->sll.sll_ifindex = (int)ifindex;
  run->sll.sll_halen = ETH_ALEN;
  return 0;
}

/* The frame's IPv4 source: the spec's plus offset, with the header's
 * checksum computed again. */
static void set_ipv4_source(const struct spec *s, uint8_t *frame,
                            unsigned long offset) {
  uint8_t *ip = frame + 14 + 4 * (size_t)s->fs.vlan_num;
  size_t hlen = (size_t)(ip[0] & 15) * 4;
  struct in_addr a;
  uint32_t sum = 0;

  inet_pton(AF_INET, s->src, &a);
  a.s_addr = htonl(ntohl(a.s_addr) + (uint32_t)offset);
  memcpy(ip + 12, &a, 4);
  ip[10] = ip[11] = 0;
  for (size_t k = 0; k < hlen; k += 2)
    sum += (uint32_t)ip[k] << 8 | ip[k + 1];
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = (uint8_t)(~sum >> 8);
  ip[11] = (uint8_t)~sum;
}

/* Sends every spec's frames (none on a dry run) and reports each spec on
 * stdout, also the one that failed with the frames sent before. */
static int send_all(struct run *run, bool hex, const char *while_file) {
  for (int i = 0; i < run->nspecs; i++) {
    const struct spec *s = &run->specs[i];
    const uint8_t *frame = run_frame(run, i);
    unsigned long sent = 0;
    int err = 0;

    if (hex)
      dump_hex(s->text, frame, run->lens[i]);
    if (run->fd < 0) {
      sent = s->count * s->sources;
    } else {
      memcpy(run->sll.sll_addr, frame, ETH_ALEN);
      run->sll.sll_protocol = htons((uint16_t)(frame[12] << 8 | frame[13]));
      do {
        for (unsigned long src = 0; src < s->sources && err == 0; src++) {
          if (s->sources > 1)
            set_ipv4_source(s, run_frame(run, i), src);
          for (unsigned long n = 0; n < s->count; n++, sent++) {
            err = send_frame(run->fd, &run->sll, frame, run->lens[i]);
            if (err != 0) {
              fprintf(stderr,
                      "sendframes: %s: sending frame %lu of \"%s\": %s\n",
                      run->ifname, sent + 1, s->text, strerror(-err));
              break;
            }
          }
        }
      } while (err == 0 && while_file && access(while_file, F_OK) == 0);
    }
    printf("len=%zu count=%lu spec=%s\n", run->lens[i], sent, s->text);
    if (err != 0)
      return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  static const struct option options[] = {
      {"dst-mac", required_argument, NULL, 'd'},
      {"src-mac", required_argument, NULL, 's'},
      {"dry-run", no_argument, NULL, 'n'},
      {"hex", no_argument, NULL, 'x'},
      {"while", required_argument, NULL, 'w'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  uint8_t dst_mac[6] = {0}, src_mac[6] = {0};
  const char *while_file = NULL;
  bool dry_run = false, hex = false;
  int opt;

  while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
    switch (opt) {
    case 'd':
      if (frame_parse_mac(optarg, dst_mac) != 0) {
        fprintf(stderr, "sendframes: --dst-mac: bad MAC address \"%s\"\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 's':
      if (frame_parse_mac(optarg, src_mac) != 0) {
        fprintf(stderr, "sendframes: --src-mac: bad MAC address \"%s\"\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'n':
      dry_run = true;
      break;
    case 'x':
      hex = true;
      break;
    case 'w':
      while_file = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  if (argc - optind < 2) {
    fprintf(stderr, "sendframes: need an interface and at least one SPEC\n");
    usage(stderr);
    return EXIT_USAGE;
  }

  const char *ifname = argv[optind++];
  if (strlen(ifname) >= IF_NAMESIZE || ifname[0] == '\0') {
    fprintf(stderr, "sendframes: bad interface name \"%s\"\n", ifname);
    return EXIT_USAGE;
  }

  /* Parse and build everything before sending anything, so that a bad spec
   * sends no frame at all. */
  struct run run = {.ifname = ifname, .nspecs = argc - optind, .fd = -1};
  int status = EXIT_SEND;
  run.specs = calloc((size_t)run.nspecs, sizeof(*run.specs));
  run.frames = malloc((size_t)run.nspecs * FRAME_BUF_LEN);
  run.lens = calloc((size_t)run.nspecs, sizeof(*run.lens));
  if (run.specs == NULL || run.frames == NULL || run.lens == NULL) {
    fprintf(stderr, "sendframes: out of memory\n");
    goto out;
  }
  if (build_all(&run, argv + optind, dst_mac, src_mac) != 0) {
    status = EXIT_USAGE;
    goto out;
  }
  if (!dry_run && open_socket(&run) != 0)
    goto out;
  if (send_all(&run, hex, while_file) != 0)
    goto out;
  if (fflush(stdout) != 0) {
    perror("sendframes: stdout");
    goto out;
  }
  status = 0;
out:
  if (run.fd >= 0)
    close(run.fd);
  free(run.lens);
  free(run.frames);
  free(run.specs);
  return status;
}
