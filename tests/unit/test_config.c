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
                    "MaxEntries", "ExpireIdle"),
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
    {"Interface", STR("eth0")}, {"XDPMode", STR("auto")},
    {"Direction", STR("both")}, {"MaxEntries", NUM(100)},
    {"ExpireIdle", NUM(100)},
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
