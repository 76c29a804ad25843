/*
 * Plugin configuration: parsing and validation.
 *
 * Pure logic: libc only. Every error is one line that names the option, the
 * offending value and the reason; the collectd glue adds the plugin prefix.
 */
#include "plugin_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iptraffic.h"

/* Longest part of a string value quoted in an error message. */
#define QUOTE_MAX 48
/* Room for a quoted value (every byte may become \xNN, plus quotes and
 * "..."), and for a value described with its type. */
#define QUOTED_LEN (QUOTE_MAX * 4 + 8)
#define DESC_LEN (QUOTED_LEN + 32)

struct enum_name {
  const char *name;
  int value;
};

static const struct enum_name xdp_modes[] = {
    {"auto", ITR_XDP_AUTO},
    {"native", ITR_XDP_NATIVE},
    {"generic", ITR_XDP_GENERIC},
    {NULL, 0},
};

static const struct enum_name ingress_hooks[] = {
    {"auto", ITR_INGRESS_AUTO},
    {"xdp", ITR_INGRESS_XDP},
    {"tc", ITR_INGRESS_TC},
    {NULL, 0},
};

static const struct enum_name directions[] = {
    {"ingress", ITR_DIR_INGRESS},
    {"egress", ITR_DIR_EGRESS},
    {"both", ITR_DIR_BOTH},
    {NULL, 0},
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
                                                      const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

/* Writes s as a double-quoted string that stays on one line: quotes,
 * backslashes and non-printable bytes are escaped, long strings are cut. */
static void quote(const char *s, char *buf, size_t len) {
  size_t n = 0;
  size_t i;

  if (s == NULL)
    s = "";
  buf[n++] = '"';
  for (i = 0; i < QUOTE_MAX && s[i] != '\0'; i++) {
    unsigned char c = (unsigned char)s[i];
    if (n + 5 >= len)
      break;
    if (c == '"' || c == '\\')
      n += (size_t)snprintf(buf + n, len - n, "\\%c", c);
    else if (isprint(c))
      buf[n++] = (char)c;
    else
      n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
  }
  if (s[i] != '\0' && n + 5 < len) {
    memcpy(buf + n, "...", 3);
    n += 3;
  }
  buf[n++] = '"';
  buf[n] = '\0';
}

/* "a string \"abc\"", "a number 1.5", "a boolean true". */
static void describe(const struct itr_cfg_value *v, char *buf, size_t len) {
  char q[QUOTED_LEN];

  switch (v->type) {
  case ITR_CFG_STRING:
    quote(v->v.string, q, sizeof(q));
    snprintf(buf, len, "a string %s", q);
    break;
  case ITR_CFG_NUMBER:
    snprintf(buf, len, "a number %.15g", v->v.number);
    break;
  case ITR_CFG_BOOLEAN:
    snprintf(buf, len, "a boolean %s", v->v.boolean ? "true" : "false");
    break;
  default:
    snprintf(buf, len, "a value of unknown type %d", (int)v->type);
    break;
  }
}

/* None of the options takes a block with child options. */
static int check_no_children(const struct itr_cfg_item *item, char *err,
                             size_t errlen) {
  char q[QUOTED_LEN];

  if (item->children_num <= 0)
    return 0;
  quote(item->children[0].key, q, sizeof(q));
  return fail(err, errlen,
              "Option \"%s\" takes no child options, got %s inside its block",
              item->key, q);
}

/* Checks the shape of an option line: no child options, one value (or,
 * with many, at least one), every value of type. expects says so in words. */
static int check_values(const struct itr_cfg_item *item, enum itr_cfg_type type,
                        bool many, const char *expects, char *err,
                        size_t errlen) {
  char d[DESC_LEN];
  int ret = check_no_children(item, err, errlen);
  int i;

  if (ret < 0)
    return ret;
  if (item->values_num < 1)
    return fail(err, errlen, "Option \"%s\" expects %s, got no value",
                item->key, expects);
  if (item->values_num > 1 && !many)
    return fail(err, errlen, "Option \"%s\" expects %s, got %d values",
                item->key, expects, item->values_num);
  for (i = 0; i < item->values_num; i++) {
    if (item->values[i].type != type) {
      describe(&item->values[i], d, sizeof(d));
      return fail(err, errlen, "Option \"%s\" expects %s, got %s", item->key,
                  expects, d);
    }
  }
  return 0;
}

static int get_uint32(const struct itr_cfg_item *item, uint32_t min,
                      uint32_t max, const char *unit, uint32_t *out, char *err,
                      size_t errlen) {
  double v;
  int ret =
      check_values(item, ITR_CFG_NUMBER, false, "one number", err, errlen);

  if (ret < 0)
    return ret;
  v = item->values[0].v.number;
  /* Also false for NaN. */
  if (!(v >= (double)min && v <= (double)max))
    return fail(err, errlen,
                "Option \"%s\": %.15g is out of range (allowed: %u..%u%s)",
                item->key, v, min, max, unit);
  if ((double)(uint32_t)v != v)
    return fail(err, errlen,
                "Option \"%s\": %.15g is not an integer (allowed: %u..%u%s)",
                item->key, v, min, max, unit);
  *out = (uint32_t)v;
  return 0;
}

/* Appends name to the comma-separated list of n characters in buf and
 * returns the new length (which may exceed len when the list is cut). */
static size_t append_name(char *buf, size_t len, size_t n, const char *name,
                          const char *quote_char) {
  if (n >= len)
    return n;
  return n + (size_t)snprintf(buf + n, len - n, "%s%s%s%s", n ? ", " : "",
                              quote_char, name, quote_char);
}

static int get_enum(const struct itr_cfg_item *item,
                    const struct enum_name *names, int *out, char *err,
                    size_t errlen) {
  char q[QUOTED_LEN];
  char allowed[128];
  size_t n = 0;
  const struct enum_name *e;
  int ret =
      check_values(item, ITR_CFG_STRING, false, "one string", err, errlen);

  if (ret < 0)
    return ret;
  for (e = names; e->name != NULL; e++) {
    if (strcasecmp(e->name, item->values[0].v.string) == 0) {
      *out = e->value;
      return 0;
    }
  }
  quote(item->values[0].v.string, q, sizeof(q));
  allowed[0] = '\0';
  for (e = names; e->name != NULL; e++)
    n = append_name(allowed, sizeof(allowed), n, e->name, "\"");
  return fail(err, errlen, "Option \"%s\": %s is not valid (allowed: %s)",
              item->key, q, allowed);
}

static const char *enum_to_name(const struct enum_name *names, int value) {
  for (; names->name != NULL; names++)
    if (names->value == value)
      return names->name;
  return "unknown";
}

/* The kernel's rules for a network device name (dev_valid_name), except
 * the length, which add_interface() reports with the numbers. */
static const char *bad_ifname_reason(const char *name) {
  size_t i;

  if (name[0] == '\0')
    return "is empty";
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return "is reserved";
  for (i = 0; name[i] != '\0'; i++) {
    if (name[i] == '/')
      return "must not contain '/'";
    if (name[i] == ':')
      return "must not contain ':'";
    if (isspace((unsigned char)name[i]))
      return "must not contain whitespace";
  }
  return NULL;
}

bool itr_is_pattern(const char *spec) {
  size_t len = strlen(spec);

  return len >= 2 && spec[0] == '/' && spec[len - 1] == '/';
}

int itr_pattern_compile(const char *spec, regex_t *re, char *err,
                        size_t errlen) {
  size_t len = strlen(spec);
  char *body = len >= 2 ? strndup(spec + 1, len - 2) : NULL;
  int ret;

  if (!body) {
    snprintf(err, errlen, "out of memory");
    return REG_ESPACE;
  }
  ret = regcomp(re, body, REG_EXTENDED | REG_NOSUB);
  free(body);
  if (ret != 0) {
    regerror(ret, re, err, errlen);
    regfree(re);
  }
  return ret;
}

/* A "/regex/" pattern: one that compiles, not empty. */
static int check_pattern(const char *key, const char *spec, const char *q,
                         char *err, size_t errlen) {
  size_t len = strlen(spec);
  char why[128];
  regex_t re;

  if (len == 2)
    return fail(err, errlen,
                "Option \"%s\": %s is an empty pattern (it would match "
                "every interface: use IgnoreSelected true without it)",
                key, q);
  if (len >= ITR_IFACE_SPEC_LEN)
    return fail(err, errlen,
                "Option \"%s\": pattern %s is too long (%zu characters, at "
                "most %d)",
                key, q, len, ITR_IFACE_SPEC_LEN - 1);
  if (itr_pattern_compile(spec, &re, why, sizeof(why)) != 0)
    return fail(err, errlen,
                "Option \"%s\": %s is not a valid regular expression "
                "between slashes: %s",
                key, q, why);
  regfree(&re);
  return 0;
}

static int add_interface(struct itr_config *cfg, const char *key,
                         const char *name, char *err, size_t errlen) {
  char q[QUOTED_LEN];
  bool pattern = itr_is_pattern(name);
  const char *reason = pattern ? NULL : bad_ifname_reason(name);
  size_t len = strlen(name);
  size_t i;
  int ret;

  quote(name, q, sizeof(q));
  if (reason != NULL)
    return fail(err, errlen, "Option \"%s\": interface name %s %s", key, q,
                reason);
  if (!pattern && len >= IF_NAMESIZE)
    return fail(err, errlen,
                "Option \"%s\": interface name %s is too long (%zu "
                "characters, at most %d)",
                key, q, len, IF_NAMESIZE - 1);
  if (pattern && (ret = check_pattern(key, name, q, err, errlen)) != 0)
    return ret;
  for (i = 0; i < cfg->interfaces_num; i++)
    if (strcmp(cfg->interfaces[i], name) == 0)
      return fail(err, errlen, "Option \"%s\": interface %s is listed twice",
                  key, q);
  if (cfg->interfaces_num >= ITR_MAX_INTERFACES)
    return fail(err, errlen,
                "Option \"%s\": interface %s is one too many (at most %d "
                "interfaces)",
                key, q, ITR_MAX_INTERFACES);
  memcpy(cfg->interfaces[cfg->interfaces_num++], name, len + 1);
  return 0;
}

static int opt_interface(struct itr_config *cfg,
                         const struct itr_cfg_item *item, char *err,
                         size_t errlen) {
  int ret = check_values(item, ITR_CFG_STRING, true, "one or more strings", err,
                         errlen);
  int i;

  for (i = 0; ret == 0 && i < item->values_num; i++)
    ret = add_interface(cfg, item->key, item->values[i].v.string, err, errlen);
  return ret;
}

static int opt_xdp_mode(struct itr_config *cfg, const struct itr_cfg_item *item,
                        char *err, size_t errlen) {
  int v = 0;
  int ret = get_enum(item, xdp_modes, &v, err, errlen);

  if (ret == 0)
    cfg->xdp_mode = (enum itr_xdp_mode)v;
  return ret;
}

static int opt_ingress_hook(struct itr_config *cfg,
                            const struct itr_cfg_item *item, char *err,
                            size_t errlen) {
  int v = 0;
  int ret = get_enum(item, ingress_hooks, &v, err, errlen);

  if (ret == 0)
    cfg->ingress_hook = (enum itr_ingress_hook)v;
  return ret;
}

static int opt_direction(struct itr_config *cfg,
                         const struct itr_cfg_item *item, char *err,
                         size_t errlen) {
  int v = 0;
  int ret = get_enum(item, directions, &v, err, errlen);

  if (ret == 0)
    cfg->direction = (enum itr_direction)v;
  return ret;
}

static int get_boolean(const struct itr_cfg_item *item, bool *out, char *err,
                       size_t errlen) {
  int ret =
      check_values(item, ITR_CFG_BOOLEAN, false, "true or false", err, errlen);

  if (ret == 0)
    *out = item->values[0].v.boolean;
  return ret;
}

static int get_uint8(const struct itr_cfg_item *item, uint32_t min,
                     uint32_t max, uint8_t *out, char *err, size_t errlen) {
  uint32_t v = 0;
  int ret = get_uint32(item, min, max, "", &v, err, errlen);

  if (ret == 0)
    *out = (uint8_t)v;
  return ret;
}

static int opt_ignore_selected(struct itr_config *cfg,
                               const struct itr_cfg_item *item, char *err,
                               size_t errlen) {
  return get_boolean(item, &cfg->ignore_selected, err, errlen);
}

static int opt_xdp_dispatcher(struct itr_config *cfg,
                              const struct itr_cfg_item *item, char *err,
                              size_t errlen) {
  return get_boolean(item, &cfg->xdp_dispatcher, err, errlen);
}

static int opt_report_inactive(struct itr_config *cfg,
                               const struct itr_cfg_item *item, char *err,
                               size_t errlen) {
  return get_boolean(item, &cfg->report_inactive, err, errlen);
}

static int opt_ipv4_prefixlen(struct itr_config *cfg,
                              const struct itr_cfg_item *item, char *err,
                              size_t errlen) {
  return get_uint8(item, 1, 32, &cfg->ipv4_prefixlen, err, errlen);
}

static int opt_ipv6_prefixlen(struct itr_config *cfg,
                              const struct itr_cfg_item *item, char *err,
                              size_t errlen) {
  return get_uint8(item, 1, 128, &cfg->ipv6_prefixlen, err, errlen);
}

static int opt_top_n(struct itr_config *cfg, const struct itr_cfg_item *item,
                     char *err, size_t errlen) {
  int ret = get_uint32(item, 0, ITR_MAX_TOP_N, "; 0 = every address",
                       &cfg->top_n, err, errlen);

  if (ret == 0)
    cfg->top_n_set = true;
  return ret;
}

static int opt_top_n_hold(struct itr_config *cfg,
                          const struct itr_cfg_item *item, char *err,
                          size_t errlen) {
  return get_uint32(item, 0, ITR_MAX_TOP_N_HOLD, " intervals", &cfg->top_n_hold,
                    err, errlen);
}

/* Parses "192.0.2.0/24", "2001:db8::/32" or a single address into net
 * (kind, addr, len). Returns NULL or why the text is not a network. */
static const char *parse_cidr(const char *text, struct itr_network *net) {
  char buf[INET6_ADDRSTRLEN + 8];
  const char *slash = strchr(text, '/');
  size_t alen = slash ? (size_t)(slash - text) : strlen(text);
  unsigned full, len, i;
  char *end;

  if (alen >= sizeof(buf))
    return "is not an address";
  memcpy(buf, text, alen);
  buf[alen] = '\0';
  memset(net, 0, sizeof(*net));
  if (inet_pton(AF_INET, buf, net->addr) == 1) {
    net->kind = IPTRAFFIC_KIND_IPV4;
    full = 32;
  } else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
    net->kind = IPTRAFFIC_KIND_IPV6;
    full = 128;
  } else {
    return "is not an IPv4 or IPv6 network (e.g. \"192.0.2.0/24\")";
  }
  len = full;
  if (slash) {
    unsigned long v;

    if (!isdigit((unsigned char)slash[1]))
      return "has no prefix length after '/'";
    v = strtoul(slash + 1, &end, 10);
    if (*end != '\0' || v > full)
      return full == 32 ? "has a prefix length that is not 0..32"
                        : "has a prefix length that is not 0..128";
    len = (unsigned)v;
  }
  for (i = len; i < full; i++)
    if (net->addr[i / 8] & (0x80 >> (i % 8)))
      return "has host bits set past its prefix length";
  net->len = (uint8_t)len;
  return NULL;
}

