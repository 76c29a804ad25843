/*
 * iptrafficctl: the state the iptraffic collectd plugin keeps across
 * restarts, without collectd.
 *
 *   iptrafficctl [--pin-path DIR] status
 *   iptrafficctl [--pin-path DIR] dump [--json]
 *   iptrafficctl [--pin-path DIR] migrate
 *   iptrafficctl [--pin-path DIR] remove
 *
 * Exit status: 0, 1 on a failure (said on stderr), 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "loader.h"
#include "pins.h"
#include "plugin_config.h"
#include "reader.h"
#include "state.h"
#include "table.h"

#define PROG "iptrafficctl"

static void usage(FILE *to) {
  fprintf(to, "usage: " PROG " [--pin-path DIR] status\n"
              "       " PROG " [--pin-path DIR] dump [--json]\n"
              "       " PROG " [--pin-path DIR] migrate\n"
              "       " PROG " [--pin-path DIR] remove\n"
              "The state of the collectd plugin iptraffic under DIR (its "
              "PinPath,\ndefault " ITR_DEFAULT_PIN_PATH
              "); see iptrafficctl(8).\n");
}

static int fail(const char *what, const char *dir, int err) {
  fprintf(stderr, PROG ": %s %s: %s\n", what, dir, strerror(-err));
  return 1;
}

static const char *kind_name(const struct iptraffic_key *k) {
  return k->kind == IPTRAFFIC_KIND_IPV4   ? "ipv4"
         : k->kind == IPTRAFFIC_KIND_IPV6 ? "ipv6"
                                          : "special";
}

/* The interface of ifindex, or "#N" when no interface has it now. */
static void if_text(uint32_t ifindex, char *buf, size_t len) {
  char name[IF_NAMESIZE];

  if (if_indextoname(ifindex, name))
    snprintf(buf, len, "%s", name);
  else
    snprintf(buf, len, "#%u", ifindex);
}

/* JSON string: the texts here are interface names and address texts, but
 * quote what needs quoting all the same. */
static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", (unsigned char)*s);
    else
      putchar(*s);
  }
  putchar('"');
}

/* Reads every table (of the current schema or one it migrates from) into
 * a snapshot, as the plugin reads them. */
static int read_tables(struct itr_pins *p, const struct iptraffic_meta *m,
                       struct itr_pins_stash **out) {
  size_t n;

  return itr_pins_stash(p, m->schema_version, out, &n);
}

static int dump(struct itr_pins *p, const struct iptraffic_meta *m, bool json) {
  struct itr_pins_stash *st;
  struct itr_table *t;
  const struct itr_entry *e;
  size_t n;
  int err = read_tables(p, m, &st);

  if (err)
    return fail("reading the tables under", itr_pins_dir(p), err);
  t = itr_pins_stash_table(st);
  e = itr_table_entries(t);
  n = itr_table_count(t);
  if (json)
    printf("[");
  else
    printf("%-16s %-44s %14s %12s %14s %12s\n", "interface", "instance",
           "rx_bytes", "rx_packets", "tx_bytes", "tx_packets");
  for (size_t i = 0; i < n; i++) {
    char ifname[32], inst[ITR_INSTANCE_LEN];

    if_text(e[i].key.ifindex, ifname, sizeof(ifname));
    if (itr_key_format(&e[i].key, inst, sizeof(inst)) != 0)
      snprintf(inst, sizeof(inst), "?");
    if (json) {
      printf("%s\n  {\"interface\": ", i ? "," : "");
      json_string(ifname);
      printf(", \"ifindex\": %u, \"kind\": \"%s\", \"instance\": ",
             e[i].key.ifindex, kind_name(&e[i].key));
      json_string(inst);
      printf(", \"rx_bytes\": %llu, \"rx_packets\": %llu, \"tx_bytes\": %llu, "
             "\"tx_packets\": %llu}",
             (unsigned long long)e[i].counters.rx_bytes,
             (unsigned long long)e[i].counters.rx_packets,
             (unsigned long long)e[i].counters.tx_bytes,
             (unsigned long long)e[i].counters.tx_packets);
    } else {
      printf("%-16s %-44s %14llu %12llu %14llu %12llu\n", ifname, inst,
             (unsigned long long)e[i].counters.rx_bytes,
             (unsigned long long)e[i].counters.rx_packets,
             (unsigned long long)e[i].counters.tx_bytes,
             (unsigned long long)e[i].counters.tx_packets);
    }
  }
  if (json)
    printf("%s]\n", n ? "\n" : "");
  itr_pins_stash_free(st);
  return 0;
}

