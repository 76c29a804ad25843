/*
 * Unit tests for the text form of table keys (src/addr.c).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static struct iptraffic_key v4_key(const char *text, unsigned prefixlen) {
  struct iptraffic_key key = {
      .ifindex = 2, .kind = IPTRAFFIC_KIND_IPV4, .prefixlen = (__u8)prefixlen};

  ck_assert_int_eq(inet_pton(AF_INET, text, key.addr), 1);
  return key;
}

static struct iptraffic_key v6_key(const char *text, unsigned prefixlen) {
  struct iptraffic_key key = {
      .ifindex = 2, .kind = IPTRAFFIC_KIND_IPV6, .prefixlen = (__u8)prefixlen};

  ck_assert_int_eq(inet_pton(AF_INET6, text, key.addr), 1);
  return key;
}

static struct iptraffic_key special_key(unsigned kind) {
  struct iptraffic_key key = {.ifindex = 7, .kind = (__u8)kind};

  return key;
}

static void check_format(const struct iptraffic_key *key, const char *want) {
  char buf[ITR_INSTANCE_LEN];

  memset(buf, 'X', sizeof(buf));
  ck_assert_int_eq(itr_key_format(key, buf, sizeof(buf)), 0);
  ck_assert_str_eq(buf, want);
}

struct text_case {
  const char *in; /* as inet_pton reads it */
  unsigned prefixlen;
  const char *want; /* instance text */
};

/* --- IPv4 ----------------------------------------------------------------- */

static const struct text_case v4_cases[] = {
    {"192.0.2.1", 32, "192.0.2.1"},
    {"0.0.0.0", 32, "0.0.0.0"},
    {"255.255.255.255", 32, "255.255.255.255"},
    {"10.0.0.1", 32, "10.0.0.1"},
    {"127.0.0.1", 32, "127.0.0.1"},
    {"10.1.2.0", 24, "10.1.2.0_24"},
    {"10.0.0.0", 8, "10.0.0.0_8"},
    {"192.0.2.0", 31, "192.0.2.0_31"},
    {"192.0.2.128", 25, "192.0.2.128_25"},
    {"0.0.0.0", 0, "0.0.0.0_0"},
};

START_TEST(test_ipv4) {
  struct iptraffic_key key = v4_key(v4_cases[_i].in, v4_cases[_i].prefixlen);

  check_format(&key, v4_cases[_i].want);
}
END_TEST

/* --- IPv6: RFC 5952 canonical text -------------------------------------- */

static const struct text_case v6_cases[] = {
    /* 4.2.1: the longest run of zero groups is compressed. */
    {"2001:db8:0:0:0:0:0:1", 128, "2001:db8::1"},
    {"2001:0db8:0000:0000:0000:0000:0002:0001", 128, "2001:db8::2:1"},
    /* 4.1: leading zeros of a group are dropped. */
    {"2001:0db8:00ab:0cde:0000:0000:0000:0001", 128, "2001:db8:ab:cde::1"},
    /* 4.2.2: a single zero group is not compressed. */
    {"2001:db8:0:1:1:1:1:1", 128, "2001:db8:0:1:1:1:1:1"},
    {"2001:db8:1:1:1:1:1:0", 128, "2001:db8:1:1:1:1:1:0"},
    /* 4.2.3: the longest run wins, the first of equal runs wins. */
    {"2001:0:0:1:0:0:0:1", 128, "2001:0:0:1::1"},
    {"2001:db8:0:0:1:0:0:1", 128, "2001:db8::1:0:0:1"},
    {"1:0:0:2:3:0:0:4", 128, "1::2:3:0:0:4"},
    /* 4.3: lower case. */
    {"2001:DB8:ABCD:EF01::CAFE", 128, "2001:db8:abcd:ef01::cafe"},
    /* Runs at either end and the all-zero address. */
    {"::", 128, "::"},
    {"::1", 128, "::1"},
    {"1::", 128, "1::"},
    {"0:0:0:0:0:0:0:2", 128, "::2"},
    {"fe80:0:0:0:0:0:0:0", 128, "fe80::"},
    {"fe80::1", 128, "fe80::1"},
    {"0:1:2:3:4:5:6:7", 128, "0:1:2:3:4:5:6:7"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128,
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    /* 5: IPv4-mapped addresses in mixed notation. */
    {"::ffff:1.2.3.4", 128, "::ffff:1.2.3.4"},
    {"0:0:0:0:0:ffff:c000:0201", 128, "::ffff:192.0.2.1"},
    /* Prefixes: the network address, '_' and the length. */
    {"2001:db8:1::", 48, "2001:db8:1::_48"},
    {"2001:db8::", 32, "2001:db8::_32"},
    {"2001:db8:0:1::", 64, "2001:db8:0:1::_64"},
    {"2001:db8::", 127, "2001:db8::_127"},
    {"::", 0, "::_0"},
};

START_TEST(test_ipv6) {
  struct iptraffic_key key = v6_key(v6_cases[_i].in, v6_cases[_i].prefixlen);

  check_format(&key, v6_cases[_i].want);
}
END_TEST

/* The text reads back as the same address. */
START_TEST(test_ipv6_round_trip) {
  struct iptraffic_key key = v6_key(v6_cases[_i].in, 128);
  unsigned char back[16];
  char buf[ITR_INSTANCE_LEN];

  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), 0);
  ck_assert_int_eq(inet_pton(AF_INET6, buf, back), 1);
  ck_assert_mem_eq(back, key.addr, sizeof(back));
}
END_TEST

