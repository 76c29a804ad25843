/*
 * itr-series-lpm: what <Network> blocks cost the XDP program per frame.
 *
 *   itr-series-lpm [--repeat N] [--rounds R] [--before OBJ]
 *
 * Loads the plugin's programs through its loader (itr_loader_open_config)
 * once per configuration, from a configuration tree parsed by the plugin's
 * own parser: no networks, IPv4PrefixLength 24 / IPv6PrefixLength 48, and
 * 1, 100 and 1000 <Network> blocks. Runs an IPv4 and an IPv6 frame
 * (tests/lib/frames.c) through each XDP program with bpf_prog_test_run,
 * repeat times per run, R rounds with the configurations interleaved, and
 * prints the fastest and the median round's nanoseconds per frame. For each
 * program it also prints the size of what the verifier left (xlated
 * instructions, JIT bytes) and how often the program still refers to the
 * network trie.
 *
 * --before OBJ adds the XDP program of an older build of
 * bpf/iptraffic.bpf.c (bench/series/run.sh compiles the one from before
 * <Network> blocks existed), loaded the same way with the same table size.
 *
 * Needs root. Prints; checks nothing but that the programs pass the frames.
 */
#define _GNU_SOURCE /* sched_setaffinity, sched_getcpu */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "frames.h"
#include "loader.h"
#include "plugin_config.h"

#define CAPACITY 65536u
#define MAX_ROUNDS 101
#define MAX_INSNS 65536
#define FRAME_BUF 256

enum { FRAME_V4, FRAME_V6, FRAMES };

/* One program under test. */
struct variant {
  const char *name;
  int networks;       /* <Network> blocks */
  int ipv4_prefixlen; /* 0: not set (32) */
  int ipv6_prefixlen; /* 0: not set (128) */
  struct itr_loader *loader;
  struct bpf_object *obj; /* --before only */
  int prog_fd;
  uint32_t xlated_insns, jited_bytes, trie_refs;
  double ns[FRAMES][MAX_ROUNDS];
};

static struct variant variants[] = {
    {.name = "no <Network> blocks"},
    {.name = "IPv4/IPv6PrefixLength 24/48",
     .ipv4_prefixlen = 24,
     .ipv6_prefixlen = 48},
    {.name = "1 <Network>", .networks = 1},
    {.name = "100 <Network>", .networks = 100},
    {.name = "1000 <Network>", .networks = 1000},
    {.name = "1000 <Network> + 24/48",
     .networks = 1000,
     .ipv4_prefixlen = 24,
     .ipv6_prefixlen = 48},
    {.name = "before <Network> existed"}, /* --before */
};
#define NVARIANTS (int)(sizeof(variants) / sizeof(variants[0]))
#define BEFORE (NVARIANTS - 1)

static void die(const char *what, int err) {
  fprintf(stderr, "itr-series-lpm: %s: %s\n", what,
          strerror(err < 0 ? -err : err));
  exit(1);
}

/*
 * The configuration tree collectd would hand to the plugin:
 *   Interface "lo"
 *   IPv4PrefixLength L4, IPv6PrefixLength L6 (when set)
 *   N x <Network "CIDR"> PrefixLength 32|128 </Network>
 * Network i: even i the IPv4 network 10.x.y.0/24 (x.y = i / 2), odd i the
 * IPv6 network 2001:db8:(i / 2)::/48; so the test frames' sources
 * (10.0.0.1, 2001:db8::1) are in the first networks and their
 * destinations in none.
 */
#define MAX_ITEMS (ITR_MAX_NETWORKS + 3)
static struct itr_cfg_item items[MAX_ITEMS];
static struct itr_cfg_value values[MAX_ITEMS];
static struct itr_cfg_item net_children[ITR_MAX_NETWORKS];
static struct itr_cfg_value net_values[ITR_MAX_NETWORKS];
static char cidrs[ITR_MAX_NETWORKS][64];

