/*
 * Unit tests for the configuration parser (src/plugin_config.c).
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iptraffic.h"
#include "plugin_config.h"

#define ERR_LEN 512

#define STR(s)                                                                 \
  { .type = ITR_CFG_STRING, .v.string = (s) }
#define NUM(n)                                                                 \
  { .type = ITR_CFG_NUMBER, .v.number = (n) }
#define BOOL(b)                                                                \
  { .type = ITR_CFG_BOOLEAN, .v.boolean = (b) }
#define VALUES(...) ((const struct itr_cfg_value[]){__VA_ARGS__})
#define COUNT(...)                                                             \
  ((int)(sizeof(VALUES(__VA_ARGS__)) / sizeof(struct itr_cfg_value)))
/* One option line: key and one or more values. */
#define OPT(k, ...)                                                            \
  {                                                                            \
    .key = (k), .values = VALUES(__VA_ARGS__),                                 \
    .values_num = COUNT(__VA_ARGS__)                                           \
  }
/* An option line without values. */
#define OPT0(k)                                                                \
  { .key = (k) }
#define ITEMS(...) ((const struct itr_cfg_item[]){__VA_ARGS__})
#define NITEMS(...)                                                            \
  ((int)(sizeof(ITEMS(__VA_ARGS__)) / sizeof(struct itr_cfg_item)))

/* Parses the options into cfg (initialised to defaults first). */
#define PARSE(cfg, err, ...)                                                   \
  parse_items((cfg), ITEMS(__VA_ARGS__), NITEMS(__VA_ARGS__), (err))

static int parse_items(struct itr_config *cfg, const struct itr_cfg_item *items,
                       int n, char *err) {
  static const struct itr_cfg_value plugin_name[] = {STR("iptraffic")};
  struct itr_cfg_item block = {
      .key = "Plugin",
      .values = plugin_name,
      .values_num = 1,
      .children = items,
      .children_num = n,
  };

  itr_config_init(cfg);
  memset(err, 'X', ERR_LEN);
  err[ERR_LEN - 1] = '\0';
  return itr_config_parse(cfg, &block, err, ERR_LEN);
}

/* The error is one line without the plugin prefix (the glue adds it) and
 * contains every needle. */
static void check_message(const char *err, const char *const *needles) {
  ck_assert_msg(err[0] != '\0', "empty error message");
  ck_assert_msg(strchr(err, '\n') == NULL, "multi-line message: %s", err);
  ck_assert_msg(strstr(err, "iptraffic plugin") == NULL,
                "message carries the plugin prefix: %s", err);
  for (; *needles != NULL; needles++)
    ck_assert_msg(strstr(err, *needles) != NULL,
                  "message \"%s\" does not mention \"%s\"", err, *needles);
}

#define EXPECT_ERROR(needles, ...)                                             \
  do {                                                                         \
    struct itr_config cfg_;                                                    \
    char err_[ERR_LEN];                                                        \
    int ret_ = PARSE(&cfg_, err_, __VA_ARGS__);                                \
    ck_assert_int_eq(ret_, -EINVAL);                                           \
    check_message(err_, (const char *const[])needles);                         \
  } while (0)

/* Shorthand for the needle list of EXPECT_ERROR. */
#define SAYS(...)                                                              \
  { __VA_ARGS__, NULL }

#define IF0 OPT("Interface", STR("eth0"))

/* --- defaults and valid options ----------------------------------------- */

START_TEST(test_defaults) {
  struct itr_config cfg;

  memset(&cfg, 0xa5, sizeof(cfg));
  itr_config_init(&cfg);
  ck_assert_uint_eq(cfg.interfaces_num, 0);
  ck_assert_int_eq(cfg.xdp_mode, ITR_XDP_AUTO);
  ck_assert_int_eq(cfg.direction, ITR_DIR_BOTH);
  ck_assert_uint_eq(cfg.max_entries, ITR_DEFAULT_MAX_ENTRIES);
  ck_assert_uint_eq(cfg.expire_idle, ITR_DEFAULT_EXPIRE_IDLE);
}
END_TEST

START_TEST(test_minimal) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0), 0);
  ck_assert_uint_eq(cfg.interfaces_num, 1);
  ck_assert_str_eq(cfg.interfaces[0], "eth0");
  ck_assert_int_eq(cfg.xdp_mode, ITR_XDP_AUTO);
  ck_assert_int_eq(cfg.direction, ITR_DIR_BOTH);
  ck_assert_uint_eq(cfg.max_entries, ITR_DEFAULT_MAX_ENTRIES);
  ck_assert_uint_eq(cfg.expire_idle, ITR_DEFAULT_EXPIRE_IDLE);
}
END_TEST

START_TEST(test_all_options) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(
      PARSE(&cfg, err, OPT("Interface", STR("eth0")),
            OPT("XDPMode", STR("generic")), OPT("Direction", STR("ingress")),
            OPT("MaxEntries", NUM(1024)), OPT("ExpireIdle", NUM(60))),
      0);
  ck_assert_uint_eq(cfg.interfaces_num, 1);
  ck_assert_str_eq(cfg.interfaces[0], "eth0");
  ck_assert_int_eq(cfg.xdp_mode, ITR_XDP_GENERIC);
  ck_assert_int_eq(cfg.direction, ITR_DIR_INGRESS);
  ck_assert_uint_eq(cfg.max_entries, 1024);
  ck_assert_uint_eq(cfg.expire_idle, 60);
}
END_TEST

START_TEST(test_keys_case_insensitive) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(
      PARSE(&cfg, err, OPT("INTERFACE", STR("eth0")),
            OPT("interface", STR("eth1")), OPT("xdpmode", STR("native")),
            OPT("DIRECTION", STR("egress")), OPT("maxENTRIES", NUM(4096)),
            OPT("expireidle", NUM(0))),
      0);
  ck_assert_uint_eq(cfg.interfaces_num, 2);
  ck_assert_int_eq(cfg.xdp_mode, ITR_XDP_NATIVE);
  ck_assert_int_eq(cfg.direction, ITR_DIR_EGRESS);
  ck_assert_uint_eq(cfg.max_entries, 4096);
  ck_assert_uint_eq(cfg.expire_idle, 0);
}
END_TEST

/* Interface names are case-sensitive, like the kernel's. */
START_TEST(test_interface_case_kept) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, OPT("Interface", STR("Eth0"), STR("eth0"))),
                   0);
  ck_assert_uint_eq(cfg.interfaces_num, 2);
  ck_assert_str_eq(cfg.interfaces[0], "Eth0");
  ck_assert_str_eq(cfg.interfaces[1], "eth0");
}
END_TEST

struct xdp_mode_case {
  const char *text;
  enum itr_xdp_mode mode;
};

static const struct xdp_mode_case xdp_modes[] = {
    {"auto", ITR_XDP_AUTO},       {"native", ITR_XDP_NATIVE},
    {"generic", ITR_XDP_GENERIC}, {"AUTO", ITR_XDP_AUTO},
    {"Native", ITR_XDP_NATIVE},   {"GeNeRiC", ITR_XDP_GENERIC},
};

START_TEST(test_xdp_mode_values) {
  struct itr_config cfg;
  char err[ERR_LEN];

  /* Start from a non-default value so that "auto" is really parsed. */
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("XDPMode", STR("native")),
                         OPT("XDPMode", STR(xdp_modes[_i].text))),
                   0);
  ck_assert_int_eq(cfg.xdp_mode, xdp_modes[_i].mode);
}
END_TEST

struct direction_case {
  const char *text;
  enum itr_direction dir;
};

static const struct direction_case directions[] = {
    {"ingress", ITR_DIR_INGRESS}, {"egress", ITR_DIR_EGRESS},
    {"both", ITR_DIR_BOTH},       {"INGRESS", ITR_DIR_INGRESS},
    {"Egress", ITR_DIR_EGRESS},   {"bOTH", ITR_DIR_BOTH},
};

START_TEST(test_direction_values) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("Direction", STR("ingress")),
                         OPT("Direction", STR(directions[_i].text))),
                   0);
  ck_assert_int_eq(cfg.direction, directions[_i].dir);
}
END_TEST

START_TEST(test_last_value_wins) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("MaxEntries", NUM(100)),
                         OPT("MaxEntries", NUM(200)),
                         OPT("ExpireIdle", NUM(10)),
                         OPT("ExpireIdle", NUM(20))),
                   0);
  ck_assert_uint_eq(cfg.max_entries, 200);
  ck_assert_uint_eq(cfg.expire_idle, 20);
}
END_TEST

START_TEST(test_enum_names) {
  ck_assert_str_eq(itr_xdp_mode_name(ITR_XDP_AUTO), "auto");
  ck_assert_str_eq(itr_xdp_mode_name(ITR_XDP_NATIVE), "native");
  ck_assert_str_eq(itr_xdp_mode_name(ITR_XDP_GENERIC), "generic");
  ck_assert_str_eq(itr_direction_name(ITR_DIR_INGRESS), "ingress");
  ck_assert_str_eq(itr_direction_name(ITR_DIR_EGRESS), "egress");
  ck_assert_str_eq(itr_direction_name(ITR_DIR_BOTH), "both");
  /* Never NULL, so it is always safe to log. */
  ck_assert_ptr_nonnull(itr_xdp_mode_name((enum itr_xdp_mode)42));
  ck_assert_ptr_nonnull(itr_direction_name((enum itr_direction)0));
}
END_TEST

/* The names the functions return are accepted by the parser. */
START_TEST(test_enum_names_round_trip) {
  static const enum itr_xdp_mode modes[] = {ITR_XDP_AUTO, ITR_XDP_NATIVE,
                                            ITR_XDP_GENERIC};
  static const enum itr_direction dirs[] = {ITR_DIR_INGRESS, ITR_DIR_EGRESS,
                                            ITR_DIR_BOTH};
  struct itr_config cfg;
  char err[ERR_LEN];

  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(PARSE(&cfg, err, IF0,
                           OPT("XDPMode", STR(itr_xdp_mode_name(modes[i]))),
                           OPT("Direction", STR(itr_direction_name(dirs[i])))),
                     0);
    ck_assert_int_eq(cfg.xdp_mode, modes[i]);
    ck_assert_int_eq(cfg.direction, dirs[i]);
  }
}
END_TEST

