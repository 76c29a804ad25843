/*
 * BPF program tests: the real XDP program, loaded into the running kernel
 * through the plugin's loader, runs crafted frames (bpf_prog_test_run);
 * the table's contents are then checked exactly.
 *
 * Needs root (CAP_BPF); exits 77 (skip) otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "expect.h"
#include "frames.h"
#include "hot.h"
#include "plugin_config.h"
#include "loader.h"
#include "reader.h"
#include "table.h"

#define SKIP 77
#define CAPACITY 64

/* The ingress ifindex the kernel gives test runs (0, or loopback's on
 * kernels that run them on the loopback device). */
static uint32_t test_ifindex;

/* A loaded program with an empty table, read through the plugin's own
 * reader into a snapshot. */
struct fixture {
  struct itr_loader *loader;
  struct itr_reader *reader;
  struct itr_table *table;
};

/* Loading the object takes milliseconds (much more under emulation), so
 * the tests with the default configuration share one loaded object and
 * start from an emptied table. */
static struct itr_loader *shared_loader;

static void empty_map(int fd) {
  uint8_t key[sizeof(struct iptraffic_key)];

  while (bpf_map_get_next_key(fd, NULL, key) == 0)
    if (bpf_map_delete_elem(fd, key) != 0) {
      fprintf(stderr, "emptying a table failed: %s\n", strerror(errno));
      exit(1);
    }
}

/* Empties every table of l and clears the hot filter. */
static void empty_tables(struct itr_loader *l) {
  struct iptraffic_hot_filter none = {0};
  struct itr_maps m;
  uint32_t zero = 0;

  itr_loader_maps(l, &m);
  empty_map(m.addr4);
  empty_map(m.addr6);
  empty_map(m.hot);
  if (bpf_map_update_elem(m.hot_filter, &zero, &none, BPF_ANY) != 0) {
    fprintf(stderr, "resetting the tables failed: %s\n", strerror(errno));
    exit(1);
  }
}

/* The snapshot's room beyond max_entries: special and hot keys. */
#define SNAPSHOT_EXTRA                                                         \
  (IPTRAFFIC_NUM_SPECIAL * ITR_LOADER_INTERFACES + IPTRAFFIC_HOT_ADDRS)

/* A loaded program whose IPv4 and IPv6 tables take ipv4 and ipv6 entries;
 * the shared one for the default configuration. */
static void fixture_open_sizes(struct fixture *f, uint32_t ipv4, uint32_t ipv6,
                               const struct itr_config *cfg) {
  const struct itr_loader_opts sizes = {
      .ipv4 = ipv4, .ipv6 = ipv6, .interfaces = ITR_LOADER_INTERFACES};
  bool shared = ipv4 == CAPACITY && ipv6 == CAPACITY && cfg == NULL;
  struct itr_maps maps;
  int err = 0;

  if (!shared)
    err = itr_loader_open_config(&f->loader, &sizes, cfg);
  else if (!shared_loader)
    err = itr_loader_open(&shared_loader, CAPACITY);
  if (err) {
    fprintf(stderr, "loading the BPF program failed: %s\n", strerror(-err));
    exit(1);
  }
  if (shared) {
    f->loader = shared_loader;
    empty_tables(f->loader);
  }
  itr_loader_maps(f->loader, &maps);
  err = itr_reader_new(&f->reader, &maps);
  f->table = itr_table_new(ipv4 + ipv6 + SNAPSHOT_EXTRA);
  if (err || !f->table) {
    fprintf(stderr, "reader/table setup failed\n");
    exit(1);
  }
}

static void fixture_open_config(struct fixture *f, uint32_t capacity,
                                const struct itr_config *cfg) {
  fixture_open_sizes(f, capacity, capacity, cfg);
}

static void fixture_open(struct fixture *f, uint32_t capacity) {
  fixture_open_config(f, capacity, NULL);
}

static void fixture_close(struct fixture *f) {
  itr_table_free(f->table);
  itr_reader_free(f->reader);
  if (f->loader != shared_loader)
    itr_loader_close(f->loader);
}

/* The program under test: every frame test runs against each. */
enum prog {
  PROG_XDP,       /* SEC("xdp") */
  PROG_XDP_FRAGS, /* SEC("xdp.frags"), multi-buffer */
  PROG_TC,        /* SEC("tc"), egress */
};
static const char *const prog_names[] = {"xdp", "xdp.frags", "tc"};
static enum prog prog;

/* Runs one frame through the program under test repeat times; on tc as a
 * GSO packet of gso_segs segments when gso_segs > 1. */
