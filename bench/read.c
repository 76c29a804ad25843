/*
 * Read path and memory: the plugin's table prefilled to 1k, 10k, 100k and
 * 1M addresses (by running frames through its own XDP program, so the
 * bench does not depend on the key layout), then timed with the plugin's
 * own reader and snapshot code:
 *   pass   itr_reader_pass: batch lookups, per-CPU sums, change detection
 *   scan   itr_table_collect_idle with nothing idle (the expiry check)
 *   delete itr_reader_delete per expired address (one syscall each)
 * Beside them, to show where the time goes and what a different snapshot
 * would cost:
 *   raw    the batch lookups alone (kernel copy-out, no userspace work)
 *   ordered  batch lookups + a snapshot compared by position (the kernel
 *          returns keys in the same order while the table is unchanged):
 *          no hashing, sequential memory
 *   layouts  the batch lookups alone on the tables of the kernel-layout
 *          experiments (bench/bpf/ref.bpf.c), filled the same way
 * and the memory: the kernel maps' memlock (fdinfo) per MaxEntries entry
 * with the default shape (MaxEntriesIPv6 a quarter of MaxEntries, one
 * interface), also computed from the maps' layout for this host, 64 and
 * 256 CPUs, next to schema 2's per-CPU table; and this process's RSS
 * growth for the snapshot, per address.
 *
 * Usage: itr-bench-read [-R ROUNDS] [-n ADDRESSES]...   (root)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "loader.h"
#include "reader.h"
#include "table.h"

#include "bench_ref.skel.h"
#include "bench_ref_atomic.skel.h"
#include "bench_ref_key8.skel.h"

#define MAX_ROUNDS 21
#define MAX_COUNTS 8
#define DELETE_SAMPLE 2000

struct row {
  uint32_t n, cap;
  double first_us, pass_us, scan_us, delete_us; /* per address */
  double raw_us, ordered_us;                    /* per address */
  double layout_us[3];                          /* raw, per address */
  double user_b;                                /* per address */
  uint32_t key_size, value_size, type;
};

/* Kernel memory per MaxEntries entry, all maps of the plugin. */
struct mem_row {
  uint32_t n;
  long long memlock;              /* fdinfo, this host */
  double here, at64, at256;       /* from the layout, per entry */
  double old_here, old64, old256; /* schema 2's per-CPU table */
};

static int rounds = 5;

struct layout {
  const char *label;
  const void *(*elf)(size_t *sz);
};

static const struct layout layouts[] = {
    {"reference (per-CPU hash)", bench_ref__elf_bytes},
    {"atomic (plain hash)", bench_ref_atomic__elf_bytes},
    {"key8 (per-CPU, 8-byte IPv4 key)", bench_ref_key8__elf_bytes},
};
#define NLAYOUTS 3

static uint64_t far_future = UINT64_MAX / 4;

/* Batch lookups over the whole map, 1024 keys at a time (as the plugin's
 * reader does). With snap, also the ordered snapshot: each entry is
 * compared with the key and values at the same position last time and
 * copied when they differ. Returns the number of entries. */
static size_t batch_read(int fd, uint32_t key_size, uint32_t value_size,
                         int ncpus, uint8_t *snap, size_t snap_max) {
  const uint32_t batch = 1024;
  size_t vbytes = (size_t)(value_size + 7) / 8 * 8 * ncpus;
  size_t ebytes = key_size + vbytes;
  uint8_t *keys = malloc((size_t)batch * key_size);
  uint8_t *values = malloc((size_t)batch * vbytes);
  uint8_t out[64];
  bool first = true;
  size_t total = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);

  check(keys && values && key_size <= sizeof(out), "batch buffers");
  for (;;) {
    uint32_t count = batch;
    int err = bpf_map_lookup_batch(fd, first ? NULL : out, out, keys, values,
                                   &count, &opts);

    if (err < 0 && errno != ENOENT)
      check(false, "batch lookup: %s", strerror(errno));
    first = false;
    for (uint32_t i = 0; snap && i < count && total + i < snap_max; i++) {
      uint8_t *e = snap + (total + i) * ebytes;

      if (memcmp(e, keys + (size_t)i * key_size, key_size) != 0 ||
          memcmp(e + key_size, values + i * vbytes, vbytes) != 0) {
        memcpy(e, keys + (size_t)i * key_size, key_size);
        memcpy(e + key_size, values + i * vbytes, vbytes);
      }
    }
    total += count;
    if (err < 0)
      break;
  }
  free(keys);
  free(values);
  return total;
}