/* --- Interface ------------------------------------------------------------ */

START_TEST(test_interface_repeated) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, OPT("Interface", STR("eth0")),
                         OPT("Interface", STR("eth1")),
                         OPT("Interface", STR("veth-a.100"))),
                   0);
  ck_assert_uint_eq(cfg.interfaces_num, 3);
  ck_assert_str_eq(cfg.interfaces[0], "eth0");
  ck_assert_str_eq(cfg.interfaces[1], "eth1");
  ck_assert_str_eq(cfg.interfaces[2], "veth-a.100");
}
END_TEST

START_TEST(test_interface_several_on_one_line) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, OPT("Interface", STR("a"), STR("b")),
                         OPT("Interface", STR("c"))),
                   0);
  ck_assert_uint_eq(cfg.interfaces_num, 3);
  ck_assert_str_eq(cfg.interfaces[0], "a");
  ck_assert_str_eq(cfg.interfaces[1], "b");
  ck_assert_str_eq(cfg.interfaces[2], "c");
}
END_TEST

/* The longest valid name: IF_NAMESIZE - 1 characters. */
START_TEST(test_interface_longest) {
  struct itr_config cfg;
  char err[ERR_LEN];
  char name[IF_NAMESIZE];

  memset(name, 'x', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  ck_assert_int_eq(PARSE(&cfg, err, OPT("Interface", STR(name))), 0);
  ck_assert_str_eq(cfg.interfaces[0], name);
}
END_TEST

START_TEST(test_interface_too_long) {
  char name[IF_NAMESIZE + 1];
  char max[16];

  memset(name, 'x', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  snprintf(max, sizeof(max), "%d", IF_NAMESIZE - 1);
  EXPECT_ERROR(SAYS("\"Interface\"", name, "too long", max),
               OPT("Interface", STR(name)));
}
END_TEST

START_TEST(test_interface_much_too_long) {
  char name[1000];

  memset(name, 'y', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  EXPECT_ERROR(SAYS("\"Interface\"", "yyyyyyyyyyyyyyyy", "too long"),
               OPT("Interface", STR(name)));
}
END_TEST

/* A name that is valid for the kernel even if unusual. */
START_TEST(test_interface_unusual_valid) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(
      PARSE(&cfg, err, OPT("Interface", STR("..."), STR("a.b"), STR("-"))), 0);
  ck_assert_uint_eq(cfg.interfaces_num, 3);
}
END_TEST

struct bad_name_case {
  const char *name;
  const char *value_shown; /* as the message quotes it */
  const char *why;
};

static const struct bad_name_case bad_names[] = {
    {"", "\"\"", "empty"},
    {"eth/0", "\"eth/0\"", "'/'"},
    {"/", "\"/\"", "'/'"},
    {"eth 0", "\"eth 0\"", "whitespace"},
    {" eth0", "\" eth0\"", "whitespace"},
    {"eth0\t", "\"eth0\\x09\"", "whitespace"},
    {"eth\n0", "\"eth\\x0a0\"", "whitespace"},
    {"eth0:1", "\"eth0:1\"", "':'"},
    {".", "\".\"", "reserved"},
    {"..", "\"..\"", "reserved"},
};

START_TEST(test_interface_bad_name) {
  EXPECT_ERROR(
      SAYS("\"Interface\"", bad_names[_i].value_shown, bad_names[_i].why),
      OPT("Interface", STR(bad_names[_i].name)));
}
END_TEST

/* A bad name in the middle of a line is reported too. */
START_TEST(test_interface_bad_name_second_value) {
  EXPECT_ERROR(SAYS("\"Interface\"", "\"b/c\"", "'/'"),
               OPT("Interface", STR("a"), STR("b/c"), STR("d")));
}
END_TEST

START_TEST(test_interface_duplicate) {
  EXPECT_ERROR(SAYS("\"Interface\"", "\"eth0\"", "twice"),
               OPT("Interface", STR("eth0")), OPT("Interface", STR("eth1")),
               OPT("Interface", STR("eth0")));
}
END_TEST

START_TEST(test_interface_duplicate_one_line) {
  EXPECT_ERROR(SAYS("\"Interface\"", "\"eth1\"", "twice"),
               OPT("Interface", STR("eth1"), STR("eth1")));
}
END_TEST

static void fill_interfaces(struct itr_cfg_item *items,
                            struct itr_cfg_value *values, char (*names)[16],
                            int n) {
  for (int i = 0; i < n; i++) {
    snprintf(names[i], sizeof(names[i]), "if%d", i);
    values[i] =
        (struct itr_cfg_value){.type = ITR_CFG_STRING, .v.string = names[i]};
    items[i] = (struct itr_cfg_item){
        .key = "Interface", .values = &values[i], .values_num = 1};
  }
}

START_TEST(test_interface_max_count) {
  struct itr_cfg_item items[ITR_MAX_INTERFACES];
  struct itr_cfg_value values[ITR_MAX_INTERFACES];
  char names[ITR_MAX_INTERFACES][16];
  struct itr_config cfg;
  char err[ERR_LEN];

  fill_interfaces(items, values, names, ITR_MAX_INTERFACES);
  ck_assert_int_eq(parse_items(&cfg, items, ITR_MAX_INTERFACES, err), 0);
  ck_assert_uint_eq(cfg.interfaces_num, ITR_MAX_INTERFACES);
  ck_assert_str_eq(cfg.interfaces[0], "if0");
  ck_assert_str_eq(cfg.interfaces[ITR_MAX_INTERFACES - 1], "if63");
}
END_TEST

START_TEST(test_interface_too_many) {
  struct itr_cfg_item items[ITR_MAX_INTERFACES + 1];
  struct itr_cfg_value values[ITR_MAX_INTERFACES + 1];
  char names[ITR_MAX_INTERFACES + 1][16];
  struct itr_config cfg;
  char err[ERR_LEN];
  char max[16];

  fill_interfaces(items, values, names, ITR_MAX_INTERFACES + 1);
  ck_assert_int_eq(parse_items(&cfg, items, ITR_MAX_INTERFACES + 1, err),
                   -EINVAL);
  snprintf(max, sizeof(max), "%d", ITR_MAX_INTERFACES);
  check_message(err,
                (const char *const[]){"\"Interface\"", "\"if64\"", max, NULL});
}
END_TEST

/* Also when all of them are on one line. */
START_TEST(test_interface_too_many_one_line) {
  struct itr_cfg_value values[ITR_MAX_INTERFACES + 1];
  char names[ITR_MAX_INTERFACES + 1][16];
  struct itr_cfg_item items[ITR_MAX_INTERFACES + 1];
  struct itr_cfg_item line;
  struct itr_config cfg;
  char err[ERR_LEN];

  fill_interfaces(items, values, names, ITR_MAX_INTERFACES + 1);
  line = (struct itr_cfg_item){.key = "Interface",
                               .values = values,
                               .values_num = ITR_MAX_INTERFACES + 1};
  ck_assert_int_eq(parse_items(&cfg, &line, 1, err), -EINVAL);
  check_message(err, (const char *const[]){"\"Interface\"", "\"if64\"", NULL});
}
END_TEST

START_TEST(test_interface_missing_empty_block) {
  struct itr_config cfg;
  char err[ERR_LEN];
  struct itr_cfg_item block = {.key = "Plugin"};

  itr_config_init(&cfg);
  ck_assert_int_eq(itr_config_parse(&cfg, &block, err, sizeof(err)), -EINVAL);
  check_message(err, (const char *const[]){"\"Interface\"", "missing", NULL});
}
END_TEST

START_TEST(test_interface_missing_null_block) {
  struct itr_config cfg;
  char err[ERR_LEN];

  itr_config_init(&cfg);
  ck_assert_int_eq(itr_config_parse(&cfg, NULL, err, sizeof(err)), -EINVAL);
  check_message(err, (const char *const[]){"\"Interface\"", NULL});
}
END_TEST

START_TEST(test_interface_missing_other_options) {
  EXPECT_ERROR(SAYS("\"Interface\"", "missing"), OPT("XDPMode", STR("native")),
               OPT("MaxEntries", NUM(100)));
}
END_TEST

START_TEST(test_interface_no_value) {
  EXPECT_ERROR(SAYS("\"Interface\"", "string", "no value"), OPT0("Interface"));
}
END_TEST

START_TEST(test_interface_number) {
  EXPECT_ERROR(SAYS("\"Interface\"", "string", "a number 0"),
               OPT("Interface", NUM(0)));
}
END_TEST

START_TEST(test_interface_boolean) {
  EXPECT_ERROR(SAYS("\"Interface\"", "string", "a boolean true"),
               OPT("Interface", BOOL(true)));
}
END_TEST

START_TEST(test_interface_second_value_wrong_type) {
  EXPECT_ERROR(SAYS("\"Interface\"", "string", "a number 2"),
               OPT("Interface", STR("eth0"), NUM(2)));
}
END_TEST

/* --- XDPMode and Direction -------------------------------------------------
 */

START_TEST(test_xdp_mode_bad_value) {
  EXPECT_ERROR(
      SAYS("\"XDPMode\"", "\"turbo\"", "\"auto\"", "\"native\"", "\"generic\""),
      IF0, OPT("XDPMode", STR("turbo")));
}
END_TEST

/* "offload" is an XDP mode of the kernel, but not one the plugin offers. */
START_TEST(test_xdp_mode_offload) {
  EXPECT_ERROR(SAYS("\"XDPMode\"", "\"offload\"", "not valid"), IF0,
               OPT("XDPMode", STR("offload")));
}
END_TEST

START_TEST(test_ingress_hook) {
  static const struct {
    const char *text;
    enum itr_ingress_hook hook;
  } hooks[] = {{"auto", ITR_INGRESS_AUTO},
               {"xdp", ITR_INGRESS_XDP},
               {"tc", ITR_INGRESS_TC},
               {"TC", ITR_INGRESS_TC}};
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0), 0);
  ck_assert_int_eq(cfg.ingress_hook, ITR_INGRESS_AUTO);
  for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
    ck_assert_int_eq(
        PARSE(&cfg, err, IF0, OPT("IngressHook", STR(hooks[i].text))), 0);
    ck_assert_int_eq(cfg.ingress_hook, hooks[i].hook);
  }
  ck_assert_str_eq(itr_ingress_hook_name(ITR_INGRESS_TC), "tc");
}
END_TEST