static void build_config(const struct variant *v, struct itr_config *cfg) {
  struct itr_cfg_item block = {.key = "Plugin", .children = items};
  char err[256];
  int n = 0;

  values[n] = (struct itr_cfg_value){.type = ITR_CFG_STRING, .v.string = "lo"};
  items[n] = (struct itr_cfg_item){
      .key = "Interface", .values = &values[n], .values_num = 1};
  n++;
  if (v->ipv4_prefixlen) {
    values[n] = (struct itr_cfg_value){.type = ITR_CFG_NUMBER,
                                       .v.number = v->ipv4_prefixlen};
    items[n] = (struct itr_cfg_item){
        .key = "IPv4PrefixLength", .values = &values[n], .values_num = 1};
    n++;
  }
  if (v->ipv6_prefixlen) {
    values[n] = (struct itr_cfg_value){.type = ITR_CFG_NUMBER,
                                       .v.number = v->ipv6_prefixlen};
    items[n] = (struct itr_cfg_item){
        .key = "IPv6PrefixLength", .values = &values[n], .values_num = 1};
    n++;
  }
  for (int i = 0; i < v->networks; i++) {
    int j = i / 2;
    bool v4 = i % 2 == 0;

    if (v4)
      snprintf(cidrs[i], sizeof(cidrs[i]), "10.%d.%d.0/24", j >> 8, j & 255);
    else
      snprintf(cidrs[i], sizeof(cidrs[i]), "2001:db8:%x::/48", j);
    net_values[i] = (struct itr_cfg_value){.type = ITR_CFG_NUMBER,
                                           .v.number = v4 ? 32 : 128};
    net_children[i] = (struct itr_cfg_item){
        .key = "PrefixLength", .values = &net_values[i], .values_num = 1};
    values[n] =
        (struct itr_cfg_value){.type = ITR_CFG_STRING, .v.string = cidrs[i]};
    items[n] = (struct itr_cfg_item){.key = "Network",
                                     .values = &values[n],
                                     .values_num = 1,
                                     .children = &net_children[i],
                                     .children_num = 1};
    n++;
  }
  block.children_num = n;
  itr_config_init(cfg);
  if (itr_config_parse(cfg, &block, err, sizeof(err)) != 0) {
    fprintf(stderr, "itr-series-lpm: %s: %s\n", v->name, err);
    exit(1);
  }
}

/* Sizes of what the verifier left of the program, and how many of its
 * instructions load the address of the network trie. */
static void inspect(struct variant *v) {
  static struct bpf_insn insns[MAX_INSNS];
  struct bpf_prog_info info;
  uint32_t len = sizeof(info), map_ids[16], trie_id = 0, n;
  int err;

  memset(&info, 0, sizeof(info));
  err = bpf_obj_get_info_by_fd(v->prog_fd, &info, &len);
  if (err)
    die("bpf_obj_get_info_by_fd", err);
  n = info.xlated_prog_len / sizeof(struct bpf_insn);
  if (n > MAX_INSNS || info.nr_map_ids > 16)
    die("program too large to inspect", E2BIG);
  v->xlated_insns = n;
  v->jited_bytes = info.jited_prog_len;

  memset(&info, 0, sizeof(info));
  info.xlated_prog_len = n * sizeof(struct bpf_insn);
  info.xlated_prog_insns = (uint64_t)(unsigned long)insns;
  info.nr_map_ids = 16;
  info.map_ids = (uint64_t)(unsigned long)map_ids;
  len = sizeof(info);
  err = bpf_obj_get_info_by_fd(v->prog_fd, &info, &len);
  if (err)
    die("bpf_obj_get_info_by_fd (instructions)", err);
  for (uint32_t i = 0; i < info.nr_map_ids && i < 16; i++) {
    struct bpf_map_info mi;
    uint32_t mlen = sizeof(mi);
    int fd = bpf_map_get_fd_by_id(map_ids[i]);

    if (fd < 0)
      continue;
    memset(&mi, 0, sizeof(mi));
    if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0 &&
        mi.type == BPF_MAP_TYPE_LPM_TRIE)
      trie_id = mi.id;
    close(fd);
  }
  /* The kernel's dump turns map addresses back into map ids. */
  v->trie_refs = 0;
  for (uint32_t i = 0; trie_id && i + 1 < n; i++)
    if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
        insns[i].src_reg == BPF_PSEUDO_MAP_FD &&
        (uint32_t)insns[i].imm == trie_id)
      v->trie_refs++;
}

static void load_variant(struct variant *v) {
  static const struct itr_loader_opts sizes = {
      .ipv4 = CAPACITY, .ipv6 = CAPACITY, .interfaces = 1};
  static struct itr_config cfg;
  int err;

  build_config(v, &cfg);
  err = itr_loader_open_config(&v->loader, &sizes, &cfg);
  if (err)
    die(v->name, err);
  v->prog_fd = itr_loader_xdp_fd(v->loader);
}

/* The XDP program of an older object file, with the table sized alike. */
static void load_before(struct variant *v, const char *path) {
  struct bpf_program *prog, *p;
  struct bpf_map *map;
  int err;

  v->obj = bpf_object__open_file(path, NULL);
  if (!v->obj)
    die(path, errno);
  bpf_object__for_each_map(map, v->obj) {
    if (bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH ||
        bpf_map__type(map) == BPF_MAP_TYPE_HASH)
      bpf_map__set_max_entries(map, CAPACITY);
  }
  prog = bpf_object__find_program_by_name(v->obj, "iptraffic_xdp");
  if (!prog)
    die("no program iptraffic_xdp in the old object", ENOENT);
  bpf_object__for_each_program(p, v->obj) {
    bpf_program__set_autoload(p, p == prog);
  }
  err = bpf_object__load(v->obj);
  if (err)
    die(path, err);
  v->prog_fd = bpf_program__fd(prog);
}