/* The interfaces whose keys are in t, each once. */
static size_t interfaces_of(struct itr_table *t, uint32_t *out, size_t max) {
  const struct itr_entry *e = itr_table_entries(t);
  size_t n = 0;

  for (size_t i = 0; i < itr_table_count(t); i++) {
    bool seen = false;

    for (size_t k = 0; k < n; k++)
      seen |= out[k] == e[i].key.ifindex;
    if (!seen && n < max)
      out[n++] = e[i].key.ifindex;
  }
  return n;
}

/* Whether any of the plugin's programs is on a hook. */
static bool attached(const struct itr_own_hooks *h) {
  bool any = h->xdp_prog != 0 || h->xdp_dispatched != 0;

  for (int dir = 0; dir < ITR_TC_DIRS; dir++)
    any |= h->tc[dir].tcx_prog || h->tc[dir].prog;
  return any;
}

static const char *xdp_mode_name(uint8_t mode) {
  return mode == 1 ? "native" : mode == 2 ? "generic" : "offloaded";
}

static int status(struct itr_pins *p, const struct iptraffic_meta *m,
                  bool in_use) {
  uint32_t ifs[1024];
  struct itr_pins_stash *st;
  struct itr_table *t;
  size_t nifs, addresses = 0;
  int err = read_tables(p, m, &st);

  if (err)
    return fail("reading the tables under", itr_pins_dir(p), err);
  t = itr_pins_stash_table(st);
  for (size_t i = 0; i < itr_table_count(t); i++)
    addresses += !itr_key_is_special(&itr_table_entries(t)[i].key);
  printf("PinPath:         %s (%s)\n", itr_pins_dir(p),
         in_use ? "in use by a running collectd" : "no collectd holds it");
  if (m->schema_version == IPTRAFFIC_SCHEMA_VERSION)
    printf("map schema:      %u (this version's)\n", m->schema_version);
  else
    printf("map schema:      %u (this version reads %u: `" PROG " migrate`, "
           "or collectd when it starts, migrates it)\n",
           m->schema_version, (unsigned)IPTRAFFIC_SCHEMA_VERSION);
  printf("capacity:        %u IPv4, %u IPv6, %u per-CPU entries\n",
         m->ipv4_entries, m->ipv6_entries, m->hot_entries);
  printf("key options:     IPv4PrefixLength %u, IPv6PrefixLength %u, %u "
         "Network blocks\n",
         m->ipv4_prefixlen, m->ipv6_prefixlen, m->networks_num);
  printf("entries:         %zu (%zu addresses or networks)\n",
         itr_table_count(t), addresses);
  nifs = interfaces_of(t, ifs, sizeof(ifs) / sizeof(ifs[0]));
  for (size_t i = 0; i < nifs; i++) {
    struct itr_own_hooks h = {0};
    uint32_t id = itr_pins_table_id(p);
    char name[32];

    if_text(ifs[i], name, sizeof(name));
    printf("interface %-6s ifindex %u:", name, ifs[i]);
    if (name[0] != '#' && id && itr_find_own((int)ifs[i], &id, 1, &h) == 0) {
      if (h.xdp_prog)
        printf(" ingress XDP %s (program %u)", xdp_mode_name(h.xdp_mode),
               h.xdp_prog);
      if (h.xdp_dispatched)
        printf(" ingress XDP in a libxdp dispatcher (program %u)",
               h.xdp_dispatched);
      for (int dir = ITR_TC_INGRESS; dir >= ITR_TC_EGRESS; dir--) {
        const struct itr_own_tc *tc = &h.tc[dir];
        const char *side = dir == ITR_TC_INGRESS ? "ingress" : "egress";

        if (tc->tcx_prog)
          printf(" %s tcx (program %u)", side, tc->tcx_prog);
        if (tc->prog)
          printf(" %s tc clsact filter (program %u, handle %x, priority "
                 "%u)",
                 side, tc->prog, tc->handle, tc->priority);
      }
      if (!attached(&h))
        printf(" nothing attached");
    } else {
      printf(" no such interface now");
    }
    printf("\n");
  }
  itr_pins_stash_free(st);
  return 0;
}