static void run_gso(struct fixture *f, const uint8_t *frame, size_t len,
                    int repeat, uint32_t gso_segs) {
  struct __sk_buff skb = {.gso_segs = gso_segs};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
              .data_size_in = (uint32_t)len, .repeat = repeat);
  int fd = prog == PROG_XDP         ? itr_loader_xdp_fd(f->loader)
           : prog == PROG_XDP_FRAGS ? itr_loader_xdp_frags_fd(f->loader)
                                    : itr_loader_tc_fd(f->loader);
  int err;

  if (prog == PROG_TC) {
    opts.ctx_in = &skb;
    opts.ctx_size_in = sizeof(skb);
  }
  err = bpf_prog_test_run_opts(fd, &opts);
  EXPECT(err == 0, "%s: bpf_prog_test_run_opts(%zu bytes, %u segments): %s",
         prog_names[prog], len, gso_segs, strerror(errno));
  if (prog == PROG_TC)
    EXPECT(opts.retval == (uint32_t)TC_ACT_UNSPEC,
           "tc: retval %d, want TC_ACT_UNSPEC", (int)opts.retval);
  else
    EXPECT(opts.retval == XDP_PASS, "%s: retval %u, want XDP_PASS",
           prog_names[prog], opts.retval);
}

static void run_frame(struct fixture *f, const uint8_t *frame, size_t len,
                      int repeat) {
  run_gso(f, frame, len, repeat, 0);
}

static size_t build(const struct frame_spec *spec, uint8_t *buf, size_t len) {
  size_t n = frame_build(spec, buf, len);

  if (n == 0) {
    fprintf(stderr, "frame_build failed\n");
    exit(1);
  }
  return n;
}

static struct iptraffic_key addr_key(const char *text) {
  struct iptraffic_key key;

  if (frame_address_key(text, test_ifindex, &key) != 0) {
    fprintf(stderr, "bad address %s\n", text);
    exit(1);
  }
  return key;
}

static struct iptraffic_key special_key(enum iptraffic_kind kind) {
  struct iptraffic_key key = {.ifindex = test_ifindex, .kind = kind};

  return key;
}

/* Reads the table and checks that it holds exactly n keys. */
static void read_table(struct fixture *f, size_t n) {
  int err = itr_reader_pass(f->reader, f->table, 1);

  EXPECT(err == 0, "reader pass: %s", strerror(-err));
  EXPECT(itr_table_count(f->table) == n, "table holds %zu keys, want %zu",
         itr_table_count(f->table), n);
}

static void expect_counts(struct fixture *f, const char *what,
                          struct iptraffic_key key, uint64_t rx_bytes,
                          uint64_t rx_packets, uint64_t tx_bytes,
                          uint64_t tx_packets) {
  const struct itr_entry *e = itr_table_find(f->table, &key);

  EXPECT(e != NULL, "%s: %s: no entry", prog_names[prog], what);
  if (!e)
    return;
  EXPECT(e->counters.rx_bytes == rx_bytes, "%s: %s: rx_bytes %llu, want %llu",
         prog_names[prog], what, (unsigned long long)e->counters.rx_bytes,
         (unsigned long long)rx_bytes);
  EXPECT(e->counters.rx_packets == rx_packets,
         "%s: %s: rx_packets %llu, want %llu", prog_names[prog], what,
         (unsigned long long)e->counters.rx_packets,
         (unsigned long long)rx_packets);
  EXPECT(e->counters.tx_bytes == tx_bytes, "%s: %s: tx_bytes %llu, want %llu",
         prog_names[prog], what, (unsigned long long)e->counters.tx_bytes,
         (unsigned long long)tx_bytes);
  EXPECT(e->counters.tx_packets == tx_packets,
         "%s: %s: tx_packets %llu, want %llu", prog_names[prog], what,
         (unsigned long long)e->counters.tx_packets,
         (unsigned long long)tx_packets);
}

/* One frame from src to dst, repeat times: src tx and dst rx, nothing
 * else. */
static void check_ip_frame(const char *what, const struct frame_spec *spec,
                           int repeat) {
  struct fixture f;
  uint8_t frame[10000];
  size_t len = build(spec, frame, sizeof(frame));

  fixture_open(&f, CAPACITY);
  run_frame(&f, frame, len, repeat);
  read_table(&f, 2);
  expect_counts(&f, what, addr_key(spec->src), 0, 0, len * repeat, repeat);
  expect_counts(&f, what, addr_key(spec->dst), len * repeat, repeat, 0, 0);
  fixture_close(&f);
}

/* A frame that lands on one special key, rx and tx. */
static void check_special_frame(const char *what, const uint8_t *frame,
                                size_t len, enum iptraffic_kind kind) {
  struct fixture f;

  fixture_open(&f, CAPACITY);
  run_frame(&f, frame, len, 3);
  read_table(&f, 1);
  expect_counts(&f, what, special_key(kind), len * 3, 3, len * 3, 3);
  fixture_close(&f);
}

static void test_ipv4(void) {
  struct frame_spec s = {
      .family = 4, .src = "10.0.0.1", .dst = "192.0.2.200", .payload_len = 100};

  check_ip_frame("ipv4", &s, 1);
  check_ip_frame("ipv4 x1000", &s, 1000);
  s.payload_len = 0;
  check_ip_frame("ipv4 empty udp", &s, 1);
}

static void test_ipv4_options(void) {
  struct frame_spec s = {.family = 4,
                         .src = "10.0.0.1",
                         .dst = "10.0.0.2",
                         .ipv4_options_len = 40,
                         .payload_len = 10};

  check_ip_frame("ipv4 with 40 bytes of options", &s, 1);
  s.ipv4_options_len = 4;
  check_ip_frame("ipv4 with 4 bytes of options", &s, 1);
}