static double run(int prog_fd, const uint8_t *frame, size_t len,
                  uint32_t repeat) {
  uint8_t out[FRAME_BUF];
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
              .data_size_in = (uint32_t)len, .data_out = out,
              .data_size_out = sizeof(out), .repeat = repeat);
  int err = bpf_prog_test_run_opts(prog_fd, &opts);

  if (err)
    die("bpf_prog_test_run_opts", err);
  if (opts.retval != XDP_PASS)
    die("the program did not pass the frame", EINVAL);
  return (double)opts.duration;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static double median(const double *v, int n) {
  double tmp[MAX_ROUNDS];

  memcpy(tmp, v, (size_t)n * sizeof(*v));
  qsort(tmp, (size_t)n, sizeof(*tmp), cmp_double);
  return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static double minimum(const double *v, int n) {
  double m = v[0];

  for (int i = 1; i < n; i++)
    if (v[i] < m)
      m = v[i];
  return m;
}

/* Stays on the CPU it started on: the counters are per CPU, and every run
 * should find its entries where the previous one left them. */
static void pin(void) {
  cpu_set_t set;
  int cpu = sched_getcpu();

  if (cpu < 0)
    return;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

static unsigned long number(const char *s, unsigned long min,
                            unsigned long max) {
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul(s, &end, 0);
  if (errno || *end || end == s || v < min || v > max) {
    fprintf(stderr, "itr-series-lpm: bad number '%s' (%lu..%lu)\n", s, min,
            max);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"repeat", required_argument, NULL, 'n'},
      {"rounds", required_argument, NULL, 'r'},
      {"before", required_argument, NULL, 'b'},
      {NULL, 0, NULL, 0}};
  struct frame_spec specs[FRAMES] = {
      {.family = 4, .src = "10.0.0.1", .dst = "192.0.2.1"},
      {.family = 6, .src = "2001:db8::1", .dst = "2001:db8:ffff::1"},
  };
  uint8_t frames[FRAMES][FRAME_BUF];
  size_t lens[FRAMES];
  uint32_t repeat = 1000000;
  int rounds = 15, nvariants = BEFORE, opt;
  const char *before = NULL;
  double base[FRAMES];

  while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (opt) {
    case 'n':
      repeat = (uint32_t)number(optarg, 1, 100000000);
      break;
    case 'r':
      rounds = (int)number(optarg, 1, MAX_ROUNDS);
      break;
    case 'b':
      before = optarg;
      break;
    default:
      fprintf(stderr, "usage: itr-series-lpm [--repeat N] [--rounds R] "
                      "[--before OBJ]\n");
      return 2;
    }
  }

  pin();
  for (int f = 0; f < FRAMES; f++) {
    lens[f] = frame_build(&specs[f], frames[f], FRAME_BUF);
    if (lens[f] == 0)
      die("building a test frame", EINVAL);
  }
  for (int i = 0; i < BEFORE; i++)
    load_variant(&variants[i]);
  if (before) {
    load_before(&variants[BEFORE], before);
    nvariants = NVARIANTS;
  }
  for (int i = 0; i < nvariants; i++) {
    inspect(&variants[i]);
    for (int f = 0; f < FRAMES; f++) /* creates the entries, warms up */
      run(variants[i].prog_fd, frames[f], lens[f], 10000);
  }
  /* Rounds interleave the programs, so that drift hits them alike. */
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < nvariants; i++)
      for (int f = 0; f < FRAMES; f++)
        variants[i].ns[f][r] =
            run(variants[i].prog_fd, frames[f], lens[f], repeat);

  printf("XDP program per frame: bpf_prog_test_run, repeat %u, %d rounds, "
         "one IPv4 (%zu B) and one IPv6 (%zu B) frame whose source is in the "
         "first <Network> and destination in none (two lookups per frame); "
         "table %u entries\n",
         repeat, rounds, lens[FRAME_V4], lens[FRAME_V6], CAPACITY);
  printf("%-28s %6s %6s %5s | %6s %6s %6s %6s | %6s %6s %6s %6s\n", "program",
         "xlated", "jited", "trie", "IPv4", "", "", "", "IPv6", "", "", "");
  printf("%-28s %6s %6s %5s | %6s %6s %6s %6s | %6s %6s %6s %6s\n", "", "insns",
         "bytes", "refs", "min", "x", "+ns", "median", "min", "x", "+ns",
         "median");
  for (int f = 0; f < FRAMES; f++)
    base[f] = minimum(variants[0].ns[f], rounds);
  for (int i = 0; i < nvariants; i++) {
    struct variant *v = &variants[i];

    printf("%-28s %6u %6u %5u", v->name, v->xlated_insns, v->jited_bytes,
           v->trie_refs);
    for (int f = 0; f < FRAMES; f++) {
      double m = minimum(v->ns[f], rounds);

      printf(" | %6.0f %6.2f %+6.0f %6.0f", m, m / base[f], m - base[f],
             median(v->ns[f], rounds));
    }
    printf("\n");
  }
  printf("ns per frame, the fastest and the median round; x and +ns: the "
         "fastest against the first line's (the median varies with what "
         "else runs on the machine); trie refs: instructions that load the "
         "network trie's address\n");
  for (int i = 0; i < nvariants; i++) {
    itr_loader_close(variants[i].loader);
    bpf_object__close(variants[i].obj);
  }
  return 0;
}