/* The interface and the reserved field do not show in the text. */
START_TEST(test_ifindex_not_shown) {
  struct iptraffic_key key = v4_key("192.0.2.1", 32);

  key.ifindex = 123456;
  check_format(&key, "192.0.2.1");
}
END_TEST

/* The longest text there is fits ITR_INSTANCE_LEN. */
START_TEST(test_longest_fits) {
  struct iptraffic_key key;
  char buf[ITR_INSTANCE_LEN];

  key = v6_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0", 127);
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), 0);
  ck_assert_str_eq(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0_127");
  key = v6_key("1111:2222:3333:4444:5555:6666:1.2.3.4", 100);
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), 0);
  ck_assert_uint_lt(strlen(buf), ITR_INSTANCE_LEN);
}
END_TEST

/* --- special keys -----------------------------------------------------------
 */

struct special_case {
  unsigned kind;
  const char *name;
};

static const struct special_case specials[] = {
    {IPTRAFFIC_KIND_NONIP, "non-ip"},
    {IPTRAFFIC_KIND_MALFORMED, "malformed"},
    {IPTRAFFIC_KIND_UNTRACKED, "untracked"},
    {IPTRAFFIC_KIND_IGNORED, "ignored"},
};

START_TEST(test_special) {
  struct iptraffic_key key = special_key(specials[_i].kind);

  check_format(&key, specials[_i].name);
}
END_TEST

/* The address bytes of a special key are not looked at. */
START_TEST(test_special_ignores_addr) {
  struct iptraffic_key key = special_key(specials[_i].kind);

  memset(key.addr, 0xff, sizeof(key.addr));
  check_format(&key, specials[_i].name);
}
END_TEST

/* --- buffer size -------------------------------------------------------------
 */

/* Exactly strlen + 1 bytes is enough; one byte less is -ENOSPC. */
static void check_boundary(const struct iptraffic_key *key, const char *want) {
  size_t need = strlen(want) + 1;
  char *buf = malloc(need);

  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(itr_key_format(key, buf, need), 0);
  ck_assert_str_eq(buf, want);
  memset(buf, 'X', need);
  ck_assert_int_eq(itr_key_format(key, buf, need - 1), -ENOSPC);
  ck_assert_int_eq(buf[0], '\0');
  ck_assert_int_eq(buf[need - 1], 'X'); /* nothing written past len */
  ck_assert_int_eq(itr_key_format(key, buf, 1), -ENOSPC);
  ck_assert_int_eq(buf[0], '\0');
  free(buf);
}

START_TEST(test_enospc_ipv4) {
  struct iptraffic_key key = v4_key("192.0.2.1", 32);

  check_boundary(&key, "192.0.2.1");
}
END_TEST