static void test_ipv4_fragments(void) {
  struct frame_spec first = {.family = 4,
                             .src = "10.0.0.1",
                             .dst = "10.0.0.2",
                             .more_fragments = true,
                             .payload_len = 1000};
  struct frame_spec last = first;
  uint8_t a[2048], b[2048];
  size_t alen = build(&first, a, sizeof(a));
  size_t blen;
  struct fixture f;

  last.more_fragments = false;
  last.frag_offset = 126;
  last.payload_len = 300;
  blen = build(&last, b, sizeof(b));
  fixture_open(&f, CAPACITY);
  run_frame(&f, a, alen, 1);
  run_frame(&f, b, blen, 1);
  read_table(&f, 2);
  expect_counts(&f, "fragments src", addr_key("10.0.0.1"), 0, 0, alen + blen,
                2);
  expect_counts(&f, "fragments dst", addr_key("10.0.0.2"), alen + blen, 2, 0,
                0);
  fixture_close(&f);
}

static void test_ipv6(void) {
  struct frame_spec s = {
      .family = 6, .src = "2001:db8::1", .dst = "fe80::1:2", .payload_len = 64};

  check_ip_frame("ipv6", &s, 1);
  s.ipv6_ext_headers = 3;
  check_ip_frame("ipv6 with extension headers", &s, 7);
}

static void test_vlan(void) {
  struct frame_spec s = {.family = 4,
                         .src = "10.1.0.1",
                         .dst = "10.1.0.2",
                         .vlan_num = 1,
                         .vlan_tpid = {0x8100},
                         .vlan_id = {10},
                         .payload_len = 50};
  uint8_t frame[2048];
  size_t len;

  check_ip_frame("802.1Q", &s, 1);
  s.vlan_num = 2;
  s.vlan_tpid[0] = 0x88a8;
  s.vlan_tpid[1] = 0x8100;
  s.vlan_id[1] = 20;
  check_ip_frame("QinQ", &s, 1);
  s.family = 6;
  s.src = "2001:db8::a";
  s.dst = "2001:db8::b";
  check_ip_frame("QinQ ipv6", &s, 1);

  /* Deeper than the parser looks: not an IP frame it can read. */
  s.family = 4;
  s.src = "10.1.0.1";
  s.dst = "10.1.0.2";
  s.vlan_num = 3;
  s.vlan_tpid[2] = 0x8100;
  s.vlan_id[2] = 30;
  len = build(&s, frame, sizeof(frame));
  check_special_frame("three VLAN tags", frame, len, IPTRAFFIC_KIND_NONIP);
}

static void test_non_ip(void) {
  struct frame_spec arp = {.family = 0, .ethertype = 0x0806, .payload_len = 28};
  struct frame_spec lldp = {
      .family = 0, .ethertype = 0x88cc, .payload_len = 50};
  uint8_t frame[2048];
  size_t len;

  len = build(&arp, frame, sizeof(frame));
  check_special_frame("arp", frame, len, IPTRAFFIC_KIND_NONIP);
  len = build(&lldp, frame, sizeof(frame));
  check_special_frame("lldp", frame, len, IPTRAFFIC_KIND_NONIP);
  arp.vlan_num = 1;
  arp.vlan_tpid[0] = 0x8100;
  len = build(&arp, frame, sizeof(frame));
  check_special_frame("arp in 802.1Q", frame, len, IPTRAFFIC_KIND_NONIP);
}

static void test_malformed(void) {
  struct frame_spec v4 = {
      .family = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .payload_len = 20};
  struct frame_spec v6 = {.family = 6,
                          .src = "2001:db8::1",
                          .dst = "2001:db8::2",
                          .payload_len = 20};
  struct frame_spec vlan = {.family = 4,
                            .src = "10.0.0.1",
                            .dst = "10.0.0.2",
                            .vlan_num = 1,
                            .vlan_tpid = {0x8100},
                            .payload_len = 20};
  const size_t eth = 14;
  uint8_t frame[2048];
  size_t len;

  /* IPv4 header cut short (the kernel refuses such skbs in test runs). */
  build(&v4, frame, sizeof(frame));
  if (prog != PROG_TC)
    check_special_frame("truncated ipv4", frame, eth + 19,
                        IPTRAFFIC_KIND_MALFORMED);
  /* ihl < 5. */
  len = build(&v4, frame, sizeof(frame));
  frame[eth] = 0x44;
  check_special_frame("ipv4 ihl 4", frame, len, IPTRAFFIC_KIND_MALFORMED);
  /* ihl claims options past the end of the frame. */
  build(&v4, frame, sizeof(frame));
  frame[eth] = 0x4f;
  check_special_frame("ipv4 ihl past end", frame, eth + 40,
                      IPTRAFFIC_KIND_MALFORMED);
  /* Version 6 behind ethertype IPv4. */
  len = build(&v4, frame, sizeof(frame));
  frame[eth] = 0x65;
  check_special_frame("ipv4 ethertype, version 6", frame, len,
                      IPTRAFFIC_KIND_MALFORMED);
  /* IPv6 header cut short. */
  build(&v6, frame, sizeof(frame));
  if (prog != PROG_TC)
    check_special_frame("truncated ipv6", frame, eth + 39,
                        IPTRAFFIC_KIND_MALFORMED);
  /* Version 4 behind ethertype IPv6. */
  len = build(&v6, frame, sizeof(frame));
  frame[eth] = 0x40;
  check_special_frame("ipv6 ethertype, version 4", frame, len,
                      IPTRAFFIC_KIND_MALFORMED);
  /* A VLAN ethertype with the tag cut off: 14 bytes in all. */
  build(&vlan, frame, sizeof(frame));
  check_special_frame("truncated vlan tag", frame, eth + 2,
                      IPTRAFFIC_KIND_MALFORMED);
  /* Shorter than an Ethernet header: the kernel refuses to run such a
   * frame (test_run needs ETH_HLEN bytes); a real device never delivers
   * one either. */
}

