/*
 * The live veth test of the kernel tier: tests/kernel/run.sh boots a
 * distribution kernel under qemu, whose /init (init.sh) runs it, and
 * tests/kernel/host.sh runs it on the build machine's kernel:
 *
 *   guest_test SEND_IF RECV_IF
 *
 * SEND_IF and RECV_IF are the two ends of a veth pair, both up, with IPv6
 * off so that nothing but the frames sent here crosses the pair. The test
 *
 *   - reports which BPF features the kernel has (lines "feature: ..."),
 *     probed directly, and checks that the plugin's fallbacks agree;
 *   - loads the plugin's BPF programs through its loader and attaches them
 *     through its attach code: XDP natively on RECV_IF (ingress), the tc
 *     program on SEND_IF (egress);
 *   - sends crafted frames of known size over an AF_PACKET socket on
 *     SEND_IF, pinned to each CPU in turn, from more addresses than one
 *     batch lookup returns;
 *   - checks the live table exactly, for both hooks: per CPU (raw lookups)
 *     and summed through the plugin's reader into its snapshot table
 *     (batch reads); then change detection, deletion and detaching;
 *   - does the same with 8000-byte frames at MTU 9000 (multi-buffer XDP).
 *
 * Prints one line per failed check and a closing "N checks, M failures";
 * exits 0 when every check passed, 1 otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>

#include "dispatcher.h"
#include "frames.h"
#include "hot.h"
#include "loader.h"
#include "reader.h"
#include "table.h"

#define CAPACITY 4096
#define MAX_CPUS 2        /* frames are sent from CPUs 0 and 1 */
#define MODEL_MAX 4096    /* distinct keys the test expects at most */
#define MANY_SOURCES 1100 /* more than one batch lookup (1024 keys) */
#define FRAME_LEN_MAX 9018
#define JUMBO_MTU 9000
#define JUMBO_FRAME_LEN 8000
#define WAIT_MS 3000
/* Made a hot key (the node's own address) on both hooks: the many sources
 * send to it from both CPUs. */
#define HOT_ADDR "10.0.0.9"

#define EXPECT_OUT stdout
#include "expect.h"

__attribute__((noreturn)) static void die(const char *what, int err) {
  printf("FAIL: %s: %s\n", what, strerror(err < 0 ? -err : err));
  printf("%d checks, %d failures\n", checks, failures + 1);
  exit(1);
}

/* --- What the kernel has ---------------------------------------------------
 */

struct features {
  bool batch;             /* BPF_MAP_LOOKUP_BATCH (5.6) */
  bool lookup_and_delete; /* on per-CPU hashes (5.14) */
  bool frags;             /* BPF_F_XDP_HAS_FRAGS programs (5.18) */
};

static const char *yes_no(bool b) {
  return b ? "yes" : "no";
}

/* The kernel's internal ENOTSUPP (524) reaches userspace for operations
 * a map type lacks. */
static bool unsupported(int err) {
  return err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524;
}

/* Map operations, tried on a scratch per-CPU hash like the plugin's. */
static void probe_map_ops(struct features *f) {
  struct iptraffic_key key = {0}, out;
  struct iptraffic_value *values;
  uint32_t count = 1;
  int fd, err;

  fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "itr_probe", sizeof(key),
                      sizeof(struct iptraffic_value), 4, NULL);
  if (fd < 0)
    die("creating a per-CPU hash", errno);
  values = calloc((size_t)libbpf_num_possible_cpus(), sizeof(*values));
  if (!values)
    die("calloc", ENOMEM);
  err = bpf_map_lookup_batch(fd, NULL, &out, &key, values, &count, NULL);
  err = err < 0 ? -errno : 0;
  f->batch = !unsupported(err);
  EXPECT(err == -ENOENT || unsupported(err),
         "batch lookup on an empty map: %s, want ENOENT or EINVAL",
         strerror(-err));
  err = bpf_map_lookup_and_delete_elem(fd, &key, values);
  err = err < 0 ? -errno : 0;
  f->lookup_and_delete = !unsupported(err);
  EXPECT(err == -ENOENT || unsupported(err),
         "lookup-and-delete on an empty map: %s, want ENOENT or EINVAL",
         strerror(-err));
  free(values);
  close(fd);
}

/* An XDP program that passes everything, loaded with prog_flags. */
static int load_pass_prog(uint32_t prog_flags) {
  const struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K,
       .dst_reg = BPF_REG_0,
       .imm = XDP_PASS},
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = prog_flags);

  return bpf_prog_load(BPF_PROG_TYPE_XDP, "itr_probe", "Dual MIT/GPL", insns,
                       sizeof(insns) / sizeof(insns[0]), &opts);
}

static void probe_frags(struct features *f) {
  int fd = load_pass_prog(BPF_F_XDP_HAS_FRAGS);

  f->frags = fd >= 0;
  if (fd >= 0)
    close(fd);
}

/* --- Interfaces and frames -------------------------------------------------
 */

static int set_mtu(const char *ifname, int mtu) {
  struct ifreq ifr;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int err = 0;

  if (fd < 0)
    return -errno;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  ifr.ifr_mtu = mtu;
  if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
    err = -errno;
  close(fd);
  return err;
}

static void pin_cpu(int cpu) {
  cpu_set_t set;

  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) < 0)
    die("sched_setaffinity", errno);
}

struct sender {
  int fd;
  struct sockaddr_ll sll;
};

static void sender_open(struct sender *s, int ifindex) {
  memset(s, 0, sizeof(*s));
  s->fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (s->fd < 0)
    die("AF_PACKET socket", errno);
  s->sll.sll_family = AF_PACKET;
  s->sll.sll_ifindex = ifindex;
  s->sll.sll_halen = ETH_ALEN;
}

/* Sends one frame; retries while the device refuses it (ENOBUFS: the
 * peer's queue is full). A refused frame went through the sending end's
 * egress hook before the device dropped it, so tc counted it: returns how
 * many times that happened. */
static uint64_t send_frame(struct sender *s, const uint8_t *frame, size_t len) {
  uint64_t refused = 0;
  const struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};

  memcpy(s->sll.sll_addr, frame, ETH_ALEN);
  s->sll.sll_protocol = htons((uint16_t)(frame[12] << 8 | frame[13]));
  for (int attempt = 0; attempt < 1000; attempt++) {
    ssize_t n = sendto(s->fd, frame, len, 0, (struct sockaddr *)&s->sll,
                       sizeof(s->sll));
    if (n == (ssize_t)len)
      return refused;
    if (n < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
      refused += errno == ENOBUFS;
      nanosleep(&pause, NULL);
      continue;
    }
    die("sending a frame", n < 0 ? errno : EIO);
  }
  die("sending a frame", ENOBUFS);
}

/* Builds the frame of a case, or dies naming it. */
static size_t build(const char *what, const struct frame_spec *spec,
                    uint8_t *buf, size_t len) {
  size_t n = frame_build(spec, buf, len);

  if (n == 0)
    die(what, EINVAL);
  return n;
}