START_TEST(test_xdp_dispatcher) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0), 0);
  ck_assert(cfg.xdp_dispatcher);
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("XDPDispatcher", BOOL(false))), 0);
  ck_assert(!cfg.xdp_dispatcher);
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("xdpdispatcher", BOOL(true))), 0);
  ck_assert(cfg.xdp_dispatcher);
  EXPECT_ERROR(SAYS("\"XDPDispatcher\"", "true or false"), IF0,
               OPT("XDPDispatcher", STR("yes")));
}
END_TEST

START_TEST(test_ingress_hook_bad_value) {
  EXPECT_ERROR(
      SAYS("\"IngressHook\"", "\"tcx\"", "\"auto\"", "\"xdp\"", "\"tc\""), IF0,
      OPT("IngressHook", STR("tcx")));
  EXPECT_ERROR(SAYS("\"IngressHook\"", "string", "a number 1"), IF0,
               OPT("IngressHook", NUM(1)));
}
END_TEST

START_TEST(test_xdp_mode_empty) {
  EXPECT_ERROR(SAYS("\"XDPMode\"", "\"\""), IF0, OPT("XDPMode", STR("")));
}
END_TEST

START_TEST(test_xdp_mode_prefix_is_not_enough) {
  EXPECT_ERROR(SAYS("\"XDPMode\"", "\"nat\""), IF0, OPT("XDPMode", STR("nat")));
  EXPECT_ERROR(SAYS("\"XDPMode\"", "\"native2\""), IF0,
               OPT("XDPMode", STR("native2")));
}
END_TEST

START_TEST(test_xdp_mode_number) {
  EXPECT_ERROR(SAYS("\"XDPMode\"", "one string", "a number 1"), IF0,
               OPT("XDPMode", NUM(1)));
}
END_TEST

START_TEST(test_xdp_mode_boolean) {
  EXPECT_ERROR(SAYS("\"XDPMode\"", "one string", "a boolean false"), IF0,
               OPT("XDPMode", BOOL(false)));
}
END_TEST

START_TEST(test_xdp_mode_two_values) {
  EXPECT_ERROR(SAYS("\"XDPMode\"", "one string", "2 values"), IF0,
               OPT("XDPMode", STR("native"), STR("generic")));
}
END_TEST

START_TEST(test_xdp_mode_no_value) {
  EXPECT_ERROR(SAYS("\"XDPMode\"", "one string", "no value"), IF0,
               OPT0("XDPMode"));
}
END_TEST

START_TEST(test_direction_bad_value) {
  EXPECT_ERROR(SAYS("\"Direction\"", "\"inbound\"", "\"ingress\"", "\"egress\"",
                    "\"both\""),
               IF0, OPT("Direction", STR("inbound")));
}
END_TEST

START_TEST(test_direction_number) {
  EXPECT_ERROR(SAYS("\"Direction\"", "one string", "a number 3"), IF0,
               OPT("Direction", NUM(3)));
}
END_TEST

START_TEST(test_direction_two_values) {
  EXPECT_ERROR(SAYS("\"Direction\"", "one string", "2 values"), IF0,
               OPT("Direction", STR("ingress"), STR("egress")));
}
END_TEST

/* --- MaxEntries and ExpireIdle ---------------------------------------------
 */

START_TEST(test_max_entries_limits) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, OPT("MaxEntries", NUM(ITR_MIN_MAX_ENTRIES))), 0);
  ck_assert_uint_eq(cfg.max_entries, ITR_MIN_MAX_ENTRIES);
  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, OPT("MaxEntries", NUM(ITR_MAX_MAX_ENTRIES))), 0);
  ck_assert_uint_eq(cfg.max_entries, ITR_MAX_MAX_ENTRIES);
}
END_TEST

START_TEST(test_max_entries_below) {
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "15", "out of range", "16..16777216"),
               IF0, OPT("MaxEntries", NUM(ITR_MIN_MAX_ENTRIES - 1)));
}
END_TEST

START_TEST(test_max_entries_above) {
  EXPECT_ERROR(
      SAYS("\"MaxEntries\"", "16777217", "out of range", "16..16777216"), IF0,
      OPT("MaxEntries", NUM(ITR_MAX_MAX_ENTRIES + 1)));
}
END_TEST

START_TEST(test_max_entries_zero_and_negative) {
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "0", "out of range"), IF0,
               OPT("MaxEntries", NUM(0)));
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "-1", "out of range"), IF0,
               OPT("MaxEntries", NUM(-1)));
}
END_TEST

START_TEST(test_max_entries_huge) {
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "4294967296", "out of range"), IF0,
               OPT("MaxEntries", NUM(4294967296.0)));
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "1e+300", "out of range"), IF0,
               OPT("MaxEntries", NUM(1e300)));
}
END_TEST

START_TEST(test_max_entries_not_integer) {
  EXPECT_ERROR(
      SAYS("\"MaxEntries\"", "1024.5", "not an integer", "16..16777216"), IF0,
      OPT("MaxEntries", NUM(1024.5)));
}
END_TEST

START_TEST(test_max_entries_nan) {
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "nan"), IF0, OPT("MaxEntries", NUM(NAN)));
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "inf"), IF0,
               OPT("MaxEntries", NUM(INFINITY)));
}
END_TEST

/* The exact message the documentation shows. */
START_TEST(test_max_entries_string) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("MaxEntries", STR("abc"))),
                   -EINVAL);
  ck_assert_str_eq(err,
                   "Option \"MaxEntries\" expects one number, got a string "
                   "\"abc\"");
}
END_TEST

/* A number written as a string is still a string, as in collectd. */
START_TEST(test_max_entries_numeric_string) {
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "one number", "a string \"1024\""), IF0,
               OPT("MaxEntries", STR("1024")));
}
END_TEST

START_TEST(test_max_entries_boolean) {
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "one number", "a boolean true"), IF0,
               OPT("MaxEntries", BOOL(true)));
}
END_TEST

START_TEST(test_max_entries_value_count) {
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "one number", "2 values"), IF0,
               OPT("MaxEntries", NUM(100), NUM(200)));
  EXPECT_ERROR(SAYS("\"MaxEntries\"", "one number", "no value"), IF0,
               OPT0("MaxEntries"));
}
END_TEST

/* MaxEntriesIPv6 defaults to a quarter of MaxEntries, whatever the order
 * of the options, and never below the minimum. */
START_TEST(test_max_entries_ipv6_default) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0), 0);
  ck_assert_uint_eq(cfg.max_entries_ipv6, ITR_DEFAULT_MAX_ENTRIES / 4);
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("MaxEntries", NUM(1000))), 0);
  ck_assert_uint_eq(cfg.max_entries_ipv6, 250);
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("MaxEntries", NUM(20))), 0);
  ck_assert_uint_eq(cfg.max_entries_ipv6, ITR_MIN_MAX_ENTRIES);
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("MaxEntriesIPv6", NUM(5000)),
                         OPT("MaxEntries", NUM(100))),
                   0);
  ck_assert_uint_eq(cfg.max_entries, 100);
  ck_assert_uint_eq(cfg.max_entries_ipv6, 5000);
}
END_TEST

START_TEST(test_max_entries_ipv6_limits) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, OPT("MaxEntriesIPv6", NUM(ITR_MAX_MAX_ENTRIES))),
      0);
  ck_assert_uint_eq(cfg.max_entries_ipv6, ITR_MAX_MAX_ENTRIES);
  EXPECT_ERROR(SAYS("\"MaxEntriesIPv6\"", "15", "out of range", "16..16777216"),
               IF0, OPT("MaxEntriesIPv6", NUM(ITR_MIN_MAX_ENTRIES - 1)));
  EXPECT_ERROR(SAYS("\"MaxEntriesIPv6\"", "16777217", "out of range"), IF0,
               OPT("MaxEntriesIPv6", NUM(ITR_MAX_MAX_ENTRIES + 1)));
  EXPECT_ERROR(SAYS("\"MaxEntriesIPv6\"", "one number", "a string \"1k\""), IF0,
               OPT("MaxEntriesIPv6", STR("1k")));
  EXPECT_ERROR(SAYS("\"MaxEntriesIPv6\"", "not an integer"), IF0,
               OPT("MaxEntriesIPv6", NUM(100.5)));
}
END_TEST

START_TEST(test_pin_path) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0), 0);
  ck_assert_str_eq(cfg.pin_path, ITR_DEFAULT_PIN_PATH);
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("PinPath", STR(""))), 0);
  ck_assert_str_eq(cfg.pin_path, "");
  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, OPT("PinPath", STR("/run/bpf/iptraffic-a"))), 0);
  ck_assert_str_eq(cfg.pin_path, "/run/bpf/iptraffic-a");
}
END_TEST

START_TEST(test_pin_path_bad) {
  char long_path[ITR_PIN_PATH_LEN + 8];

  EXPECT_ERROR(SAYS("\"PinPath\"", "\"sys/fs/bpf\"", "not an absolute path"),
               IF0, OPT("PinPath", STR("sys/fs/bpf")));
  EXPECT_ERROR(SAYS("\"PinPath\"", "ends in '/'"), IF0,
               OPT("PinPath", STR("/sys/fs/bpf/iptraffic/")));
  EXPECT_ERROR(SAYS("\"PinPath\"", "not a plain path"), IF0,
               OPT("PinPath", STR("/sys/fs/bpf/../tmp")));
  EXPECT_ERROR(SAYS("\"PinPath\"", "not a plain path"), IF0,
               OPT("PinPath", STR("/sys/fs//bpf")));
  EXPECT_ERROR(SAYS("\"PinPath\"", "not a plain path"), IF0,
               OPT("PinPath", STR("/sys/fs/bpf/.")));
  EXPECT_ERROR(SAYS("\"PinPath\"", "root directory"), IF0,
               OPT("PinPath", STR("/")));
  EXPECT_ERROR(SAYS("\"PinPath\"", "one string", "a number"), IF0,
               OPT("PinPath", NUM(1)));
  EXPECT_ERROR(SAYS("\"PinPath\"", "one string", "2 values"), IF0,
               OPT("PinPath", STR("/a"), STR("/b")));
  memset(long_path, 'a', sizeof(long_path) - 1);
  long_path[0] = '/';
  long_path[sizeof(long_path) - 1] = '\0';
  EXPECT_ERROR(SAYS("\"PinPath\"", "too long"), IF0,
               OPT("PinPath", STR(long_path)));
}
END_TEST