static void print_libbpf(enum itr_log_level level, const char *msg) {
  if (level != ITR_LOG_DEBUG)
    fprintf(stderr, PROG ": %s\n", msg);
}

/* The interfaces whose keys are in t, for the size of the hot table: at
 * least one. */
static size_t interfaces_in(struct itr_table *t) {
  uint32_t ifs[ITR_MAX_INTERFACES];
  size_t n = interfaces_of(t, ifs, ITR_MAX_INTERFACES);

  return n ? n : 1;
}

static size_t not_ipv4(struct itr_table *t) {
  size_t n = 0;

  for (size_t i = 0; i < itr_table_count(t); i++)
    n += itr_table_entries(t)[i].key.kind != IPTRAFFIC_KIND_IPV4;
  return n;
}

/* Whether a program that uses the map table_id is attached to an
 * interface (of this network namespace). */
static bool attached_somewhere(uint32_t table_id) {
  struct if_nameindex *ifs = table_id ? if_nameindex() : NULL, *i;
  bool found = false;

  for (i = ifs; i && i->if_index && !found; i++) {
    struct itr_own_hooks h;

    found =
        itr_find_own((int)i->if_index, &table_id, 1, &h) == 0 && attached(&h);
  }
  if (ifs)
    if_freenameindex(ifs);
  return found;
}

/* Rewrites tables of an earlier schema as this version's, shaped by the
 * pinned record and networks table, as large as they were; collectd
 * reuses them when it starts (or carries them over to the sizes its
 * configuration asks for). */