/* --- The expected table ----------------------------------------------------
 */

/* What the table must hold: per key, the counters of each CPU. */
struct model_entry {
  struct iptraffic_key key;
  struct iptraffic_value cpu[MAX_CPUS];
  bool hot; /* in the per-CPU hot table; else in a shared one */
};

static struct model_entry model[MODEL_MAX];
static size_t model_len;

static struct iptraffic_key addr_key(uint32_t ifindex, const char *text) {
  struct iptraffic_key key;

  if (frame_address_key(text, ifindex, &key) != 0)
    die(text, EINVAL);
  return key;
}

static struct iptraffic_key special_key(uint32_t ifindex,
                                        enum iptraffic_kind kind) {
  struct iptraffic_key key = {.ifindex = ifindex, .kind = kind};

  return key;
}

/* "3 10.0.0.1", "4 non-ip": the ifindex and the address or special key. */
static const char *key_text(const struct iptraffic_key *key) {
  static char text[16 + INET6_ADDRSTRLEN];
  char addr[INET6_ADDRSTRLEN];

  if (key->kind == IPTRAFFIC_KIND_IPV4)
    inet_ntop(AF_INET, key->addr, addr, sizeof(addr));
  else if (key->kind == IPTRAFFIC_KIND_IPV6)
    inet_ntop(AF_INET6, key->addr, addr, sizeof(addr));
  else
    snprintf(addr, sizeof(addr), "%s",
             key->kind == IPTRAFFIC_KIND_NONIP       ? "non-ip"
             : key->kind == IPTRAFFIC_KIND_MALFORMED ? "malformed"
             : key->kind == IPTRAFFIC_KIND_UNTRACKED ? "untracked"
                                                     : "other");
  snprintf(text, sizeof(text), "ifindex %u %s", key->ifindex, addr);
  return text;
}

static struct model_entry *model_find(const struct iptraffic_key *key) {
  for (size_t i = model_len; i-- > 0;)
    if (memcmp(&model[i].key, key, sizeof(*key)) == 0)
      return &model[i];
  return NULL;
}

/* The hot address keys of the test, as made hot in live_open. */
static struct iptraffic_key hot_keys[2];

/* The expected entry of key, created with zero counters if needed. */
static struct model_entry *model_touch(const struct iptraffic_key *key) {
  struct model_entry *e = model_find(key);

  if (!e) {
    if (model_len == MODEL_MAX)
      die("the expected table is full", ENOSPC);
    e = &model[model_len++];
    memset(e, 0, sizeof(*e));
    e->key = *key;
    for (size_t i = 0; i < sizeof(hot_keys) / sizeof(hot_keys[0]); i++)
      e->hot |= memcmp(&hot_keys[i], key, sizeof(*key)) == 0;
  }
  return e;
}

static void model_add(const struct iptraffic_key *key, int cpu, bool rx,
                      bool tx, uint64_t bytes, uint64_t packets) {
  struct model_entry *e = model_touch(key);
  struct iptraffic_value *v;

  v = &e->cpu[cpu];
  if (rx) {
    v->rx_bytes += bytes;
    v->rx_packets += packets;
  }
  if (tx) {
    v->tx_bytes += bytes;
    v->tx_packets += packets;
  }
}

static void model_sum(const struct model_entry *e, struct itr_counters *c) {
  memset(c, 0, sizeof(*c));
  for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
    c->rx_bytes += e->cpu[cpu].rx_bytes;
    c->rx_packets += e->cpu[cpu].rx_packets;
    c->tx_bytes += e->cpu[cpu].tx_bytes;
    c->tx_packets += e->cpu[cpu].tx_packets;
  }
}

/* --- The programs on the veth pair ---------------------------------------- */

enum hook { HOOK_XDP, HOOK_TC, NUM_HOOKS };
static const char *const hook_names[] = {"XDP on the receiving end",
                                         "tc on the sending end"};

struct live {
  struct itr_loader *loader;
  struct itr_reader *reader;
  struct itr_table *table;
  struct itr_xdp_attachment xdp;
  struct itr_tc_attachment tc;
  struct sender sender;
  uint32_t ifindex[NUM_HOOKS]; /* RECV_IF's for XDP, SEND_IF's for tc */
  bool attached[NUM_HOOKS];
  uint64_t frames[NUM_HOOKS]; /* frames each hook must have counted */
  int ncpus;                  /* possible CPUs: per-CPU values' length */
  struct iptraffic_value *percpu;
};

/* A key's counters straight from the kernel, independently of the
 * plugin's reader: per CPU from the hot table (*percpu true), else the one
 * shared value (in lv->percpu[0]). Returns 0 or -errno. */
static int raw_lookup(struct live *lv, const struct iptraffic_key *key,
                      bool *percpu) {
  struct iptraffic_key4 k4;
  struct itr_maps m;

  itr_loader_maps(lv->loader, &m);
  *percpu = true;
  if (bpf_map_lookup_elem(m.hot, key, lv->percpu) == 0)
    return 0;
  *percpu = false;
  memset(lv->percpu, 0, sizeof(*lv->percpu));
  if (key->kind == IPTRAFFIC_KIND_IPV4) {
    if (itr_key4_encode(key, &k4) < 0)
      return -EINVAL;
    return bpf_map_lookup_elem(m.addr4, &k4, lv->percpu) < 0 ? -errno : 0;
  }
  return bpf_map_lookup_elem(m.addr6, key, lv->percpu) < 0 ? -errno : 0;
}

/* rx packets of ifindex's keys in one table, walked key by key. */
static uint64_t table_frames(struct live *lv, int fd, bool four, bool percpu,
                             uint32_t ifindex) {
  uint8_t key[sizeof(struct iptraffic_key)], next[sizeof(key)];
  const void *prev = NULL;
  uint64_t frames = 0;

  while (bpf_map_get_next_key(fd, prev, next) == 0) {
    struct iptraffic_key k;

    memcpy(key, next, sizeof(key));
    prev = key;
    if (four)
      itr_key4_decode((const struct iptraffic_key4 *)key, &k);
    else
      memcpy(&k, key, sizeof(k));
    if (k.ifindex != ifindex || bpf_map_lookup_elem(fd, key, lv->percpu) < 0)
      continue;
    for (int cpu = 0; cpu < (percpu ? lv->ncpus : 1); cpu++)
      frames += lv->percpu[cpu].rx_packets;
  }
  return frames;
}

/* Frames a hook counted so far, each one rx packet on some key. */
static uint64_t live_frames(struct live *lv, enum hook h) {
  struct itr_maps m;

  itr_loader_maps(lv->loader, &m);
  return table_frames(lv, m.addr4, true, false, lv->ifindex[h]) +
         table_frames(lv, m.addr6, false, false, lv->ifindex[h]) +
         table_frames(lv, m.hot, false, true, lv->ifindex[h]);
}

