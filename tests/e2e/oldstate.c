/*
 * oldstate: pins under a PinPath the tables of an earlier map schema
 * (bpf/iptraffic.h, "Earlier schemas"), holding the given entries, for
 * the migration tests.
 *
 *   oldstate --schema 2 --pin-path DIR --max-entries N
 *            [--ipv4-prefixlen L] [--ipv6-prefixlen L] ENTRY...
 *
 * ENTRY is IFINDEX,WHAT,RX_BYTES,RX_PACKETS,TX_BYTES,TX_PACKETS with WHAT an
 * address (10.0.0.1, 2001:db8::1), a prefix (10.0.0.0/24) or a special
 * key (nonip, malformed, untracked, ignored). Every counter is spread over
 * the CPUs, as the per-CPU table of schema 2 held them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "iptraffic.h"
#include "plugin_config.h"
#include "state.h"

static int die(const char *what, const char *arg) {
  fprintf(stderr, "oldstate: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
  return 1;
}

static int parse_what(const char *what, struct iptraffic_key *k) {
  static const struct {
    const char *name;
    uint8_t kind;
  } specials[] = {{"nonip", IPTRAFFIC_KIND_NONIP},
                  {"malformed", IPTRAFFIC_KIND_MALFORMED},
                  {"untracked", IPTRAFFIC_KIND_UNTRACKED},
                  {"ignored", IPTRAFFIC_KIND_IGNORED}};
  char text[64], *slash;
  unsigned long len;

  for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
    if (strcmp(what, specials[i].name) == 0) {
      k->kind = specials[i].kind;
      return 0;
    }
  snprintf(text, sizeof(text), "%s", what);
  slash = strchr(text, '/');
  if (slash)
    *slash++ = '\0';
  if (inet_pton(AF_INET, text, k->addr) == 1) {
    k->kind = IPTRAFFIC_KIND_IPV4;
    len = slash ? strtoul(slash, NULL, 10) : 32;
    return len <= 32 ? (k->prefixlen = (uint8_t)len, 0) : -1;
  }
  if (inet_pton(AF_INET6, text, k->addr) == 1) {
    k->kind = IPTRAFFIC_KIND_IPV6;
    len = slash ? strtoul(slash, NULL, 10) : 128;
    return len <= 128 ? (k->prefixlen = (uint8_t)len, 0) : -1;
  }
  return -1;
}

/* One entry into the per-CPU table: the counters spread over the CPUs
 * (the first gets the remainder). */
static int add_entry(int fd, const char *arg, int ncpus,
                     struct iptraffic_value *percpu) {
  struct iptraffic_key k;
  unsigned long long c[4];
  char what[64];
  unsigned ifindex;

  memset(&k, 0, sizeof(k));
  if (sscanf(arg, "%u,%63[^,],%llu,%llu,%llu,%llu", &ifindex, what, &c[0],
             &c[1], &c[2], &c[3]) != 6 ||
      parse_what(what, &k) < 0)
    return -EINVAL;
  k.ifindex = ifindex;
  memset(percpu, 0, sizeof(*percpu) * (size_t)ncpus);
  for (int cpu = 0; cpu < ncpus; cpu++) {
    __u64 *v = &percpu[cpu].rx_bytes;

    for (int f = 0; f < 4; f++)
      v[f] = c[f] / (unsigned)ncpus + (cpu == 0 ? c[f] % (unsigned)ncpus : 0);
  }
  return bpf_map_update_elem(fd, &k, percpu, BPF_NOEXIST) < 0 ? -errno : 0;
}

static int pin(int fd, const char *dir, const char *name) {
  char path[512];

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return bpf_obj_pin(fd, path) < 0 ? -errno : 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"schema", required_argument, 0, 's'},
      {"pin-path", required_argument, 0, 'p'},
      {"max-entries", required_argument, 0, 'm'},
      {"ipv4-prefixlen", required_argument, 0, '4'},
      {"ipv6-prefixlen", required_argument, 0, '6'},
      {0, 0, 0, 0}};
  static struct itr_config cfg;
  struct iptraffic_value *percpu;
  struct iptraffic_meta meta;
  const char *dir = NULL;
  unsigned schema = 0, max = 0;
  int c, fd, nets, metafd, ncpus = libbpf_num_possible_cpus();
  uint32_t zero = 0;

  itr_config_init(&cfg);
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 's')
      schema = (unsigned)atoi(optarg);
    else if (c == 'p')
      dir = optarg;
    else if (c == 'm')
      max = (unsigned)atoi(optarg);
    else if (c == '4')
      cfg.ipv4_prefixlen = (uint8_t)atoi(optarg);
    else if (c == '6')
      cfg.ipv6_prefixlen = (uint8_t)atoi(optarg);
    else
      return die("bad usage", NULL);
  }
  if (schema != IPTRAFFIC_SCHEMA2)
    return die("only schema 2 is known", NULL);
  if (!dir || !max || ncpus <= 0)
    return die("--pin-path and --max-entries are needed", NULL);
  percpu = calloc((size_t)ncpus, sizeof(*percpu));
  if (!percpu)
    return die("out of memory", NULL);
  fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "itr_counters",
                      sizeof(struct iptraffic_key),
                      sizeof(struct iptraffic_value), max, NULL);
  if (fd < 0)
    return die("creating the table failed", strerror(errno));
  for (int i = optind; i < argc; i++)
    if (add_entry(fd, argv[i], ncpus, percpu) < 0)
      return die("bad or unwritable entry", argv[i]);
  {
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);

    nets = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "itr_networks",
                          sizeof(struct iptraffic_net_key),
                          sizeof(struct iptraffic_net_value), 1, &o);
  }
  if (nets < 0)
    return die("creating the networks table failed", strerror(errno));
  itr_meta_build(&cfg, max, 0, 0, &meta);
  meta.schema_version = IPTRAFFIC_SCHEMA2;
  metafd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "itr_meta", sizeof(zero),
                          sizeof(meta), 1, NULL);
  if (metafd < 0 || bpf_map_update_elem(metafd, &zero, &meta, BPF_ANY) < 0)
    return die("creating the record failed", strerror(errno));
  if (pin(fd, dir, IPTRAFFIC_SCHEMA2_COUNTERS) < 0 ||
      pin(nets, dir, "itr_networks") < 0 || pin(metafd, dir, "meta") < 0)
    return die("pinning failed", strerror(errno));
  free(percpu);
  return 0;
}