static void test_full_table(void) {
  const uint32_t addresses = 2;
  struct frame_spec s = {
      .family = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .payload_len = 10};
  uint8_t frame[2048];
  size_t len1, len2, len3;
  struct fixture f;

  fixture_open_sizes(&f, addresses, addresses, NULL);
  /* What the plugin does before attaching. */
  for (size_t i = 0; i < IPTRAFFIC_NUM_SPECIAL; i++) {
    struct iptraffic_key key = special_key(itr_special_kinds[i]);
    EXPECT(itr_reader_create(f.reader, &key) == 0, "create special %zu", i);
  }
  len1 = build(&s, frame, sizeof(frame));
  run_frame(&f, frame, len1, 1); /* fills the table */
  s.src = "10.0.0.3";            /* new source, known destination */
  len2 = build(&s, frame, sizeof(frame));
  run_frame(&f, frame, len2, 1);
  s.src = "10.0.0.2"; /* known source, new destination */
  s.dst = "10.0.0.4";
  s.payload_len = 30;
  len3 = build(&s, frame, sizeof(frame));
  run_frame(&f, frame, len3, 2);

  read_table(&f, addresses + IPTRAFFIC_NUM_SPECIAL);
  expect_counts(&f, "full: first src", addr_key("10.0.0.1"), 0, 0, len1, 1);
  expect_counts(&f, "full: 10.0.0.2", addr_key("10.0.0.2"), len1 + len2, 2,
                2 * len3, 2);
  expect_counts(&f, "full: untracked", special_key(IPTRAFFIC_KIND_UNTRACKED),
                2 * len3, 2, len2, 1);
  expect_counts(&f, "full: non-ip", special_key(IPTRAFFIC_KIND_NONIP), 0, 0, 0,
                0);
  fixture_close(&f);
}

/* Learns the ifindex test runs carry from one ARP frame. */
static void probe_test_ifindex(void) {
  struct frame_spec arp = {.family = 0, .ethertype = 0x0806, .payload_len = 28};
  uint8_t frame[128];
  size_t len = build(&arp, frame, sizeof(frame));
  struct fixture f;

  fixture_open(&f, CAPACITY);
  run_frame(&f, frame, len, 1);
  read_table(&f, 1);
  if (itr_table_count(f.table) == 1)
    test_ifindex = itr_table_entries(f.table)[0].key.ifindex;
  fixture_close(&f);
}

/* Egress GSO packets count as their segments, with the headers each
 * segment repeats. */
static void test_gso(void) {
  struct frame_spec s = {.family = 4,
                         .src = "10.0.0.1",
                         .dst = "10.0.0.2",
                         .payload_len =
                             2000}; /* an skb test run takes at most a page */
  const size_t eth = 14, ipv4 = 20, ipv6 = 40, udp = 8, tcp = 32;
  uint8_t frame[8192];
  struct fixture f;
  size_t len;

  /* UDP over IPv4 in 5 segments. */
  len = build(&s, frame, sizeof(frame));
  fixture_open(&f, CAPACITY);
  run_gso(&f, frame, len, 1, 5);
  read_table(&f, 2);
  expect_counts(&f, "gso udp4 src", addr_key("10.0.0.1"), 0, 0,
                len + 4 * (eth + ipv4 + udp), 5);
  expect_counts(&f, "gso udp4 dst", addr_key("10.0.0.2"),
                len + 4 * (eth + ipv4 + udp), 5, 0, 0);
  fixture_close(&f);

  /* TCP over IPv4 with 12 bytes of options (doff 8) in 3 segments. */
  len = build(&s, frame, sizeof(frame));
  frame[eth + 9] = 6;                      /* protocol TCP */
  frame[eth + ipv4 + 12] = (tcp / 4) << 4; /* data offset */
  fixture_open(&f, CAPACITY);
  run_gso(&f, frame, len, 1, 3);
  read_table(&f, 2);
  expect_counts(&f, "gso tcp4 src", addr_key("10.0.0.1"), 0, 0,
                len + 2 * (eth + ipv4 + tcp), 3);
  fixture_close(&f);

  /* UDP over IPv6 in 2 segments. */
  s.family = 6;
  s.src = "2001:db8::1";
  s.dst = "2001:db8::2";
  len = build(&s, frame, sizeof(frame));
  fixture_open(&f, CAPACITY);
  run_gso(&f, frame, len, 1, 2);
  read_table(&f, 2);
  expect_counts(&f, "gso udp6 dst", addr_key("2001:db8::2"),
                len + (eth + ipv6 + udp), 2, 0, 0);
  fixture_close(&f);

  /* Behind IPv6 extension headers the repeated headers are not known:
   * the segments count, the bytes are the packet's. */
  s.ipv6_ext_headers = 1;
  len = build(&s, frame, sizeof(frame));
  fixture_open(&f, CAPACITY);
  run_gso(&f, frame, len, 1, 4);
  read_table(&f, 2);
  expect_counts(&f, "gso udp6 ext src", addr_key("2001:db8::1"), 0, 0, len, 4);
  fixture_close(&f);
}