/* Waits until each hook counted what was sent, then a little longer to see
 * that nothing more arrives. */
static void wait_frames(struct live *lv) {
  const struct timespec tick = {.tv_sec = 0, .tv_nsec = 10000000};
  const struct timespec settle = {.tv_sec = 0, .tv_nsec = 50000000};

  for (int h = 0; h < NUM_HOOKS; h++) {
    for (int ms = 0; ms < WAIT_MS; ms += 10) {
      if (live_frames(lv, h) >= lv->frames[h])
        break;
      nanosleep(&tick, NULL);
    }
  }
  /* Let the receiving end's NAPI poll finish, so that it does not take
   * the next CPU's frames. */
  nanosleep(&settle, NULL);
  for (int h = 0; h < NUM_HOOKS; h++) {
    uint64_t got = live_frames(lv, h);
    EXPECT(got == lv->frames[h], "%s counted %llu frames, want %llu",
           hook_names[h], (unsigned long long)got,
           (unsigned long long)lv->frames[h]);
  }
}

/* --- Sending with expectations ----------------------------------------------
 */

struct send_case {
  const char *what;
  struct frame_spec spec;
  size_t cut;               /* send only the first cut bytes (0: all) */
  uint8_t ver_ihl;          /* overrides the IPv4 version/ihl byte (0: no) */
  enum iptraffic_kind kind; /* how the programs must count it */
  int count[MAX_CPUS];      /* frames sent from CPU 0 and CPU 1 */
};

/* Sends c's frames from cpu and records what each attached hook must add:
 * the source's tx and the destination's rx, or both on a special key. */
static void send_case(struct live *lv, const struct send_case *c, int cpu) {
  uint8_t frame[FRAME_LEN_MAX];
  size_t len = build(c->what, &c->spec, frame, sizeof(frame));
  size_t l3 = ETH_HLEN + 4 * (size_t)c->spec.vlan_num;
  uint64_t n = (uint64_t)c->count[cpu];

  if (n == 0)
    return;
  if (c->ver_ihl)
    frame[l3] = c->ver_ihl;
  if (c->cut)
    len = c->cut;
  uint64_t refused = 0;

  for (uint64_t i = 0; i < n; i++)
    refused += send_frame(&lv->sender, frame, len);
  for (int h = 0; h < NUM_HOOKS; h++) {
    /* The egress hook also saw the frames the device then refused. */
    uint64_t seen = n + (h == HOOK_TC ? refused : 0);

    if (!lv->attached[h])
      continue;
    lv->frames[h] += seen;
    if (c->kind == IPTRAFFIC_KIND_IPV4 || c->kind == IPTRAFFIC_KIND_IPV6) {
      struct iptraffic_key src = addr_key(lv->ifindex[h], c->spec.src);
      struct iptraffic_key dst = addr_key(lv->ifindex[h], c->spec.dst);
      model_add(&src, cpu, false, true, len * seen, seen);
      model_add(&dst, cpu, true, false, len * seen, seen);
    } else {
      struct iptraffic_key key = special_key(lv->ifindex[h], c->kind);
      model_add(&key, cpu, true, true, len * seen, seen);
    }
  }
}

static const struct send_case cases[] = {
    {.what = "ipv4",
     .spec = {.family = 4,
              .src = "10.0.0.1",
              .dst = "10.0.0.2",
              .payload_len = 100},
     .kind = IPTRAFFIC_KIND_IPV4,
     .count = {3, 5}},
    {.what = "ipv4 full size",
     .spec = {.family = 4,
              .src = "10.0.0.2",
              .dst = "10.0.0.1",
              .payload_len = 1472},
     .kind = IPTRAFFIC_KIND_IPV4,
     .count = {2, 1}},
    {.what = "ipv4 options",
     .spec = {.family = 4,
              .src = "10.0.0.1",
              .dst = "10.0.0.3",
              .ipv4_options_len = 40,
              .payload_len = 10},
     .kind = IPTRAFFIC_KIND_IPV4,
     .count = {1, 1}},
    {.what = "ipv4 first fragment",
     .spec = {.family = 4,
              .src = "10.0.0.3",
              .dst = "10.0.0.4",
              .more_fragments = true,
              .payload_len = 1000},
     .kind = IPTRAFFIC_KIND_IPV4,
     .count = {1, 0}},
    {.what = "ipv4 last fragment",
     .spec = {.family = 4,
              .src = "10.0.0.3",
              .dst = "10.0.0.4",
              .frag_offset = 126,
              .payload_len = 300},
     .kind = IPTRAFFIC_KIND_IPV4,
     .count = {0, 1}},
    {.what = "ipv6 extension headers",
     .spec = {.family = 6,
              .src = "2001:db8::1",
              .dst = "2001:db8::2",
              .ipv6_ext_headers = 3,
              .payload_len = 64},
     .kind = IPTRAFFIC_KIND_IPV6,
     .count = {2, 2}},
    {.what = "ipv6 multicast",
     .spec = {.family = 6, .src = "fe80::1", .dst = "ff02::1"},
     .kind = IPTRAFFIC_KIND_IPV6,
     .count = {1, 0}},
    {.what = "802.1Q",
     .spec = {.family = 4,
              .src = "10.1.0.1",
              .dst = "10.1.0.2",
              .vlan_num = 1,
              .vlan_tpid = {0x8100},
              .vlan_id = {10},
              .payload_len = 50},
     .kind = IPTRAFFIC_KIND_IPV4,
     .count = {1, 1}},
    {.what = "QinQ ipv6",
     .spec = {.family = 6,
              .src = "2001:db8::a",
              .dst = "2001:db8::b",
              .vlan_num = 2,
              .vlan_tpid = {0x88a8, 0x8100},
              .vlan_id = {10, 20},
              .payload_len = 50},
     .kind = IPTRAFFIC_KIND_IPV6,
     .count = {0, 1}},
    {.what = "arp",
     .spec = {.family = 0, .ethertype = 0x0806, .payload_len = 28},
     .kind = IPTRAFFIC_KIND_NONIP,
     .count = {2, 1}},
    {.what = "lldp",
     .spec = {.family = 0, .ethertype = 0x88cc, .payload_len = 50},
     .kind = IPTRAFFIC_KIND_NONIP,
     .count = {1, 0}},
    {.what = "truncated ipv4",
     .spec =
         {.family = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .payload_len = 20},
     .cut = ETH_HLEN + 19,
     .kind = IPTRAFFIC_KIND_MALFORMED,
     .count = {1, 1}},
    {.what = "ipv4 ihl 4",
     .spec =
         {.family = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .payload_len = 20},
     .ver_ihl = 0x44,
     .kind = IPTRAFFIC_KIND_MALFORMED,
     .count = {0, 2}},
};