START_TEST(test_expire_idle_limits) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("ExpireIdle", NUM(0))), 0);
  ck_assert_uint_eq(cfg.expire_idle, 0);
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("ExpireIdle", NUM(1))), 0);
  ck_assert_uint_eq(cfg.expire_idle, 1);
  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, OPT("ExpireIdle", NUM(ITR_MAX_EXPIRE_IDLE))), 0);
  ck_assert_uint_eq(cfg.expire_idle, ITR_MAX_EXPIRE_IDLE);
}
END_TEST

START_TEST(test_expire_idle_above) {
  EXPECT_ERROR(SAYS("\"ExpireIdle\"", "31536001", "out of range", "0..31536000",
                    "seconds"),
               IF0, OPT("ExpireIdle", NUM(ITR_MAX_EXPIRE_IDLE + 1)));
}
END_TEST

START_TEST(test_expire_idle_negative) {
  EXPECT_ERROR(SAYS("\"ExpireIdle\"", "-1", "out of range", "0..31536000"), IF0,
               OPT("ExpireIdle", NUM(-1)));
}
END_TEST

START_TEST(test_expire_idle_not_integer) {
  EXPECT_ERROR(SAYS("\"ExpireIdle\"", "0.5", "not an integer"), IF0,
               OPT("ExpireIdle", NUM(0.5)));
}
END_TEST

START_TEST(test_expire_idle_string) {
  EXPECT_ERROR(SAYS("\"ExpireIdle\"", "one number", "a string \"5m\""), IF0,
               OPT("ExpireIdle", STR("5m")));
}
END_TEST

START_TEST(test_expire_idle_value_count) {
  EXPECT_ERROR(SAYS("\"ExpireIdle\"", "one number", "3 values"), IF0,
               OPT("ExpireIdle", NUM(1), NUM(2), NUM(3)));
}
END_TEST

/* --- structure and unknown options ------------------------------------------
 */

START_TEST(test_unknown_option) {
  EXPECT_ERROR(SAYS("Unknown option", "\"MaxEntires\""), IF0,
               OPT("MaxEntires", NUM(100)));
}
END_TEST

/* The known options are listed so that a typo is easy to fix. */
START_TEST(test_unknown_option_lists_known) {
  EXPECT_ERROR(SAYS("\"Foo\"", "Interface", "XDPMode", "Direction",
                    "MaxEntries", "MaxEntriesIPv6", "ExpireIdle"),
               IF0, OPT("Foo", STR("bar")));
}
END_TEST

START_TEST(test_unknown_option_without_value) {
  EXPECT_ERROR(SAYS("\"Verbose\""), IF0, OPT0("Verbose"));
}
END_TEST

START_TEST(test_unknown_option_escaped) {
  EXPECT_ERROR(SAYS("\"Max\\x0aEntries\""), IF0, OPT("Max\nEntries", NUM(100)));
}
END_TEST

/* Every option with a valid value. */
struct option_case {
  const char *key;
  struct itr_cfg_value value;
};

static const struct option_case valid_options[] = {
    {"Interface", STR("eth0")},     {"XDPMode", STR("auto")},
    {"Direction", STR("both")},     {"MaxEntries", NUM(100)},
    {"ExpireIdle", NUM(100)},       {"ReportInactive", BOOL(false)},
    {"XDPDispatcher", BOOL(false)}, {"IPv4PrefixLength", NUM(24)},
    {"IPv6PrefixLength", NUM(64)},  {"TopN", NUM(10)},
    {"TopNHold", NUM(3)},
};

/* A block like <MaxEntries 100> Foo 1 </MaxEntries>. */
START_TEST(test_child_block_rejected) {
  const struct itr_cfg_item children[] = {OPT("Foo", NUM(1))};
  const struct itr_cfg_item items[] = {
      OPT("Interface", STR("eth9")),
      {.key = valid_options[_i].key,
       .values = &valid_options[_i].value,
       .values_num = 1,
       .children = children,
       .children_num = 1},
  };
  char quoted[32];
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(parse_items(&cfg, items, 2, err), -EINVAL);
  snprintf(quoted, sizeof(quoted), "\"%s\"", valid_options[_i].key);
  check_message(err,
                (const char *const[]){quoted, "\"Foo\"", "no child", NULL});
}
END_TEST

/* The same options without the child block are fine. */
START_TEST(test_valid_options_accepted) {
  const struct itr_cfg_item items[] = {
      OPT("Interface", STR("eth9")),
      {.key = valid_options[_i].key,
       .values = &valid_options[_i].value,
       .values_num = 1},
  };
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(parse_items(&cfg, items, 2, err), 0);
}
END_TEST

/* On error the caller's configuration is left as it was. */
START_TEST(test_error_keeps_config) {
  struct itr_config cfg;
  struct itr_config before;
  char err[ERR_LEN];
  const struct itr_cfg_item items[] = {
      OPT("Interface", STR("eth0")),
      OPT("MaxEntries", NUM(1000)),
      OPT("MaxEntries", STR("x")),
  };
  struct itr_cfg_item block = {
      .key = "Plugin", .children = items, .children_num = 3};

  itr_config_init(&cfg);
  before = cfg;
  ck_assert_int_eq(itr_config_parse(&cfg, &block, err, sizeof(err)), -EINVAL);
  ck_assert_mem_eq(&cfg, &before, sizeof(cfg));
}
END_TEST

/* The first error is the one reported. */
START_TEST(test_first_error_reported) {
  EXPECT_ERROR(SAYS("\"Bogus\""), IF0, OPT("Bogus", NUM(1)),
               OPT("MaxEntries", NUM(0)));
}
END_TEST

/* A short buffer gets a truncated, terminated message; none at all is
 * allowed too. */
START_TEST(test_small_error_buffer) {
  const struct itr_cfg_item items[] = {OPT("MaxEntries", STR("abc"))};
  struct itr_cfg_item block = {
      .key = "Plugin", .children = items, .children_num = 1};
  struct itr_config cfg;
  char err[12];

  memset(err, 'X', sizeof(err));
  itr_config_init(&cfg);
  ck_assert_int_eq(itr_config_parse(&cfg, &block, err, sizeof(err)), -EINVAL);
  ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
  ck_assert_int_eq(itr_config_parse(&cfg, &block, NULL, 0), -EINVAL);
}
END_TEST

/* A long bad value does not push the reason out of the message. */
START_TEST(test_long_value_shortened) {
  char value[400];

  memset(value, 'z', sizeof(value) - 1);
  value[sizeof(value) - 1] = '\0';
  EXPECT_ERROR(SAYS("\"XDPMode\"", "zzz...\"", "\"generic\""), IF0,
               OPT("XDPMode", STR(value)));
}
END_TEST

START_TEST(test_success_clears_nothing_else) {
  struct itr_config cfg;
  char err[ERR_LEN];

  /* Options the block does not mention keep the values cfg had. */
  const struct itr_cfg_item items[] = {OPT("Interface", STR("eth0"))};
  struct itr_cfg_item block = {
      .key = "Plugin", .children = items, .children_num = 1};

  itr_config_init(&cfg);
  cfg.max_entries = 12345;
  ck_assert_int_eq(itr_config_parse(&cfg, &block, err, sizeof(err)), 0);
  ck_assert_uint_eq(cfg.max_entries, 12345);
  ck_assert_uint_eq(cfg.interfaces_num, 1);
}
END_TEST

/* --- ReportInactive, prefix lengths, TopN and TopNHold -------------------
 */

START_TEST(test_new_option_defaults) {
  struct itr_config cfg;
  char err[ERR_LEN];

  memset(&cfg, 0xa5, sizeof(cfg));
  itr_config_init(&cfg);
  ck_assert(cfg.report_inactive);
  ck_assert_uint_eq(cfg.ipv4_prefixlen, 32);
  ck_assert_uint_eq(cfg.ipv6_prefixlen, 128);
  ck_assert_uint_eq(cfg.top_n, ITR_DEFAULT_TOP_N);
  ck_assert_uint_eq(cfg.top_n, 1000);
  ck_assert(!cfg.top_n_set);
  ck_assert_uint_eq(cfg.top_n_hold, ITR_DEFAULT_TOP_N_HOLD);
  ck_assert_uint_eq(cfg.top_n_hold, 5);
  ck_assert_uint_eq(cfg.networks_num, 0);

  /* A block that does not mention them keeps the defaults. */
  ck_assert_int_eq(PARSE(&cfg, err, IF0), 0);
  ck_assert(cfg.report_inactive);
  ck_assert_uint_eq(cfg.ipv4_prefixlen, 32);
  ck_assert_uint_eq(cfg.ipv6_prefixlen, 128);
  ck_assert_uint_eq(cfg.top_n, 1000);
  ck_assert(!cfg.top_n_set);
  ck_assert_uint_eq(cfg.top_n_hold, 5);
  ck_assert_uint_eq(cfg.networks_num, 0);

  /* TopN 0, given: every address. */
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("TopN", NUM(0))), 0);
  ck_assert_uint_eq(cfg.top_n, 0);
  ck_assert(cfg.top_n_set);
}
END_TEST

