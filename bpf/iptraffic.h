/* SPDX-License-Identifier: MIT */
/*
 * Map ABI shared by the kernel programs (iptraffic.bpf.c) and the plugin.
 *
 * Any change to the layout below must bump IPTRAFFIC_SCHEMA_VERSION.
 * The header includes only <linux/types.h>, so it compiles for both the
 * BPF target and the host.
 *
 * Schema 3: the maps of one loaded program set
 *
 *   itr_addr4       shared hash, struct iptraffic_key4 -> iptraffic_value:
 *                   IPv4 addresses and aggregates, counted with atomic adds
 *   itr_addr6       shared hash, struct iptraffic_key -> iptraffic_value:
 *                   IPv6 addresses and aggregates (and special keys that
 *                   found no entry in itr_hot), atomic adds
 *   itr_hot         per-CPU hash, struct iptraffic_key -> iptraffic_value
 *                   per CPU: the special keys and the node's own addresses,
 *                   which frames from every CPU hit; created by the plugin
 *                   only, never by the programs
 *   itr_hot_filter  array of one struct iptraffic_hot_filter: which keys
 *                   may be in itr_hot (a hint; a key missing there is
 *                   counted in its shared table)
 *   itr_networks    LPM trie of the <Network> blocks
 *
 * The shared tables are preallocated (MaxEntries and MaxEntriesIPv6
 * entries), so their memory is fixed by the configuration and does not
 * grow with the CPU count; only itr_hot, a few keys, is per CPU. A key
 * may be counted in itr_hot and in its shared table at once (a local
 * address that was not yet, or is no longer, in itr_hot): its counters are
 * the sum of both.
 */
#ifndef IPTRAFFIC_H
#define IPTRAFFIC_H

#include <linux/types.h>

#define IPTRAFFIC_SCHEMA_VERSION 3

/* What a key counts (struct iptraffic_key.kind). */
enum iptraffic_kind {
  IPTRAFFIC_KIND_NONIP = 1,     /* neither IPv4 nor IPv6 (ARP, LLDP, ...) */
  IPTRAFFIC_KIND_MALFORMED = 2, /* addresses unreadable */
  IPTRAFFIC_KIND_UNTRACKED = 3, /* no table entry: table full */
  IPTRAFFIC_KIND_IPV4 = 4,      /* addr[0..3] holds the address */
  IPTRAFFIC_KIND_IGNORED = 5,   /* an address in a network set to Ignore */
  IPTRAFFIC_KIND_IPV6 = 6,      /* addr[0..15] holds the address */
};

/* Number of special (non-address) keys per interface. */
#define IPTRAFFIC_NUM_SPECIAL 4

/* The node's own addresses (address keys) itr_hot holds at most, beside
 * the special keys of every interface. */
#define IPTRAFFIC_HOT_ADDRS 64

/* Maximum number of VLAN tags (802.1Q / 802.1ad) the parser skips. */
#define IPTRAFFIC_VLAN_MAX_DEPTH 2

/* The key of itr_addr6 and itr_hot; the plugin's form of every key. */
struct iptraffic_key {
  __u32 ifindex;  /* interface the frame was seen on */
  __u8 kind;      /* enum iptraffic_kind */
  __u8 prefixlen; /* 32 (IPv4) or 128 (IPv6) for single addresses; 0 for
                     special keys */
  __u16 reserved; /* always 0 */
  __u8 addr[16];  /* network byte order; unused bytes are 0 */
};

/*
 * The key of itr_addr4: 8 bytes. A single address (prefix length 32) is
 * {ifindex, address}. An aggregate of prefix length N < 32 sets
 * IPTRAFFIC_KEY4_AGGREGATE in ifindex (interface indexes are positive
 * ints, so bit 31 is free) and stores the network address with the first
 * bit past the prefix set: N is 31 minus the position of the lowest set
 * bit (host order). Both are in network byte order, as in the frame.
 */
struct iptraffic_key4 {
  __u32 ifindex; /* | IPTRAFFIC_KEY4_AGGREGATE for an aggregate */
  __u32 addr;    /* network byte order */
};

#define IPTRAFFIC_KEY4_AGGREGATE 0x80000000u

/* Counters from the address's point of view: tx = frames the address sent,
 * rx = frames it received. Shared (atomic adds) in itr_addr4/itr_addr6, per
 * CPU in itr_hot; the plugin sums them. */
struct iptraffic_value {
  __u64 rx_bytes;
  __u64 rx_packets;
  __u64 tx_bytes;
  __u64 tx_packets;
};

/* A bit per hash of a hot key: set when the key may be in itr_hot. */
#define IPTRAFFIC_HOT_FILTER_BITS 1024
struct iptraffic_hot_filter {
  __u64 bits[IPTRAFFIC_HOT_FILTER_BITS / 64];
};