static void run(uint32_t n, struct row *row) {
  uint32_t cap = n + 16;
  double pass[MAX_ROUNDS], scan[MAX_ROUNDS], raw[MAX_ROUNDS],
      ordered[MAX_ROUNDS], lraw[NLAYOUTS][MAX_ROUNDS];
  struct bpf_object *lobj[NLAYOUTS];
  int lfd[NLAYOUTS];
  uint32_t lkey[NLAYOUTS], lvalue[NLAYOUTS], ltype[NLAYOUTS], lmax;
  int ncpus = libbpf_num_possible_cpus();
  uint8_t *snap;
  size_t snap_entry;
  struct itr_loader *loader;
  struct itr_reader *reader;
  struct itr_table *table;
  struct iptraffic_key *keys;
  struct itr_maps maps;
  struct prog_ref progs[8];
  struct driver drv;
  struct frame f;
  long long rss0, rss1;
  uint32_t max_entries;
  int np, xdp = -1, err;
  size_t got;
  uint64_t t0;

  memset(row, 0, sizeof(*row));
  row->n = n;
  row->cap = cap;
  err = itr_loader_open(&loader, cap);
  check(err == 0, "loading the plugin: %s", strerror(-err));
  np = progs_using_map(itr_loader_map_fd(loader), progs, 8);
  for (int i = 0; i < np; i++)
    if (progs[i].type == BPF_PROG_TYPE_XDP && !strstr(progs[i].name, "frag") &&
        xdp < 0)
      xdp = progs[i].fd;
  check(xdp >= 0, "no XDP program in the plugin");
  frame_build(&f, FRAME_IPV4, NULL);
  err = driver_open(&drv, xdp, false, &f, n);
  check(err == 0, "driver: %s", strerror(-err));
  check(driver_run(&drv, &f, n, NULL) == 0, "prefill");
  driver_close(&drv);

  for (int l = 0; l < NLAYOUTS; l++) {
    size_t sz;
    const void *elf = layouts[l].elf(&sz);
    struct bpf_program *prog;

    lobj[l] = open_elf(elf, sz, "layout");
    check(lobj[l] && size_hash_maps(lobj[l], cap) == 0 &&
              bpf_object__load(lobj[l]) == 0,
          "loading %s", layouts[l].label);
    prog = bpf_object__find_program_by_name(lobj[l], "ref_xdp");
    err = driver_open(&drv, bpf_program__fd(prog), false, &f, n);
    check(err == 0, "driver: %s", strerror(-err));
    check(driver_run(&drv, &f, n, NULL) == 0, "prefill");
    driver_close(&drv);
    lfd[l] = bpf_object__find_map_fd_by_name(lobj[l], "ref_counters");
    check(map_layout(lfd[l], &lkey[l], &lvalue[l], &lmax, &ltype[l]) == 0,
          "map info");
  }

  check(map_layout(itr_loader_map_fd(loader), &row->key_size, &row->value_size,
                   &max_entries, &row->type) == 0,
        "map info");

  rss0 = rss_bytes();
  itr_loader_maps(loader, &maps);
  err = itr_reader_new(&reader, &maps);
  table = itr_table_new(cap);
  check(err == 0 && table, "reader/table");
  t0 = now_ns();
  err = itr_reader_pass(reader, table, 1);
  row->first_us = (double)(now_ns() - t0) / 1e3 / n;
  check(err == 0, "first pass: %s", strerror(-err));
  rss1 = rss_bytes();
  row->user_b = (double)(rss1 - rss0) / n;
  check(itr_table_count(table) >= n, "the table holds %zu keys, not %u",
        itr_table_count(table), n);

  /* The ordered snapshot, filled once like the plugin's first pass. */
  snap_entry = row->key_size + (size_t)(row->value_size + 7) / 8 * 8 * ncpus;
  snap = calloc(cap, snap_entry);
  keys = calloc(cap, sizeof(*keys));
  check(snap && keys, "out of memory");
  batch_read(itr_loader_map_fd(loader), row->key_size, row->value_size, ncpus,
             snap, cap);

  /* Interleaved: plugin pass, scan, raw batch read, ordered snapshot. */
  for (int r = 0; r < rounds; r++) {
    t0 = now_ns();
    err = itr_reader_pass(reader, table, 2 + (uint64_t)r);
    pass[r] = (double)(now_ns() - t0) / 1e3 / n;
    check(err == 0, "pass: %s", strerror(-err));
    t0 = now_ns();
    got = itr_table_collect_idle(table, 2 + (uint64_t)r, far_future, keys, cap);
    scan[r] = (double)(now_ns() - t0) / 1e3 / n;
    check(got == 0, "nothing should be idle");
    t0 = now_ns();
    batch_read(itr_loader_map_fd(loader), row->key_size, row->value_size, ncpus,
               NULL, 0);
    raw[r] = (double)(now_ns() - t0) / 1e3 / n;
    t0 = now_ns();
    batch_read(itr_loader_map_fd(loader), row->key_size, row->value_size, ncpus,
               snap, cap);
    ordered[r] = (double)(now_ns() - t0) / 1e3 / n;
    for (int l = 0; l < NLAYOUTS; l++) {
      int cpus = ltype[l] == BPF_MAP_TYPE_PERCPU_HASH ? ncpus : 1;

      t0 = now_ns();
      batch_read(lfd[l], lkey[l], lvalue[l], cpus, NULL, 0);
      lraw[l][r] = (double)(now_ns() - t0) / 1e3 / n;
    }
  }
  for (int l = 0; l < NLAYOUTS; l++) {
    row->layout_us[l] = median(lraw[l], rounds);
    bpf_object__close(lobj[l]);
  }
  row->pass_us = median(pass, rounds);
  row->scan_us = median(scan, rounds);
  row->raw_us = median(raw, rounds);
  row->ordered_us = median(ordered, rounds);
  free(snap);
  free(keys);

  /* Expiry of a sample of addresses: everything is idle at far_future. */
  keys = calloc(DELETE_SAMPLE, sizeof(*keys));
  check(keys != NULL, "out of memory");
  got = itr_table_collect_idle(table, far_future, 1, keys, DELETE_SAMPLE);
  t0 = now_ns();
  for (size_t i = 0; i < got; i++) {
    struct itr_counters last;

    check(itr_reader_delete(reader, &keys[i], &last) == 0, "delete: %s",
          strerror(errno));
  }
  row->delete_us = got ? (double)(now_ns() - t0) / 1e3 / got : 0;
  free(keys);

  itr_table_free(table);
  itr_reader_free(reader);
  for (int i = 0; i < np; i++)
    close(progs[i].fd);
  itr_loader_close(loader);
}

