/*
 * Data plane, in the kernel: ns per frame of the plugin's programs (every
 * XDP and tc program of the build, found in the kernel through the map
 * they share) against a bare program and the minimal reference, with 1,
 * 1k, 100k and 1M distinct source addresses, through bpf_prog_test_run
 * with repeat; and the kernel-layout experiments on IPv4 frames.
 *
 * Usage: itr-bench-kern [-r ROUNDS] [-n ADDRESSES]... [-f ipv4|ipv6|vlan]...
 * (root). By default 5 rounds, 1, 1k, 100k and 1M addresses, all frames.
 * Prints Markdown tables. Each figure is the median of ROUNDS samples taken
 * round-robin over all programs of one case, so noise hits all alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "hotkey.h"
#include "loader.h"

#include "bench_bare.skel.h"
#include "bench_ref.skel.h"
#include "bench_ref_atomic.skel.h"
#include "bench_ref_atomic_nopre.skel.h"
#include "bench_ref_key24.skel.h"
#include "bench_ref_key24w.skel.h"
#include "bench_ref_key8.skel.h"
#include "bench_ref_atomic_key8.skel.h"
#include "bench_ref_atomic_key8_nopre.skel.h"
#include "bench_ref_nopre.skel.h"
#include "bench_ref_pair.skel.h"

#define MAX_ROUNDS 21
#define MAX_TARGETS 24
#define SAMPLE_NS 20000000.0 /* aim for 20 ms of runs per sample */

#define MAX_COUNTS 8
static uint32_t counts[MAX_COUNTS] = {1, 1000, 100000, 1000000};
static size_t ncounts = 4;
static bool frames_on[FRAME_KINDS] = {true, true, true};

struct variant {
  const char *label;
  const char *what;
  const void *(*elf)(size_t *sz);
};