/* <Network "CIDR"> with PrefixLength N or Ignore true inside. */
static int opt_network(struct itr_config *cfg, const struct itr_cfg_item *item,
                       char *err, size_t errlen) {
  char q[QUOTED_LEN];
  struct itr_network net;
  const char *why;
  bool have_len = false, ignore = false;
  unsigned full;
  int i;

  if (item->values_num != 1 || item->values[0].type != ITR_CFG_STRING) {
    char d[DESC_LEN];

    if (item->values_num < 1)
      return fail(err, errlen,
                  "Block <%s> expects one network string, got no value",
                  item->key);
    describe(&item->values[0], d, sizeof(d));
    return fail(err, errlen,
                "Block <%s> expects one network string like "
                "\"192.0.2.0/24\", got %s%s",
                item->key, d, item->values_num > 1 ? " and more" : "");
  }
  quote(item->values[0].v.string, q, sizeof(q));
  why = parse_cidr(item->values[0].v.string, &net);
  if (why)
    return fail(err, errlen, "Block <%s %s>: the network %s", item->key, q,
                why);
  full = net.kind == IPTRAFFIC_KIND_IPV4 ? 32 : 128;
  for (i = 0; i < item->children_num; i++) {
    const struct itr_cfg_item *c = &item->children[i];
    int ret;

    if (c->key == NULL) {
      ret = fail(err, errlen, "Option without a name");
    } else if (strcasecmp(c->key, "PrefixLength") == 0) {
      ret = get_uint8(c, net.len ? net.len : 1, full, &net.prefixlen, err,
                      errlen);
      have_len = true;
    } else if (strcasecmp(c->key, "Ignore") == 0) {
      ret = get_boolean(c, &ignore, err, errlen);
    } else {
      char k[QUOTED_LEN];

      quote(c->key, k, sizeof(k));
      ret = fail(err, errlen,
                 "Unknown option %s (known options: PrefixLength, Ignore)", k);
    }
    if (ret < 0) {
      char inner[256] = "";

      if (err != NULL && errlen > 0)
        snprintf(inner, sizeof(inner), "%s", err);
      return fail(err, errlen, "Block <%s %s>: %s", item->key, q, inner);
    }
  }
  if (have_len == ignore)
    return fail(err, errlen,
                "Block <%s %s> needs exactly one of PrefixLength N or Ignore "
                "true",
                item->key, q);
  net.ignore = ignore;
  for (size_t n = 0; n < cfg->networks_num; n++)
    if (cfg->networks[n].kind == net.kind && cfg->networks[n].len == net.len &&
        memcmp(cfg->networks[n].addr, net.addr, sizeof(net.addr)) == 0)
      return fail(err, errlen, "Block <%s %s> is listed twice", item->key, q);
  if (cfg->networks_num >= ITR_MAX_NETWORKS)
    return fail(err, errlen, "Block <%s %s> is one too many (at most %d)",
                item->key, q, ITR_MAX_NETWORKS);
  cfg->networks[cfg->networks_num++] = net;
  return 0;
}