/* MANY_SOURCES sources, 10.2.x.y, each sending one empty datagram to
 * 10.0.0.9; the even ones from CPU 0, the odd ones from CPU 1. */
static void send_many(struct live *lv, int cpu) {
  for (int i = cpu; i < MANY_SOURCES; i += MAX_CPUS) {
    char src[32];
    struct send_case c = {.what = "many sources",
                          .spec = {.family = 4, .src = src, .dst = "10.0.0.9"},
                          .kind = IPTRAFFIC_KIND_IPV4};

    snprintf(src, sizeof(src), "10.2.%d.%d", i / 256, i % 256);
    c.count[cpu] = 1;
    send_case(lv, &c, cpu);
  }
}

/* --- Checks ----------------------------------------------------------------
 */

static void check_entry(struct live *lv, const struct model_entry *m) {
  const struct itr_entry *e = itr_table_find(lv->table, &m->key);
  const char *text = key_text(&m->key);
  struct itr_counters want;

  model_sum(m, &want);
  EXPECT(e != NULL, "%s: not in the reader's table", text);
  if (e)
    EXPECT(
        memcmp(&e->counters, &want, sizeof(want)) == 0,
        "%s: reader: rx %llu B %llu p, tx %llu B %llu p; "
        "want rx %llu B %llu p, tx %llu B %llu p",
        text, (unsigned long long)e->counters.rx_bytes,
        (unsigned long long)e->counters.rx_packets,
        (unsigned long long)e->counters.tx_bytes,
        (unsigned long long)e->counters.tx_packets,
        (unsigned long long)want.rx_bytes, (unsigned long long)want.rx_packets,
        (unsigned long long)want.tx_bytes, (unsigned long long)want.tx_packets);

  /* Straight from the kernel: per CPU from the hot table, else shared. */
  bool percpu;
  int err = raw_lookup(lv, &m->key, &percpu);

  if (err == -ENOENT && !m->hot) {
    struct itr_counters none = {0};
    EXPECT(memcmp(&want, &none, sizeof(none)) == 0,
           "%s: not in the kernel's tables", text);
    return;
  }
  if (err < 0) {
    EXPECT(false, "%s: lookup: %s", text, strerror(-err));
    return;
  }
  EXPECT(percpu == m->hot, "%s: in the %s table, want the %s one", text,
         percpu ? "per-CPU" : "shared", m->hot ? "per-CPU" : "shared");
  if (!percpu) {
    const struct iptraffic_value *got = &lv->percpu[0];
    struct iptraffic_value w = {want.rx_bytes, want.rx_packets, want.tx_bytes,
                                want.tx_packets};
    EXPECT(memcmp(got, &w, sizeof(w)) == 0,
           "%s: shared: rx %llu B %llu p, tx %llu B %llu p; "
           "want rx %llu B %llu p, tx %llu B %llu p",
           text, (unsigned long long)got->rx_bytes,
           (unsigned long long)got->rx_packets,
           (unsigned long long)got->tx_bytes,
           (unsigned long long)got->tx_packets, (unsigned long long)w.rx_bytes,
           (unsigned long long)w.rx_packets, (unsigned long long)w.tx_bytes,
           (unsigned long long)w.tx_packets);
    return;
  }
  for (int cpu = 0; cpu < lv->ncpus; cpu++) {
    static const struct iptraffic_value zero;
    const struct iptraffic_value *w = cpu < MAX_CPUS ? &m->cpu[cpu] : &zero;
    const struct iptraffic_value *got = &lv->percpu[cpu];
    EXPECT(memcmp(got, w, sizeof(*w)) == 0,
           "%s: CPU %d: rx %llu B %llu p, tx %llu B %llu p; "
           "want rx %llu B %llu p, tx %llu B %llu p",
           text, cpu, (unsigned long long)got->rx_bytes,
           (unsigned long long)got->rx_packets,
           (unsigned long long)got->tx_bytes,
           (unsigned long long)got->tx_packets, (unsigned long long)w->rx_bytes,
           (unsigned long long)w->rx_packets, (unsigned long long)w->tx_bytes,
           (unsigned long long)w->tx_packets);
  }
}

/* One pass of the plugin's reader at time now, checked against the
 * expected table key by key, and per hook in total: tx over all keys
 * equals rx over all keys equals what was sent. */
static void check_table(struct live *lv, uint64_t now) {
  struct itr_counters sum[NUM_HOOKS], want[NUM_HOOKS];
  int err = itr_reader_pass(lv->reader, lv->table, now);
  struct itr_entry *entries = itr_table_entries(lv->table);

  EXPECT(err == 0, "reader pass: %s", strerror(-err));
  EXPECT(itr_table_count(lv->table) == model_len,
         "the reader's table holds %zu keys, want %zu",
         itr_table_count(lv->table), model_len);
  memset(sum, 0, sizeof(sum));
  memset(want, 0, sizeof(want));
  for (size_t i = 0; i < model_len; i++) {
    struct itr_counters c;
    int h = model[i].key.ifindex == lv->ifindex[HOOK_XDP] ? HOOK_XDP : HOOK_TC;

    check_entry(lv, &model[i]);
    model_sum(&model[i], &c);
    want[h].rx_bytes += c.rx_bytes;
  }
  for (size_t i = 0; i < itr_table_count(lv->table); i++) {
    const struct iptraffic_key *key = &entries[i].key;
    int h = key->ifindex == lv->ifindex[HOOK_XDP] ? HOOK_XDP : HOOK_TC;

    EXPECT(lv->attached[h] && key->ifindex == lv->ifindex[h],
           "%s: a key of no attached hook", key_text(key));
    sum[h].rx_bytes += entries[i].counters.rx_bytes;
    sum[h].rx_packets += entries[i].counters.rx_packets;
    sum[h].tx_bytes += entries[i].counters.tx_bytes;
    sum[h].tx_packets += entries[i].counters.tx_packets;
  }
  for (int h = 0; h < NUM_HOOKS; h++) {
    EXPECT(sum[h].rx_packets == lv->frames[h] &&
               sum[h].tx_packets == lv->frames[h],
           "%s: rx %llu, tx %llu packets in all, want %llu", hook_names[h],
           (unsigned long long)sum[h].rx_packets,
           (unsigned long long)sum[h].tx_packets,
           (unsigned long long)lv->frames[h]);
    EXPECT(sum[h].rx_bytes == want[h].rx_bytes &&
               sum[h].tx_bytes == want[h].rx_bytes,
           "%s: rx %llu, tx %llu bytes in all, want %llu", hook_names[h],
           (unsigned long long)sum[h].rx_bytes,
           (unsigned long long)sum[h].tx_bytes,
           (unsigned long long)want[h].rx_bytes);
  }
}