/* The reference first: the others are compared with it. */
static const struct variant variants[] = {
    {"reference", "per-CPU hash, preallocated, 2 lookups/frame",
     bench_ref__elf_bytes},
    {"atomic", "plain hash + atomic adds", bench_ref_atomic__elf_bytes},
    {"nopre", "per-CPU hash, BPF_F_NO_PREALLOC", bench_ref_nopre__elf_bytes},
    {"atomic-nopre", "plain hash + atomics, BPF_F_NO_PREALLOC",
     bench_ref_atomic_nopre__elf_bytes},
    {"pair", "per-CPU hash keyed by (src, dst): 1 lookup/frame",
     bench_ref_pair__elf_bytes},
    {"key8", "per-CPU hash, IPv4 key of 8 bytes", bench_ref_key8__elf_bytes},
    {"atomic-key8", "plain hash + atomic adds, IPv4 key of 8 bytes",
     bench_ref_atomic_key8__elf_bytes},
    {"atomic-key8-nopre", "the same, BPF_F_NO_PREALLOC",
     bench_ref_atomic_key8_nopre__elf_bytes},
    {"key24", "the plugin's 24-byte key, filled field by field",
     bench_ref_key24__elf_bytes},
    {"key24w", "the plugin's 24-byte key, filled with whole-word stores",
     bench_ref_key24w__elf_bytes},
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

enum role { ROLE_BARE, ROLE_REF, ROLE_PLUGIN, ROLE_VARIANT };

struct target {
  char label[32];
  enum role role;
  int variant;
  int fd;
  bool tc;
  struct driver drv;
  uint32_t repeat;
  double samples[MAX_ROUNDS];
  double ns;           /* median */
  long long memlock;   /* of its table(s), variants only */
  uint32_t value_size; /* of its table, variants only */
  uint32_t key_size;
  uint32_t map_type;
  bool prealloc;
};

struct result {
  double bare, ref, plugin;
  bool have_plugin;
};

static int rounds = 5;
static int ncpus;

/* Table capacity for n addresses: the plugin's default below 65536. */
static uint32_t capacity_for(uint32_t n) {
  uint32_t c = n + n / 4;

  return c < 65536 ? 65536 : c;
}

static struct bpf_object *load_obj(const void *(*elf)(size_t *),
                                   const char *name, uint32_t cap) {
  size_t sz;
  const void *bytes = elf(&sz);
  struct bpf_object *obj = open_elf(bytes, sz, name);

  check(obj != NULL, "opening %s: %s", name, strerror(errno));
  check(size_hash_maps(obj, cap) == 0, "sizing %s", name);
  check(bpf_object__load(obj) == 0, "loading %s: %s", name, strerror(errno));
  return obj;
}

static int prog_fd(struct bpf_object *obj, const char *name) {
  struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

  check(p != NULL, "program %s missing", name);
  return bpf_program__fd(p);
}

static void add_target(struct target *t, int *n, const char *label,
                       enum role role, int fd, bool tc) {
  struct target *x = &t[*n];

  check(*n < MAX_TARGETS, "too many targets");
  memset(x, 0, sizeof(*x));
  snprintf(x->label, sizeof(x->label), "%s", label);
  x->role = role;
  x->fd = fd;
  x->tc = tc;
  x->variant = -1;
  (*n)++;
}

static void variant_memory(struct target *x, struct bpf_object *obj) {
  struct bpf_map *map;

  bpf_object__for_each_map(map, obj) {
    enum bpf_map_type t = bpf_map__type(map);

    if (t != BPF_MAP_TYPE_HASH && t != BPF_MAP_TYPE_PERCPU_HASH)
      continue;
    /* The IPv4 table of key8; the only table of the others. */
    if (strcmp(bpf_map__name(map), "ref_counters") != 0)
      continue;
    x->memlock = fd_memlock(bpf_map__fd(map));
    x->value_size = bpf_map__value_size(map);
    x->key_size = bpf_map__key_size(map);
    x->map_type = t;
    x->prealloc = !(bpf_map__map_flags(map) & BPF_F_NO_PREALLOC);
  }
}

/* One case: a frame kind and a number of addresses; every program gets
 * fresh tables. */
static void run_case(enum frame_kind kind, uint32_t n, struct result *xdp,
                     struct result *tc, struct result *frags,
                     struct target *keep, int *nkeep) {
  uint32_t cap = capacity_for(n);
  struct bpf_object *objs[NVARIANTS + 1] = {0};
  struct prog_ref progs[8];
  struct target t[MAX_TARGETS];
  struct itr_loader *loader;
  struct frame f;
  int nt = 0, np, err;

  frame_build(&f, kind, NULL);
  err = itr_loader_open(&loader, cap);
  check(err == 0, "loading the plugin: %s", strerror(-err));
  np = progs_using_map(itr_loader_map_fd(loader), progs, 8);
  check(np > 0, "no plugin program found in the kernel");

  objs[0] = load_obj(bench_bare__elf_bytes, "bare", cap);
  add_target(t, &nt, "bare xdp", ROLE_BARE, prog_fd(objs[0], "bare_xdp"),
             false);
  add_target(t, &nt, "bare tc", ROLE_BARE, prog_fd(objs[0], "bare_tc"), true);
  for (size_t v = 0; v < NVARIANTS; v++) {
    /* The experiments run on IPv4 frames only. */
    if (v > 0 && kind != FRAME_IPV4)
      break;
    objs[v + 1] = load_obj(variants[v].elf, variants[v].label, cap);
    add_target(t, &nt, variants[v].label, v == 0 ? ROLE_REF : ROLE_VARIANT,
               prog_fd(objs[v + 1], "ref_xdp"), false);
    t[nt - 1].variant = (int)v;
    variant_memory(&t[nt - 1], objs[v + 1]);
    if (v == 0) {
      add_target(t, &nt, "reference tc", ROLE_REF, prog_fd(objs[1], "ref_tc"),
                 true);
      t[nt - 1].variant = 0;
    }
  }
  for (int i = 0; i < np; i++) {
    bool is_tc = progs[i].type == BPF_PROG_TYPE_SCHED_CLS;
    bool is_frags = strstr(progs[i].name, "frag") != NULL;

    if (!is_tc && progs[i].type != BPF_PROG_TYPE_XDP)
      continue;
    if (is_frags && kind != FRAME_IPV4)
      continue;
    add_target(t, &nt, progs[i].name, ROLE_PLUGIN, progs[i].fd, is_tc);
  }

  /* Drivers; a first sweep over all addresses fills the tables, then a
   * short run sizes the samples. */
  for (int i = 0; i < nt; i++) {
    double ns = 0;

    err = driver_open(&t[i].drv, t[i].fd, t[i].tc, &f, n);
    check(err == 0, "driver for %s: %s", t[i].label, strerror(-err));
    check(driver_run(&t[i].drv, &f, n, NULL) == 0, "prefill %s", t[i].label);
    check(driver_run(&t[i].drv, &f, 20000, &ns) == 0, "run %s", t[i].label);
    ns = ns < 1 ? 1 : ns;
    t[i].repeat = (uint32_t)(SAMPLE_NS / ns);
    if (t[i].repeat < 20000)
      t[i].repeat = 20000;
    if (t[i].repeat > 2000000)
      t[i].repeat = 2000000;
  }
  for (int r = 0; r < rounds; r++)
    for (int k = 0; k < nt; k++) {
      struct target *x = &t[(k + r) % nt];

      check(driver_run(&x->drv, &f, x->repeat, &x->samples[r]) == 0, "run %s",
            x->label);
    }

  if (getenv("ITR_BENCH_DEBUG"))
    for (int i = 0; i < nt; i++) {
      fprintf(stderr, "%-16s rep %7u:", t[i].label, t[i].repeat);
      for (int r = 0; r < rounds; r++)
        fprintf(stderr, " %4.0f", t[i].samples[r]);
      fputc('\n', stderr);
    }
  memset(xdp, 0, sizeof(*xdp));
  memset(tc, 0, sizeof(*tc));
  memset(frags, 0, sizeof(*frags));
  for (int i = 0; i < nt; i++) {
    struct target *x = &t[i];
    bool is_frags = strstr(x->label, "frag") != NULL;
    struct result *res = x->tc ? tc : is_frags ? frags : xdp;

    x->ns = median(x->samples, rounds);
    if (x->role == ROLE_BARE) {
      xdp->bare = x->tc ? xdp->bare : x->ns;
      frags->bare = xdp->bare;
      tc->bare = x->tc ? x->ns : tc->bare;
    } else if (x->role == ROLE_REF) {
      res = x->tc ? tc : xdp;
      res->ref = x->ns;
      if (!x->tc)
        frags->ref = x->ns;
    } else if (x->role == ROLE_PLUGIN) {
      res->plugin = x->ns;
      res->have_plugin = true;
    }
  }
  /* The experiments are reported together after all cases. */
  if (kind == FRAME_IPV4)
    for (int i = 0; i < nt; i++)
      if ((t[i].role == ROLE_VARIANT || t[i].role == ROLE_REF ||
           t[i].role == ROLE_BARE || t[i].role == ROLE_PLUGIN) &&
          !t[i].tc && strstr(t[i].label, "frag") == NULL) {
        keep[*nkeep] = t[i];
        (*nkeep)++;
      }

  for (int i = 0; i < nt; i++) {
    driver_close(&t[i].drv);
    if (t[i].role == ROLE_PLUGIN)
      close(t[i].fd);
  }
  for (size_t v = 0; v <= NVARIANTS; v++)
    bpf_object__close(objs[v]);
  itr_loader_close(loader);
}

/* Preallocated tables: their memlock per entry of capacity. The others:
 * the kernel's accounting computed from the layout per entry in use (the
 * addresses and the one destination), since this kernel's memlock leaves
 * out entries allocated on demand. */
static double per_entry(const struct target *t, uint32_t cap, uint32_t n,
                        int cpus) {
  if (t->prealloc && cpus == ncpus)
    return (double)t->memlock / cap;
  return htab_bytes_per_entry(t->map_type, t->prealloc, t->key_size,
                              t->value_size, cap, n + 1, cpus);
}

/* --- one hot address, updated from every CPU at once -------------------- */

struct worker {
  struct driver *drv;
  const struct frame *f;
  uint32_t repeat;
  int cpu;
  double ns;
  pthread_barrier_t *start;
};

static void *work(void *arg) {
  struct worker *w = arg;
  cpu_set_t set;

  CPU_ZERO(&set);
  CPU_SET(w->cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  pthread_barrier_wait(w->start);
  if (driver_run(w->drv, w->f, w->repeat, &w->ns) != 0)
    w->ns = 0;
  return NULL;
}

/* ns per frame of one sample, with the frame run on cpus CPUs at once
 * (the mean of their averages). Each CPU has a driver of its own (drv[0],
 * drv[1]): a driver keeps its position in the address walk in a global of
 * its own, which two CPUs would otherwise both write for every frame. */
static double run_on_cpus(struct driver *drv, const struct frame *f,
                          uint32_t repeat, int cpus) {
  struct worker w[2];
  pthread_t th[2];
  pthread_barrier_t start;
  double sum = 0;

  pthread_barrier_init(&start, NULL, (unsigned)cpus);
  for (int i = 0; i < cpus; i++) {
    w[i] = (struct worker){
        .drv = &drv[i], .f = f, .repeat = repeat, .cpu = i, .start = &start};
    check(pthread_create(&th[i], NULL, work, &w[i]) == 0, "thread");
  }
  for (int i = 0; i < cpus; i++) {
    pthread_join(th[i], NULL);
    sum += w[i].ns;
  }
  pthread_barrier_destroy(&start);
  return sum / cpus;
}

/* The plugin's XDP program (not the multi-buffer one) among progs. */
static int plugin_xdp(const struct prog_ref *progs, int np) {
  for (int i = 0; i < np; i++)
    if (progs[i].type == BPF_PROG_TYPE_XDP && !strstr(progs[i].name, "frag"))
      return progs[i].fd;
  check(false, "no XDP program in the plugin");
  return -1;
}

/* The per-CPU reference, the atomic variant and the plugin with one hot
 * IPv4 address, on one CPU and on two at once: the plugin once with the
 * address in its shared table (a remote address) and once as the node's
 * own address, in its per-CPU hot table. */
static void run_contention(void) {
  enum { C_BARE, C_REF, C_ATOMIC, C_PLUGIN, C_PLUGIN_HOT, NC };
  static const char *const names[NC] = {"bare", "reference (per-CPU)",
                                        "atomic (shared values)",
                                        "plugin, remote address (shared table)",
                                        "plugin, own address (hot table)"};
  struct bpf_object *bare, *ref, *atomic;
  struct prog_ref progs[8], hot_progs[8];
  struct itr_loader *loader, *hot_loader;
  struct driver drv[NC][2];
  double one[NC][MAX_ROUNDS], both[NC][MAX_ROUNDS], m1[NC], m2[NC];
  int fds[NC] = {-1, -1, -1, -1, -1}, np, hot_np, err;
  struct frame f;

  if (libbpf_num_possible_cpus() < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2)
    return;
  frame_build(&f, FRAME_IPV4, NULL);
  err = itr_loader_open(&loader, 65536);
  check(err == 0, "loading the plugin: %s", strerror(-err));
  np = progs_using_map(itr_loader_map_fd(loader), progs, 8);
  fds[C_PLUGIN] = plugin_xdp(progs, np);
  err = itr_loader_open(&hot_loader, 65536);
  check(err == 0, "loading the plugin: %s", strerror(-err));
  hot_np = progs_using_map(itr_loader_map_fd(hot_loader), hot_progs, 8);
  fds[C_PLUGIN_HOT] = plugin_xdp(hot_progs, hot_np);
  bare = load_obj(bench_bare__elf_bytes, "bare", 65536);
  ref = load_obj(bench_ref__elf_bytes, "reference", 65536);
  atomic = load_obj(bench_ref_atomic__elf_bytes, "atomic", 65536);
  fds[C_BARE] = prog_fd(bare, "bare_xdp");
  fds[C_REF] = prog_fd(ref, "ref_xdp");
  fds[C_ATOMIC] = prog_fd(atomic, "ref_xdp");
  for (int c = 0; c < NC; c++)
    for (int d = 0; d < 2; d++) {
      check(driver_open(&drv[c][d], fds[c], false, &f, 1) == 0, "driver");
      check(driver_run(&drv[c][d], &f, 1000, NULL) == 0, "run");
    }
  bench_make_busiest_hot(hot_loader, 16);
  for (int r = 0; r < rounds; r++)
    for (int k = 0; k < NC; k++) {
      int c = (k + r) % NC;

      one[c][r] = run_on_cpus(drv[c], &f, 300000, 1);
      both[c][r] = run_on_cpus(drv[c], &f, 300000, 2);
    }
  for (int c = 0; c < NC; c++) {
    m1[c] = median(one[c], rounds);
    m2[c] = median(both[c], rounds);
    driver_close(&drv[c][0]);
    driver_close(&drv[c][1]);
  }

  printf("\n### One hot address from two CPUs at once (XDP, IPv4, ns/frame; "
         "\"+\" over bare)\n\n");
  printf("Every frame has the same source and destination; the same program "
         "runs on one CPU, then on both CPUs at the same time.\n\n");
  printf("| |");
  for (int c = 0; c < NC; c++)
    printf(" %s |", names[c]);
  printf("\n|---|");
  for (int c = 0; c < NC; c++)
    printf("---:|");
  printf("\n| one CPU | %.0f |", m1[C_BARE]);
  for (int c = 1; c < NC; c++)
    printf(" %.0f (+%.0f) |", m1[c], m1[c] - m1[C_BARE]);
  printf("\n| both CPUs | %.0f |", m2[C_BARE]);
  for (int c = 1; c < NC; c++)
    printf(" %.0f (+%.0f) |", m2[c], m2[c] - m2[C_BARE]);
  printf("\n| both / one (added cost) | |");
  for (int c = 1; c < NC; c++) {
    double a1 = m1[c] - m1[C_BARE], a2 = m2[c] - m2[C_BARE];

    printf(" %.2fx |", a1 > 0 ? a2 / a1 : 0);
  }
  printf("\n");
  bpf_object__close(bare);
  bpf_object__close(ref);
  bpf_object__close(atomic);
  for (int i = 0; i < np; i++)
    close(progs[i].fd);
  for (int i = 0; i < hot_np; i++)
    close(hot_progs[i].fd);
  itr_loader_close(loader);
  itr_loader_close(hot_loader);
}

static const char *verdict(double ratio, double limit) {
  return ratio <= limit ? "met" : "MISSED";
}

/* Target tally: [0] few addresses, [1] 100k and more. */
static int tally_met[2], tally_rows[2];
static double tally_min[2] = {1e9, 1e9}, tally_max[2];

static void print_row(const char *hook, enum frame_kind kind, uint32_t n,
                      const struct result *r) {
  double ref_add = r->ref - r->bare;
  double plug_add = r->plugin - r->bare;
  double ratio = ref_add > 0 ? plug_add / ref_add : 0;
  double limit = n <= 1000 ? 1.1 : 0.9;
  int t = n <= 1000 ? 0 : 1;

  printf("| %s | %s | %u | %.0f | %.0f (+%.0f) |", hook, frame_name(kind), n,
         r->bare, r->ref, ref_add);
  if (!r->have_plugin) {
    printf(" no such program in this build | | |\n");
    return;
  }
  printf(" %.0f (+%.0f) | %.2fx | <= %.1fx: %s |\n", r->plugin, plug_add, ratio,
         limit, verdict(ratio, limit));
  if (n > 1000 && n < 100000)
    return;
  tally_rows[t]++;
  tally_met[t] += ratio <= limit;
  tally_min[t] = ratio < tally_min[t] ? ratio : tally_min[t];
  tally_max[t] = ratio > tally_max[t] ? ratio : tally_max[t];
}

int main(int argc, char **argv) {
  struct result xdp[FRAME_KINDS][MAX_COUNTS], tc[FRAME_KINDS][MAX_COUNTS];
  struct result frags[FRAME_KINDS][MAX_COUNTS];
  struct target *keep = calloc(MAX_COUNTS * MAX_TARGETS, sizeof(*keep));
  int nkeep[MAX_COUNTS] = {0};
  bool own_counts = false, own_frames = false;
  int opt;

  while ((opt = getopt(argc, argv, "r:n:f:")) != -1) {
    if (opt == 'r') {
      rounds = atoi(optarg);
    } else if (opt == 'n') {
      if (!own_counts)
        ncounts = 0;
      own_counts = true;
      check(ncounts < MAX_COUNTS, "too many -n");
      counts[ncounts++] = (uint32_t)strtoul(optarg, NULL, 0);
    } else if (opt == 'f') {
      if (!own_frames)
        memset(frames_on, 0, sizeof(frames_on));
      own_frames = true;
      frames_on[FRAME_IPV4] |= strcmp(optarg, "ipv4") == 0;
      frames_on[FRAME_IPV6] |= strcmp(optarg, "ipv6") == 0;
      frames_on[FRAME_VLAN] |= strcmp(optarg, "vlan") == 0;
    } else {
      fprintf(stderr,
              "usage: %s [-r ROUNDS] [-n ADDRESSES]... "
              "[-f ipv4|ipv6|vlan]...\n",
              argv[0]);
      return 2;
    }
  }
  check(rounds >= 1 && rounds <= MAX_ROUNDS, "ROUNDS must be 1..%d",
        MAX_ROUNDS);
  check(keep != NULL, "out of memory");
  memset(xdp, 0, sizeof(xdp));
  memset(tc, 0, sizeof(tc));
  memset(frags, 0, sizeof(frags));
  ncpus = libbpf_num_possible_cpus();
  for (size_t c = 0; c < ncounts; c++)
    for (int k = 0; k < FRAME_KINDS; k++)
      if (frames_on[k])
        run_case((enum frame_kind)k, counts[c], &xdp[k][c], &tc[k][c],
                 &frags[k][c], &keep[c * MAX_TARGETS], &nkeep[c]);

  printf("### Data plane in the kernel (bpf_prog_test_run, ns/frame, "
         "median of %d)\n\n",
         rounds);
  printf("64-byte frames, distinct source addresses in scattered order, one "
         "destination; tables of max(65536, 1.25 x addresses) entries. "
         "\"+\" is the cost over the bare program; the ratio compares that "
         "cost with the minimal reference (per-CPU hash, lookup per "
         "address).\n\n");
  printf("| hook | frame | addresses | bare | reference | plugin | "
         "plugin/reference | target |\n");
  printf("|---|---|---:|---:|---:|---:|---:|---|\n");
  for (int k = 0; k < FRAME_KINDS; k++)
    for (size_t c = 0; c < ncounts && frames_on[k]; c++)
      print_row("xdp", (enum frame_kind)k, counts[c], &xdp[k][c]);
  for (size_t c = 0; c < ncounts; c++)
    if (frags[FRAME_IPV4][c].have_plugin)
      print_row("xdp.frags", FRAME_IPV4, counts[c], &frags[FRAME_IPV4][c]);
  for (int k = 0; k < FRAME_KINDS; k++)
    for (size_t c = 0; c < ncounts && frames_on[k]; c++)
      print_row("tc", (enum frame_kind)k, counts[c], &tc[k][c]);

  printf("\nTargets: plugin/reference <= 1.1x with few addresses (1, 1k): "
         "met in %d of %d rows (%.2fx to %.2fx); <= 0.9x at 100k and 1M: "
         "met in %d of %d rows (%.2fx to %.2fx).\n",
         tally_met[0], tally_rows[0], tally_min[0], tally_max[0], tally_met[1],
         tally_rows[1], tally_min[1], tally_max[1]);

  printf("\n### Kernel layout experiments (XDP, IPv4, ns/frame over bare; "
         "ratio to the reference)\n\n");
  for (size_t v = 0; v < NVARIANTS; v++)
    printf("- %s: %s\n", variants[v].label, variants[v].what);
  printf("\n| addresses |");
  for (size_t v = 0; v < NVARIANTS; v++)
    printf(" %s |", variants[v].label);
  printf(" plugin |\n|---:|");
  for (size_t v = 0; v <= NVARIANTS; v++)
    printf("---:|");
  printf("\n");
  for (size_t c = 0; c < ncounts; c++) {
    const struct target *t = &keep[c * MAX_TARGETS];
    double bare = 0, ref = 0, plugin = -1;
    double add[NVARIANTS] = {0};

    for (int i = 0; i < nkeep[c]; i++) {
      if (t[i].role == ROLE_BARE)
        bare = t[i].ns;
      else if (t[i].role == ROLE_PLUGIN)
        plugin = t[i].ns;
    }
    for (int i = 0; i < nkeep[c]; i++)
      if (t[i].variant >= 0)
        add[t[i].variant] = t[i].ns - bare;
    ref = add[0];
    printf("| %u |", counts[c]);
    for (size_t v = 0; v < NVARIANTS; v++)
      printf(" +%.0f (%.2fx) |", add[v], ref > 0 ? add[v] / ref : 0);
    if (plugin >= 0)
      printf(" +%.0f (%.2fx) |\n", plugin - bare,
             ref > 0 ? (plugin - bare) / ref : 0);
    else
      printf(" — |\n");
  }
  /* Memory of each layout at the largest size. */
  {
    size_t c = ncounts - 1;
    const struct target *t = &keep[c * MAX_TARGETS];
    uint32_t cap = capacity_for(counts[c]);

    printf("| bytes/entry, %d CPUs |", ncpus);
    for (size_t v = 0; v < NVARIANTS; v++)
      for (int i = 0; i < nkeep[c]; i++)
        if (t[i].variant == (int)v)
          printf(" %.0f%s |", per_entry(&t[i], cap, counts[c], ncpus),
                 t[i].prealloc ? "" : "*");
    printf(" |\n| bytes/entry, 64 CPUs |");
    for (size_t v = 0; v < NVARIANTS; v++)
      for (int i = 0; i < nkeep[c]; i++)
        if (t[i].variant == (int)v)
          printf(" %.0f%s |", per_entry(&t[i], cap, counts[c], 64),
                 t[i].prealloc ? "" : "*");
    printf(" |\n");
    printf("\nbytes/entry with %u addresses (key8: its IPv4 table): "
           "preallocated tables: memlock (fdinfo) / their %u entries; "
           "*: allocated on demand, the kernel's accounting computed from "
           "the layout per entry in use (this kernel's memlock leaves them "
           "out); 64 CPUs: computed from the layout.\n",
           counts[c], cap);
  }
  run_contention();
  free(keep);
  return 0;
}