static int opt_max_entries(struct itr_config *cfg,
                           const struct itr_cfg_item *item, char *err,
                           size_t errlen) {
  return get_uint32(item, ITR_MIN_MAX_ENTRIES, ITR_MAX_MAX_ENTRIES, "",
                    &cfg->max_entries, err, errlen);
}

static int opt_max_entries_ipv6(struct itr_config *cfg,
                                const struct itr_cfg_item *item, char *err,
                                size_t errlen) {
  return get_uint32(item, ITR_MIN_MAX_ENTRIES, ITR_MAX_MAX_ENTRIES, "",
                    &cfg->max_entries_ipv6, err, errlen);
}

static int opt_pin_path(struct itr_config *cfg, const struct itr_cfg_item *item,
                        char *err, size_t errlen) {
  char q[QUOTED_LEN];
  const char *path;
  size_t len;
  int ret =
      check_values(item, ITR_CFG_STRING, false, "one string", err, errlen);

  if (ret < 0)
    return ret;
  path = item->values[0].v.string;
  len = strlen(path);
  quote(path, q, sizeof(q));
  if (len == 0) {
    cfg->pin_path[0] = '\0';
    return 0;
  }
  if (path[0] != '/')
    return fail(err, errlen,
                "Option \"%s\": %s is not an absolute path (\"\" keeps no "
                "state)",
                item->key, q);
  if (len >= ITR_PIN_PATH_LEN)
    return fail(err, errlen,
                "Option \"%s\": %s is too long (%zu characters, at most %d)",
                item->key, q, len, ITR_PIN_PATH_LEN - 1);
  if (len > 1 && path[len - 1] == '/')
    return fail(err, errlen, "Option \"%s\": %s ends in '/'", item->key, q);
  if (strstr(path, "//") || strstr(path, "/./") || strstr(path, "/../") ||
      (len >= 3 && strcmp(path + len - 3, "/..") == 0) ||
      (len >= 2 && strcmp(path + len - 2, "/.") == 0))
    return fail(err, errlen,
                "Option \"%s\": %s is not a plain path (no \"//\", \".\" or "
                "\"..\")",
                item->key, q);
  if (strcmp(path, "/") == 0)
    return fail(err, errlen, "Option \"%s\": %s is the root directory",
                item->key, q);
  memcpy(cfg->pin_path, path, len + 1);
  return 0;
}