/* A jumbo frame spans several buffers; the bytes cover all of them. */
static void test_multi_buffer(void) {
  struct frame_spec s = {.family = 4,
                         .src = "10.0.0.1",
                         .dst = "10.0.0.2",
                         .payload_len = 8000 - 42};

  check_ip_frame("8000-byte frame", &s, 2);
  s.family = 6;
  s.src = "2001:db8::1";
  s.dst = "2001:db8::2";
  s.payload_len = 9000 - 62;
  check_ip_frame("9000-byte ipv6 frame", &s, 1);
}

static struct iptraffic_key net_key(const char *text, uint8_t prefixlen) {
  struct iptraffic_key key = addr_key(text);

  key.prefixlen = prefixlen;
  return key;
}

static void add_network(struct itr_config *cfg, const char *addr, uint8_t len,
                        uint8_t prefixlen, bool ignore) {
  struct itr_network *n = &cfg->networks[cfg->networks_num++];
  struct iptraffic_key key = addr_key(addr);

  memset(n, 0, sizeof(*n));
  n->kind = key.kind;
  memcpy(n->addr, key.addr, sizeof(n->addr));
  n->len = len;
  n->prefixlen = prefixlen;
  n->ignore = ignore;
}

/* IPv4PrefixLength 24, IPv6PrefixLength 48 and <Network> blocks: the
 * longest matching network decides, aggregates are keyed by their network
 * address and length, ignored addresses count as "ignored" only. */
static void test_aggregation(void) {
  static struct itr_config cfg;
  const struct {
    const char *src, *dst;
    int family;
  } frames[] = {
      {"192.0.2.1", "192.0.2.77", 4},  /* both in 192.0.2.0/24 */
      {"10.9.1.1", "10.9.1.2", 4},     /* 10.9.0.0/16: each on its own */
      {"10.9.8.5", "198.51.100.9", 4}, /* 10.9.8.0/24 ignored */
      {"2001:db8:5:1::1", "2001:db8:77::1", 6}, /* /64 inside, /48 default */
      {"2001:db8:5:2::9", "2001:db8:77:ffff::2", 6},
  };
  struct fixture f;
  uint8_t frame[2048];
  size_t len[5];

  itr_config_init(&cfg);
  cfg.ipv4_prefixlen = 24;
  cfg.ipv6_prefixlen = 48;
  add_network(&cfg, "10.9.0.0", 16, 32, false);
  add_network(&cfg, "10.9.8.0", 24, 0, true);
  add_network(&cfg, "2001:db8:5::", 48, 64, false);
  fixture_open_config(&f, CAPACITY, &cfg);
  for (size_t i = 0; i < 5; i++) {
    struct frame_spec s = {.family = frames[i].family,
                           .src = frames[i].src,
                           .dst = frames[i].dst,
                           .payload_len = 10 + 10 * i};

    len[i] = build(&s, frame, sizeof(frame));
    run_frame(&f, frame, len[i], 1);
  }
  read_table(&f, 8);
  expect_counts(&f, "192.0.2.0/24", net_key("192.0.2.0", 24), len[0], 1, len[0],
                1);
  expect_counts(&f, "10.9.1.1", net_key("10.9.1.1", 32), 0, 0, len[1], 1);
  expect_counts(&f, "10.9.1.2", net_key("10.9.1.2", 32), len[1], 1, 0, 0);
  expect_counts(&f, "ignored", special_key(IPTRAFFIC_KIND_IGNORED), 0, 0,
                len[2], 1);
  expect_counts(&f, "198.51.100.0/24", net_key("198.51.100.0", 24), len[2], 1,
                0, 0);
  expect_counts(&f, "2001:db8:5:1::/64", net_key("2001:db8:5:1::", 64), 0, 0,
                len[3], 1);
  expect_counts(&f, "2001:db8:5:2::/64", net_key("2001:db8:5:2::", 64), 0, 0,
                len[4], 1);
  expect_counts(&f, "2001:db8:77::/48", net_key("2001:db8:77::", 48),
                len[3] + len[4], 2, 0, 0);
  fixture_close(&f);
}