START_TEST(test_new_options_all) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("ReportInactive", BOOL(false)),
                         OPT("IPv4PrefixLength", NUM(24)),
                         OPT("IPv6PrefixLength", NUM(56)),
                         OPT("TopN", NUM(100)), OPT("TopNHold", NUM(12))),
                   0);
  ck_assert(!cfg.report_inactive);
  ck_assert_uint_eq(cfg.ipv4_prefixlen, 24);
  ck_assert_uint_eq(cfg.ipv6_prefixlen, 56);
  ck_assert_uint_eq(cfg.top_n, 100);
  ck_assert_uint_eq(cfg.top_n_hold, 12);
  /* The older options are untouched. */
  ck_assert_uint_eq(cfg.max_entries, ITR_DEFAULT_MAX_ENTRIES);
  ck_assert_uint_eq(cfg.expire_idle, ITR_DEFAULT_EXPIRE_IDLE);
}
END_TEST

START_TEST(test_new_options_case_insensitive) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("reportinactive", BOOL(false)),
                         OPT("IPV4PREFIXLENGTH", NUM(16)),
                         OPT("ipv6PrefixLength", NUM(48)), OPT("topn", NUM(7)),
                         OPT("TOPNHOLD", NUM(0))),
                   0);
  ck_assert(!cfg.report_inactive);
  ck_assert_uint_eq(cfg.ipv4_prefixlen, 16);
  ck_assert_uint_eq(cfg.ipv6_prefixlen, 48);
  ck_assert_uint_eq(cfg.top_n, 7);
  ck_assert_uint_eq(cfg.top_n_hold, 0);
}
END_TEST

START_TEST(test_report_inactive_values) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("ReportInactive", BOOL(false))),
                   0);
  ck_assert(!cfg.report_inactive);
  /* Start from false so that true is really parsed. */
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("ReportInactive", BOOL(false)),
                         OPT("ReportInactive", BOOL(true))),
                   0);
  ck_assert(cfg.report_inactive);
}
END_TEST

/* collectd passes an unquoted true as a boolean; "true" in quotes, 1 and
 * yes are not booleans. */
START_TEST(test_report_inactive_wrong_type) {
  EXPECT_ERROR(SAYS("\"ReportInactive\"", "true or false", "a string \"true\""),
               IF0, OPT("ReportInactive", STR("true")));
  EXPECT_ERROR(SAYS("\"ReportInactive\"", "true or false", "a number 1"), IF0,
               OPT("ReportInactive", NUM(1)));
  EXPECT_ERROR(SAYS("\"ReportInactive\"", "true or false", "a string \"yes\""),
               IF0, OPT("ReportInactive", STR("yes")));
}
END_TEST

START_TEST(test_report_inactive_value_count) {
  EXPECT_ERROR(SAYS("\"ReportInactive\"", "true or false", "no value"), IF0,
               OPT0("ReportInactive"));
  EXPECT_ERROR(SAYS("\"ReportInactive\"", "true or false", "2 values"), IF0,
               OPT("ReportInactive", BOOL(true), BOOL(false)));
}
END_TEST

/* A numeric option, its range and the words its range is described with. */
struct range_case {
  const char *key;
  double min;
  double max;
  const char *allowed; /* as the message shows it */
  const char *unit;    /* a further word of the message, or "" */
};

static const struct range_case ranges[] = {
    {"IPv4PrefixLength", 1, 32, "1..32", ""},
    {"IPv6PrefixLength", 1, 128, "1..128", ""},
    {"TopN", 0, ITR_MAX_TOP_N, "0..1000000", "every address"},
    {"TopNHold", 0, ITR_MAX_TOP_N_HOLD, "0..100000", "intervals"},
};

static uint32_t range_value(const struct itr_config *cfg, const char *key) {
  if (strcmp(key, "IPv4PrefixLength") == 0)
    return cfg->ipv4_prefixlen;
  if (strcmp(key, "IPv6PrefixLength") == 0)
    return cfg->ipv6_prefixlen;
  if (strcmp(key, "TopN") == 0)
    return cfg->top_n;
  return cfg->top_n_hold;
}

/* Both ends of the range are accepted, also after another value. */
START_TEST(test_range_limits) {
  const struct range_case *r = &ranges[_i];
  const double middle = 2;
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, OPT(r->key, NUM(middle)), OPT(r->key, NUM(r->min))),
      0);
  ck_assert_uint_eq(range_value(&cfg, r->key), (uint32_t)r->min);
  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, OPT(r->key, NUM(middle)), OPT(r->key, NUM(r->max))),
      0);
  ck_assert_uint_eq(range_value(&cfg, r->key), (uint32_t)r->max);
}
END_TEST

START_TEST(test_range_below) {
  const struct range_case *r = &ranges[_i];
  char quoted[32], value[32];

  snprintf(quoted, sizeof(quoted), "\"%s\"", r->key);
  snprintf(value, sizeof(value), "%.0f is out of range", r->min - 1);
  EXPECT_ERROR(SAYS(quoted, value, r->allowed, r->unit), IF0,
               OPT(r->key, NUM(r->min - 1)));
}
END_TEST

START_TEST(test_range_above) {
  const struct range_case *r = &ranges[_i];
  char quoted[32], value[32];

  snprintf(quoted, sizeof(quoted), "\"%s\"", r->key);
  snprintf(value, sizeof(value), "%.0f is out of range", r->max + 1);
  EXPECT_ERROR(SAYS(quoted, value, r->allowed, r->unit), IF0,
               OPT(r->key, NUM(r->max + 1)));
  EXPECT_ERROR(SAYS(quoted, "4294967296", "out of range"), IF0,
               OPT(r->key, NUM(4294967296.0)));
  EXPECT_ERROR(SAYS(quoted, "nan"), IF0, OPT(r->key, NUM(NAN)));
}
END_TEST

START_TEST(test_range_not_integer) {
  const struct range_case *r = &ranges[_i];
  char quoted[32];

  snprintf(quoted, sizeof(quoted), "\"%s\"", r->key);
  EXPECT_ERROR(SAYS(quoted, "1.5", "not an integer", r->allowed), IF0,
               OPT(r->key, NUM(1.5)));
}
END_TEST

START_TEST(test_range_wrong_type) {
  const struct range_case *r = &ranges[_i];
  char quoted[32];

  snprintf(quoted, sizeof(quoted), "\"%s\"", r->key);
  EXPECT_ERROR(SAYS(quoted, "one number", "a string \"24\""), IF0,
               OPT(r->key, STR("24")));
  EXPECT_ERROR(SAYS(quoted, "one number", "a boolean true"), IF0,
               OPT(r->key, BOOL(true)));
  EXPECT_ERROR(SAYS(quoted, "one number", "no value"), IF0, OPT0(r->key));
  EXPECT_ERROR(SAYS(quoted, "one number", "2 values"), IF0,
               OPT(r->key, NUM(8), NUM(16)));
}
END_TEST

/* TopN and TopNHold are two options, not one a prefix of the other. */
START_TEST(test_top_n_and_hold_distinct) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("TopNHold", NUM(9))), 0);
  ck_assert_uint_eq(cfg.top_n, ITR_DEFAULT_TOP_N);
  ck_assert_uint_eq(cfg.top_n_hold, 9);
  ck_assert_int_eq(PARSE(&cfg, err, IF0, OPT("TopN", NUM(9))), 0);
  ck_assert_uint_eq(cfg.top_n, 9);
  ck_assert_uint_eq(cfg.top_n_hold, ITR_DEFAULT_TOP_N_HOLD);
  EXPECT_ERROR(SAYS("Unknown option", "\"TopNHolds\""), IF0,
               OPT("TopNHolds", NUM(1)));
  EXPECT_ERROR(SAYS("Unknown option", "\"Top\""), IF0, OPT("Top", NUM(1)));
}
END_TEST

START_TEST(test_unknown_option_lists_new) {
  EXPECT_ERROR(SAYS("\"Foo\"", "ReportInactive", "IPv4PrefixLength",
                    "IPv6PrefixLength", "Network", "TopN", "TopNHold"),
               IF0, OPT("Foo", STR("bar")));
}
END_TEST

/* --- <Network> blocks ------------------------------------------------------
 */

/* A <Network "cidr"> block with the child options given. */
#define NET(cidr, ...)                                                         \
  {                                                                            \
    .key = "Network", .values = VALUES(STR(cidr)), .values_num = 1,            \
    .children = ITEMS(__VA_ARGS__), .children_num = NITEMS(__VA_ARGS__)        \
  }
/* One without child options. */
#define NET0(cidr)                                                             \
  { .key = "Network", .values = VALUES(STR(cidr)), .values_num = 1 }

static void check_network(const struct itr_network *net, uint8_t kind,
                          uint8_t len, const uint8_t addr[16],
                          uint8_t prefixlen, bool ignore) {
  ck_assert_uint_eq(net->kind, kind);
  ck_assert_uint_eq(net->len, len);
  ck_assert_mem_eq(net->addr, addr, 16);
  ck_assert_int_eq(net->ignore, ignore);
  if (!ignore)
    ck_assert_uint_eq(net->prefixlen, prefixlen);
}