static int opt_expire_idle(struct itr_config *cfg,
                           const struct itr_cfg_item *item, char *err,
                           size_t errlen) {
  return get_uint32(item, 0, ITR_MAX_EXPIRE_IDLE, " seconds; 0 = never",
                    &cfg->expire_idle, err, errlen);
}

struct option {
  const char *key;
  int (*apply)(struct itr_config *cfg, const struct itr_cfg_item *item,
               char *err, size_t errlen);
};

static const struct option options[] = {
    {"Interface", opt_interface},
    {"IgnoreSelected", opt_ignore_selected},
    {"XDPMode", opt_xdp_mode},
    {"IngressHook", opt_ingress_hook},
    {"XDPDispatcher", opt_xdp_dispatcher},
    {"Direction", opt_direction},
    {"MaxEntries", opt_max_entries},
    {"MaxEntriesIPv6", opt_max_entries_ipv6},
    {"ExpireIdle", opt_expire_idle},
    {"ReportInactive", opt_report_inactive},
    {"IPv4PrefixLength", opt_ipv4_prefixlen},
    {"IPv6PrefixLength", opt_ipv6_prefixlen},
    {"Network", opt_network},
    {"TopN", opt_top_n},
    {"TopNHold", opt_top_n_hold},
    {"PinPath", opt_pin_path},
};