static int migrate(struct itr_pins *p, const struct iptraffic_meta *m,
                   bool in_use) {
  static struct itr_config cfg; /* large: networks */
  struct itr_loader_opts opts = {0};
  struct iptraffic_meta want;
  struct itr_pins_stash *st;
  struct itr_loader *l;
  struct itr_maps maps;
  size_t entries, kept, dropped;
  int err;

  if (m->schema_version == IPTRAFFIC_SCHEMA_VERSION) {
    printf("%s holds map schema %u already: nothing to migrate\n",
           itr_pins_dir(p), m->schema_version);
    return 0;
  }
  if (!itr_schema_migrates(m->schema_version)) {
    fprintf(stderr,
            PROG ": %s holds tables of map schema %u; this version migrates "
                 "only from schema %u (`" PROG " remove` removes them)\n",
            itr_pins_dir(p), m->schema_version, (unsigned)IPTRAFFIC_SCHEMA2);
    return 1;
  }
  if (in_use) {
    fprintf(stderr,
            PROG ": %s is in use by a running collectd: stop it first\n",
            itr_pins_dir(p));
    return 1;
  }
  if (itr_pins_have_links(p) || attached_somewhere(itr_pins_table_id(p))) {
    /* Their programs would go on counting into the old tables until
     * collectd updates them: what they count meanwhile would be lost. */
    fprintf(stderr,
            PROG ": programs of map schema %u are attached and count into "
                 "the tables under %s: start collectd, which migrates the "
                 "tables and updates the attachments in place\n",
            m->schema_version, itr_pins_dir(p));
    return 1;
  }
  itr_config_init(&cfg);
  cfg.ipv4_prefixlen = m->ipv4_prefixlen;
  cfg.ipv6_prefixlen = m->ipv6_prefixlen;
  err = itr_pins_networks(p, cfg.networks, ITR_MAX_NETWORKS, &cfg.networks_num);
  if (err && err != -ENOENT)
    return fail("reading the networks table under", itr_pins_dir(p), err);
  itr_meta_build(&cfg, 0, 0, 0, &want);
  if (want.networks_num != m->networks_num ||
      want.networks_digest != m->networks_digest) {
    fprintf(stderr,
            PROG ": the networks table under %s does not match its record: "
                 "not migrating it\n",
            itr_pins_dir(p));
    return 1;
  }
  err = itr_pins_stash(p, m->schema_version, &st, &entries);
  if (err)
    return fail("reading the tables under", itr_pins_dir(p), err);
  /* Room for every entry: the IPv4 table as large as the one it was in,
   * the IPv6 one (which also takes the special keys) at its default size
   * or larger. */
  opts.ipv4 = m->ipv4_entries;
  opts.ipv6 = m->ipv4_entries / 4 < ITR_MIN_MAX_ENTRIES ? ITR_MIN_MAX_ENTRIES
                                                        : m->ipv4_entries / 4;
  if (opts.ipv6 < not_ipv4(itr_pins_stash_table(st)))
    opts.ipv6 = (uint32_t)not_ipv4(itr_pins_stash_table(st));
  opts.interfaces = interfaces_in(itr_pins_stash_table(st));
  err = itr_loader_open_config(&l, &opts, &cfg);
  if (err) {
    itr_pins_stash_free(st);
    return fail("loading the tables of this version for", itr_pins_dir(p), err);
  }
  itr_loader_maps(l, &maps);
  err = itr_pins_restore(st, &maps, &kept, &dropped);
  if (err) {
    itr_loader_close(l);
    return fail("writing the entries into new tables for", itr_pins_dir(p),
                err);
  }
  /* The old tables go only once the new ones hold everything; the record
   * comes last, so an interrupted migration is redone, not misread. */
  err = itr_pins_drop_tables(p);
  if (!err)
    err = itr_loader_pin(l, itr_pins_dir(p));
  itr_meta_build(&cfg, opts.ipv4, opts.ipv6, itr_loader_hot_entries(&opts),
                 &want);
  if (!err)
    err = itr_pins_write_meta(p, &want);
  itr_loader_close(l);
  if (err)
    return fail("pinning the migrated tables under", itr_pins_dir(p), err);
  printf("migrated %s from map schema %u to %u: %zu entries carried over",
         itr_pins_dir(p), m->schema_version, (unsigned)IPTRAFFIC_SCHEMA_VERSION,
         kept);
  if (dropped)
    printf(", %zu did not fit MaxEntriesIPv6 %u and were dropped", dropped,
           opts.ipv6);
  printf("\n");
  return dropped ? 1 : 0;
}

/* Removes the pins (links without a pin detach by themselves), then
 * detaches what stays attached without one: a clsact filter (before Linux
 * 6.6) or an XDP program attached through netlink (before 5.9). */
