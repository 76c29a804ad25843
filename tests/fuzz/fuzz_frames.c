/*
 * Fuzzes the frame parser of the BPF programs with libFuzzer: each input
 * is a frame, run through the plugin's XDP and tc programs in the kernel
 * (bpf_prog_test_run, loaded through the plugin's loader; needs root) and
 * through a reference parser written here from the contract in
 * bpf/parse.h, not from its code. Checks, differentially: every frame
 * counts once per program with its length, under the keys the reference
 * finds (the source's tx and the destination's rx, or a special key's
 * both); and, every CHECK_EVERY frames and at the end, the kernel tables
 * hold exactly the model's keys with exactly its counters: no key for an
 * address that is not in a well-formed header, and sum(tx) == sum(rx) ==
 * the bytes of the frames each program ran.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "hot.h"
#include "iptraffic.h"
#include "loader.h"

#define CAPACITY 65536
#define MODEL_KEYS 16384 /* tables and model emptied when reached */
#define CHECK_EVERY 4096
#define PROGS 2 /* XDP, tc */

/* --- The reference parser ------------------------------------------------ */

static unsigned be16(const uint8_t *p) {
  return (unsigned)p[0] << 8 | p[1];
}

/* Kind of the frame; src and dst point at its addresses for IPv4/IPv6. */
static int reference(const uint8_t *f, size_t len, const uint8_t **src,
                     const uint8_t **dst) {
  size_t off = 14;
  unsigned proto;

  if (len < 14)
    return IPTRAFFIC_KIND_MALFORMED;
  proto = be16(f + 12);
  for (int tags = 0; tags < 2 && (proto == 0x8100 || proto == 0x88a8); tags++) {
    if (off + 4 > len)
      return IPTRAFFIC_KIND_MALFORMED;
    proto = be16(f + off + 2);
    off += 4;
  }
  if (proto == 0x0800) {
    unsigned version, ihl;

    if (off + 20 > len)
      return IPTRAFFIC_KIND_MALFORMED;
    version = f[off] >> 4;
    ihl = f[off] & 15;
    if (version != 4 || ihl < 5 || off + ihl * 4 > len)
      return IPTRAFFIC_KIND_MALFORMED;
    *src = f + off + 12;
    *dst = f + off + 16;
    return IPTRAFFIC_KIND_IPV4;
  }
  if (proto == 0x86dd) {
    if (off + 40 > len || f[off] >> 4 != 6)
      return IPTRAFFIC_KIND_MALFORMED;
    *src = f + off + 8;
    *dst = f + off + 24;
    return IPTRAFFIC_KIND_IPV6;
  }
  return IPTRAFFIC_KIND_NONIP; /* also a third VLAN tag */
}

/* --- The model: what the tables must hold -------------------------------- */

struct model_entry {
  struct iptraffic_key key;
  struct iptraffic_value v;
  bool used;
};

static struct model_entry model[MODEL_KEYS * 2]; /* open addressing */
static size_t model_num;
static uint64_t frames;

static size_t slot_of(const struct iptraffic_key *key) {
  uint64_t h = 1469598103934665603ull;
  const uint8_t *b = (const uint8_t *)key;

  for (size_t i = 0; i < sizeof(*key); i++)
    h = (h ^ b[i]) * 1099511628211ull;
  return h % (MODEL_KEYS * 2);
}

static struct model_entry *model_get(const struct iptraffic_key *key) {
  size_t i = slot_of(key);

  while (model[i].used && memcmp(&model[i].key, key, sizeof(*key)) != 0)
    i = (i + 1) % (MODEL_KEYS * 2);
  if (!model[i].used) {
    model[i].used = true;
    model[i].key = *key;
    model_num++;
  }
  return &model[i];
}

/* --- The kernel side ------------------------------------------------------ */

static struct itr_loader *loader;
static struct itr_maps maps;
static uint32_t lo;