#define OPTIONS_NUM (sizeof(options) / sizeof(options[0]))

static int apply_option(struct itr_config *cfg, const struct itr_cfg_item *item,
                        char *err, size_t errlen) {
  char q[QUOTED_LEN];
  char known[256];
  size_t n = 0;
  size_t i;

  if (item->key == NULL)
    return fail(err, errlen, "Option without a name");
  for (i = 0; i < OPTIONS_NUM; i++)
    if (strcasecmp(options[i].key, item->key) == 0)
      return options[i].apply(cfg, item, err, errlen);
  known[0] = '\0';
  for (i = 0; i < OPTIONS_NUM; i++)
    n = append_name(known, sizeof(known), n, options[i].key, "");
  quote(item->key, q, sizeof(q));
  return fail(err, errlen, "Unknown option %s (known options: %s)", q, known);
}

void itr_config_init(struct itr_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->xdp_mode = ITR_XDP_AUTO;
  cfg->ingress_hook = ITR_INGRESS_AUTO;
  cfg->xdp_dispatcher = true;
  cfg->direction = ITR_DIR_BOTH;
  cfg->max_entries = ITR_DEFAULT_MAX_ENTRIES;
  cfg->expire_idle = ITR_DEFAULT_EXPIRE_IDLE;
  cfg->report_inactive = true;
  cfg->ipv4_prefixlen = 32;
  cfg->ipv6_prefixlen = 128;
  cfg->top_n = ITR_DEFAULT_TOP_N;
  cfg->top_n_hold = ITR_DEFAULT_TOP_N_HOLD;
  snprintf(cfg->pin_path, sizeof(cfg->pin_path), "%s", ITR_DEFAULT_PIN_PATH);
}

