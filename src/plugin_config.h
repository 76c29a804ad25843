/*
 * Plugin configuration: parsing and validation.
 *
 * Pure logic: libc only, no collectd or libbpf headers. The collectd glue
 * translates collectd's oconfig tree into struct itr_cfg_item and hands it
 * to itr_config_parse().
 */
#ifndef ITR_PLUGIN_CONFIG_H
#define ITR_PLUGIN_CONFIG_H

#include <net/if.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interface options (names and patterns) at most, and the longest. */
#define ITR_MAX_INTERFACES 64
#define ITR_IFACE_SPEC_LEN 128
/* Interfaces counted at once, those that patterns find included. */
#define ITR_MAX_COUNTED 4096

#define ITR_DEFAULT_MAX_ENTRIES 65536u
#define ITR_MIN_MAX_ENTRIES 16u
#define ITR_MAX_MAX_ENTRIES 16777216u
#define ITR_DEFAULT_EXPIRE_IDLE 300u
#define ITR_MAX_EXPIRE_IDLE 31536000u /* one year */
#define ITR_MAX_NETWORKS 1024
#define ITR_MAX_TOP_N 1000000u
#define ITR_DEFAULT_TOP_N_HOLD 5u
/* Addresses reported per interface and interval by default, the rest as
 * "other": bounds what collectd and its write plugins hold, whatever the
 * traffic (TopN 0 reports every address). */
#define ITR_DEFAULT_TOP_N 1000u
#define ITR_MAX_TOP_N_HOLD 100000u
/* PinPath, with room in PATH_MAX for what goes under it. */
#define ITR_PIN_PATH_LEN 192
#define ITR_DEFAULT_PIN_PATH "/sys/fs/bpf/iptraffic"

enum itr_xdp_mode {
  ITR_XDP_AUTO = 0, /* native, else generic */
  ITR_XDP_NATIVE,
  ITR_XDP_GENERIC,
};

/* How ingress is counted (IngressHook). */
enum itr_ingress_hook {
  ITR_INGRESS_AUTO = 0, /* XDP, else tc where another program holds XDP */
  ITR_INGRESS_XDP,      /* XDP only */
  ITR_INGRESS_TC,       /* tc only */
};

enum itr_direction {
  ITR_DIR_INGRESS = 1,
  ITR_DIR_EGRESS = 2,
  ITR_DIR_BOTH = 3,
};

/* A <Network "CIDR"> block. */
struct itr_network {
  uint8_t kind;      /* IPTRAFFIC_KIND_IPV4 or IPTRAFFIC_KIND_IPV6 */
  uint8_t len;       /* the network's prefix length */
  uint8_t addr[16];  /* network address, host bits zero */
  uint8_t prefixlen; /* aggregate its addresses to this length */
  bool ignore;       /* count its addresses as ignored instead */
};

struct itr_config {
  char interfaces[ITR_MAX_INTERFACES][ITR_IFACE_SPEC_LEN]; /* names, and
                              "/regex/" patterns */
  size_t interfaces_num;
  bool ignore_selected; /* count every interface but those listed */
  enum itr_xdp_mode xdp_mode;
  enum itr_ingress_hook ingress_hook;
  bool xdp_dispatcher; /* on a free XDP hook, attach through a libxdp
                          dispatcher that others can join (XDPDispatcher) */
  enum itr_direction direction;
  uint32_t max_entries;      /* IPv4 addresses in the kernel tables */
  uint32_t max_entries_ipv6; /* IPv6 ones; 0 until parsed: a quarter of
                                max_entries, at least the minimum */
  uint32_t expire_idle;      /* seconds; 0 = never expire */
  bool report_inactive;      /* dispatch addresses whose counters did not
                                change in the interval */
  uint8_t ipv4_prefixlen;    /* aggregate IPv4 addresses to this length */
  uint8_t ipv6_prefixlen;    /* and IPv6 addresses to this one */
  uint32_t top_n;            /* per interface; 0 = every address */
  bool top_n_set;            /* TopN given (else the default) */
  uint32_t top_n_hold;       /* intervals a member stays after leaving */
  struct itr_network networks[ITR_MAX_NETWORKS];
  size_t networks_num;
  char pin_path[ITR_PIN_PATH_LEN]; /* the state kept across restarts; "" =
                                      none */
};

/* A configuration tree, the shape of collectd's oconfig_item_t. */
enum itr_cfg_type {
  ITR_CFG_STRING,
  ITR_CFG_NUMBER,
  ITR_CFG_BOOLEAN,
};

struct itr_cfg_value {
  enum itr_cfg_type type;
  union {
    const char *string;
    double number;
    bool boolean;
  } v;
};

struct itr_cfg_item {
  const char *key;
  const struct itr_cfg_value *values;
  int values_num;
  const struct itr_cfg_item *children;
  int children_num;
};

/* Sets every option to its default. */
void itr_config_init(struct itr_config *cfg);

/* Applies the children of the <Plugin iptraffic> block and validates the
 * result (at least one Interface, unless IgnoreSelected). Returns 0, or -EINVAL
 * with a one-line message naming the option, the value and the reason in err.
 */
int itr_config_parse(struct itr_config *cfg, const struct itr_cfg_item *block,
                     char *err, size_t errlen);

/* Whether an Interface value is a pattern: "/regex/". */
bool itr_is_pattern(const char *spec);

/* Compiles a pattern's regular expression (extended syntax, between the
 * slashes). Returns 0, or the regcomp error with its text in err. */
int itr_pattern_compile(const char *spec, regex_t *re, char *err,
                        size_t errlen);

/* Names of enum values, as written in the configuration. */
const char *itr_xdp_mode_name(enum itr_xdp_mode mode);
const char *itr_ingress_hook_name(enum itr_ingress_hook hook);
const char *itr_direction_name(enum itr_direction dir);

#endif /* ITR_PLUGIN_CONFIG_H */