START_TEST(test_network_contents) {
  static const uint8_t a192[16] = {192, 0, 2};
  static const uint8_t a10[16] = {10, 1, 2, 128};
  static const uint8_t a198[16] = {198, 51, 100, 7};
  static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01};
  static const uint8_t v6host[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};
  static const uint8_t zero[16] = {0};
  static const uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, [12] = 10};
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, NET("192.0.2.0/24", OPT("PrefixLength", NUM(28))),
            NET("10.1.2.128/25", OPT("PrefixLength", NUM(25))),
            NET("198.51.100.7", OPT("Ignore", BOOL(true))),
            NET("2001:db8:1::/48", OPT("PrefixLength", NUM(64))),
            NET("2001:DB8::1", OPT("PrefixLength", NUM(128))),
            NET("0.0.0.0/0", OPT("PrefixLength", NUM(1))),
            NET("::/0", OPT("Ignore", BOOL(true))),
            NET("::ffff:10.0.0.0/104", OPT("PrefixLength", NUM(120)))),
      0);
  ck_assert_uint_eq(cfg.networks_num, 8);
  check_network(&cfg.networks[0], IPTRAFFIC_KIND_IPV4, 24, a192, 28, false);
  check_network(&cfg.networks[1], IPTRAFFIC_KIND_IPV4, 25, a10, 25, false);
  check_network(&cfg.networks[2], IPTRAFFIC_KIND_IPV4, 32, a198, 0, true);
  check_network(&cfg.networks[3], IPTRAFFIC_KIND_IPV6, 48, v6, 64, false);
  check_network(&cfg.networks[4], IPTRAFFIC_KIND_IPV6, 128, v6host, 128, false);
  check_network(&cfg.networks[5], IPTRAFFIC_KIND_IPV4, 0, zero, 1, false);
  check_network(&cfg.networks[6], IPTRAFFIC_KIND_IPV6, 0, zero, 0, true);
  /* An IPv4-mapped IPv6 network is an IPv6 network. */
  check_network(&cfg.networks[7], IPTRAFFIC_KIND_IPV6, 104, mapped, 120, false);
  /* The global options are untouched. */
  ck_assert_uint_eq(cfg.ipv4_prefixlen, 32);
  ck_assert_uint_eq(cfg.ipv6_prefixlen, 128);
}
END_TEST

START_TEST(test_network_case_insensitive) {
  static const uint8_t a[16] = {10};
  static const uint8_t b[16] = {172, 16};
  const struct itr_cfg_item items[] = {
      IF0,
      {.key = "NETWORK",
       .values = VALUES(STR("10.0.0.0/8")),
       .values_num = 1,
       .children = ITEMS(OPT("prefixlength", NUM(16))),
       .children_num = 1},
      {.key = "network",
       .values = VALUES(STR("172.16.0.0/12")),
       .values_num = 1,
       .children = ITEMS(OPT("IGNORE", BOOL(true))),
       .children_num = 1},
  };
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(parse_items(&cfg, items, 3, err), 0);
  ck_assert_uint_eq(cfg.networks_num, 2);
  check_network(&cfg.networks[0], IPTRAFFIC_KIND_IPV4, 8, a, 16, false);
  check_network(&cfg.networks[1], IPTRAFFIC_KIND_IPV4, 12, b, 0, true);
}
END_TEST

/* Ignore false is no Ignore: with PrefixLength it is exactly one of the
 * two. */
START_TEST(test_network_ignore_false_with_prefix_length) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0,
                         NET("10.0.0.0/8", OPT("Ignore", BOOL(false)),
                             OPT("PrefixLength", NUM(24)))),
                   0);
  ck_assert_uint_eq(cfg.networks_num, 1);
  ck_assert(!cfg.networks[0].ignore);
  ck_assert_uint_eq(cfg.networks[0].prefixlen, 24);
}
END_TEST

/* The network's own length up to the full length. */
START_TEST(test_network_prefix_length_limits) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0,
                         NET("10.0.0.0/16", OPT("PrefixLength", NUM(16))),
                         NET("10.1.0.0/16", OPT("PrefixLength", NUM(32))),
                         NET("2001:db8::/32", OPT("PrefixLength", NUM(32))),
                         NET("2001:db9::/32", OPT("PrefixLength", NUM(128))),
                         NET("192.0.2.1", OPT("PrefixLength", NUM(32))),
                         NET("2001:db8::1", OPT("PrefixLength", NUM(128))),
                         NET("0.0.0.0/0", OPT("PrefixLength", NUM(1))),
                         NET("::/0", OPT("PrefixLength", NUM(1)))),
                   0);
  ck_assert_uint_eq(cfg.networks_num, 8);
  ck_assert_uint_eq(cfg.networks[0].prefixlen, 16);
  ck_assert_uint_eq(cfg.networks[1].prefixlen, 32);
  ck_assert_uint_eq(cfg.networks[2].prefixlen, 32);
  ck_assert_uint_eq(cfg.networks[3].prefixlen, 128);
  ck_assert_uint_eq(cfg.networks[4].prefixlen, 32);
  ck_assert_uint_eq(cfg.networks[5].prefixlen, 128);
  ck_assert_uint_eq(cfg.networks[6].prefixlen, 1);
  ck_assert_uint_eq(cfg.networks[7].prefixlen, 1);
}
END_TEST

struct network_error_case {
  const char *cidr;
  const char *block; /* the block as the message names it */
  const char *why;
};

/* Texts that are not a network. */
static const struct network_error_case bad_networks[] = {
    {"10.0.0.1/8", "<Network \"10.0.0.1/8\">", "host bits"},
    {"10.0.0.128/24", "<Network \"10.0.0.128/24\">", "host bits"},
    {"0.0.0.1/0", "<Network \"0.0.0.1/0\">", "host bits"},
    {"2001:db8::1/64", "<Network \"2001:db8::1/64\">", "host bits"},
    {"2001:db8:0:1::/63", "<Network \"2001:db8:0:1::/63\">", "host bits"},
    {"::1/127", "<Network \"::1/127\">", "host bits"},
    {"10.0.0.0/33", "<Network \"10.0.0.0/33\">", "0..32"},
    {"10.0.0.0/8x", "<Network \"10.0.0.0/8x\">", "0..32"},
    {"10.0.0.0/8/8", "<Network \"10.0.0.0/8/8\">", "0..32"},
    {"10.0.0.0/8 ", "<Network \"10.0.0.0/8 \">", "0..32"},
    {"10.0.0.0/99999999999999999999999", "<Network \"10.0.0.0/9999", "0..32"},
    {"::/129", "<Network \"::/129\">", "0..128"},
    {"2001:db8::/1000", "<Network \"2001:db8::/1000\">", "0..128"},
    {"10.0.0.0/", "<Network \"10.0.0.0/\">", "no prefix length"},
    {"10.0.0.0/-8", "<Network \"10.0.0.0/-8\">", "no prefix length"},
    {"10.0.0.0/+8", "<Network \"10.0.0.0/+8\">", "no prefix length"},
    {"10.0.0.0/ 8", "<Network \"10.0.0.0/ 8\">", "no prefix length"},
    {"2001:db8::/", "<Network \"2001:db8::/\">", "no prefix length"},
    {"10.0.0.0//8", "<Network \"10.0.0.0//8\">", "no prefix length"},
    {"", "<Network \"\">", "not an IPv4 or IPv6 network"},
    {"/8", "<Network \"/8\">", "not an IPv4 or IPv6 network"},
    {"eth0", "<Network \"eth0\">", "not an IPv4 or IPv6 network"},
    {"10.0.0/8", "<Network \"10.0.0/8\">", "not an IPv4 or IPv6 network"},
    {"10.0.0.256", "<Network \"10.0.0.256\">", "not an IPv4 or IPv6 network"},
    {" 10.0.0.0/8", "<Network \" 10.0.0.0/8\">", "not an IPv4 or IPv6"},
    {"10.0.0.0 /8", "<Network \"10.0.0.0 /8\">", "not an IPv4 or IPv6"},
    {"2001:db8:::/32", "<Network \"2001:db8:::/32\">", "not an IPv4 or IPv6"},
    {"fe80::1%eth0", "<Network \"fe80::1%eth0\">", "not an IPv4 or IPv6"},
    {"10.0.0.0\n/8", "<Network \"10.0.0.0\\x0a/8\">", "not an IPv4 or IPv6"},
};

START_TEST(test_network_bad_cidr) {
  const struct network_error_case *c = &bad_networks[_i];

  EXPECT_ERROR(SAYS("Block ", c->block, c->why), IF0,
               NET(c->cidr, OPT("PrefixLength", NUM(32))));
  EXPECT_ERROR(SAYS("Block ", c->block, c->why), IF0,
               NET(c->cidr, OPT("Ignore", BOOL(true))));
}
END_TEST

/* A child option without a name (found by tests/fuzz/fuzz_config): an
 * error, not a crash. */
START_TEST(test_network_nameless_child) {
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">", "Option without a name"),
               IF0, NET("10.0.0.0/8", OPT0(NULL)));
  EXPECT_ERROR(SAYS("Option without a name"), IF0, OPT0(NULL));
}
END_TEST

/* A long text is cut in the message, which still says why. */
START_TEST(test_network_long_text) {
  char text[400];

  memset(text, '1', sizeof(text) - 1);
  text[sizeof(text) - 1] = '\0';
  EXPECT_ERROR(SAYS("Block <Network \"1111", "...\"", "not an"), IF0,
               NET(text, OPT("Ignore", BOOL(true))));
  /* Also when the address part fits and the prefix length does not. */
  memcpy(text, "10.0.0.0/", 9);
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/111", "0..32"), IF0,
               NET(text, OPT("Ignore", BOOL(true))));
}
END_TEST

START_TEST(test_network_value_not_string) {
  EXPECT_ERROR(SAYS("<Network>", "network string", "a number 10"), IF0,
               {.key = "Network",
                .values = VALUES(NUM(10)),
                .values_num = 1,
                .children = ITEMS(OPT("Ignore", BOOL(true))),
                .children_num = 1});
  EXPECT_ERROR(SAYS("<Network>", "network string", "a boolean true"), IF0,
               {.key = "Network",
                .values = VALUES(BOOL(true)),
                .values_num = 1,
                .children = ITEMS(OPT("Ignore", BOOL(true))),
                .children_num = 1});
}
END_TEST

START_TEST(test_network_value_count) {
  EXPECT_ERROR(SAYS("<Network>", "network string", "no value"), IF0,
               {.key = "Network",
                .children = ITEMS(OPT("Ignore", BOOL(true))),
                .children_num = 1});
  EXPECT_ERROR(SAYS("<Network>", "network string", "\"10.0.0.0/8\"", "more"),
               IF0,
               {.key = "Network",
                .values = VALUES(STR("10.0.0.0/8"), STR("10.1.0.0/16")),
                .values_num = 2,
                .children = ITEMS(OPT("Ignore", BOOL(true))),
                .children_num = 1});
  EXPECT_ERROR(SAYS("<Network>", "network string", "more"), IF0,
               {.key = "Network",
                .values = VALUES(STR("10.0.0.0/8"), NUM(24)),
                .values_num = 2,
                .children = ITEMS(OPT("Ignore", BOOL(true))),
                .children_num = 1});
}
END_TEST

