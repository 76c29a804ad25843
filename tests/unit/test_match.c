/*
 * Unit tests for the interfaces counted (src/match.c): names, /regex/
 * patterns and IgnoreSelected, and how the configuration takes them.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

#define ERR_LEN 512

static int parse(struct itr_config *cfg, char *err, const char *const *ifs,
                 int n, int ignore_selected) {
  static struct itr_cfg_value values[8];
  static struct itr_cfg_item items[2];
  static const struct itr_cfg_value yes = {.type = ITR_CFG_BOOLEAN,
                                           .v.boolean = true};
  struct itr_cfg_item block = {.key = "Plugin", .children = items};
  int k = 0;

  for (int i = 0; i < n; i++) {
    values[i].type = ITR_CFG_STRING;
    values[i].v.string = ifs[i];
  }
  if (n) {
    items[k].key = "Interface";
    items[k].values = values;
    items[k].values_num = n;
    k++;
  }
  if (ignore_selected) {
    items[k].key = "IgnoreSelected";
    items[k].values = &yes;
    items[k].values_num = 1;
    k++;
  }
  block.children_num = k;
  itr_config_init(cfg);
  return itr_config_parse(cfg, &block, err, ERR_LEN);
}

START_TEST(test_is_pattern) {
  ck_assert(itr_is_pattern("/^veth/"));
  ck_assert(itr_is_pattern("//"));
  ck_assert(!itr_is_pattern("/"));
  ck_assert(!itr_is_pattern("eth0"));
  ck_assert(!itr_is_pattern("/eth0"));
}
END_TEST

START_TEST(test_names_and_patterns) {
  static const char *const ifs[] = {"eth0", "/^veth[0-9a-f]+$/", "/^cali/"};
  static struct itr_config cfg;
  struct itr_matcher m;
  char err[ERR_LEN];

  ck_assert_int_eq(parse(&cfg, err, ifs, 3, 0), 0);
  ck_assert_int_eq(itr_matcher_init(&m, &cfg), 0);
  ck_assert(!itr_matcher_only_names(&m));
  ck_assert(itr_matcher_counts(&m, "eth0"));
  ck_assert(!itr_matcher_counts(&m, "eth01"));
  ck_assert(itr_matcher_counts(&m, "veth1a2b"));
  ck_assert(!itr_matcher_counts(&m, "veth1a2b-x"));
  ck_assert(itr_matcher_counts(&m, "cali12345"));
  ck_assert(!itr_matcher_counts(&m, "lo"));
  itr_matcher_free(&m);
}
END_TEST

START_TEST(test_only_names) {
  static const char *const ifs[] = {"eth0", "eth1"};
  static struct itr_config cfg;
  struct itr_matcher m;
  char err[ERR_LEN];

  ck_assert_int_eq(parse(&cfg, err, ifs, 2, 0), 0);
  ck_assert_int_eq(itr_matcher_init(&m, &cfg), 0);
  ck_assert(itr_matcher_only_names(&m));
  ck_assert(itr_matcher_counts(&m, "eth1"));
  ck_assert(!itr_matcher_counts(&m, "eth2"));
  itr_matcher_free(&m);
}
END_TEST

/* IgnoreSelected: everything but what is listed; with nothing listed,
 * everything. */
START_TEST(test_ignore_selected) {
  static const char *const ifs[] = {"lo", "/^docker/"};
  static struct itr_config cfg;
  struct itr_matcher m;
  char err[ERR_LEN];

  ck_assert_int_eq(parse(&cfg, err, ifs, 2, 1), 0);
  ck_assert_int_eq(itr_matcher_init(&m, &cfg), 0);
  ck_assert(!itr_matcher_only_names(&m));
  ck_assert(!itr_matcher_counts(&m, "lo"));
  ck_assert(!itr_matcher_counts(&m, "docker0"));
  ck_assert(itr_matcher_counts(&m, "eth0"));
  itr_matcher_free(&m);

  ck_assert_int_eq(parse(&cfg, err, ifs, 0, 1), 0);
  ck_assert_int_eq(itr_matcher_init(&m, &cfg), 0);
  ck_assert(itr_matcher_counts(&m, "anything"));
  itr_matcher_free(&m);
}
END_TEST

/* A bad pattern is one error naming it and the reason; so is a pattern
 * listed twice; without IgnoreSelected at least one Interface is still
 * needed. */
START_TEST(test_bad_patterns) {
  static const char *const bad[] = {"/veth[/"};
  static const char *const twice[] = {"/^veth/", "/^veth/"};
  static const char *const empty[] = {"//"};
  static struct itr_config cfg;
  char err[ERR_LEN];

  ck_assert_int_eq(parse(&cfg, err, bad, 1, 0), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "\"Interface\""));
  ck_assert_ptr_nonnull(strstr(err, "\"/veth[/\""));
  ck_assert_ptr_nonnull(strstr(err, "regular expression"));
  ck_assert_int_eq(parse(&cfg, err, twice, 2, 0), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "listed twice"));
  ck_assert_int_eq(parse(&cfg, err, empty, 1, 0), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "empty"));
  ck_assert_int_eq(parse(&cfg, err, bad, 0, 0), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "Interface"));
}
END_TEST

/* A pattern may be longer than an interface name. */
START_TEST(test_long_pattern) {
  static const char *const ifs[] = {
      "/^(veth|cali|tap|tun|vnet|lxc)[0-9a-f]+$/"};
  static struct itr_config cfg;
  struct itr_matcher m;
  char err[ERR_LEN];

  ck_assert_int_eq(parse(&cfg, err, ifs, 1, 0), 0);
  ck_assert_int_eq(itr_matcher_init(&m, &cfg), 0);
  ck_assert(itr_matcher_counts(&m, "lxc0a"));
  itr_matcher_free(&m);
}
END_TEST

static Suite *match_suite(void) {
  Suite *s = suite_create("match");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, test_is_pattern);
  tcase_add_test(tc, test_names_and_patterns);
  tcase_add_test(tc, test_only_names);
  tcase_add_test(tc, test_ignore_selected);
  tcase_add_test(tc, test_bad_patterns);
  tcase_add_test(tc, test_long_pattern);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(match_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
