/*
 * Data plane, live: frames from a generator on one end of a veth pair,
 * counted on the other end, where the receive rate is measured with no
 * program, with the plugin's XDP program, with the minimal reference and
 * with an nftables netdev-ingress table counting per address in dynamic
 * sets (src and dst, IPv4 and IPv6), in interleaved rounds.
 *
 * Usage: itr-bench-live -g NS -i IF -r NS -j IF [-s SECONDS] [-R ROUNDS]
 *                       [-n SOURCES]...
 *   -g/-i  namespace and interface of the sending end
 *   -r/-j  namespace and interface of the receiving end
 * The namespaces must exist (bench/run.sh creates them); root.
 *
 * The generator is an XDP program run with BPF_F_TEST_XDP_LIVE_FRAMES on
 * the sending veth, in a child process on CPU 0: it gives each 64-byte
 * IPv4/UDP frame the next of SOURCES source addresses and sends it with
 * XDP_TX, faster than the receiving end can take them. The receiving
 * veth runs its NAPI poll in a thread (threaded NAPI, set up by run.sh;
 * GRO on, so that it polls without a program too), pinned here to CPU 1:
 * the whole receive path (XDP, stack, nftables' ingress hook) runs in that
 * thread. For every sample the bench reads the frames the poll took
 * (rx_queue_0_xdp_packets) and the thread's CPU time (schedstat): the
 * CPU ns per frame, and so the frames one core takes per second, do not
 * depend on how much of the shared machine the thread got; the raw receive
 * rate is printed beside them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "hotkey.h"
#include "loader.h"

#include "bench_bare.skel.h"
#include "bench_gen.skel.h"
#include "bench_ref.skel.h"
#include "bench_ref_key8.skel.h"

#define MAX_ROUNDS 21
#define MAX_FLOWS 4

enum config {
  CFG_NONE,
  CFG_BARE,
  CFG_PLUGIN,
  CFG_PLUGIN_HOT,
  CFG_PLUGIN_TC,
  CFG_REF,
  CFG_KEY8,
  CFG_NFT,
  NCONFIGS
};

static const char *const config_names[NCONFIGS] = {
    "no program",          "bare XDP",
    "plugin (XDP)",        "plugin, own dst (XDP)",
    "plugin (tc ingress)", "reference (XDP)",
    "key8 (XDP)",          "nftables sets"};

static const char *gen_ns, *gen_if, *rcv_ns, *rcv_if;
static double seconds = 1.0;
static int rounds = 5;

static void enter_ns(const char *name) {
  char path[256];
  int fd;

  snprintf(path, sizeof(path), "/run/netns/%s", name);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  check(fd >= 0, "namespace %s: %s", name, strerror(errno));
  check(setns(fd, CLONE_NEWNET) == 0, "setns %s: %s", name, strerror(errno));
  close(fd);
}

static void pin_thread(pid_t pid, int cpu) {
  cpu_set_t set;

  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(pid, sizeof(set), &set);
}

static void sleep_s(double s) {
  struct timespec ts = {.tv_sec = (time_t)s,
                        .tv_nsec = (long)((s - (time_t)s) * 1e9)};

  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* --- the generator (child process) ------------------------------------- */

static volatile sig_atomic_t stop;

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void generator(uint32_t nsrc, const uint8_t *dst_mac) {
  struct bench_gen *skel;
  struct frame f;
  struct xdp_md ctx = {0};
  int ifindex;

  signal(SIGTERM, on_term);
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the bench */
  if (getppid() == 1)
    exit(0);
  enter_ns(gen_ns);
  pin_thread(0, 0);
  ifindex = (int)if_nametoindex(gen_if);
  check(ifindex > 0, "interface %s: %s", gen_if, strerror(errno));
  frame_build(&f, FRAME_IPV4, dst_mac);
  skel = bench_gen__open();
  check(skel != NULL, "opening the generator");
  skel->rodata->nsrc = nsrc;
  skel->rodata->stride = scatter_stride(nsrc);
  skel->rodata->src_base = f.base;
  check(bench_gen__load(skel) == 0, "loading the generator: %s",
        strerror(errno));
  ctx.data_end = f.len;
  ctx.ingress_ifindex = (uint32_t)ifindex;
  while (!stop) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data,
                .data_size_in = f.len, .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
                .repeat = 1 << 20, .batch_size = 64);

    if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.gen_xdp), &opts) <
            0 &&
        errno != EINTR) {
      fprintf(stderr, "generator: %s\n", strerror(errno));
      break;
    }
  }
  bench_gen__destroy(skel);
  exit(0);
}