static void memory(uint32_t n, struct mem_row *m) {
  const struct itr_loader_opts sizes = {
      .ipv4 = n, .ipv6 = n / 4 < 16 ? 16 : n / 4, .interfaces = 1};
  int ncpus = libbpf_num_possible_cpus();
  struct itr_loader *loader;
  struct prog_ref progs[8];
  long long ml;
  int np, err;

  memset(m, 0, sizeof(*m));
  m->n = n;
  err = itr_loader_open_config(&loader, &sizes, NULL);
  check(err == 0, "loading the plugin: %s", strerror(-err));
  np = progs_using_map(itr_loader_map_fd(loader), progs, 8);
  m->here = maps_layout_bytes(progs, np, ncpus, &m->memlock) / n;
  m->at64 = maps_layout_bytes(progs, np, 64, &ml) / n;
  m->at256 = maps_layout_bytes(progs, np, 256, &ml) / n;
  /* Schema 2: one per-CPU hash of 24-byte keys, MaxEntries plus the three
   * special keys of the interface. */
  m->old_here =
      map_layout_bytes(BPF_MAP_TYPE_PERCPU_HASH, true, 24, 32, n + 3, ncpus) /
      n;
  m->old64 =
      map_layout_bytes(BPF_MAP_TYPE_PERCPU_HASH, true, 24, 32, n + 3, 64) / n;
  m->old256 =
      map_layout_bytes(BPF_MAP_TYPE_PERCPU_HASH, true, 24, 32, n + 3, 256) / n;
  for (int i = 0; i < np; i++)
    close(progs[i].fd);
  itr_loader_close(loader);
}