static int remove_all(struct itr_pins *p, bool in_use) {
  struct if_nameindex *ifs, *i;
  uint32_t id;
  int err, failed = 0;

  if (in_use) {
    fprintf(stderr,
            PROG ": %s is in use by a running collectd: stop it first\n",
            itr_pins_dir(p));
    return 1;
  }
  id = itr_pins_table_id(p);
  err = itr_pins_remove(p);
  if (err)
    return fail("removing", itr_pins_dir(p), err);
  ifs = id ? if_nameindex() : NULL;
  for (i = ifs; i && i->if_index; i++) {
    struct itr_own_hooks h;

    /* A link whose pin went is released by the kernel shortly after:
     * until then its program looks attached (EBUSY). */
    for (int tries = 0;; tries++) {
      if (itr_find_own((int)i->if_index, &id, 1, &h) != 0 ||
          (!h.xdp_prog && !h.xdp_dispatched && !h.tc[ITR_TC_EGRESS].prog &&
           !h.tc[ITR_TC_INGRESS].prog)) {
        err = 1;
        break;
      }
      err = itr_detach_own((int)i->if_index, &h);
      if (err != -EBUSY || tries == 40)
        break;
      usleep(50000);
    }
    if (err == 1)
      continue;
    if (err) {
      fprintf(stderr, PROG ": detaching from %s failed: %s\n", i->if_name,
              strerror(-err));
      failed = 1;
    } else {
      printf("detached from %s\n", i->if_name);
    }
  }
  if (ifs)
    if_freenameindex(ifs);
  printf("removed %s\n", itr_pins_dir(p));
  return failed;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"pin-path", required_argument, 0, 'p'},
                                       {"json", no_argument, 0, 'j'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = ITR_DEFAULT_PIN_PATH, *cmd;
  struct iptraffic_meta m;
  struct itr_pins *p;
  bool json = false, in_use;
  int c, err, rc;

  itr_loader_set_print(print_libbpf);
  while ((c = getopt_long(argc, argv, "p:jh", opts, NULL)) != -1) {
    if (c == 'p') {
      dir = optarg;
    } else if (c == 'j') {
      json = true;
    } else if (c == 'h') {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (optind != argc - 1) {
    usage(stderr);
    return 2;
  }
  cmd = argv[optind];
  if (strcmp(cmd, "status") && strcmp(cmd, "dump") && strcmp(cmd, "migrate") &&
      strcmp(cmd, "remove")) {
    fprintf(stderr, PROG ": unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
  }
  if (json && strcmp(cmd, "dump") != 0) {
    fprintf(stderr, PROG ": --json is for dump only\n");
    return 2;
  }
  err = itr_pins_open_existing(dir, &p, &in_use);
  if (err == -ENOENT) {
    if (strcmp(cmd, "remove") == 0) {
      printf("nothing under %s\n", dir);
      return 0;
    }
    fprintf(stderr, PROG ": nothing is pinned under %s\n", dir);
    return 1;
  }
  if (err == -ENOTSUP) {
    fprintf(stderr, PROG ": %s is not on a BPF filesystem\n", dir);
    return 1;
  }
  if (err)
    return fail("opening", dir, err);
  err = itr_pins_read_meta(p, &m);
  if (err && strcmp(cmd, "remove") != 0) {
    fprintf(stderr,
            PROG ": %s holds no record this version can read (%s); "
                 "`" PROG " remove` removes it\n",
            dir, strerror(-err));
    itr_pins_close(p);
    return 1;
  }
  if (!err && m.schema_version != IPTRAFFIC_SCHEMA_VERSION &&
      !itr_schema_migrates(m.schema_version) && strcmp(cmd, "remove") != 0 &&
      strcmp(cmd, "migrate") != 0) {
    fprintf(stderr,
            PROG ": %s holds tables of map schema %u; this version reads "
                 "schema %u and migrates schema %u (`" PROG " remove` "
                 "removes them)\n",
            dir, m.schema_version, (unsigned)IPTRAFFIC_SCHEMA_VERSION,
            (unsigned)IPTRAFFIC_SCHEMA2);
    itr_pins_close(p);
    return 1;
  }
  if (strcmp(cmd, "status") == 0)
    rc = status(p, &m, in_use);
  else if (strcmp(cmd, "dump") == 0)
    rc = dump(p, &m, json);
  else if (strcmp(cmd, "migrate") == 0)
    rc = migrate(p, &m, in_use);
  else
    rc = remove_all(p, in_use);
  itr_pins_close(p);
  return rc;
}