START_TEST(test_enospc_ipv6) {
  struct iptraffic_key key = v6_key("2001:db8::1", 128);

  check_boundary(&key, "2001:db8::1");
}
END_TEST

/* The suffix counts: the address alone would fit, the suffix does not. */
START_TEST(test_enospc_prefix) {
  struct iptraffic_key key = v4_key("10.1.2.0", 24);

  check_boundary(&key, "10.1.2.0_24");
  key = v6_key("2001:db8:1::", 48);
  check_boundary(&key, "2001:db8:1::_48");
}
END_TEST

START_TEST(test_enospc_special) {
  struct iptraffic_key key = special_key(specials[_i].kind);

  check_boundary(&key, specials[_i].name);
}
END_TEST

START_TEST(test_enospc_zero_len) {
  struct iptraffic_key key = v4_key("192.0.2.1", 32);
  char buf[1] = {'X'};

  ck_assert_int_eq(itr_key_format(&key, buf, 0), -ENOSPC);
  ck_assert_int_eq(buf[0], 'X');
  ck_assert_int_eq(itr_key_format(&key, NULL, 0), -ENOSPC);
}
END_TEST

/* --- invalid keys
 * -------------------------------------------------------------- */

static const unsigned bad_kinds[] = {0, 7, 8, 255};

START_TEST(test_einval_kind) {
  struct iptraffic_key key = v4_key("192.0.2.1", 32);
  char buf[ITR_INSTANCE_LEN];

  key.kind = (__u8)bad_kinds[_i];
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_einval_prefixlen) {
  struct iptraffic_key key;
  char buf[ITR_INSTANCE_LEN];

  key = v4_key("192.0.2.1", 33);
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), -EINVAL);
  key = v4_key("192.0.2.1", 128);
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), -EINVAL);
  key = v4_key("192.0.2.1", 255);
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), -EINVAL);
  key = v6_key("2001:db8::1", 129);
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), -EINVAL);
  key = v6_key("2001:db8::1", 255);
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* An invalid key is reported as such even when the buffer is too small. */
START_TEST(test_einval_before_enospc) {
  struct iptraffic_key key = v4_key("192.0.2.1", 32);
  char buf[2];

  key.kind = 0;
  ck_assert_int_eq(itr_key_format(&key, buf, sizeof(buf)), -EINVAL);
  ck_assert_int_eq(itr_key_format(&key, buf, 0), -EINVAL);
}
END_TEST

START_TEST(test_einval_null_key) {
  char buf[ITR_INSTANCE_LEN];

  ck_assert_int_eq(itr_key_format(NULL, buf, sizeof(buf)), -EINVAL);
}
END_TEST

#define N(a) (sizeof(a) / sizeof((a)[0]))

static Suite *addr_suite(void) {
  Suite *s = suite_create("addr");
  TCase *tc;

  tc = tcase_create("text");
  tcase_add_loop_test(tc, test_ipv4, 0, N(v4_cases));
  tcase_add_loop_test(tc, test_ipv6, 0, N(v6_cases));
  tcase_add_loop_test(tc, test_ipv6_round_trip, 0, N(v6_cases));
  tcase_add_test(tc, test_ifindex_not_shown);
  tcase_add_test(tc, test_longest_fits);
  tcase_add_loop_test(tc, test_special, 0, N(specials));
  tcase_add_loop_test(tc, test_special_ignores_addr, 0, N(specials));
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_test(tc, test_enospc_ipv4);
  tcase_add_test(tc, test_enospc_ipv6);
  tcase_add_test(tc, test_enospc_prefix);
  tcase_add_loop_test(tc, test_enospc_special, 0, N(specials));
  tcase_add_test(tc, test_enospc_zero_len);
  tcase_add_loop_test(tc, test_einval_kind, 0, N(bad_kinds));
  tcase_add_test(tc, test_einval_prefixlen);
  tcase_add_test(tc, test_einval_before_enospc);
  tcase_add_test(tc, test_einval_null_key);
  suite_add_tcase(s, tc);

  return s;
}

int main(void) {
  SRunner *sr = srunner_create(addr_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