START_TEST(test_network_unknown_child) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(
      PARSE(&cfg, err, IF0, NET("10.0.0.0/8", OPT("Prefix", NUM(24)))),
      -EINVAL);
  ck_assert_str_eq(err, "Block <Network \"10.0.0.0/8\">: Unknown option "
                        "\"Prefix\" (known options: PrefixLength, Ignore)");
  /* Options of the plugin block are not options of a network. */
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "Unknown option",
                    "\"Interface\"", "PrefixLength", "Ignore"),
               IF0,
               NET("10.0.0.0/8", OPT("Ignore", BOOL(true)),
                   OPT("Interface", STR("eth1"))));
  EXPECT_ERROR(
      SAYS("Block <Network \"10.0.0.0/8\">: ", "\"Prefix\\x0aLength\""), IF0,
      NET("10.0.0.0/8", OPT("Prefix\nLength", NUM(24))));
}
END_TEST

START_TEST(test_network_both) {
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">", "exactly one",
                    "PrefixLength", "Ignore"),
               IF0,
               NET("10.0.0.0/8", OPT("PrefixLength", NUM(24)),
                   OPT("Ignore", BOOL(true))));
  EXPECT_ERROR(SAYS("Block <Network \"2001:db8::/32\">", "exactly one"), IF0,
               NET("2001:db8::/32", OPT("Ignore", BOOL(true)),
                   OPT("PrefixLength", NUM(48))));
}
END_TEST

START_TEST(test_network_neither) {
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">", "exactly one",
                    "PrefixLength", "Ignore"),
               IF0, NET0("10.0.0.0/8"));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">", "exactly one"), IF0,
               NET("10.0.0.0/8", OPT("Ignore", BOOL(false))));
}
END_TEST

START_TEST(test_network_prefix_length_range) {
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/16\">: ", "\"PrefixLength\"",
                    "15 is out of range", "16..32"),
               IF0, NET("10.0.0.0/16", OPT("PrefixLength", NUM(15))));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/16\">: ", "\"PrefixLength\"",
                    "33 is out of range", "16..32"),
               IF0, NET("10.0.0.0/16", OPT("PrefixLength", NUM(33))));
  EXPECT_ERROR(SAYS("Block <Network \"2001:db8::/48\">: ", "\"PrefixLength\"",
                    "47 is out of range", "48..128"),
               IF0, NET("2001:db8::/48", OPT("PrefixLength", NUM(47))));
  EXPECT_ERROR(SAYS("Block <Network \"2001:db8::/48\">: ", "\"PrefixLength\"",
                    "129 is out of range", "48..128"),
               IF0, NET("2001:db8::/48", OPT("PrefixLength", NUM(129))));
  /* A /0 network aggregates to at least /1. */
  EXPECT_ERROR(SAYS("Block <Network \"0.0.0.0/0\">: ", "\"PrefixLength\"",
                    "0 is out of range", "1..32"),
               IF0, NET("0.0.0.0/0", OPT("PrefixLength", NUM(0))));
  EXPECT_ERROR(SAYS("Block <Network \"::/0\">: ", "\"PrefixLength\"",
                    "0 is out of range", "1..128"),
               IF0, NET("::/0", OPT("PrefixLength", NUM(0))));
  /* A single address can only stay itself. */
  EXPECT_ERROR(SAYS("Block <Network \"192.0.2.1\">: ", "\"PrefixLength\"",
                    "31 is out of range", "32..32"),
               IF0, NET("192.0.2.1", OPT("PrefixLength", NUM(31))));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"PrefixLength\"",
                    "-1 is out of range"),
               IF0, NET("10.0.0.0/8", OPT("PrefixLength", NUM(-1))));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"PrefixLength\"",
                    "24.5", "not an integer"),
               IF0, NET("10.0.0.0/8", OPT("PrefixLength", NUM(24.5))));
}
END_TEST

START_TEST(test_network_child_wrong_type) {
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"PrefixLength\"",
                    "one number", "a string \"24\""),
               IF0, NET("10.0.0.0/8", OPT("PrefixLength", STR("24"))));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"PrefixLength\"",
                    "one number", "a boolean true"),
               IF0, NET("10.0.0.0/8", OPT("PrefixLength", BOOL(true))));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"PrefixLength\"",
                    "one number", "no value"),
               IF0, NET("10.0.0.0/8", OPT0("PrefixLength")));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"PrefixLength\"",
                    "one number", "2 values"),
               IF0, NET("10.0.0.0/8", OPT("PrefixLength", NUM(16), NUM(24))));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"Ignore\"",
                    "true or false", "a string \"true\""),
               IF0, NET("10.0.0.0/8", OPT("Ignore", STR("true"))));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"Ignore\"",
                    "true or false", "a number 1"),
               IF0, NET("10.0.0.0/8", OPT("Ignore", NUM(1))));
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"Ignore\"",
                    "true or false", "no value"),
               IF0, NET("10.0.0.0/8", OPT0("Ignore")));
}
END_TEST

/* <Network "10.0.0.0/8"> <PrefixLength 24> Foo 1 </PrefixLength> */
START_TEST(test_network_child_with_block) {
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">: ", "\"PrefixLength\"",
                    "\"Foo\"", "no child"),
               IF0,
               NET("10.0.0.0/8", {.key = "PrefixLength",
                                  .values = VALUES(NUM(24)),
                                  .values_num = 1,
                                  .children = ITEMS(OPT("Foo", NUM(1))),
                                  .children_num = 1}));
}
END_TEST

START_TEST(test_network_duplicate) {
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/8\">", "twice"), IF0,
               NET("10.0.0.0/8", OPT("PrefixLength", NUM(16))),
               NET("10.0.0.0/8", OPT("Ignore", BOOL(true))));
  /* The same network written differently. */
  EXPECT_ERROR(SAYS("Block <Network \"10.0.0.0/08\">", "twice"), IF0,
               NET("10.0.0.0/8", OPT("PrefixLength", NUM(16))),
               NET("10.0.0.0/08", OPT("PrefixLength", NUM(16))));
  EXPECT_ERROR(SAYS("Block <Network \"2001:DB8:0::/32\">", "twice"), IF0,
               NET("2001:db8::/32", OPT("PrefixLength", NUM(48))),
               NET("2001:DB8:0::/32", OPT("PrefixLength", NUM(48))));
  EXPECT_ERROR(SAYS("Block <Network \"192.0.2.1/32\">", "twice"), IF0,
               NET("192.0.2.1", OPT("Ignore", BOOL(true))),
               NET("192.0.2.1/32", OPT("Ignore", BOOL(true))));
}
END_TEST

/* Nested or overlapping networks and the same bytes in the other family
 * are different networks. */
START_TEST(test_network_not_duplicate) {
  struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(PARSE(&cfg, err, IF0,
                         NET("10.0.0.0/8", OPT("PrefixLength", NUM(16))),
                         NET("10.0.0.0/16", OPT("Ignore", BOOL(true))),
                         NET("10.0.0.0/24", OPT("PrefixLength", NUM(32))),
                         NET("0.0.0.0/0", OPT("PrefixLength", NUM(8))),
                         NET("::/0", OPT("PrefixLength", NUM(8))),
                         NET("a00::/8", OPT("PrefixLength", NUM(16)))),
                   0);
  ck_assert_uint_eq(cfg.networks_num, 6);
  ck_assert_uint_eq(cfg.networks[0].len, 8);
  ck_assert_uint_eq(cfg.networks[1].len, 16);
  ck_assert_uint_eq(cfg.networks[2].len, 24);
  ck_assert_uint_eq(cfg.networks[5].kind, IPTRAFFIC_KIND_IPV6);
  ck_assert_uint_eq(cfg.networks[5].addr[0], 10);
}
END_TEST

/* n <Network "10.H.L.0/24"> blocks, every one with PrefixLength 32. */
static struct itr_cfg_item *fill_networks(int n) {
  static const struct itr_cfg_value len32[] = {NUM(32)};
  static const struct itr_cfg_value eth0[] = {STR("eth0")};
  static const struct itr_cfg_item child = {
      .key = "PrefixLength", .values = len32, .values_num = 1};
  static struct itr_cfg_item items[ITR_MAX_NETWORKS + 2];
  static struct itr_cfg_value values[ITR_MAX_NETWORKS + 2];
  static char texts[ITR_MAX_NETWORKS + 2][32];

  ck_assert_int_le(n + 1, ITR_MAX_NETWORKS + 2);
  items[0] = (struct itr_cfg_item){
      .key = "Interface", .values = eth0, .values_num = 1};
  for (int i = 0; i < n; i++) {
    snprintf(texts[i], sizeof(texts[i]), "10.%d.%d.0/24", i / 256, i % 256);
    values[i] =
        (struct itr_cfg_value){.type = ITR_CFG_STRING, .v.string = texts[i]};
    items[i + 1] = (struct itr_cfg_item){.key = "Network",
                                         .values = &values[i],
                                         .values_num = 1,
                                         .children = &child,
                                         .children_num = 1};
  }
  return items;
}

START_TEST(test_network_max_count) {
  static struct itr_config cfg;
  const struct itr_cfg_item *items = fill_networks(ITR_MAX_NETWORKS);
  char err[ERR_LEN];

  ck_assert_int_eq(parse_items(&cfg, items, ITR_MAX_NETWORKS + 1, err), 0);
  ck_assert_uint_eq(cfg.networks_num, ITR_MAX_NETWORKS);
  ck_assert_uint_eq(cfg.networks[ITR_MAX_NETWORKS - 1].addr[1],
                    (ITR_MAX_NETWORKS - 1) / 256);
  ck_assert_uint_eq(cfg.networks[ITR_MAX_NETWORKS - 1].addr[2],
                    (ITR_MAX_NETWORKS - 1) % 256);
}
END_TEST

