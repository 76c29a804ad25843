/*
 * Unit tests for the record of pinned tables and the reuse decision
 * (src/state.c).
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

static void add_network(struct itr_config *cfg, const char *text, unsigned len,
                        unsigned prefixlen, bool ignore) {
  struct itr_network *n = &cfg->networks[cfg->networks_num++];

  memset(n, 0, sizeof(*n));
  n->kind = IPTRAFFIC_KIND_IPV4;
  ck_assert_int_eq(inet_pton(AF_INET, text, n->addr), 1);
  n->len = (uint8_t)len;
  n->prefixlen = (uint8_t)prefixlen;
  n->ignore = ignore;
}

static struct itr_config base;

static void setup(void) {
  itr_config_init(&base);
  add_network(&base, "10.0.0.0", 8, 24, false);
  add_network(&base, "192.0.2.0", 24, 0, true);
}

static enum itr_reuse compare(const struct itr_config *a, uint32_t a4,
                              const struct itr_config *b, uint32_t b4) {
  struct iptraffic_meta x, y;

  itr_meta_build(a, a4, 100, 68, &x);
  itr_meta_build(b, b4, 100, 68, &y);
  return itr_meta_compare(&x, &y);
}

START_TEST(test_record_fields) {
  struct iptraffic_meta m;

  itr_meta_build(&base, 65536, 16384, 68, &m);
  ck_assert_uint_eq(m.magic, IPTRAFFIC_META_MAGIC);
  ck_assert_uint_eq(m.schema_version, IPTRAFFIC_SCHEMA_VERSION);
  ck_assert_uint_eq(m.ipv4_entries, 65536);
  ck_assert_uint_eq(m.ipv6_entries, 16384);
  ck_assert_uint_eq(m.hot_entries, 68);
  ck_assert_uint_eq(m.ipv4_prefixlen, 32);
  ck_assert_uint_eq(m.ipv6_prefixlen, 128);
  ck_assert_uint_eq(m.networks_num, 2);
}
END_TEST

START_TEST(test_same) {
  ck_assert_int_eq(compare(&base, 1000, &base, 1000), ITR_REUSE_SAME);
}
END_TEST

/* Listing the same blocks in another order changes nothing. */
START_TEST(test_network_order_does_not_matter) {
  struct itr_config other;

  itr_config_init(&other);
  add_network(&other, "192.0.2.0", 24, 0, true);
  add_network(&other, "10.0.0.0", 8, 24, false);
  ck_assert_int_eq(compare(&base, 1000, &other, 1000), ITR_REUSE_SAME);
}
END_TEST

START_TEST(test_sizes_resize) {
  struct iptraffic_meta x, y;

  ck_assert_int_eq(compare(&base, 1000, &base, 2000), ITR_REUSE_RESIZE);
  itr_meta_build(&base, 1000, 100, 68, &x);
  itr_meta_build(&base, 1000, 200, 68, &y);
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_RESIZE);
  itr_meta_build(&base, 1000, 100, 72, &y); /* one interface more */
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_RESIZE);
}
END_TEST

/* Every option that changes what a key means starts afresh, sizes or not. */
START_TEST(test_shape_reshape) {
  struct itr_config other = base;

  other.ipv4_prefixlen = 24;
  ck_assert_int_eq(compare(&base, 1000, &other, 2000), ITR_REUSE_RESHAPE);
  other = base;
  other.ipv6_prefixlen = 64;
  ck_assert_int_eq(compare(&base, 1000, &other, 1000), ITR_REUSE_RESHAPE);
  other = base;
  other.networks[0].prefixlen = 16; /* the same network, aggregated else */
  ck_assert_int_eq(compare(&base, 1000, &other, 1000), ITR_REUSE_RESHAPE);
  other = base;
  other.networks[1].ignore = false;
  other.networks[1].prefixlen = 32;
  ck_assert_int_eq(compare(&base, 1000, &other, 1000), ITR_REUSE_RESHAPE);
  other = base;
  other.networks_num = 1;
  ck_assert_int_eq(compare(&base, 1000, &other, 1000), ITR_REUSE_RESHAPE);
}
END_TEST

/* Options that do not shape keys are no change at all. */
START_TEST(test_other_options_same) {
  struct itr_config other = base;

  other.expire_idle = 10;
  other.top_n = 5;
  other.report_inactive = false;
  other.xdp_mode = ITR_XDP_GENERIC;
  ck_assert_int_eq(compare(&base, 1000, &other, 1000), ITR_REUSE_SAME);
}
END_TEST

START_TEST(test_schema_and_magic) {
  struct iptraffic_meta x, y;

  itr_meta_build(&base, 1000, 100, 68, &x);
  y = x;
  x.schema_version = 1;
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_SCHEMA);
  x.schema_version = IPTRAFFIC_SCHEMA_VERSION + 1;
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_SCHEMA);
  x = y;
  x.magic = 0;
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_SCHEMA);
}
END_TEST

/* Schema 2 is migrated when its keys were shaped the same way, whatever
 * its sizes; shaped otherwise, it starts afresh like any change of shape. */
START_TEST(test_schema2_migrates) {
  struct iptraffic_meta x, y;
  struct itr_config other = base;

  ck_assert(itr_schema_migrates(IPTRAFFIC_SCHEMA2));
  ck_assert(!itr_schema_migrates(IPTRAFFIC_SCHEMA_VERSION));
  ck_assert(!itr_schema_migrates(1));
  itr_meta_build(&base, 1000, 100, 68, &y);
  itr_meta_build(&base, 1000, 0, 0, &x);
  x.schema_version = IPTRAFFIC_SCHEMA2;
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_MIGRATE);
  x.ipv4_entries = 1000; /* the same sizes are no reason to reuse */
  x.ipv6_entries = 100;
  x.hot_entries = 68;
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_MIGRATE);
  other.ipv4_prefixlen = 24;
  itr_meta_build(&other, 1000, 0, 0, &x);
  x.schema_version = IPTRAFFIC_SCHEMA2;
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_RESHAPE);
  /* Never backwards: a current record is not migrated to schema 2. */
  itr_meta_build(&base, 1000, 100, 68, &x);
  y.schema_version = IPTRAFFIC_SCHEMA2;
  ck_assert_int_eq(itr_meta_compare(&x, &y), ITR_REUSE_SCHEMA);
}
END_TEST

static Suite *state_suite(void) {
  Suite *s = suite_create("state");
  TCase *tc = tcase_create("core");

  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_record_fields);
  tcase_add_test(tc, test_same);
  tcase_add_test(tc, test_network_order_does_not_matter);
  tcase_add_test(tc, test_sizes_resize);
  tcase_add_test(tc, test_shape_reshape);
  tcase_add_test(tc, test_other_options_same);
  tcase_add_test(tc, test_schema_and_magic);
  tcase_add_test(tc, test_schema2_migrates);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(state_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
