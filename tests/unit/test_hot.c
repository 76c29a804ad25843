/*
 * Unit tests for the hot keys, the programs' filter and the 8-byte IPv4
 * key (src/hot.c).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"

static struct iptraffic_key v4(const char *text, unsigned prefixlen) {
  struct iptraffic_key key = {
      .ifindex = 3, .kind = IPTRAFFIC_KIND_IPV4, .prefixlen = (__u8)prefixlen};

  ck_assert_int_eq(inet_pton(AF_INET, text, key.addr), 1);
  return key;
}

static struct iptraffic_key v6(const char *text, unsigned prefixlen) {
  struct iptraffic_key key = {
      .ifindex = 3, .kind = IPTRAFFIC_KIND_IPV6, .prefixlen = (__u8)prefixlen};

  ck_assert_int_eq(inet_pton(AF_INET6, text, key.addr), 1);
  return key;
}

static void assert_key_eq(const struct iptraffic_key *a,
                          const struct iptraffic_key *b) {
  ck_assert_mem_eq(a, b, sizeof(*a));
}

/* --- 8-byte IPv4 keys ------------------------------------------------------
 */

START_TEST(test_key4_single) {
  struct iptraffic_key k = v4("192.0.2.1", 32), back;
  struct iptraffic_key4 k4;

  ck_assert_int_eq(itr_key4_encode(&k, &k4), 0);
  ck_assert_uint_eq(k4.ifindex, 3);
  ck_assert_mem_eq(&k4.addr, k.addr, 4); /* the address as in the frame */
  ck_assert_int_eq(itr_key4_decode(&k4, &back), 0);
  assert_key_eq(&back, &k);
}
END_TEST

START_TEST(test_key4_aggregate_marker) {
  struct iptraffic_key k = v4("10.1.2.0", 24);
  struct iptraffic_key4 k4;
  uint8_t want[4] = {10, 1, 2, 0x80};

  ck_assert_int_eq(itr_key4_encode(&k, &k4), 0);
  ck_assert_uint_eq(k4.ifindex, 3 | IPTRAFFIC_KEY4_AGGREGATE);
  ck_assert_mem_eq(&k4.addr, want, 4);
}
END_TEST

/* Every prefix length of every kind of address comes back as it was, and
 * no two distinct keys share an encoding. */
START_TEST(test_key4_round_trip_all_lengths) {
  const char *addrs[] = {"0.0.0.0", "255.255.255.255", "10.1.2.3",
                         "192.0.2.128", "128.0.0.1"};
  struct iptraffic_key4 seen[5 * 33];
  size_t n = 0;

  for (size_t a = 0; a < 5; a++)
    for (unsigned len = 0; len <= 32; len++) {
      struct iptraffic_key k = v4(addrs[a], len), back;
      uint32_t w;
      struct iptraffic_key4 k4;
      bool dup = false;

      memcpy(&w, k.addr, 4);
      w = ntohl(w);
      w = len == 0 ? 0 : w & (0xffffffffu << (32 - len));
      w = htonl(w);
      memcpy(k.addr, &w, 4);
      ck_assert_int_eq(itr_key4_encode(&k, &k4), 0);
      ck_assert_int_eq(itr_key4_decode(&k4, &back), 0);
      assert_key_eq(&back, &k);
      for (size_t i = 0; i < n; i++)
        dup |= memcmp(&seen[i], &k4, sizeof(k4)) == 0;
      /* The same network from two addresses is the same key. */
      if (!dup)
        seen[n++] = k4;
    }
  /* 0/0 is shared by all; each address adds its own distinct networks. */
  ck_assert_uint_gt(n, 100);
}
END_TEST