/* Entries of one map. */
static size_t map_count(int fd) {
  uint8_t key[sizeof(struct iptraffic_key)], next[sizeof(key)];
  size_t n = 0;
  void *prev = NULL;

  while (bpf_map_get_next_key(fd, prev, next) == 0) {
    memcpy(key, next, sizeof(key));
    prev = key;
    n++;
  }
  return n;
}

/* Where keys go: IPv4 addresses in the 8-byte table, IPv6 in the wide
 * one, the special keys the plugin created in the per-CPU table; and the
 * count of shared entries the cap is kept by. */
static void test_layout(void) {
  struct frame_spec v4 = {
      .family = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .payload_len = 10};
  struct frame_spec v6 = {.family = 6,
                          .src = "2001:db8::1",
                          .dst = "2001:db8::2",
                          .payload_len = 10};
  struct frame_spec arp = {.family = 0, .ethertype = 0x0806, .payload_len = 28};
  struct iptraffic_key nonip = special_key(IPTRAFFIC_KIND_NONIP);
  struct iptraffic_key4 k4;
  struct iptraffic_value v;
  uint8_t frame[2048];
  struct itr_maps m;
  struct fixture f;
  size_t len;

  fixture_open(&f, CAPACITY);
  itr_loader_maps(f.loader, &m);
  EXPECT(itr_reader_create(f.reader, &nonip) == 0, "create non-ip");
  len = build(&v4, frame, sizeof(frame));
  run_frame(&f, frame, len, 2);
  run_frame(&f, frame, build(&v6, frame, sizeof(frame)), 1);
  run_frame(&f, frame, build(&arp, frame, sizeof(frame)), 1);
  EXPECT(map_count(m.addr4) == 2, "layout: %zu IPv4 entries, want 2",
         map_count(m.addr4));
  EXPECT(map_count(m.addr6) == 2, "layout: %zu IPv6 entries, want 2",
         map_count(m.addr6));
  EXPECT(map_count(m.hot) == 1, "layout: %zu hot entries, want 1",
         map_count(m.hot));
  k4.ifindex = test_ifindex;
  inet_pton(AF_INET, "10.0.0.1", &k4.addr);
  EXPECT(bpf_map_lookup_elem(m.addr4, &k4, &v) == 0 && v.tx_bytes == 2 * len &&
             v.tx_packets == 2 && v.rx_packets == 0,
         "layout: 10.0.0.1 in the IPv4 table, tx %llu bytes",
         (unsigned long long)v.tx_bytes);
  read_table(&f, 5);
  expect_counts(&f, "layout: 10.0.0.2", addr_key("10.0.0.2"), 2 * len, 2, 0, 0);
  fixture_close(&f);
}

/* MaxEntries and MaxEntriesIPv6 bound each family's table on its own;
 * deleting an entry makes room again. */
static void test_family_caps(void) {
  struct frame_spec v4 = {
      .family = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .payload_len = 10};
  struct frame_spec v6 = {.family = 6,
                          .src = "2001:db8::1",
                          .dst = "2001:db8::2",
                          .payload_len = 10};
  struct iptraffic_key untracked = special_key(IPTRAFFIC_KIND_UNTRACKED);
  struct iptraffic_key gone = addr_key("10.0.0.1");
  struct itr_counters last;
  uint8_t frame4[2048], frame6[2048];
  struct fixture f;
  size_t len4, len6;

  fixture_open_sizes(&f, 1, 2, NULL);
  EXPECT(itr_reader_create(f.reader, &untracked) == 0, "create untracked");
  len4 = build(&v4, frame4, sizeof(frame4));
  len6 = build(&v6, frame6, sizeof(frame6));
  run_frame(&f, frame4, len4, 1); /* the IPv4 table is full after the src */
  run_frame(&f, frame6, len6, 1); /* the IPv6 one still has room for both */
  read_table(&f, 4);
  expect_counts(&f, "caps: 10.0.0.1", addr_key("10.0.0.1"), 0, 0, len4, 1);
  expect_counts(&f, "caps: 2001:db8::2", addr_key("2001:db8::2"), len6, 1, 0,
                0);
  expect_counts(&f, "caps: untracked", untracked, len4, 1, 0, 0);
  EXPECT(itr_reader_delete(f.reader, &(struct iptraffic_key){0}, &last) ==
             -ENOENT,
         "caps: deleting a key that is nowhere");
  EXPECT(itr_reader_delete(f.reader, &gone, &last) == 0 && last.tx_packets == 1,
         "caps: delete 10.0.0.1");
  run_frame(&f, frame4, len4, 1); /* room for one again: the src */
  read_table(&f, 4);
  expect_counts(&f, "caps: 10.0.0.1 again", addr_key("10.0.0.1"), 0, 0, len4,
                1);
  expect_counts(&f, "caps: untracked after", untracked, 2 * len4, 2, 0, 0);
  fixture_close(&f);
}