__attribute__((noreturn)) static void fail(const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  fprintf(stderr, "fuzz_frames: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

static bool kernel_value(const struct iptraffic_key *key,
                         struct iptraffic_value *out) {
  struct iptraffic_key4 k4;

  memset(out, 0, sizeof(*out));
  if (key->kind == IPTRAFFIC_KIND_IPV4) {
    if (itr_key4_encode(key, &k4) < 0)
      fail("cannot encode an IPv4 key");
    return bpf_map_lookup_elem(maps.addr4, &k4, out) == 0;
  }
  return bpf_map_lookup_elem(maps.addr6, key, out) == 0;
}

static void compare(const struct model_entry *m) {
  struct iptraffic_value k;

  if (!kernel_value(&m->key, &k))
    fail("key of kind %u missing in the kernel after %llu frames", m->key.kind,
         (unsigned long long)frames);
  if (memcmp(&k, &m->v, sizeof(k)) != 0)
    fail("key of kind %u: kernel rx %llu/%llu tx %llu/%llu, model rx "
         "%llu/%llu tx %llu/%llu",
         m->key.kind, (unsigned long long)k.rx_bytes,
         (unsigned long long)k.rx_packets, (unsigned long long)k.tx_bytes,
         (unsigned long long)k.tx_packets, (unsigned long long)m->v.rx_bytes,
         (unsigned long long)m->v.rx_packets, (unsigned long long)m->v.tx_bytes,
         (unsigned long long)m->v.tx_packets);
}

static size_t map_count(int fd, size_t key_size) {
  uint8_t key[sizeof(struct iptraffic_key)], next[sizeof(key)];
  size_t n = 0;
  const void *prev = NULL;

  while (bpf_map_get_next_key(fd, prev, next) == 0) {
    memcpy(key, next, key_size);
    prev = key;
    n++;
  }
  return n;
}

/* The whole tables against the whole model. */
static void check_all(void) {
  size_t kernel = map_count(maps.addr4, sizeof(struct iptraffic_key4)) +
                  map_count(maps.addr6, sizeof(struct iptraffic_key));

  for (size_t i = 0; i < MODEL_KEYS * 2; i++)
    if (model[i].used)
      compare(&model[i]);
  if (kernel != model_num)
    fail("the kernel tables hold %zu keys, the model %zu", kernel, model_num);
}

static void clear_map(int fd, size_t key_size) {
  uint8_t key[sizeof(struct iptraffic_key)];

  while (bpf_map_get_next_key(fd, NULL, key) == 0)
    if (bpf_map_delete_elem(fd, key) != 0)
      fail("emptying a table: %s", strerror(errno));
  (void)key_size;
}

static void reset(void) {
  clear_map(maps.addr4, sizeof(struct iptraffic_key4));
  clear_map(maps.addr6, sizeof(struct iptraffic_key));
  memset(model, 0, sizeof(model));
  model_num = 0;
}

static void setup(void) {
  int err;

  lo = if_nametoindex("lo");
  err = itr_loader_open(&loader, CAPACITY);
  if (err) {
    fprintf(stderr,
            "fuzz_frames: loading the BPF programs failed: %s (root "
            "and a BPF-capable kernel needed)\n",
            strerror(-err));
    exit(1);
  }
  itr_loader_maps(loader, &maps);
}

/* Runs the frame through program prog (0 XDP, 1 tc); without a context
 * the kernel runs both on the loopback device. Returns whether it ran: the
 * kernel makes no skb of an IPv4 or IPv6 frame whose IP header is cut
 * short (a real device would not hand tc one either). */
static bool run(int prog, const uint8_t *frame, size_t len) {
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
              .data_size_in = (uint32_t)len, .repeat = 1);
  int fd = prog == 0 ? itr_loader_xdp_fd(loader) : itr_loader_tc_fd(loader);
  unsigned proto = be16(frame + 12);

  if (bpf_prog_test_run_opts(fd, &opts) != 0) {
    if (prog == 1 && errno == EINVAL &&
        ((proto == 0x0800 && len < 14 + 20) ||
         (proto == 0x86dd && len < 14 + 40)))
      return false;
    fail("bpf_prog_test_run (%s, %zu bytes): %s", prog ? "tc" : "xdp", len,
         strerror(errno));
  }
  if (opts.retval != (prog == 0 ? XDP_PASS : (uint32_t)TC_ACT_UNSPEC))
    fail("%s returned %u", prog ? "tc" : "xdp", opts.retval);
  return true;
}

static struct iptraffic_key address_key(int kind, const uint8_t *addr) {
  struct iptraffic_key key = {.ifindex = lo, .kind = (uint8_t)kind};

  key.prefixlen = kind == IPTRAFFIC_KIND_IPV4 ? 32 : 128;
  memcpy(key.addr, addr, kind == IPTRAFFIC_KIND_IPV4 ? 4 : 16);
  return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *src = NULL, *dst = NULL;
  struct model_entry *touched[2];
  int kind, n = 0;
  uint64_t runs = 0;

  /* The kernel runs no frame shorter than an Ethernet header, and XDP
   * takes one buffer's worth. */
  if (size < 14 || size > 1514)
    return 0;
  if (!loader)
    setup();
  if (model_num + 2 > MODEL_KEYS) {
    check_all();
    reset();
  }
  kind = reference(data, size, &src, &dst);
  for (int p = 0; p < PROGS; p++)
    runs += run(p, data, size);
  frames++;
  if (kind == IPTRAFFIC_KIND_IPV4 || kind == IPTRAFFIC_KIND_IPV6) {
    struct iptraffic_key s = address_key(kind, src), d = address_key(kind, dst);
    struct model_entry *ms = model_get(&s), *md;

    ms->v.tx_bytes += runs * size;
    ms->v.tx_packets += runs;
    md = model_get(&d);
    md->v.rx_bytes += runs * size;
    md->v.rx_packets += runs;
    touched[n++] = ms;
    touched[n++] = md;
  } else {
    struct iptraffic_key k = {.ifindex = lo, .kind = (uint8_t)kind};
    struct model_entry *m = model_get(&k);

    m->v.rx_bytes += runs * size;
    m->v.rx_packets += runs;
    m->v.tx_bytes += runs * size;
    m->v.tx_packets += runs;
    touched[n++] = m;
  }
  for (int i = 0; i < n; i++)
    compare(touched[i]);
  if (frames % CHECK_EVERY == 0)
    check_all();
  return 0;
}