START_TEST(test_key4_rejects) {
  struct iptraffic_key k = v4("10.1.2.3", 24);
  struct iptraffic_key k6 = v6("2001:db8::1", 128);
  struct iptraffic_key4 k4, bad = {.ifindex = 3 | IPTRAFFIC_KEY4_AGGREGATE};
  struct iptraffic_key out;

  ck_assert_int_eq(itr_key4_encode(&k, &k4), -EINVAL); /* host bits */
  ck_assert_int_eq(itr_key4_encode(&k6, &k4), -EINVAL);
  k = v4("10.1.2.3", 33);
  ck_assert_int_eq(itr_key4_encode(&k, &k4), -EINVAL);
  ck_assert_int_eq(itr_key4_decode(&bad, &out), -EINVAL); /* no marker */
}
END_TEST

/* --- Shaping ----------------------------------------------------------------
 */

static void add_network(struct itr_config *cfg, const char *text, unsigned len,
                        unsigned prefixlen, bool ignore) {
  struct itr_network *n = &cfg->networks[cfg->networks_num++];

  memset(n, 0, sizeof(*n));
  if (strchr(text, ':')) {
    n->kind = IPTRAFFIC_KIND_IPV6;
    ck_assert_int_eq(inet_pton(AF_INET6, text, n->addr), 1);
  } else {
    n->kind = IPTRAFFIC_KIND_IPV4;
    ck_assert_int_eq(inet_pton(AF_INET, text, n->addr), 1);
  }
  n->len = (uint8_t)len;
  n->prefixlen = (uint8_t)prefixlen;
  n->ignore = ignore;
}

static int shape(const struct itr_config *cfg, const char *text,
                 struct iptraffic_key *out) {
  uint8_t a[16];
  bool six = strchr(text, ':') != NULL;

  ck_assert_int_eq(inet_pton(six ? AF_INET6 : AF_INET, text, a), 1);
  return itr_shape_key(cfg, 3, six ? IPTRAFFIC_KIND_IPV6 : IPTRAFFIC_KIND_IPV4,
                       a, out);
}

START_TEST(test_shape_defaults) {
  static struct itr_config cfg;
  struct iptraffic_key k, want;

  itr_config_init(&cfg);
  ck_assert_int_eq(shape(&cfg, "192.0.2.9", &k), 0);
  want = v4("192.0.2.9", 32);
  assert_key_eq(&k, &want);
  ck_assert_int_eq(shape(&cfg, "2001:db8::9", &k), 0);
  want = v6("2001:db8::9", 128);
  assert_key_eq(&k, &want);
}
END_TEST

/* The same cases as the BPF aggregation test: longest prefix wins. */
START_TEST(test_shape_networks) {
  static struct itr_config cfg;
  struct iptraffic_key k, want;

  itr_config_init(&cfg);
  cfg.ipv4_prefixlen = 24;
  cfg.ipv6_prefixlen = 48;
  add_network(&cfg, "10.9.0.0", 16, 32, false);
  add_network(&cfg, "10.9.8.0", 24, 0, true);
  add_network(&cfg, "2001:db8:5::", 48, 64, false);
  ck_assert_int_eq(shape(&cfg, "192.0.2.77", &k), 0);
  want = v4("192.0.2.0", 24);
  assert_key_eq(&k, &want);
  ck_assert_int_eq(shape(&cfg, "10.9.1.2", &k), 0);
  want = v4("10.9.1.2", 32);
  assert_key_eq(&k, &want);
  ck_assert_int_eq(shape(&cfg, "10.9.8.5", &k), 1); /* ignored */
  ck_assert_int_eq(shape(&cfg, "2001:db8:5:1::1", &k), 0);
  want = v6("2001:db8:5:1::", 64);
  assert_key_eq(&k, &want);
  ck_assert_int_eq(shape(&cfg, "2001:db8:77:ffff::2", &k), 0);
  want = v6("2001:db8:77::", 48);
  assert_key_eq(&k, &want);
}
END_TEST

START_TEST(test_shape_bad_kind) {
  static struct itr_config cfg;
  struct iptraffic_key k;
  uint8_t a[16] = {0};

  itr_config_init(&cfg);
  ck_assert_int_eq(itr_shape_key(&cfg, 1, IPTRAFFIC_KIND_NONIP, a, &k),
                   -EINVAL);
}
END_TEST