static void live_open(struct live *lv, const char *send_if,
                      const char *recv_if) {
  struct itr_hot_set hot;
  struct itr_maps maps;
  size_t created;
  int err;

  memset(lv, 0, sizeof(*lv));
  model_len = 0;
  lv->ifindex[HOOK_XDP] = if_nametoindex(recv_if);
  lv->ifindex[HOOK_TC] = if_nametoindex(send_if);
  if (lv->ifindex[HOOK_XDP] == 0 || lv->ifindex[HOOK_TC] == 0)
    die("the veth pair's interfaces", errno);
  lv->ncpus = libbpf_num_possible_cpus();
  if (lv->ncpus <= 0)
    die("libbpf_num_possible_cpus", lv->ncpus);
  lv->percpu = calloc((size_t)lv->ncpus, sizeof(*lv->percpu));
  if (!lv->percpu)
    die("calloc", ENOMEM);
  err = itr_loader_open(&lv->loader, CAPACITY);
  if (err)
    die("loading the BPF programs through the plugin's loader", err);
  itr_loader_maps(lv->loader, &maps);
  err = itr_reader_new(&lv->reader, &maps);
  if (err)
    die("itr_reader_new", err);
  /* As the plugin does: the special keys of each interface, and the
   * destination every many-sources frame goes to as a hot address. */
  itr_hot_set_init(&hot);
  for (int h = 0; h < NUM_HOOKS; h++) {
    struct iptraffic_key k = addr_key(lv->ifindex[h], HOT_ADDR);

    for (size_t i = 0; i < IPTRAFFIC_NUM_SPECIAL; i++) {
      struct iptraffic_key sk =
          special_key(lv->ifindex[h], itr_special_kinds[i]);

      err = itr_reader_create(lv->reader, &sk);
      if (err)
        die("creating the special keys", err);
      model_touch(&sk)->hot = true;
    }
    itr_hot_set_add(&hot, &k);
    hot_keys[h] = k; /* counted per CPU once it sees a frame */
  }
  err = itr_reader_set_hot(lv->reader, &hot, &created);
  if (err || created != NUM_HOOKS)
    die("making " HOT_ADDR " hot", err);
  lv->table = itr_table_new(CAPACITY);
  if (!lv->table)
    die("itr_table_new", ENOMEM);
  sender_open(&lv->sender, (int)lv->ifindex[HOOK_TC]);
}

/* Attaches both programs as the plugin does (XDP natively here), or dies. */
static void live_attach(struct live *lv) {
  int err = itr_xdp_attach(lv->loader, (int)lv->ifindex[HOOK_XDP],
                           ITR_XDP_NATIVE, &lv->xdp);

  if (err)
    die("attaching the XDP program natively to the veth", err);
  lv->attached[HOOK_XDP] = true;
  err = itr_tc_attach(lv->loader, (int)lv->ifindex[HOOK_TC], ITR_TC_EGRESS,
                      true, &lv->tc);
  if (err)
    die("attaching the tc program to the veth's egress", err);
  lv->attached[HOOK_TC] = true;
}

static void live_detach(struct live *lv) {
  int err;

  if (lv->attached[HOOK_XDP]) {
    err = itr_xdp_detach(&lv->xdp);
    EXPECT(err == 0, "detaching XDP: %s", strerror(-err));
    lv->attached[HOOK_XDP] = false;
  }
  if (lv->attached[HOOK_TC]) {
    err = itr_tc_detach(&lv->tc);
    EXPECT(err == 0, "detaching tc: %s", strerror(-err));
    lv->attached[HOOK_TC] = false;
  }
}

static void live_close(struct live *lv) {
  live_detach(lv);
  close(lv->sender.fd);
  itr_table_free(lv->table);
  itr_reader_free(lv->reader);
  itr_loader_close(lv->loader);
  free(lv->percpu);
}

/* Sends what sends() sends from each CPU in turn; the hooks run in the
 * sender's context or softirq, on its CPU. Waits for each CPU's frames
 * before moving on, so that no CPU handles another's. */
static void send_from_each_cpu(struct live *lv,
                               void (*sends)(struct live *lv, int cpu)) {
  for (int cpu = 0; cpu < MAX_CPUS && cpu < lv->ncpus; cpu++) {
    pin_cpu(cpu);
    sends(lv, cpu);
    wait_frames(lv);
  }
}

static void send_all_cases(struct live *lv, int cpu) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    send_case(lv, &cases[i], cpu);
  send_many(lv, cpu);
}

static void test_veth(const char *send_if, const char *recv_if,
                      const struct features *f) {
  struct iptraffic_key key;
  struct itr_counters final, want;
  uint64_t before[NUM_HOOKS];
  char name[64];
  uint32_t prog_id = 0;
  struct live lv;
  int err;

  live_open(&lv, send_if, recv_if);
  EXPECT(lv.ncpus >= MAX_CPUS, "%d possible CPUs, want at least %d", lv.ncpus,
         MAX_CPUS);
  EXPECT(itr_loader_has_frags(lv.loader) == f->frags,
         "the loader's xdp.frags probe (%d) disagrees with the kernel (%d)",
         itr_loader_has_frags(lv.loader), f->frags);
  live_attach(&lv);
  printf("feature: native XDP on veth: %s\n", yes_no(lv.xdp.native));
  printf("feature: XDP through a bpf_link (5.9): %s\n",
         yes_no(!lv.xdp.used_netlink && lv.xdp.link_fd >= 0));
  printf("feature: tc egress through a tcx link (6.6): %s\n",
         lv.tc.legacy ? "no (a cls_bpf filter on clsact)" : "yes");
  EXPECT(!lv.xdp.frags, "the multi-buffer program at MTU %d", lv.xdp.mtu);
  err = itr_xdp_query((int)lv.ifindex[HOOK_XDP], &prog_id, name, sizeof(name));
  EXPECT(err == 0 && prog_id != 0 && strcmp(name, "iptraffic_xdp") == 0,
         "attached XDP program: id %u, name \"%s\" (%s)", prog_id, name,
         strerror(-err));

  send_from_each_cpu(&lv, send_all_cases);
  check_table(&lv, 1);
  EXPECT(itr_table_count(lv.table) > 1024,
         "%zu keys: not more than one batch lookup", itr_table_count(lv.table));
  EXPECT(itr_reader_no_batch(lv.reader) == !f->batch,
         "the reader's batch fallback (%d) disagrees with the kernel (%d)",
         itr_reader_no_batch(lv.reader), f->batch);

  /* More frames from one address: only its snapshot entries change. */
  pin_cpu(lv.ncpus > 1 ? 1 : 0);
  send_case(&lv, &cases[0], lv.ncpus > 1 ? 1 : 0);
  wait_frames(&lv);
  check_table(&lv, 2);
  for (int h = 0; h < NUM_HOOKS; h++) {
    const struct itr_entry *e;

    key = addr_key(lv.ifindex[h], "10.0.0.1");
    e = itr_table_find(lv.table, &key);
    EXPECT(e && e->changed && e->last_change == 2, "%s: changed in pass 2",
           key_text(&key));
    key = addr_key(lv.ifindex[h], "10.1.0.1");
    e = itr_table_find(lv.table, &key);
    EXPECT(e && !e->changed && e->last_change == 1, "%s: unchanged in pass 2",
           key_text(&key));
  }

  /* Deleting a key hands back its last counters. */
  key = addr_key(lv.ifindex[HOOK_XDP], "10.0.0.1");
  err = itr_reader_delete(lv.reader, &key, &final);
  EXPECT(err == 0, "deleting %s: %s", key_text(&key), strerror(-err));
  model_sum(model_find(&key), &want);
  EXPECT(memcmp(&final, &want, sizeof(want)) == 0,
         "deleting %s: the last counters differ", key_text(&key));
  {
    bool percpu;

    EXPECT(raw_lookup(&lv, &key, &percpu) == -ENOENT,
           "%s still in the kernel's tables", key_text(&key));
  }
  EXPECT(itr_reader_no_lookup_and_delete(lv.reader) == !f->lookup_and_delete,
         "the reader's lookup-and-delete fallback (%d) disagrees with the "
         "kernel (%d)",
         itr_reader_no_lookup_and_delete(lv.reader), f->lookup_and_delete);

  /* Detached, the programs count nothing more. */
  for (int h = 0; h < NUM_HOOKS; h++)
    before[h] = live_frames(&lv, h);
  bool created_qdisc = lv.tc.legacy && lv.tc.created_qdisc;
  live_detach(&lv);
  err = itr_xdp_query((int)lv.ifindex[HOOK_XDP], &prog_id, name, sizeof(name));
  EXPECT(err == 0 && prog_id == 0, "after detaching: XDP program id %u",
         prog_id);
  if (created_qdisc) {
    /* The clsact qdisc the plugin made is gone: a new one can be made. */
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)lv.ifindex[HOOK_TC],
                .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
    err = bpf_tc_hook_create(&hook);
    EXPECT(err == 0, "after detaching: the plugin's clsact qdisc: %s",
           strerror(-err));
    if (err == 0)
      bpf_tc_hook_destroy(&hook);
  }
  for (int i = 0; i < 3; i++) {
    uint8_t frame[256];
    size_t len = build(cases[0].what, &cases[0].spec, frame, sizeof(frame));
    send_frame(&lv.sender, frame, len);
  }
  usleep(100000);
  for (int h = 0; h < NUM_HOOKS; h++)
    EXPECT(live_frames(&lv, h) == before[h], "%s: frames counted after detach",
           hook_names[h]);
  live_close(&lv);
}