int itr_config_parse(struct itr_config *cfg, const struct itr_cfg_item *block,
                     char *err, size_t errlen) {
  struct itr_config tmp = *cfg;
  int i;

  if (err != NULL && errlen > 0)
    err[0] = '\0';
  for (i = 0; block != NULL && i < block->children_num; i++) {
    int ret = apply_option(&tmp, &block->children[i], err, errlen);

    if (ret < 0)
      return ret;
  }
  if (tmp.interfaces_num == 0 && !tmp.ignore_selected)
    return fail(err, errlen,
                "Option \"Interface\" is missing: name at least one network "
                "interface to count traffic on");
  if (tmp.max_entries_ipv6 == 0)
    tmp.max_entries_ipv6 = tmp.max_entries / 4 < ITR_MIN_MAX_ENTRIES
                               ? ITR_MIN_MAX_ENTRIES
                               : tmp.max_entries / 4;
  *cfg = tmp;
  return 0;
}

const char *itr_xdp_mode_name(enum itr_xdp_mode mode) {
  return enum_to_name(xdp_modes, (int)mode);
}

const char *itr_ingress_hook_name(enum itr_ingress_hook hook) {
  return enum_to_name(ingress_hooks, (int)hook);
}

const char *itr_direction_name(enum itr_direction dir) {
  return enum_to_name(directions, (int)dir);
}