/* --- Filter and set ---------------------------------------------------------
 */

/* The bit comes from the key's words exactly as the programs read them. */
START_TEST(test_bit_matches_header) {
  struct iptraffic_key k = v6("2001:db8::1", 128);
  uint32_t w[6];

  memcpy(w, &k, sizeof(w));
  ck_assert_uint_eq(itr_hot_bit(&k),
                    iptraffic_hot_bit(w[0], w[1], w[2], w[3], w[4], w[5]));
  ck_assert_uint_lt(itr_hot_bit(&k), IPTRAFFIC_HOT_FILTER_BITS);
}
END_TEST

/* Never a false negative; against the brute-force set of bits. */
START_TEST(test_filter_no_false_negative) {
  struct iptraffic_key keys[IPTRAFFIC_HOT_ADDRS];
  struct iptraffic_hot_filter f;
  size_t positives = 0;

  for (size_t i = 0; i < IPTRAFFIC_HOT_ADDRS; i++) {
    char text[32];

    snprintf(text, sizeof(text), "10.0.%zu.%zu", i / 8, i % 8);
    keys[i] = v4(text, 32);
  }
  itr_hot_filter_build(&f, keys, IPTRAFFIC_HOT_ADDRS);
  for (size_t i = 0; i < IPTRAFFIC_HOT_ADDRS; i++)
    ck_assert(itr_hot_filter_test(&f, &keys[i]));
  /* Other keys mostly miss: 64 keys set at most 64 of 1024 bits. */
  for (int i = 0; i < 10000; i++) {
    char text[32];
    struct iptraffic_key k;

    snprintf(text, sizeof(text), "172.16.%d.%d", i / 256, i % 256);
    k = v4(text, 32);
    positives += itr_hot_filter_test(&f, &k);
  }
  ck_assert_uint_lt(positives, 10000 / 8);
}
END_TEST

START_TEST(test_set_sorted_unique_bounded) {
  struct itr_hot_set s, t;

  itr_hot_set_init(&s);
  for (int round = 0; round < 2; round++)
    for (int i = IPTRAFFIC_HOT_ADDRS - 1; i >= 0; i--) {
      char text[32];
      struct iptraffic_key k;

      snprintf(text, sizeof(text), "10.0.0.%d", i);
      k = v4(text, 32);
      ck_assert_int_eq(itr_hot_set_add(&s, &k), 0);
    }
  ck_assert_uint_eq(s.num, IPTRAFFIC_HOT_ADDRS);
  for (size_t i = 1; i < s.num; i++)
    ck_assert_int_lt(itr_key_cmp(&s.keys[i - 1], &s.keys[i]), 0);
  {
    struct iptraffic_key extra = v6("2001:db8::1", 128);
    ck_assert_int_eq(itr_hot_set_add(&s, &extra), -ENOSPC);
    ck_assert_uint_eq(s.dropped, 1);
    ck_assert(!itr_hot_set_has(&s, &extra));
  }
  for (size_t i = 0; i < s.num; i++)
    ck_assert(itr_hot_set_has(&s, &s.keys[i]));
  t = s;
  ck_assert(itr_hot_set_equal(&s, &t));
  t.num--;
  ck_assert(!itr_hot_set_equal(&s, &t));
}
END_TEST

static Suite *hot_suite(void) {
  Suite *s = suite_create("hot");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, test_key4_single);
  tcase_add_test(tc, test_key4_aggregate_marker);
  tcase_add_test(tc, test_key4_round_trip_all_lengths);
  tcase_add_test(tc, test_key4_rejects);
  tcase_add_test(tc, test_shape_defaults);
  tcase_add_test(tc, test_shape_networks);
  tcase_add_test(tc, test_shape_bad_kind);
  tcase_add_test(tc, test_bit_matches_header);
  tcase_add_test(tc, test_filter_no_false_negative);
  tcase_add_test(tc, test_set_sorted_unique_bounded);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(hot_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