START_TEST(test_network_too_many) {
  static struct itr_config cfg;
  const struct itr_cfg_item *items = fill_networks(ITR_MAX_NETWORKS + 1);
  char err[ERR_LEN];
  char max[16], block[64];

  ck_assert_int_eq(parse_items(&cfg, items, ITR_MAX_NETWORKS + 2, err),
                   -EINVAL);
  snprintf(max, sizeof(max), "%d", ITR_MAX_NETWORKS);
  snprintf(block, sizeof(block), "Block <Network \"10.%d.%d.0/24\">",
           ITR_MAX_NETWORKS / 256, ITR_MAX_NETWORKS % 256);
  check_message(err, (const char *const[]){block, "too many", max, NULL});
}
END_TEST

/* On error the networks parsed before are not kept. */
START_TEST(test_network_error_keeps_config) {
  struct itr_config cfg;
  struct itr_config before;
  char err[ERR_LEN];
  const struct itr_cfg_item items[] = {
      IF0,
      NET("10.0.0.0/8", OPT("PrefixLength", NUM(16))),
      NET("10.0.0.1/8", OPT("PrefixLength", NUM(16))),
  };
  struct itr_cfg_item block = {
      .key = "Plugin", .children = items, .children_num = 3};

  itr_config_init(&cfg);
  before = cfg;
  ck_assert_int_eq(itr_config_parse(&cfg, &block, err, sizeof(err)), -EINVAL);
  ck_assert_mem_eq(&cfg, &before, sizeof(cfg));
  ck_assert_uint_eq(cfg.networks_num, 0);
}
END_TEST

/* A short buffer cuts a message from inside a block, terminated. */
START_TEST(test_network_small_error_buffer) {
  const struct itr_cfg_item items[] = {
      IF0, NET("10.0.0.0/8", OPT("PrefixLength", NUM(99)))};
  struct itr_cfg_item block = {
      .key = "Plugin", .children = items, .children_num = 2};
  struct itr_config cfg;
  char err[20];

  memset(err, 'X', sizeof(err));
  itr_config_init(&cfg);
  ck_assert_int_eq(itr_config_parse(&cfg, &block, err, sizeof(err)), -EINVAL);
  ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
  ck_assert_int_eq(strncmp(err, "Block <Network", 14), 0);
  ck_assert_int_eq(itr_config_parse(&cfg, &block, NULL, 0), -EINVAL);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *tc;

  tc = tcase_create("valid");
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_minimal);
  tcase_add_test(tc, test_all_options);
  tcase_add_test(tc, test_keys_case_insensitive);
  tcase_add_test(tc, test_interface_case_kept);
  tcase_add_loop_test(tc, test_xdp_mode_values, 0,
                      sizeof(xdp_modes) / sizeof(xdp_modes[0]));
  tcase_add_loop_test(tc, test_direction_values, 0,
                      sizeof(directions) / sizeof(directions[0]));
  tcase_add_test(tc, test_last_value_wins);
  tcase_add_test(tc, test_enum_names);
  tcase_add_test(tc, test_enum_names_round_trip);
  tcase_add_test(tc, test_success_clears_nothing_else);
  suite_add_tcase(s, tc);

  tc = tcase_create("interface");
  tcase_add_test(tc, test_interface_repeated);
  tcase_add_test(tc, test_interface_several_on_one_line);
  tcase_add_test(tc, test_interface_longest);
  tcase_add_test(tc, test_interface_too_long);
  tcase_add_test(tc, test_interface_much_too_long);
  tcase_add_test(tc, test_interface_unusual_valid);
  tcase_add_loop_test(tc, test_interface_bad_name, 0,
                      sizeof(bad_names) / sizeof(bad_names[0]));
  tcase_add_test(tc, test_interface_bad_name_second_value);
  tcase_add_test(tc, test_interface_duplicate);
  tcase_add_test(tc, test_interface_duplicate_one_line);
  tcase_add_test(tc, test_interface_max_count);
  tcase_add_test(tc, test_interface_too_many);
  tcase_add_test(tc, test_interface_too_many_one_line);
  tcase_add_test(tc, test_interface_missing_empty_block);
  tcase_add_test(tc, test_interface_missing_null_block);
  tcase_add_test(tc, test_interface_missing_other_options);
  tcase_add_test(tc, test_interface_no_value);
  tcase_add_test(tc, test_interface_number);
  tcase_add_test(tc, test_interface_boolean);
  tcase_add_test(tc, test_interface_second_value_wrong_type);
  suite_add_tcase(s, tc);

  tc = tcase_create("enums");
  tcase_add_test(tc, test_xdp_mode_bad_value);
  tcase_add_test(tc, test_xdp_mode_offload);
  tcase_add_test(tc, test_xdp_mode_empty);
  tcase_add_test(tc, test_ingress_hook);
  tcase_add_test(tc, test_ingress_hook_bad_value);
  tcase_add_test(tc, test_xdp_dispatcher);
  tcase_add_test(tc, test_xdp_mode_prefix_is_not_enough);
  tcase_add_test(tc, test_xdp_mode_number);
  tcase_add_test(tc, test_xdp_mode_boolean);
  tcase_add_test(tc, test_xdp_mode_two_values);
  tcase_add_test(tc, test_xdp_mode_no_value);
  tcase_add_test(tc, test_direction_bad_value);
  tcase_add_test(tc, test_direction_number);
  tcase_add_test(tc, test_direction_two_values);
  suite_add_tcase(s, tc);

  tc = tcase_create("numbers");
  tcase_add_test(tc, test_max_entries_limits);
  tcase_add_test(tc, test_max_entries_below);
  tcase_add_test(tc, test_max_entries_above);
  tcase_add_test(tc, test_max_entries_zero_and_negative);
  tcase_add_test(tc, test_max_entries_huge);
  tcase_add_test(tc, test_max_entries_not_integer);
  tcase_add_test(tc, test_max_entries_nan);
  tcase_add_test(tc, test_max_entries_string);
  tcase_add_test(tc, test_max_entries_numeric_string);
  tcase_add_test(tc, test_max_entries_boolean);
  tcase_add_test(tc, test_max_entries_value_count);
  tcase_add_test(tc, test_max_entries_ipv6_default);
  tcase_add_test(tc, test_max_entries_ipv6_limits);
  tcase_add_test(tc, test_pin_path);
  tcase_add_test(tc, test_pin_path_bad);
  tcase_add_test(tc, test_expire_idle_limits);
  tcase_add_test(tc, test_expire_idle_above);
  tcase_add_test(tc, test_expire_idle_negative);
  tcase_add_test(tc, test_expire_idle_not_integer);
  tcase_add_test(tc, test_expire_idle_string);
  tcase_add_test(tc, test_expire_idle_value_count);
  suite_add_tcase(s, tc);

  tc = tcase_create("structure");
  tcase_add_test(tc, test_unknown_option);
  tcase_add_test(tc, test_unknown_option_lists_known);
  tcase_add_test(tc, test_unknown_option_without_value);
  tcase_add_test(tc, test_unknown_option_escaped);
  tcase_add_loop_test(tc, test_child_block_rejected, 0,
                      sizeof(valid_options) / sizeof(valid_options[0]));
  tcase_add_loop_test(tc, test_valid_options_accepted, 0,
                      sizeof(valid_options) / sizeof(valid_options[0]));
  tcase_add_test(tc, test_error_keeps_config);
  tcase_add_test(tc, test_first_error_reported);
  tcase_add_test(tc, test_small_error_buffer);
  tcase_add_test(tc, test_long_value_shortened);
  suite_add_tcase(s, tc);

  tc = tcase_create("new options");
  tcase_add_test(tc, test_new_option_defaults);
  tcase_add_test(tc, test_new_options_all);
  tcase_add_test(tc, test_new_options_case_insensitive);
  tcase_add_test(tc, test_report_inactive_values);
  tcase_add_test(tc, test_report_inactive_wrong_type);
  tcase_add_test(tc, test_report_inactive_value_count);
  tcase_add_loop_test(tc, test_range_limits, 0,
                      sizeof(ranges) / sizeof(ranges[0]));
  tcase_add_loop_test(tc, test_range_below, 0,
                      sizeof(ranges) / sizeof(ranges[0]));
  tcase_add_loop_test(tc, test_range_above, 0,
                      sizeof(ranges) / sizeof(ranges[0]));
  tcase_add_loop_test(tc, test_range_not_integer, 0,
                      sizeof(ranges) / sizeof(ranges[0]));
  tcase_add_loop_test(tc, test_range_wrong_type, 0,
                      sizeof(ranges) / sizeof(ranges[0]));
  tcase_add_test(tc, test_top_n_and_hold_distinct);
  tcase_add_test(tc, test_unknown_option_lists_new);
  suite_add_tcase(s, tc);

  tc = tcase_create("network");
  tcase_add_test(tc, test_network_contents);
  tcase_add_test(tc, test_network_case_insensitive);
  tcase_add_test(tc, test_network_ignore_false_with_prefix_length);
  tcase_add_test(tc, test_network_prefix_length_limits);
  tcase_add_loop_test(tc, test_network_bad_cidr, 0,
                      sizeof(bad_networks) / sizeof(bad_networks[0]));
  tcase_add_test(tc, test_network_nameless_child);
  tcase_add_test(tc, test_network_long_text);
  tcase_add_test(tc, test_network_value_not_string);
  tcase_add_test(tc, test_network_value_count);
  tcase_add_test(tc, test_network_unknown_child);
  tcase_add_test(tc, test_network_both);
  tcase_add_test(tc, test_network_neither);
  tcase_add_test(tc, test_network_prefix_length_range);
  tcase_add_test(tc, test_network_child_wrong_type);
  tcase_add_test(tc, test_network_child_with_block);
  tcase_add_test(tc, test_network_duplicate);
  tcase_add_test(tc, test_network_not_duplicate);
  tcase_add_test(tc, test_network_max_count);
  tcase_add_test(tc, test_network_too_many);
  tcase_add_test(tc, test_network_error_keeps_config);
  tcase_add_test(tc, test_network_small_error_buffer);
  suite_add_tcase(s, tc);

  return s;
}

int main(void) {
  SRunner *sr = srunner_create(config_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