/* The node's own addresses: counted per CPU once hot, summed with what the
 * shared table counted before, and back in the shared table when they are
 * no longer hot; not a frame lost or doubled on the way. */
static void test_hot_keys(void) {
  static struct itr_config cfg;
  struct frame_spec s = {
      .family = 4, .src = "192.0.2.1", .dst = "192.0.2.77", .payload_len = 10};
  struct frame_spec s6 = {.family = 6,
                          .src = "2001:db8::1",
                          .dst = "2001:db8::2",
                          .payload_len = 10};
  struct itr_hot_set hot, none;
  struct iptraffic_key local, local6, remote6, idle6;
  int ncpus = libbpf_num_possible_cpus();
  struct iptraffic_value *percpu = calloc((size_t)ncpus, sizeof(*percpu));
  struct itr_counters in_hot;
  uint8_t frame[2048], frame6[2048];
  struct itr_maps m;
  struct fixture f;
  size_t len, len6, created;
  uint8_t a[16];

  /* Aggregated to /24, so the hot key is shaped as the kernel shapes it. */
  itr_config_init(&cfg);
  cfg.ipv4_prefixlen = 24;
  fixture_open_config(&f, CAPACITY, &cfg);
  itr_loader_maps(f.loader, &m);
  len = build(&s, frame, sizeof(frame));
  len6 = build(&s6, frame6, sizeof(frame6));
  run_frame(&f, frame, len, 3); /* shared table */
  run_frame(&f, frame6, len6, 1);

  inet_pton(AF_INET, "192.0.2.77", a);
  EXPECT(itr_shape_key(&cfg, test_ifindex, IPTRAFFIC_KIND_IPV4, a, &local) == 0,
         "hot: shape 192.0.2.77");
  inet_pton(AF_INET6, "2001:db8::1", a);
  itr_shape_key(&cfg, test_ifindex, IPTRAFFIC_KIND_IPV6, a, &local6);
  inet_pton(AF_INET6, "2001:db8::99", a); /* never sees a frame */
  itr_shape_key(&cfg, test_ifindex, IPTRAFFIC_KIND_IPV6, a, &idle6);
  itr_hot_set_init(&hot);
  itr_hot_set_add(&hot, &local);
  itr_hot_set_add(&hot, &local6);
  itr_hot_set_add(&hot, &idle6);
  EXPECT(itr_reader_set_hot(f.reader, &hot, &created) == 0 && created == 3,
         "hot: set 3 keys");
  /* A reader that only looks (iptrafficctl) leaves every slot alone, even
   * of keys it does not know as hot. */
  {
    struct itr_reader *looker = NULL;
    struct itr_table *seen = itr_table_new(2 * CAPACITY + SNAPSHOT_EXTRA);

    EXPECT(seen && itr_reader_new(&looker, &m) == 0, "hot: a second reader");
    if (seen && looker) {
      EXPECT(itr_reader_pass(looker, seen, 1) == 0, "hot: looker pass");
      EXPECT(bpf_map_lookup_elem(m.hot, &idle6, percpu) == 0,
             "hot: a reader that only looks freed a slot");
      itr_reader_free(looker);
    }
    itr_table_free(seen);
  }
  run_frame(&f, frame, len, 5); /* per-CPU table */
  run_frame(&f, frame6, len6, 2);
  EXPECT(percpu && bpf_map_lookup_elem(m.hot, &local, percpu) == 0,
         "hot: entry");
  itr_percpu_sum(percpu, (unsigned)ncpus, &in_hot);
  EXPECT(in_hot.rx_packets == 5 && in_hot.tx_packets == 5,
         "hot: %llu packets counted per CPU, want 5",
         (unsigned long long)in_hot.rx_packets);
  read_table(&f, 3);
  expect_counts(&f, "hot: 192.0.2.0/24", net_key("192.0.2.0", 24), 8 * len, 8,
                8 * len, 8);
  expect_counts(&f, "hot: 2001:db8::1", local6, 0, 0, 3 * len6, 3);
  remote6 = addr_key("2001:db8::2");
  expect_counts(&f, "hot: 2001:db8::2", remote6, 3 * len6, 3, 0, 0);

  /* No longer hot: new frames go to the shared table again. */
  itr_hot_set_init(&none);
  EXPECT(itr_reader_set_hot(f.reader, &none, &created) == 0 && created == 0,
         "hot: clear");
  run_frame(&f, frame, len, 2);
  read_table(&f, 3);
  expect_counts(&f, "hot: 192.0.2.0/24 after", net_key("192.0.2.0", 24),
                10 * len, 10, 10 * len, 10);
  /* The address that never saw a frame gave its slot back. */
  EXPECT(bpf_map_lookup_elem(m.hot, &idle6, percpu) != 0,
         "hot: an idle former address keeps its slot");
  EXPECT(bpf_map_lookup_elem(m.hot, &local6, percpu) == 0,
         "hot: a former address with counters lost its slot");
  /* Deleting sums both tables' counters. */
  {
    struct itr_counters last;

    EXPECT(itr_reader_delete(f.reader, &local, &last) == 0 &&
               last.rx_packets == 10 && last.tx_packets == 10,
           "hot: delete sums both tables (%llu packets)",
           (unsigned long long)last.rx_packets);
    EXPECT(bpf_map_lookup_elem(m.hot, &local, percpu) != 0,
           "hot: entry gone after delete");
  }
  free(percpu);
  fixture_close(&f);
}