/* --- the receiving end -------------------------------------------------- */

static int sock;

static void if_mac(const char *ifname, uint8_t mac[6]) {
  struct ifreq ifr;

  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  check(ioctl(sock, SIOCGIFHWADDR, &ifr) == 0, "MAC of %s: %s", ifname,
        strerror(errno));
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

/* Index of the ethtool statistic name on ifname, or -1. */
static int stat_index(const char *ifname, const char *name, int *count) {
  struct ethtool_sset_info *info;
  struct ethtool_gstrings *strings;
  struct ifreq ifr;
  int n, found = -1;

  info = calloc(1, sizeof(*info) + sizeof(uint32_t));
  check(info != NULL, "out of memory");
  info->cmd = ETHTOOL_GSSET_INFO;
  info->sset_mask = 1ull << ETH_SS_STATS;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  ifr.ifr_data = (void *)info;
  check(ioctl(sock, SIOCETHTOOL, &ifr) == 0, "ethtool %s: %s", ifname,
        strerror(errno));
  n = (int)info->data[0];
  free(info);
  strings = calloc(1, sizeof(*strings) + (size_t)n * ETH_GSTRING_LEN);
  check(strings != NULL, "out of memory");
  strings->cmd = ETHTOOL_GSTRINGS;
  strings->string_set = ETH_SS_STATS;
  strings->len = (uint32_t)n;
  ifr.ifr_data = (void *)strings;
  check(ioctl(sock, SIOCETHTOOL, &ifr) == 0, "ethtool %s: %s", ifname,
        strerror(errno));
  for (int i = 0; i < n; i++)
    if (strncmp((char *)strings->data + i * ETH_GSTRING_LEN, name,
                ETH_GSTRING_LEN) == 0)
      found = i;
  free(strings);
  *count = n;
  return found;
}

static uint64_t read_stat(const char *ifname, int index, int count) {
  struct ethtool_stats *stats;
  struct ifreq ifr;
  uint64_t v;

  stats = calloc(1, sizeof(*stats) + (size_t)count * sizeof(uint64_t));
  check(stats != NULL, "out of memory");
  stats->cmd = ETHTOOL_GSTATS;
  stats->n_stats = (uint32_t)count;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  ifr.ifr_data = (void *)stats;
  check(ioctl(sock, SIOCETHTOOL, &ifr) == 0, "ethtool %s: %s", ifname,
        strerror(errno));
  v = stats->data[index];
  free(stats);
  return v;
}

/* The NAPI thread of ifname ("napi/IFNAME-ID"), or -1. */
static pid_t napi_thread(const char *ifname) {
  char want[32], path[300], comm[32];
  struct dirent *de;
  pid_t found = -1;
  DIR *d = opendir("/proc");

  snprintf(want, sizeof(want), "napi/%s-", ifname);
  check(d != NULL, "/proc: %s", strerror(errno));
  while ((de = readdir(d)) != NULL) {
    FILE *f;

    if (de->d_name[0] < '0' || de->d_name[0] > '9')
      continue;
    snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
    f = fopen(path, "r");
    if (!f)
      continue;
    if (fgets(comm, sizeof(comm), f) && strncmp(comm, want, strlen(want)) == 0)
      found = (pid_t)atoi(de->d_name);
    fclose(f);
  }
  closedir(d);
  return found;
}

/* CPU time of a thread in ns (the first field of schedstat). */
static uint64_t thread_runtime(pid_t pid) {
  char path[64];
  unsigned long long ns = 0;
  FILE *f;

  snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
  f = fopen(path, "r");
  check(f != NULL, "%s: %s", path, strerror(errno));
  check(fscanf(f, "%llu", &ns) == 1, "%s: unreadable", path);
  fclose(f);
  return ns;
}

static int run_nft(const char *what) {
  FILE *p = popen("nft -f -", "w");

  if (!p)
    return -errno;
  fputs(what, p);
  return pclose(p) == 0 ? 0 : -EIO;
}

/* The sets live as long as the bench, like the plugin's table: only the
 * chain that fills them comes and goes between samples. */
static void nft_table(bool add) {
  char rules[512];

  if (!add) {
    check(run_nft("delete table netdev itr_bench\n") == 0,
          "nft: deleting the table failed");
    return;
  }
  snprintf(rules, sizeof(rules),
           "table netdev itr_bench {\n"
           "  set src4 { type ipv4_addr; size 1048576; flags dynamic; }\n"
           "  set dst4 { type ipv4_addr; size 1048576; flags dynamic; }\n"
           "  set src6 { type ipv6_addr; size 1048576; flags dynamic; }\n"
           "  set dst6 { type ipv6_addr; size 1048576; flags dynamic; }\n"
           "}\n");
  check(run_nft(rules) == 0, "nft: adding the table failed");
}

static void nft_chain(bool add) {
  char rules[1024];

  if (!add) {
    check(run_nft("flush chain netdev itr_bench ingress\n"
                  "delete chain netdev itr_bench ingress\n") == 0,
          "nft: deleting the chain failed");
    return;
  }
  snprintf(rules, sizeof(rules),
           "add chain netdev itr_bench ingress { type filter hook ingress "
           "device \"%s\" priority 0; }\n"
           "add rule netdev itr_bench ingress update @src4 { ip saddr "
           "counter }\n"
           "add rule netdev itr_bench ingress update @dst4 { ip daddr "
           "counter }\n"
           "add rule netdev itr_bench ingress update @src6 { ip6 saddr "
           "counter }\n"
           "add rule netdev itr_bench ingress update @dst6 { ip6 daddr "
           "counter }\n",
           rcv_if);
  check(run_nft(rules) == 0, "nft: adding the chain failed");
}

struct setup {
  int ifindex;
  struct itr_loader *loader;   /* of plugin_fd: its tc program too */
  struct itr_tc_attachment tc; /* CFG_PLUGIN_TC */
  int plugin_fd;               /* the plugin's XDP program */
  int plugin_hot_fd; /* the same, destination known as the node's own */
  int ref_fd;
  int bare_fd;
  int key8_fd;
};

static void apply(struct setup *s, enum config c, bool on) {
  int fd = c == CFG_PLUGIN       ? s->plugin_fd
           : c == CFG_PLUGIN_HOT ? s->plugin_hot_fd
           : c == CFG_REF        ? s->ref_fd
           : c == CFG_KEY8       ? s->key8_fd
                                 : s->bare_fd;

  if (c == CFG_NONE)
    return;
  if (c == CFG_NFT) {
    nft_chain(on);
    return;
  }
  if (c == CFG_PLUGIN_TC) {
    int err =
        on ? itr_tc_attach(s->loader, s->ifindex, ITR_TC_INGRESS, true, &s->tc)
           : itr_tc_detach(&s->tc);

    check(err == 0, "%s the tc ingress program on %s: %s",
          on ? "attaching" : "detaching", rcv_if, strerror(-err));
    return;
  }
  if (on)
    check(bpf_xdp_attach(s->ifindex, fd, XDP_FLAGS_DRV_MODE, NULL) == 0,
          "attaching XDP to %s: %s", rcv_if, strerror(errno));
  else
    check(bpf_xdp_detach(s->ifindex, XDP_FLAGS_DRV_MODE, NULL) == 0,
          "detaching XDP from %s: %s", rcv_if, strerror(errno));
}

struct flow_result {
  uint32_t flows;
  double rate[NCONFIGS];   /* frames per second, median */
  double cpu_ns[NCONFIGS]; /* CPU ns per frame on the receiving core */
};

static void measure(uint32_t flows, const uint8_t *mac, int ifindex,
                    struct flow_result *res) {
  uint32_t cap = flows + flows / 4 < 65536 ? 65536 : flows + flows / 4;
  double samples[NCONFIGS][MAX_ROUNDS], cpu[NCONFIGS][MAX_ROUNDS];
  struct itr_loader *loader, *hot_loader;
  struct bench_ref *ref;
  struct bench_bare *bare;
  struct bench_ref_key8 *key8;
  struct prog_ref progs[8], hot_progs[8];
  struct setup s = {.ifindex = ifindex, .plugin_fd = -1, .plugin_hot_fd = -1};
  int np, hot_np, idx, count, err;
  pid_t gen;

  err = itr_loader_open(&loader, cap);
  check(err == 0, "loading the plugin: %s", strerror(-err));
  s.loader = loader;
  np = progs_using_map(itr_loader_map_fd(loader), progs, 8);
  for (int i = 0; i < np; i++)
    if (progs[i].type == BPF_PROG_TYPE_XDP && !strstr(progs[i].name, "frag") &&
        s.plugin_fd < 0)
      s.plugin_fd = progs[i].fd;
  check(s.plugin_fd >= 0, "no XDP program in the plugin");
  err = itr_loader_open(&hot_loader, cap);
  check(err == 0, "loading the plugin: %s", strerror(-err));
  hot_np = progs_using_map(itr_loader_map_fd(hot_loader), hot_progs, 8);
  for (int i = 0; i < hot_np; i++)
    if (hot_progs[i].type == BPF_PROG_TYPE_XDP &&
        !strstr(hot_progs[i].name, "frag") && s.plugin_hot_fd < 0)
      s.plugin_hot_fd = hot_progs[i].fd;
  check(s.plugin_hot_fd >= 0, "no XDP program in the plugin");
  ref = bench_ref__open();
  check(ref != NULL, "opening the reference");
  size_hash_maps(ref->obj, cap);
  check(bench_ref__load(ref) == 0, "loading the reference");
  s.ref_fd = bpf_program__fd(ref->progs.ref_xdp);
  key8 = bench_ref_key8__open();
  check(key8 != NULL, "opening the key8 experiment");
  size_hash_maps(key8->obj, cap);
  check(bench_ref_key8__load(key8) == 0, "loading the key8 experiment");
  s.key8_fd = bpf_program__fd(key8->progs.ref_xdp);
  bare = bench_bare__open_and_load();
  check(bare != NULL, "loading the bare program");
  s.bare_fd = bpf_program__fd(bare->progs.bare_xdp);

  idx = stat_index(rcv_if, "rx_queue_0_xdp_packets", &count);
  check(idx >= 0, "%s has no rx_queue_0_xdp_packets statistic", rcv_if);

  gen = fork();
  check(gen >= 0, "fork: %s", strerror(errno));
  if (gen == 0)
    generator(flows, mac);
  sleep_s(0.5);
  /* Every table learns every source once before the samples. */
  nft_table(true);
  for (int c = CFG_PLUGIN; c < NCONFIGS; c++) {
    apply(&s, (enum config)c, true);
    sleep_s(flows > 1000 ? 1.0 : 0.2);
    apply(&s, (enum config)c, false);
  }
  /* What the plugin does with the addresses of the interface it counts on
   * (the receiving end's, here the destination of every frame). */
  bench_make_busiest_hot(hot_loader, cap);

  for (int r = 0; r < rounds; r++)
    for (int k = 0; k < NCONFIGS; k++) {
      enum config c = (enum config)((k + r) % NCONFIGS);
      uint64_t p0, p1, t0, t1, c0, c1;
      pid_t napi;

      apply(&s, c, true);
      /* A sample without frames (the generator did not get the CPU) is
       * taken again. */
      for (int attempt = 0;; attempt++) {
        sleep_s(0.2); /* caches */
        napi = napi_thread(rcv_if);
        check(napi > 0, "no NAPI thread for %s (threaded NAPI off?)", rcv_if);
        pin_thread(napi, 1);
        p0 = read_stat(rcv_if, idx, count);
        c0 = thread_runtime(napi);
        t0 = now_ns();
        sleep_s(seconds);
        p1 = read_stat(rcv_if, idx, count);
        c1 = thread_runtime(napi);
        t1 = now_ns();
        if (p1 - p0 >= 1000)
          break;
        check(attempt < 5, "no frames arrive on %s", rcv_if);
      }
      apply(&s, c, false);
      samples[c][r] = (double)(p1 - p0) * 1e9 / (double)(t1 - t0);
      cpu[c][r] = (double)(c1 - c0) / (double)(p1 - p0);
    }

  kill(gen, SIGTERM);
  waitpid(gen, NULL, 0);
  nft_table(false);
  res->flows = flows;
  for (int c = 0; c < NCONFIGS; c++) {
    res->rate[c] = median(samples[c], rounds);
    res->cpu_ns[c] = median(cpu[c], rounds);
  }
  if (getenv("ITR_BENCH_DEBUG"))
    for (int c = 0; c < NCONFIGS; c++) {
      fprintf(stderr, "%u %-16s", flows, config_names[c]);
      for (int r = 0; r < rounds; r++)
        fprintf(stderr, " %5.0fk/s %4.0fns", samples[c][r] / 1000, cpu[c][r]);
      fputc('\n', stderr);
    }
  bench_ref__destroy(ref);
  bench_bare__destroy(bare);
  bench_ref_key8__destroy(key8);
  for (int i = 0; i < np; i++)
    close(progs[i].fd);
  for (int i = 0; i < hot_np; i++)
    close(hot_progs[i].fd);
  itr_loader_close(loader);
  itr_loader_close(hot_loader);
}

int main(int argc, char **argv) {
  uint32_t flows[MAX_FLOWS] = {1, 100000};
  int nflows = 2, opt, ifindex;
  bool own_flows = false;
  struct flow_result res[MAX_FLOWS];
  uint8_t mac[6];

  while ((opt = getopt(argc, argv, "g:i:r:j:s:R:n:")) != -1) {
    switch (opt) {
    case 'g':
      gen_ns = optarg;
      break;
    case 'i':
      gen_if = optarg;
      break;
    case 'r':
      rcv_ns = optarg;
      break;
    case 'j':
      rcv_if = optarg;
      break;
    case 's':
      seconds = atof(optarg);
      break;
    case 'R':
      rounds = atoi(optarg);
      break;
    case 'n':
      if (!own_flows)
        nflows = 0;
      own_flows = true;
      check(nflows < MAX_FLOWS, "too many -n");
      flows[nflows++] = (uint32_t)strtoul(optarg, NULL, 0);
      break;
    default:
      fprintf(stderr,
              "usage: %s -g NS -i IF -r NS -j IF [-s SECONDS] [-R ROUNDS] "
              "[-n SOURCES]...\n",
              argv[0]);
      return 2;
    }
  }
  check(gen_ns && gen_if && rcv_ns && rcv_if, "-g, -i, -r and -j are needed");
  check(rounds >= 1 && rounds <= MAX_ROUNDS, "ROUNDS must be 1..%d",
        MAX_ROUNDS);
  enter_ns(rcv_ns);
  sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  check(sock >= 0, "socket: %s", strerror(errno));
  ifindex = (int)if_nametoindex(rcv_if);
  check(ifindex > 0, "interface %s: %s", rcv_if, strerror(errno));
  if_mac(rcv_if, mac);

  for (int i = 0; i < nflows; i++)
    measure(flows[i], mac, ifindex, &res[i]);

  printf("### Data plane, live (veth, frames passed to the stack, median "
         "of %d x %.1f s)\n\n",
         rounds, seconds);
  printf("64-byte IPv4/UDP frames from SOURCES addresses to one. Per "
         "configuration: CPU ns per frame on the receiving core (NAPI "
         "thread), the frames per second one core takes at that cost, and "
         "in brackets the rate measured on this shared machine. Ratios are "
         "of the per-core rates; \"+ns\" is the CPU time added per frame "
         "over no program.\n\n");
  printf("| sources | no program | bare XDP | plugin | plugin, own dst | "
         "plugin, tc ingress | reference | key8 (experiment) | nftables sets "
         "| plugin/none | target | plugin +ns / nftables +ns | target | tc "
         "ingress +ns / XDP +ns |\n");
  printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:"
         "|\n");
  for (int i = 0; i < nflows; i++) {
    const double *ns = res[i].cpu_ns, *rate = res[i].rate;
    double ratio = ns[CFG_PLUGIN] > 0 ? ns[CFG_NONE] / ns[CFG_PLUGIN] : 0;
    double add_p = ns[CFG_PLUGIN] - ns[CFG_NONE];
    double add_n = ns[CFG_NFT] - ns[CFG_NONE];
    double limit = res[i].flows <= 1 ? 0.90 : 0.80;

    printf("| %u |", res[i].flows);
    for (int c = 0; c < NCONFIGS; c++) {
      printf(" %.0f ns, %.2f Mpps", ns[c], ns[c] > 0 ? 1e3 / ns[c] : 0);
      if (c != CFG_NONE)
        printf(" (%.2fx, %+.0f ns)", ns[c] > 0 ? ns[CFG_NONE] / ns[c] : 0,
               ns[c] - ns[CFG_NONE]);
      printf(" [%.2f] |", rate[c] / 1e6);
    }
    printf(" %.2fx | >= %.2fx: %s | %.2f | <= 0.5: %s | %.2f |\n", ratio, limit,
           ratio >= limit ? "met" : "MISSED", add_n > 0 ? add_p / add_n : 0,
           add_n > 0 && add_p / add_n <= 0.5 ? "met" : "MISSED",
           add_p > 0 ? (ns[CFG_PLUGIN_TC] - ns[CFG_NONE]) / add_p : 0);
  }
  printf("\nTargets: ");
  for (int i = 0; i < nflows; i++) {
    const double *ns = res[i].cpu_ns;
    double ratio = ns[CFG_PLUGIN] > 0 ? ns[CFG_NONE] / ns[CFG_PLUGIN] : 0;
    double ref = ns[CFG_REF] > 0 ? ns[CFG_NONE] / ns[CFG_REF] : 0;
    double limit = res[i].flows <= 1 ? 0.90 : 0.80;
    double add_n = ns[CFG_NFT] - ns[CFG_NONE];

    printf("%s%u source%s: plugin %.2fx of no program (>= %.2fx: %s; the "
           "reference gets %.2fx), +ns %.2fx of nftables' (<= 0.5: %s)",
           i ? "; " : "", res[i].flows, res[i].flows == 1 ? "" : "s", ratio,
           limit, ratio >= limit ? "met" : "MISSED", ref,
           add_n > 0 ? (ns[CFG_PLUGIN] - ns[CFG_NONE]) / add_n : 0,
           add_n > 0 && (ns[CFG_PLUGIN] - ns[CFG_NONE]) / add_n <= 0.5
               ? "met"
               : "MISSED");
  }
  printf(".\n");
  return 0;
}
