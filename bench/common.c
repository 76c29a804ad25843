/*
 * Helpers shared by the benchmark programs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "common.h"
#include "bench_driver.skel.h"

/* --- clocks and statistics ------------------------------------------------ */

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;

  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_ns(void) {
  return clock_ns(CLOCK_MONOTONIC);
}

uint64_t thread_cpu_ns(void) {
  return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

double median(const double *v, int n) {
  double s[64];

  if (n <= 0 || n > 64)
    return 0;
  memcpy(s, v, sizeof(*v) * (size_t)n);
  qsort(s, (size_t)n, sizeof(*s), cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void check(bool cond, const char *fmt, ...) {
  va_list ap;

  if (cond)
    return;
  va_start(ap, fmt);
  fputs("bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* --- test frames ------------------------------------------------------------
 */

static uint16_t ip_checksum(const uint8_t *p, size_t len) {
  uint32_t sum = 0;

  for (size_t i = 0; i + 1 < len; i += 2)
    sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

void frame_build(struct frame *f, enum frame_kind kind,
                 const uint8_t *dst_mac) {
  static const uint8_t default_dst[6] = {0x02, 0, 0, 0, 0, 0x02};
  static const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  uint8_t *p;
  size_t l3;

  memset(f, 0, sizeof(*f));
  p = f->data;
  f->len = FRAME_LEN;
  memcpy(p, dst_mac ? dst_mac : default_dst, 6);
  memcpy(p + 6, src_mac, 6);
  l3 = 14;
  if (kind == FRAME_VLAN) {
    put16(p + 12, 0x8100);
    put16(p + 14, 10); /* VLAN 10 */
    l3 = 18;
  }
  if (kind == FRAME_IPV6) {
    uint8_t *ip6 = p + l3;

    put16(p + l3 - 2, 0x86dd);
    ip6[0] = 0x60;
    put16(ip6 + 4, (uint16_t)(FRAME_LEN - l3 - 40)); /* payload length */
    ip6[6] = 17;                                     /* UDP */
    ip6[7] = 64;
    inet_pton(AF_INET6, "2001:db8::1:0", ip6 + 8);
    inet_pton(AF_INET6, "2001:db8:ffff::1", ip6 + 24);
    put16(ip6 + 40, 4000);
    put16(ip6 + 42, 9);
    put16(ip6 + 44, (uint16_t)(FRAME_LEN - l3 - 40));
    f->addr_off = (uint32_t)l3 + 8 + 12;
    f->base = 0x00010000;
    return;
  }
  uint8_t *ip = p + l3;

  put16(p + l3 - 2, 0x0800);
  ip[0] = 0x45;
  put16(ip + 2, (uint16_t)(FRAME_LEN - l3));
  ip[8] = 64;
  ip[9] = 17; /* UDP */
  inet_pton(AF_INET, "10.128.0.0", ip + 12);
  inet_pton(AF_INET, "10.99.0.2", ip + 16);
  put16(ip + 10, ip_checksum(ip, 20));
  put16(ip + 20, 4000);
  put16(ip + 22, 9);
  put16(ip + 24, (uint16_t)(FRAME_LEN - l3 - 20));
  f->addr_off = (uint32_t)l3 + 12;
  f->base = 0x0a800000;
}

const char *frame_name(enum frame_kind kind) {
  switch (kind) {
  case FRAME_IPV4:
    return "IPv4";
  case FRAME_IPV6:
    return "IPv6";
  case FRAME_VLAN:
    return "802.1Q+IPv4";
  default:
    return "?";
  }
}

static uint32_t gcd(uint32_t a, uint32_t b) {
  while (b) {
    uint32_t t = a % b;

    a = b;
    b = t;
  }
  return a;
}

uint32_t scatter_stride(uint32_t n) {
  uint32_t s;

  if (n <= 2)
    return n == 2 ? 1 : 0;
  s = (uint32_t)((double)n * 0.6180339887) | 1;
  while (gcd(s, n) != 1)
    s++;
  return s % n;
}

/* --- driving programs --------------------------------------------------------
 */

static int driver_load(struct driver *d, int target_fd, bool tc,
                       const struct frame *f, uint32_t naddrs, bool frags) {
  struct bench_driver *s = bench_driver__open();
  uint32_t zero = 0;
  int err;

  if (!s)
    return -errno;
  s->rodata->addr_off = f->addr_off;
  s->rodata->naddrs = naddrs;
  s->rodata->stride = scatter_stride(naddrs);
  s->rodata->base = f->base;
  bpf_program__set_autoload(tc ? s->progs.drive_xdp : s->progs.drive_tc, false);
  if (frags)
    bpf_program__set_flags(s->progs.drive_xdp, BPF_F_XDP_HAS_FRAGS);
  err = bench_driver__load(s);
  if (!err) {
    int map = bpf_map__fd(tc ? s->maps.jump_tc : s->maps.jump_xdp);

    if (bpf_map_update_elem(map, &zero, &target_fd, BPF_ANY) < 0)
      err = -errno;
  }
  if (err) {
    bench_driver__destroy(s);
    return err;
  }
  /* Start so that the first run uses the first address. */
  s->bss->pos = naddrs > 1 ? naddrs - s->rodata->stride : 0;
  d->skel = s;
  d->tc = tc;
  d->prog_fd = bpf_program__fd(tc ? s->progs.drive_tc : s->progs.drive_xdp);
  return 0;
}

int driver_open(struct driver *d, int target_fd, bool tc, const struct frame *f,
                uint32_t naddrs) {
  int err;

  memset(d, 0, sizeof(*d));
  err = driver_load(d, target_fd, tc, f, naddrs, false);
  /* A multi-buffer (xdp.frags) target needs a multi-buffer caller. */
  if (err == -EINVAL && !tc)
    err = driver_load(d, target_fd, tc, f, naddrs, true);
  return err;
}

void driver_close(struct driver *d) {
  bench_driver__destroy(d->skel);
  d->skel = NULL;
}

int driver_run(struct driver *d, const struct frame *f, uint32_t repeat,
               double *ns) {
  struct xdp_md ctx = {.data_end = f->len, .ingress_ifindex = d->ifindex};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->data,
              .data_size_in = f->len, .repeat = repeat);

  if (!d->tc && d->ifindex) {
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
  }
  if (bpf_prog_test_run_opts(d->prog_fd, &opts) < 0)
    return -errno;
  if (ns)
    *ns = opts.duration;
  return 0;
}

int prefill_attached(const char *ifname, uint32_t n) {
  int ifindex = (int)if_nametoindex(ifname);
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  struct driver drv;
  struct frame f;
  uint32_t id;
  int fd, err;

  if (ifindex == 0)
    return -ENODEV;
  if (bpf_xdp_query(ifindex, 0, &q) < 0)
    return -errno;
  id = q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
  if (id == 0)
    return -ENOENT;
  fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0)
    return -errno;
  frame_build(&f, FRAME_IPV4, NULL);
  err = driver_open(&drv, fd, false, &f, n);
  if (err == 0) {
    drv.ifindex = (uint32_t)ifindex;
    err = driver_run(&drv, &f, n, NULL);
    driver_close(&drv);
  }
  close(fd);
  return err;
}

/* --- the plugin's programs and maps -------------------------------------- */

static int fd_info_id(int fd, uint32_t *id) {
  struct bpf_map_info info;
  uint32_t len = sizeof(info);

  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
    return -errno;
  *id = info.id;
  return 0;
}

int progs_using_map(int map_fd, struct prog_ref *out, int max) {
  uint32_t map_id = 0, id = 0;
  int n = 0;

  if (fd_info_id(map_fd, &map_id))
    return 0;
  while (n < max && bpf_prog_get_next_id(id, &id) == 0) {
    struct bpf_prog_info info;
    uint32_t len = sizeof(info);
    struct prog_ref *r = &out[n];
    int fd = bpf_prog_get_fd_by_id(id);
    bool uses = false;

    if (fd < 0)
      continue; /* gone meanwhile */
    memset(&info, 0, sizeof(info));
    memset(r, 0, sizeof(*r));
    info.nr_map_ids = 8;
    info.map_ids = (uint64_t)(unsigned long)r->map_ids;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
      for (uint32_t i = 0; i < info.nr_map_ids && i < 8; i++)
        uses = uses || r->map_ids[i] == map_id;
    if (!uses) {
      close(fd);
      continue;
    }
    r->fd = fd;
    r->id = id;
    r->type = info.type;
    r->nr_map_ids = info.nr_map_ids < 8 ? info.nr_map_ids : 8;
    snprintf(r->name, sizeof(r->name), "%s", info.name);
    n++;
  }
  return n;
}

struct bpf_object *open_elf(const void *elf, size_t size, const char *name) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);

  return bpf_object__open_mem(elf, size, &opts);
}

int size_hash_maps(struct bpf_object *obj, uint32_t max_entries) {
  struct bpf_map *map;

  bpf_object__for_each_map(map, obj) {
    enum bpf_map_type t = bpf_map__type(map);

    if (t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
        t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH) {
      int err = bpf_map__set_max_entries(map, max_entries);

      if (err)
        return err;
    }
  }
  return 0;
}

long long fd_memlock(int fd) {
  char path[64], line[256];
  long long v = -1;
  FILE *f;

  snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
  f = fopen(path, "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "memlock: %lld", &v) == 1)
      break;
  fclose(f);
  return v;
}

long long maps_memlock(const struct prog_ref *progs, int n) {
  uint32_t seen[64];
  int nseen = 0;
  long long sum = 0;

  for (int i = 0; i < n; i++) {
    for (uint32_t j = 0; j < progs[i].nr_map_ids; j++) {
      uint32_t id = progs[i].map_ids[j];
      bool dup = false;
      int fd;

      for (int k = 0; k < nseen; k++)
        dup = dup || seen[k] == id;
      if (dup || nseen == 64)
        continue;
      seen[nseen++] = id;
      fd = bpf_map_get_fd_by_id(id);
      if (fd < 0)
        continue;
      sum += fd_memlock(fd);
      close(fd);
    }
  }
  return sum;
}

long long rss_bytes(void) {
  long long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");

  if (!f)
    return -1;
  if (fscanf(f, "%lld %lld", &pages, &rss) != 2)
    rss = -1;
  fclose(f);
  return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

int map_layout(int map_fd, uint32_t *key_size, uint32_t *value_size,
               uint32_t *max_entries, uint32_t *type) {
  struct bpf_map_info info;
  uint32_t len = sizeof(info);

  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len) < 0)
    return -errno;
  *key_size = info.key_size;
  *value_size = info.value_size;
  *max_entries = info.max_entries;
  *type = info.type;
  return 0;
}

double htab_bytes_per_entry(uint32_t type, bool prealloc, uint32_t key_size,
                            uint32_t value_size, uint32_t max_entries,
                            uint32_t entries, int ncpus) {
  bool percpu = type == BPF_MAP_TYPE_PERCPU_HASH;
  double key = (key_size + 7) / 8 * 8, value = (value_size + 7) / 8 * 8;
  double elem = 48 + key + (percpu ? 8 : value);
  double buckets = 16;
  uint32_t n_buckets = 1;

  while (n_buckets < max_entries)
    n_buckets <<= 1;
  buckets *= n_buckets;
  if (prealloc)
    return elem + (percpu ? value * ncpus : 0) + buckets / max_entries;
  /* Allocated on demand: a list node each, and for per-CPU maps the
   * pointer to the values and their list node. */
  return elem + 8 + (percpu ? 16 + value * ncpus : 0) +
         buckets / (entries ? entries : 1);
}

const char *map_type_name(uint32_t type) {
  const char *s = libbpf_bpf_map_type_str((enum bpf_map_type)type);

  return s ? s : "?";
}

double map_layout_bytes(uint32_t type, bool prealloc, uint32_t key_size,
                        uint32_t value_size, uint32_t max_entries, int ncpus) {
  double key = (key_size + 7) / 8 * 8, value = (value_size + 7) / 8 * 8;
  double n_buckets = 1;

  if (type == BPF_MAP_TYPE_ARRAY)
    return value * max_entries;
  if (type == BPF_MAP_TYPE_PERCPU_ARRAY)
    return value * max_entries * ncpus;
  if (!prealloc ||
      (type != BPF_MAP_TYPE_HASH && type != BPF_MAP_TYPE_PERCPU_HASH))
    return 0;
  while (n_buckets < max_entries)
    n_buckets *= 2;
  if (type == BPF_MAP_TYPE_PERCPU_HASH)
    return (48 + key + 8 + value * ncpus) * max_entries + 16 * n_buckets;
  /* A shared hash keeps one spare element per possible CPU. */
  return (48 + key + value) * ((double)max_entries + ncpus) + 16 * n_buckets;
}

double maps_layout_bytes(const struct prog_ref *progs, int n, int ncpus,
                         long long *memlock) {
  uint32_t seen[64];
  int nseen = 0;
  double sum = 0;

  *memlock = 0;
  for (int i = 0; i < n; i++) {
    struct bpf_prog_info info;
    uint32_t ids[16] = {0}, len = sizeof(info);

    memset(&info, 0, sizeof(info));
    info.nr_map_ids = 16;
    info.map_ids = (uint64_t)(unsigned long)ids;
    if (bpf_obj_get_info_by_fd(progs[i].fd, &info, &len) < 0)
      continue;
    for (uint32_t m = 0; m < info.nr_map_ids && m < 16; m++) {
      struct bpf_map_info mi;
      uint32_t mlen = sizeof(mi);
      bool dup = false;
      int fd;

      for (int k = 0; k < nseen; k++)
        dup |= seen[k] == ids[m];
      if (dup || nseen == 64)
        continue;
      seen[nseen++] = ids[m];
      fd = bpf_map_get_fd_by_id(ids[m]);
      if (fd < 0)
        continue;
      memset(&mi, 0, sizeof(mi));
      if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0) {
        *memlock += fd_memlock(fd);
        sum +=
            map_layout_bytes(mi.type, !(mi.map_flags & BPF_F_NO_PREALLOC),
                             mi.key_size, mi.value_size, mi.max_entries, ncpus);
      }
      close(fd);
    }
  }
  return sum;
}