static void send_jumbo(struct live *lv, int cpu) {
  const struct send_case c = {
      .what = "jumbo",
      .spec = {.family = 4,
               .src = "10.3.0.1",
               .dst = "10.3.0.2",
               .payload_len = JUMBO_FRAME_LEN - ETH_HLEN - 20 - 8},
      .kind = IPTRAFFIC_KIND_IPV4,
      .count = {2, 1}};

  send_case(lv, &c, cpu);
}

/* At MTU 9000 a veth takes only multi-buffer (xdp.frags) XDP programs.
 * The pair is back at MTU 1500 afterwards. */
static void test_jumbo(const char *send_if, const char *recv_if,
                       const struct features *f) {
  struct live lv;
  int err, fd, ifindex = (int)if_nametoindex(recv_if);

  if (set_mtu(send_if, JUMBO_MTU) || set_mtu(recv_if, JUMBO_MTU))
    die("setting MTU 9000", errno);
  fd = f->frags ? load_pass_prog(BPF_F_XDP_HAS_FRAGS) : -ENOTSUP;
  err = fd >= 0 ? bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL) : fd;
  printf("feature: native xdp.frags on veth at MTU %d: %s\n", JUMBO_MTU,
         err ? strerror(-err) : "yes");
  if (err == 0)
    bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
  if (fd >= 0)
    close(fd);
  if (!f->frags) {
    printf("note: no xdp.frags: XDP cannot count at MTU %d here\n", JUMBO_MTU);
    return;
  }

  live_open(&lv, send_if, recv_if);
  live_attach(&lv);
  EXPECT(lv.xdp.frags && lv.xdp.mtu == JUMBO_MTU,
         "at MTU %d: the plugin attached the %s program", lv.xdp.mtu,
         lv.xdp.frags ? "multi-buffer" : "single-buffer");
  send_from_each_cpu(&lv, send_jumbo);
  check_table(&lv, 1);
  live_close(&lv);
  if (set_mtu(send_if, 1500) || set_mtu(recv_if, 1500))
    die("setting MTU 1500 again", errno);
}

/* A collectd killed with its tables pinned: before tcx (6.6) its egress
 * filter stays attached and goes on counting into the pinned tables. The
 * next start, reusing them, replaces that filter in place instead of
 * adding a second one that would count every frame again. */
static void test_restart(const char *send_if) {
  char dir[] = "/tmp/itr-pins-XXXXXX";
  int ifindex = (int)if_nametoindex(send_if);
  const struct itr_loader_opts opts = {.ipv4 = CAPACITY,
                                       .ipv6 = CAPACITY,
                                       .interfaces = ITR_LOADER_INTERFACES,
                                       .pin_dir = dir};
  struct itr_tc_attachment first, second;
  struct itr_loader *a, *b;
  struct itr_reader *reader;
  struct itr_table *table;
  struct itr_maps maps;
  struct sender sender;
  struct iptraffic_key key;
  const struct itr_entry *e;
  uint8_t frame[256];
  size_t len = build(cases[0].what, &cases[0].spec, frame, sizeof(frame));
  uint64_t want = 0;
  int err;

  if (mkdir("/tmp", 01777) < 0 && errno != EEXIST) /* the guest has none */
    die("mkdir /tmp", errno);
  if (!mkdtemp(dir))
    die("mkdtemp", errno);
  if (mount("bpf", dir, "bpf", 0, "mode=0700") < 0)
    die("mounting a BPF filesystem for the pins", errno);
  sender_open(&sender, ifindex);
  pin_cpu(0);

  err = itr_loader_open_config(&a, &opts, NULL);
  if (err)
    die("loading with pinned tables", err);
  err = itr_tc_attach(a, ifindex, ITR_TC_EGRESS, false, &first);
  if (err)
    die("attaching the egress filter", err);
  EXPECT(!first.replaced, "restart: the first filter replaced something");
  for (int i = 0; i < 3; i++)
    want += 1 + send_frame(&sender, frame, len);
  /* Killed: every descriptor closed, nothing detached. */
  itr_loader_close(a);
  for (int i = 0; i < 2; i++)
    want += 1 + send_frame(&sender, frame, len);

  err = itr_loader_open_config(&b, &opts, NULL);
  if (err)
    die("loading again with the pinned tables", err);
  err = itr_tc_attach(b, ifindex, ITR_TC_EGRESS, false, &second);
  if (err)
    die("attaching the egress filter again", err);
  EXPECT(second.replaced && second.handle == first.handle &&
             second.priority == first.priority,
         "restart: the earlier filter (handle %x, priority %u) was not "
         "replaced in place (handle %x, priority %u, replaced %d)",
         first.handle, first.priority, second.handle, second.priority,
         second.replaced);
  for (int i = 0; i < 4; i++)
    want += 1 + send_frame(&sender, frame, len);
  usleep(100000);

  itr_loader_maps(b, &maps);
  table = itr_table_new(CAPACITY * 2 + 1024);
  err = table ? itr_reader_new(&reader, &maps) : -ENOMEM;
  if (err)
    die("reading the pinned tables", err);
  err = itr_reader_pass(reader, table, 1);
  EXPECT(err == 0, "restart: reader pass: %s", strerror(-err));
  key = addr_key((uint32_t)ifindex, cases[0].spec.src);
  e = itr_table_find(table, &key);
  EXPECT(e && e->counters.tx_packets == want,
         "restart: %s sent %llu packets through both filters, want %llu "
         "(counted once each)",
         key_text(&key), e ? (unsigned long long)e->counters.tx_packets : 0,
         (unsigned long long)want);

  err = itr_tc_detach(&second);
  EXPECT(err == 0, "restart: detaching: %s", strerror(-err));
  itr_reader_free(reader);
  itr_table_free(table);
  itr_loader_close(b);
  close(sender.fd);
  if (umount(dir) < 0 || rmdir(dir) < 0)
    die("removing the pins' BPF filesystem", errno);
}