/*
 * The filter bit of a key, from its six 32-bit words as they lie in
 * memory (struct iptraffic_key: ifindex, kind/prefixlen/reserved, addr).
 * Kernel and plugin must agree on it; it is a hint only, never a reason
 * to lose a count.
 */
static inline __u32 iptraffic_hot_bit(__u32 w0, __u32 w1, __u32 w2, __u32 w3,
                                      __u32 w4, __u32 w5) {
  __u32 h = w0 * 0x9e3779b1u ^ w1 * 0x85ebca6bu ^ w2 * 0xc2b2ae35u ^
            w3 * 0x27d4eb2fu ^ w4 * 0x165667b1u ^ w5 * 0xd3a2646cu;

  h ^= h >> 15;
  return h % IPTRAFFIC_HOT_FILTER_BITS;
}

/*
 * The record pinned beside the tables (PinPath/meta, an array of one):
 * what they hold and how their keys were shaped, so that a later start
 * reuses them only when it reads them the same way. The plugin creates it;
 * the programs never see it.
 */
#define IPTRAFFIC_META_MAGIC 0x66727469u /* "itrf" in memory, little end. */
struct iptraffic_meta {
  __u32 magic;           /* IPTRAFFIC_META_MAGIC */
  __u32 schema_version;  /* IPTRAFFIC_SCHEMA_VERSION of the writer */
  __u32 ipv4_entries;    /* max_entries of itr_addr4 (MaxEntries) */
  __u32 ipv6_entries;    /* of itr_addr6 (MaxEntriesIPv6) */
  __u32 hot_entries;     /* of itr_hot */
  __u8 ipv4_prefixlen;   /* IPv4PrefixLength */
  __u8 ipv6_prefixlen;   /* IPv6PrefixLength */
  __u16 networks_num;    /* <Network> blocks */
  __u64 networks_digest; /* FNV-1a of the blocks, in a canonical order */
};

/*
 * The configured networks (<Network> blocks), in an LPM trie looked up only
 * when there are any. The trie's data is the kind byte followed by the
 * address, so IPv4 and IPv6 networks share one trie: prefixlen counts the
 * kind byte's 8 bits plus the network's prefix length.
 */
struct iptraffic_net_key {
  __u32 prefixlen;
  __u8 kind; /* IPTRAFFIC_KIND_IPV4 or IPTRAFFIC_KIND_IPV6 */
  __u8 addr[16];
} __attribute__((packed));

struct iptraffic_net_value {
  __u8 prefixlen; /* aggregate addresses in the network to this length */
  __u8 ignore;    /* count the network's addresses as ignored */
  __u16 reserved;
};

/*
 * One entry carried over from pinned tables into tables that programs
 * already count in: the context of iptraffic_merge (a BPF_PROG_TYPE_SYSCALL
 * program run by the plugin, Linux 5.14), which adds value to key's
 * counters with atomic adds: in itr_hot (this CPU's counters) when the
 * plugin created the key there, else in its shared table, creating the
 * entry if needed. Not kept
 * anywhere, so not part of the schema.
 */
struct iptraffic_merge {
  struct iptraffic_key key;     /* the plugin's form */
  struct iptraffic_value value; /* to add */
  __u32 reserved;               /* 0 */
  __s32 err;                    /* out: 0, or -E2BIG when the shared table
                                   is full */
};

/*
 * Earlier schemas, read only to migrate their pinned tables. The first two
 * fields of struct iptraffic_meta (magic, schema_version) are the same in
 * every schema; a record of schema 2 has the layout above, with
 * ipv4_entries the size of its one table and ipv6_entries, hot_entries 0.
 *
 * Schema 2 (version 0.1.0): one per-CPU hash for every key,
 *   itr_counters    per-CPU hash, struct iptraffic_key -> iptraffic_value
 *                   per CPU (the key and value layouts of schema 3)
 *   itr_networks    as in schema 3
 */
#define IPTRAFFIC_SCHEMA2 2
#define IPTRAFFIC_SCHEMA2_COUNTERS "itr_counters"

_Static_assert(sizeof(struct iptraffic_key) == 24, "key layout changed");
_Static_assert(sizeof(struct iptraffic_key4) == 8, "IPv4 key layout changed");
_Static_assert(sizeof(struct iptraffic_net_key) == 21,
               "network key layout changed");
_Static_assert(sizeof(struct iptraffic_net_value) == 4,
               "network value layout changed");
_Static_assert(sizeof(struct iptraffic_value) == 32, "value layout changed");
_Static_assert(sizeof(struct iptraffic_value) % 8 == 0,
               "per-CPU values must be a multiple of 8 bytes");
_Static_assert(sizeof(struct iptraffic_hot_filter) == 128,
               "hot filter layout changed");
_Static_assert(sizeof(struct iptraffic_meta) == 32, "meta layout changed");
_Static_assert(sizeof(struct iptraffic_merge) == 64, "merge layout changed");

#endif /* IPTRAFFIC_H */