int main(int argc, char **argv) {
  uint32_t counts[MAX_COUNTS] = {1000, 10000, 100000, 1000000};
  int ncounts = 4, opt, ncpus = libbpf_num_possible_cpus();
  bool own = false;
  struct row rows[MAX_COUNTS];
  struct mem_row mem[MAX_COUNTS];
  const uint32_t mem_counts[] = {1024, 65536, 1048576, 16777216};
  const int nmem = 4;

  while ((opt = getopt(argc, argv, "R:n:")) != -1) {
    if (opt == 'R') {
      rounds = atoi(optarg);
    } else if (opt == 'n') {
      if (!own)
        ncounts = 0;
      own = true;
      check(ncounts < MAX_COUNTS, "too many -n");
      counts[ncounts++] = (uint32_t)strtoul(optarg, NULL, 0);
    } else {
      fprintf(stderr, "usage: %s [-R ROUNDS] [-n ADDRESSES]...\n", argv[0]);
      return 2;
    }
  }
  check(rounds >= 1 && rounds <= MAX_ROUNDS, "ROUNDS must be 1..%d",
        MAX_ROUNDS);
  for (int i = 0; i < ncounts; i++)
    run(counts[i], &rows[i]);
  for (int i = 0; i < nmem; i++)
    memory(mem_counts[i], &mem[i]);

  printf("### Read path: the plugin's reader and snapshot (us per address, "
         "median of %d passes)\n\n",
         rounds);
  printf("Table prefilled through the plugin's XDP program; MaxEntries = "
         "addresses. pass = batch read + per-CPU sum + delta; scan = expiry "
         "check; read work = pass + scan. delete = expiring one address "
         "(one syscall each; only for addresses that expire).\n\n");
  printf("| addresses | first pass | pass | scan | read work | target | "
         "delete | raw batch read | ordered snapshot | ordered/plugin |\n");
  printf("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
  for (int i = 0; i < ncounts; i++) {
    const struct row *r = &rows[i];
    double work = r->pass_us + r->scan_us;

    printf("| %u | %.3f | %.3f | %.3f | %.3f |", r->n, r->first_us, r->pass_us,
           r->scan_us, work);
    if (r->n >= 1000000)
      printf(" <= 0.5 us: %s |", work <= 0.5 ? "met" : "MISSED");
    else
      printf(" |");
    printf(" %.2f | %.3f | %.3f | %.2fx |\n", r->delete_us, r->raw_us,
           r->ordered_us, work > 0 ? r->ordered_us / work : 0);
  }

  for (int i = 0; i < ncounts; i++)
    if (rows[i].n == 1000000)
      printf("\nTarget: read work <= 0.5 us per address at 1M addresses: "
             "%.3f us, %s.\n",
             rows[i].pass_us + rows[i].scan_us,
             rows[i].pass_us + rows[i].scan_us <= 0.5 ? "met" : "MISSED");
  printf("\nBatch lookups alone (us per address) on the tables of the "
         "kernel-layout experiments, side by side with the plugin's:\n\n");
  printf("| addresses | plugin |");
  for (int l = 0; l < NLAYOUTS; l++)
    printf(" %s |", layouts[l].label);
  printf("\n|---:|---:|");
  for (int l = 0; l < NLAYOUTS; l++)
    printf("---:|");
  printf("\n");
  for (int i = 0; i < ncounts; i++) {
    printf("| %u | %.3f |", rows[i].n, rows[i].raw_us);
    for (int l = 0; l < NLAYOUTS; l++)
      printf(" %.3f (%.2fx) |", rows[i].layout_us[l],
             rows[i].raw_us > 0 ? rows[i].layout_us[l] / rows[i].raw_us : 0);
    printf("\n");
  }

  printf("\n### Kernel memory per table entry (bytes per MaxEntries entry, "
         "all maps of the plugin)\n\n");
  printf("The plugin loaded with MaxEntries N, MaxEntriesIPv6 N/4 (the "
         "default) and one interface: memlock = the maps' memlock in "
         "fdinfo / N; layout = computed from the maps' types and sizes (hash "
         "elements of 48 bytes + key + value, rounded to 8; 16-byte buckets, "
         "a power of two; one spare element per CPU in each shared hash; "
         "per-CPU values in the hot table), for this host's %d possible "
         "CPUs and for 64 and 256. Schema 2 = the former per-CPU table of "
         "24-byte keys, computed the same way.\n\n",
         ncpus);
  printf("| MaxEntries | memlock (%d CPUs) | layout (%d CPUs) | 64 CPUs | 256 "
         "CPUs | target (<= 150 at 64 and 256) | schema 2: %d / 64 / 256 "
         "CPUs |\n",
         ncpus, ncpus, ncpus);
  printf("|---:|---:|---:|---:|---:|---|---:|\n");
  for (int i = 0; i < nmem; i++) {
    const struct mem_row *m = &mem[i];

    printf("| %u | %.0f | %.0f | %.0f | %.0f | %s | %.0f / %.0f / %.0f |\n",
           m->n, (double)m->memlock / m->n, m->here, m->at64, m->at256,
           m->at64 <= 150 && m->at256 <= 150 ? "met" : "MISSED", m->old_here,
           m->old64, m->old256);
  }
  printf("\nUserspace, per tracked address: the RSS growth of the plugin's "
         "reader and snapshot after their first pass (independent of the "
         "CPU count).\n\n");
  printf("| addresses | user | kernel (64 CPUs, at MaxEntries = addresses) | "
         "(kernel+user)/kernel |\n|---:|---:|---:|---:|\n");
  for (int i = 0; i < ncounts; i++) {
    double k = 0;

    for (int j = 0; j < nmem; j++)
      if (mem[j].n >= rows[i].n && k == 0)
        k = mem[j].at64;
    printf("| %u | %.0f | %.0f | %.2fx |\n", rows[i].n, rows[i].user_b, k,
           k > 0 ? (k + rows[i].user_b) / k : 0);
  }
  return 0;
}