/* --- Another tool's libxdp dispatcher ---------------------------------------
 */

/* Counters of key in the loader's shared tables, straight from the
 * kernel (zero if the key is not there). */
static struct iptraffic_value shared_value(struct itr_loader *l,
                                           const struct iptraffic_key *key) {
  struct iptraffic_value v = {0};
  struct iptraffic_key4 k4;
  struct itr_maps m;

  itr_loader_maps(l, &m);
  if (key->kind == IPTRAFFIC_KIND_IPV4 && itr_key4_encode(key, &k4) == 0)
    bpf_map_lookup_elem(m.addr4, &k4, &v);
  return v;
}

/* The value of the one-element array map named name that program prog_id
 * uses (xdp_pass.bpf.o's "xdp_pass_seen"), or UINT64_MAX. */
static uint64_t prog_counter(uint32_t prog_id, const char *name) {
  struct bpf_prog_info pi;
  uint32_t maps[8] = {0}, len = sizeof(pi), zero = 0;
  uint64_t value = UINT64_MAX;
  int fd = bpf_prog_get_fd_by_id(prog_id);

  if (fd < 0)
    return value;
  memset(&pi, 0, sizeof(pi));
  pi.nr_map_ids = 8;
  pi.map_ids = (uint64_t)(unsigned long)maps;
  if (bpf_obj_get_info_by_fd(fd, &pi, &len) == 0)
    for (uint32_t i = 0; i < pi.nr_map_ids && i < 8; i++) {
      struct bpf_map_info mi;
      uint32_t mlen = sizeof(mi);
      int mfd = bpf_map_get_fd_by_id(maps[i]);

      memset(&mi, 0, sizeof(mi));
      if (mfd >= 0 && bpf_obj_get_info_by_fd(mfd, &mi, &mlen) == 0 &&
          strcmp(mi.name, name) == 0)
        bpf_map_lookup_elem(mfd, &zero, &value);
      if (mfd >= 0)
        close(mfd);
    }
  close(fd);
  return value;
}

/* Sends n frames of cases[0] and waits until the program of l counted
 * them as sent by their source (want: the total by then) and the other
 * program saw them too (*other_want: its total). */
static void send_dispatched(struct sender *s, struct itr_loader *l,
                            uint32_t ifindex, uint32_t other, uint64_t n,
                            uint64_t want, uint64_t other_want,
                            const char *what) {
  const struct timespec tick = {.tv_sec = 0, .tv_nsec = 10000000};
  uint8_t frame[256];
  size_t len = build(cases[0].what, &cases[0].spec, frame, sizeof(frame));
  struct iptraffic_key src = addr_key(ifindex, cases[0].spec.src);
  struct iptraffic_value v = {0};
  uint64_t seen = 0;

  for (uint64_t i = 0; i < n; i++)
    send_frame(s, frame, len);
  for (int ms = 0; ms < WAIT_MS; ms += 10) {
    v = shared_value(l, &src);
    seen = prog_counter(other, "xdp_pass_seen");
    if (v.tx_packets >= want && seen >= other_want)
      break;
    nanosleep(&tick, NULL);
  }
  usleep(50000);
  v = shared_value(l, &src);
  seen = prog_counter(other, "xdp_pass_seen");
  EXPECT(v.tx_packets == want && v.tx_bytes == want * len,
         "dispatcher, %s: %s sent %llu packets, %llu bytes; want %llu, %llu",
         what, key_text(&src), (unsigned long long)v.tx_packets,
         (unsigned long long)v.tx_bytes, (unsigned long long)want,
         (unsigned long long)(want * len));
  EXPECT(seen == other_want,
         "dispatcher, %s: the other program saw %llu frames, want %llu", what,
         (unsigned long long)seen, (unsigned long long)other_want);
}