/* Carrying entries over while the programs count: merged counters add to
 * what frames counted, in the hot table where the key is hot, in a new
 * entry where there was none; a full table says so; nothing is lost. */
static void test_merge(void) {
  struct frame_spec s = {
      .family = 4, .src = "10.9.0.1", .dst = "10.9.0.2", .payload_len = 10};
  const struct iptraffic_value add = {1000, 10, 500, 5};
  struct iptraffic_key nonip = special_key(IPTRAFFIC_KIND_NONIP);
  struct iptraffic_key src, dst, fresh, fresh6, over;
  uint8_t frame[2048];
  struct fixture f;
  size_t len;
  int err;

  fixture_open_sizes(&f, 4, 16, NULL);
  if (!itr_loader_has_merge(f.loader)) {
    printf("merge: no syscall programs in this kernel (before 5.14), not "
           "tested\n");
    fixture_close(&f);
    return;
  }
  EXPECT(itr_reader_create(f.reader, &nonip) == 0, "merge: create non-ip");
  len = build(&s, frame, sizeof(frame));
  run_frame(&f, frame, len, 3);
  src = addr_key("10.9.0.1");
  dst = addr_key("10.9.0.2");
  fresh = addr_key("10.9.0.3");
  fresh6 = addr_key("2001:db8::3");
  EXPECT(itr_loader_merge(f.loader, &src, &add) == 0, "merge: src");
  EXPECT(itr_loader_merge(f.loader, &dst, &add) == 0, "merge: dst");
  EXPECT(itr_loader_merge(f.loader, &fresh, &add) == 0, "merge: new key");
  EXPECT(itr_loader_merge(f.loader, &fresh6, &add) == 0, "merge: new IPv6");
  EXPECT(itr_loader_merge(f.loader, &nonip, &add) == 0, "merge: hot key");
  fresh.addr[3] = 4; /* 10.9.0.4: the fourth and last IPv4 entry */
  EXPECT(itr_loader_merge(f.loader, &fresh, &add) == 0, "merge: last room");
  over = fresh;
  over.addr[3] = 5;
  err = itr_loader_merge(f.loader, &over, &add);
  EXPECT(err == -E2BIG, "merge: a full table gives %d, want -E2BIG", err);
  run_frame(&f, frame, len, 2); /* frames after the merge add on */
  read_table(&f, 6);
  expect_counts(&f, "merge: src", src, 1000, 10, 500 + 5 * len, 10);
  expect_counts(&f, "merge: dst", dst, 1000 + 5 * len, 15, 500, 5);
  expect_counts(&f, "merge: 10.9.0.4", fresh, 1000, 10, 500, 5);
  expect_counts(&f, "merge: 2001:db8::3", fresh6, 1000, 10, 500, 5);
  expect_counts(&f, "merge: non-ip", nonip, 1000, 10, 500, 5);
  {
    struct itr_maps m;
    int ncpus = libbpf_num_possible_cpus();
    struct iptraffic_value *percpu = calloc((size_t)ncpus, sizeof(*percpu));

    itr_loader_maps(f.loader, &m);
    EXPECT(percpu && bpf_map_lookup_elem(m.addr6, &nonip, percpu) != 0,
           "merge: a hot key went to the shared table");
    free(percpu);
  }
  fixture_close(&f);
}

/* Frame tests every program must pass alike. */
static void test_frames(void) {
  test_ipv4();
  test_ipv4_options();
  test_ipv4_fragments();
  test_ipv6();
  test_vlan();
  test_non_ip();
  test_malformed();
  test_full_table();
  test_aggregation();
  test_layout();
  test_family_caps();
  test_hot_keys();
}

static bool kernel_has_frags(void) {
  struct fixture f;
  bool has;

  fixture_open(&f, CAPACITY);
  has = itr_loader_has_frags(f.loader);
  fixture_close(&f);
  return has;
}

int main(void) {
  if (geteuid() != 0) {
    printf("SKIP: loading BPF programs needs root (CAP_BPF)\n");
    return getenv("ITR_NO_SKIP") ? 1 : SKIP;
  }
  for (prog = PROG_XDP; prog <= PROG_TC; prog++) {
    if (prog == PROG_XDP_FRAGS && !kernel_has_frags()) {
      printf("xdp.frags: not in this kernel (before 5.18), not tested\n");
      continue;
    }
    probe_test_ifindex();
    test_frames();
    if (prog == PROG_XDP_FRAGS)
      test_multi_buffer();
    if (prog == PROG_TC)
      test_gso();
    if (prog == PROG_XDP)
      test_merge();
    printf("%s: %d checks so far, %d failures\n", prog_names[prog], checks,
           failures);
  }
  itr_loader_close(shared_loader);
  printf("%d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
