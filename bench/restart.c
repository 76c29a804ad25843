/*
 * itr-bench-restart: what a restart costs with pinned tables, by the path
 * the plugin takes (src/iptraffic.c, prepare_pins/finish_pins):
 *
 *   fresh    load the programs with new tables (no PinPath, or nothing
 *            pinned yet)
 *   reuse    load them with the pinned tables (same configuration: every
 *            restart of an unchanged node)
 *   stash    read the pinned tables into the plugin's form (before a
 *            carry-over)
 *   restore  write the entries into new tables before the programs
 *            switch (other sizes, before Linux 5.14)
 *   merge    add them into new tables the programs count in already
 *            (other sizes, Linux 5.14 and later: nothing lost)
 *
 *   itr-bench-restart [-n ENTRIES]... [-r ROUNDS]
 *
 * IPv4 entries of distinct addresses fill the pinned table; the new
 * tables are twice as large. Rounds interleave the paths; the report
 * gives medians in milliseconds and, for the per-entry paths, the cost
 * per entry. Runs in a mount namespace of its own, with a BPF filesystem
 * on a temporary directory: nothing outlives it.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "common.h"
#include "iptraffic.h"
#include "loader.h"
#include "pins.h"

#define MAX_SIZES 8
#define MAX_ROUNDS 32

enum path { FRESH, REUSE, STASH, RESTORE, MERGE, PATHS };

static char dir[64];

static struct itr_loader *load(uint32_t ipv4, const char *pin_dir) {
  const struct itr_loader_opts o = {
      .ipv4 = ipv4, .ipv6 = ipv4 / 4, .interfaces = 1, .pin_dir = pin_dir};
  struct itr_loader *l;
  int err = itr_loader_open_config(&l, &o, NULL);

  check(err == 0, "loading the programs: %s", strerror(-err));
  return l;
}

/* Pins tables of n entries under dir. */
static void pin_tables(uint32_t n) {
  const struct iptraffic_value v = {100, 1, 200, 2};
  struct itr_loader *l = load(n, dir);
  struct itr_maps m;

  itr_loader_maps(l, &m);
  for (uint32_t i = 0; i < n; i++) {
    struct iptraffic_key4 k = {.ifindex = 1, .addr = htobe32(0x0a000000u + i)};

    check(bpf_map_update_elem(m.addr4, &k, &v, BPF_NOEXIST) == 0,
          "filling the table: %s", strerror(errno));
  }
  itr_loader_close(l);
}

static double ms_since(uint64_t t0) {
  return (double)(now_ns() - t0) / 1e6;
}

/* One round of every path on the tables pinned with n entries. */
static void round_once(struct itr_pins *p, uint32_t n, double *out) {
  struct itr_pins_stash *s;
  struct itr_loader *l;
  struct itr_maps m;
  size_t entries, kept, dropped;
  uint64_t t0;

  t0 = now_ns();
  l = load(n, NULL);
  out[FRESH] = ms_since(t0);
  itr_loader_close(l);

  t0 = now_ns();
  l = load(n, dir);
  out[REUSE] = ms_since(t0);
  itr_loader_close(l);

  for (int merge = 0; merge < 2; merge++) {
    int err;

    t0 = now_ns();
    err = itr_pins_stash(p, IPTRAFFIC_SCHEMA_VERSION, &s, &entries);
    check(err == 0 && entries == n, "stash: %s, %zu entries", strerror(-err),
          entries);
    out[STASH] = ms_since(t0);
    l = load(2 * n, NULL);
    itr_loader_maps(l, &m);
    if (merge)
      check(itr_loader_has_merge(l), "no merge program in this kernel");
    t0 = now_ns();
    err = merge ? itr_pins_merge(s, l, &kept, &dropped)
                : itr_pins_restore(s, &m, &kept, &dropped);
    out[merge ? MERGE : RESTORE] = ms_since(t0);
    check(err == 0 && kept == n && dropped == 0, "%s: %s, %zu kept",
          merge ? "merge" : "restore", strerror(-err), kept);
    itr_loader_close(l);
  }
}

int main(int argc, char **argv) {
  uint32_t sizes[MAX_SIZES];
  int nsizes = 0, rounds = 5, c;

  while ((c = getopt(argc, argv, "n:r:")) != -1) {
    if (c == 'n' && nsizes < MAX_SIZES)
      sizes[nsizes++] = (uint32_t)strtoul(optarg, NULL, 10);
    else if (c == 'r')
      rounds = atoi(optarg);
    else {
      fprintf(stderr, "usage: %s [-n ENTRIES]... [-r ROUNDS]\n", argv[0]);
      return 2;
    }
  }
  if (!nsizes) {
    sizes[nsizes++] = 20000;
    sizes[nsizes++] = 65536;
  }
  check(rounds > 0 && rounds <= MAX_ROUNDS, "rounds: 1..%d", MAX_ROUNDS);
  check(unshare(CLONE_NEWNS) == 0, "unshare: %s", strerror(errno));
  check(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
        "making mounts private: %s", strerror(errno));
  snprintf(dir, sizeof(dir), "/tmp/itr-bench-restart.%d", (int)getpid());
  check(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
  check(mount("bpf", dir, "bpf", 0, "mode=0700") == 0, "mounting bpffs: %s",
        strerror(errno));

  printf("### Restarts with pinned tables (ms, median of %d)\n\n", rounds);
  printf("What a start costs by the path it takes: fresh = load the programs "
         "with new tables; reuse = load them with the pinned tables (an "
         "unchanged configuration: the programs never stopped counting); "
         "stash = read the pinned tables; restore = write the entries into "
         "new tables of twice the size before the programs switch (before "
         "Linux 5.14); merge = add them into new tables the programs already "
         "count in (Linux 5.14 on, no frame lost). IPv4 entries, one "
         "interface, in a mount namespace of its own.\n\n");
  printf("| entries | fresh load ms | reuse load ms | stash ms | restore ms "
         "| merge ms | stash+merge us/entry | merge/restore |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  for (int k = 0; k < nsizes; k++) {
    double v[PATHS][MAX_ROUNDS], med[PATHS];
    struct itr_pins *p;
    enum itr_pins_problem why;
    char where[256];
    bool mounted;
    int err;

    pin_tables(sizes[k]);
    err = itr_pins_open(dir, &p, &why, where, sizeof(where), &mounted);
    check(err == 0, "opening %s: %s", where, strerror(-err));
    for (int r = 0; r < rounds; r++) {
      double out[PATHS];

      round_once(p, sizes[k], out);
      for (int i = 0; i < PATHS; i++)
        v[i][r] = out[i];
    }
    for (int i = 0; i < PATHS; i++)
      med[i] = median(v[i], rounds);
    printf("| %u | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2fx |\n",
           sizes[k], med[FRESH], med[REUSE], med[STASH], med[RESTORE],
           med[MERGE], (med[STASH] + med[MERGE]) * 1e3 / sizes[k],
           med[MERGE] / med[RESTORE]);
    check(itr_pins_drop_tables(p) == 0, "unpinning");
    itr_pins_close(p);
  }
  umount(dir);
  rmdir(dir);
  return 0;
}