static double now_ms(void) {
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* What attaching costs on a free hook: in a dispatcher of the plugin's
 * (XDPDispatcher true) and directly, ROUNDS times each, interleaved.
 * Prints the medians; checks only that both work. */
#define ROUNDS 5
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static void time_attach(struct itr_loader *l, uint32_t ifindex) {
  double in[ROUNDS], direct[ROUNDS];
  struct itr_xdp_attachment a;

  for (int r = 0; r < ROUNDS; r++) {
    double t = now_ms();
    int err =
        itr_xdp_create_dispatcher(l, (int)ifindex, ITR_XDP_NATIVE, false, &a);

    in[r] = now_ms() - t;
    EXPECT(err == 0 && a.dispatched && a.dispatched_count == 1,
           "timing: a dispatcher of the plugin's: %s", strerror(-err));
    if (err == 0)
      EXPECT(itr_xdp_detach(&a) == 0, "timing: leaving the dispatcher");
    t = now_ms();
    err = itr_xdp_attach(l, (int)ifindex, ITR_XDP_NATIVE, &a);
    direct[r] = now_ms() - t;
    EXPECT(err == 0, "timing: attaching directly: %s", strerror(-err));
    if (err == 0)
      EXPECT(itr_xdp_detach(&a) == 0, "timing: detaching");
  }
  qsort(in, ROUNDS, sizeof(in[0]), cmp_double);
  qsort(direct, ROUNDS, sizeof(direct[0]), cmp_double);
  printf("feature: attach time, median of %d (under qemu's emulation): "
         "%.1f ms in a dispatcher of the plugin's, %.1f ms directly "
         "(%.1fx)\n",
         ROUNDS, in[ROUNDS / 2], direct[ROUNDS / 2],
         in[ROUNDS / 2] / direct[ROUNDS / 2]);
}

/* init.sh has loaded tests/e2e/xdp_pass.bpf.o on RECV_IF with xdp-loader,
 * which put a libxdp dispatcher there. The plugin joins it as one more
 * program and counts exactly, and the other program keeps seeing every
 * frame; joining again with the same tables keeps the program as it is,
 * with the tables of a new start replaces it; leaving takes out only the
 * plugin's program. */
static void test_dispatcher(const char *send_if, const char *recv_if) {
  uint32_t ifindex = if_nametoindex(recv_if), progs[16], other, table;
  struct itr_xdp_attachment a, again, b;
  struct itr_own_hooks h;
  struct itr_loader *l, *l2;
  struct iptraffic_key src;
  struct sender s;
  uint64_t seen0;
  bool native;
  int n, err;

  if (!itr_dispatcher_built())
    die("the plugin was built without libxdp (configure: libxdp-dev)",
        EOPNOTSUPP);
  n = itr_dispatcher_programs((int)ifindex, progs, 16, &native);
  if (n != 1)
    die("xdp-loader's dispatcher with one program on RECV_IF",
        n < 0 ? n : ENOENT);
  other = progs[0];
  src = addr_key(ifindex, cases[0].spec.src);
  seen0 = prog_counter(other, "xdp_pass_seen");
  if (seen0 == UINT64_MAX)
    die("the map of xdp-loader's program", ENOENT);
  printf("feature: libxdp dispatcher on %s (%s mode): joinable\n", recv_if,
         native ? "native" : "generic");
  sender_open(&s, (int)if_nametoindex(send_if));
  pin_cpu(0);

  err = itr_loader_open(&l, CAPACITY);
  if (err)
    die("loading the BPF programs", err);
  /* Native XDP asked for, as xdp-loader -m native put the dispatcher. */
  err = itr_xdp_join_dispatcher(l, (int)ifindex, ITR_XDP_NATIVE, true, &a);
  if (err)
    die("joining the dispatcher", err);
  EXPECT(a.dispatched && a.native && !a.reused && !a.rejoined &&
             a.dispatched_count == 2,
         "dispatcher: joined as dispatched %d native %d reused %d, %d "
         "programs",
         a.dispatched, a.native, a.reused, a.dispatched_count);
  n = itr_dispatcher_programs((int)ifindex, progs, 16, &native);
  EXPECT(n == 2 && progs[0] == a.dispatched_prog,
         "dispatcher: %d programs, the first %u, want 2 with the plugin's "
         "(%u) first",
         n, progs[0], a.dispatched_prog);
  send_dispatched(&s, l, ifindex, other, 7, 7, seen0 + 7, "joined");
  table = itr_loader_table_id(l);
  EXPECT(itr_find_own((int)ifindex, &table, 1, &h) == 0 &&
             h.xdp_dispatched == a.dispatched_prog && !h.xdp_prog,
         "dispatcher: itr_find_own found %u in the dispatcher, want %u",
         h.xdp_dispatched, a.dispatched_prog);

  /* A restart with the same tables: the program stays, never stopping. */
  EXPECT(itr_xdp_release(&a) == 0, "dispatcher: letting go");
  err = itr_xdp_join_dispatcher(l, (int)ifindex, ITR_XDP_AUTO, true, &again);
  EXPECT(
      err == 0 && again.reused && again.dispatched_prog == a.dispatched_prog &&
          again.dispatched_count == 2,
      "dispatcher: joining again with the same tables: %s, reused %d, "
      "program %u (was %u)",
      strerror(-err), again.reused, again.dispatched_prog, a.dispatched_prog);
  send_dispatched(&s, l, ifindex, other, 3, 10, seen0 + 10, "kept");

  /* A start with new tables, the old ones its own: the old program goes. */
  err = itr_loader_open(&l2, CAPACITY);
  if (err)
    die("loading the BPF programs again", err);
  itr_loader_own(l2, table);
  err = itr_xdp_join_dispatcher(l2, (int)ifindex, ITR_XDP_AUTO, true, &b);
  EXPECT(err == 0 && b.rejoined && b.dispatched_count == 2 &&
             b.dispatched_prog != a.dispatched_prog,
         "dispatcher: joining with new tables: %s, rejoined %d, %d programs",
         strerror(-err), b.rejoined, b.dispatched_count);
  n = itr_dispatcher_programs((int)ifindex, progs, 16, &native);
  EXPECT(n == 2, "dispatcher: %d programs after the replacement, want 2", n);
  send_dispatched(&s, l2, ifindex, other, 4, 4, seen0 + 14, "replaced");
  EXPECT(shared_value(l, &src).tx_packets == 10 &&
             itr_find_own((int)ifindex, &table, 1, &h) == 0 &&
             h.xdp_dispatched == 0,
         "dispatcher: the replaced program is still there (%u), or counts",
         h.xdp_dispatched);

  /* Leaving: only the plugin's program goes; the other one counts on. */
  err = itr_xdp_detach(&b);
  EXPECT(err == 0, "dispatcher: leaving: %s", strerror(-err));
  n = itr_dispatcher_programs((int)ifindex, progs, 16, &native);
  EXPECT(n == 1 && progs[0] == other,
         "dispatcher: %d programs after leaving, want xdp-loader's only", n);
  send_dispatched(&s, l2, ifindex, other, 2, 4, seen0 + 16, "left");
  /* On the free hook of the sending end (the receiving one is held). */
  time_attach(l2, if_nametoindex(send_if));

  itr_loader_close(l2);
  itr_loader_close(l);
  close(s.fd);
}

int main(int argc, char **argv) {
  struct features f;
  struct utsname u;

  if (argc == 4 && strcmp(argv[1], "--dispatcher") == 0) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_dispatcher(argv[2], argv[3]);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: guest_test [--dispatcher] SEND_IF RECV_IF\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (uname(&u) == 0)
    printf("feature: kernel %s %s\n", u.release, u.version);
  printf("feature: possible CPUs: %d\n", libbpf_num_possible_cpus());
  printf("feature: BTF (/sys/kernel/btf/vmlinux): %s\n",
         yes_no(access("/sys/kernel/btf/vmlinux", R_OK) == 0));
  probe_map_ops(&f);
  probe_frags(&f);
  printf("feature: batch map operations (5.6): %s\n", yes_no(f.batch));
  printf("feature: lookup-and-delete on per-CPU hashes (5.14): %s\n",
         yes_no(f.lookup_and_delete));
  printf("feature: xdp.frags programs (5.18): %s\n", yes_no(f.frags));

  test_veth(argv[1], argv[2], &f);
  test_restart(argv[1]);
  test_jumbo(argv[1], argv[2], &f);

  printf("%d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
