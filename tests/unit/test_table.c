/*
 * Unit tests for the userspace snapshot table (src/table.c), against the
 * contract in src/table.h.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct iptraffic_key v4(__u32 ifindex, __u8 a, __u8 b, __u8 c, __u8 d) {
  struct iptraffic_key key = {.ifindex = ifindex,
                              .kind = IPTRAFFIC_KIND_IPV4,
                              .prefixlen = 32,
                              .addr = {a, b, c, d}};

  return key;
}

static struct iptraffic_key v6(__u32 ifindex, __u16 last) {
  struct iptraffic_key key = {.ifindex = ifindex,
                              .kind = IPTRAFFIC_KIND_IPV6,
                              .prefixlen = 128,
                              .addr = {0x20, 0x01, 0x0d, 0xb8}};

  key.addr[14] = (__u8)(last >> 8);
  key.addr[15] = (__u8)last;
  return key;
}

static struct iptraffic_key special(__u32 ifindex, __u8 kind) {
  struct iptraffic_key key = {.ifindex = ifindex, .kind = kind};

  return key;
}

static struct itr_counters counters(uint64_t base) {
  struct itr_counters c = {
      .rx_bytes = base * 1000 + 1,
      .rx_packets = base + 2,
      .tx_bytes = base * 1000 + 3,
      .tx_packets = base + 4,
  };

  return c;
}

static void assert_counters_eq(const struct itr_counters *a,
                               const struct itr_counters *b) {
  ck_assert_uint_eq(a->rx_bytes, b->rx_bytes);
  ck_assert_uint_eq(a->rx_packets, b->rx_packets);
  ck_assert_uint_eq(a->tx_bytes, b->tx_bytes);
  ck_assert_uint_eq(a->tx_packets, b->tx_packets);
}

static struct itr_table *new_table(size_t capacity) {
  struct itr_table *t = itr_table_new(capacity);

  ck_assert_ptr_nonnull(t);
  return t;
}

/* Records key with counters c in a pass of its own. */
static void record_pass(struct itr_table *t, const struct iptraffic_key *key,
                        const struct itr_counters *c, uint64_t now) {
  itr_table_begin_pass(t);
  ck_assert_int_eq(itr_table_record(t, key, c, now), 0);
  ck_assert_uint_eq(itr_table_end_pass(t), 0);
}

/* --- per-CPU summing ------------------------------------------------------ */

START_TEST(test_percpu_one) {
  struct iptraffic_value v = {
      .rx_bytes = 1500, .rx_packets = 1, .tx_bytes = 64, .tx_packets = 2};
  struct itr_counters out;

  memset(&out, 0xa5, sizeof(out));
  itr_percpu_sum(&v, 1, &out);
  ck_assert_uint_eq(out.rx_bytes, 1500);
  ck_assert_uint_eq(out.rx_packets, 1);
  ck_assert_uint_eq(out.tx_bytes, 64);
  ck_assert_uint_eq(out.tx_packets, 2);
}
END_TEST

START_TEST(test_percpu_two) {
  const struct iptraffic_value v[2] = {
      {.rx_bytes = 100, .rx_packets = 1, .tx_bytes = 200, .tx_packets = 2},
      {.rx_bytes = 1000, .rx_packets = 10, .tx_bytes = 2000, .tx_packets = 20},
  };
  struct itr_counters out;

  memset(&out, 0xa5, sizeof(out));
  itr_percpu_sum(v, 2, &out);
  ck_assert_uint_eq(out.rx_bytes, 1100);
  ck_assert_uint_eq(out.rx_packets, 11);
  ck_assert_uint_eq(out.tx_bytes, 2200);
  ck_assert_uint_eq(out.tx_packets, 22);
}
END_TEST

/* 64 CPUs laid out back to back, as the kernel returns them; only some
 * CPUs saw traffic. Values beyond 32 bits are summed exactly. */
START_TEST(test_percpu_sixty_four) {
  struct iptraffic_value *v = calloc(64, sizeof(*v));
  struct itr_counters out;
  uint64_t rx_bytes = 0, rx_packets = 0, tx_bytes = 0, tx_packets = 0;

  ck_assert_ptr_nonnull(v);
  for (unsigned cpu = 0; cpu < 64; cpu++) {
    if (cpu % 3 == 1)
      continue;
    v[cpu].rx_bytes = (uint64_t)cpu << 33;
    v[cpu].rx_packets = cpu + 1;
    v[cpu].tx_bytes = 1000000007ull * cpu;
    v[cpu].tx_packets = 3ull * cpu;
    rx_bytes += v[cpu].rx_bytes;
    rx_packets += v[cpu].rx_packets;
    tx_bytes += v[cpu].tx_bytes;
    tx_packets += v[cpu].tx_packets;
  }
  memset(&out, 0xa5, sizeof(out));
  itr_percpu_sum(v, 64, &out);
  ck_assert_uint_eq(out.rx_bytes, rx_bytes);
  ck_assert_uint_eq(out.rx_packets, rx_packets);
  ck_assert_uint_eq(out.tx_bytes, tx_bytes);
  ck_assert_uint_eq(out.tx_packets, tx_packets);
  /* Only the first ncpus values are read. */
  itr_percpu_sum(v, 1, &out);
  ck_assert_uint_eq(out.rx_packets, 1);
  free(v);
}
END_TEST

START_TEST(test_percpu_zero_cpus) {
  struct iptraffic_value v = {.rx_bytes = 1};
  struct itr_counters out;

  memset(&out, 0xa5, sizeof(out));
  itr_percpu_sum(&v, 0, &out);
  ck_assert_uint_eq(out.rx_bytes, 0);
  ck_assert_uint_eq(out.rx_packets, 0);
  ck_assert_uint_eq(out.tx_bytes, 0);
  ck_assert_uint_eq(out.tx_packets, 0);
}
END_TEST

/* --- basics
 * ------------------------------------------------------------------- */

START_TEST(test_new_empty) {
  static const size_t capacities[] = {1, 2, 16, 1000, 65536};

  for (size_t i = 0; i < N(capacities); i++) {
    struct itr_table *t = new_table(capacities[i]);
    struct iptraffic_key key = v4(1, 192, 0, 2, 1);

    ck_assert_uint_eq(itr_table_capacity(t), capacities[i]);
    ck_assert_uint_eq(itr_table_count(t), 0);
    ck_assert_ptr_null(itr_table_find(t, &key));
    ck_assert_int_eq(itr_table_remove(t, &key), -ENOENT);
    itr_table_free(t);
  }
}
END_TEST

START_TEST(test_is_special) {
  struct iptraffic_key key;

  key = special(1, IPTRAFFIC_KIND_NONIP);
  ck_assert(itr_key_is_special(&key));
  key = special(1, IPTRAFFIC_KIND_MALFORMED);
  ck_assert(itr_key_is_special(&key));
  key = special(1, IPTRAFFIC_KIND_UNTRACKED);
  ck_assert(itr_key_is_special(&key));
  key = v4(1, 10, 0, 0, 1);
  ck_assert(!itr_key_is_special(&key));
  key = v6(1, 1);
  ck_assert(!itr_key_is_special(&key));
  /* A prefix is an address key too. */
  key = v4(1, 10, 0, 0, 0);
  key.prefixlen = 24;
  ck_assert(!itr_key_is_special(&key));
}
END_TEST

/* --- recording and change detection ----------------------------------------
 */

START_TEST(test_record_new_key) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(3, 192, 0, 2, 1);
  struct itr_counters c = counters(5);
  struct itr_entry *e;

  itr_table_begin_pass(t);
  ck_assert_int_eq(itr_table_record(t, &key, &c, 1000), 0);
  ck_assert_uint_eq(itr_table_count(t), 1);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_eq(e, &itr_table_entries(t)[0]);
  ck_assert_mem_eq(&e->key, &key, sizeof(key));
  assert_counters_eq(&e->counters, &c);
  ck_assert(e->changed);
  ck_assert_uint_eq(e->last_change, 1000);
  ck_assert_uint_eq(itr_table_end_pass(t), 0);
  ck_assert_ptr_eq(itr_table_find(t, &key), e);
  itr_table_free(t);
}
END_TEST

/* A new key is changed even when its counters are all zero. */
START_TEST(test_record_new_key_zero_counters) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v6(1, 1);
  struct itr_counters zero = {0};
  struct itr_entry *e;

  itr_table_begin_pass(t);
  ck_assert_int_eq(itr_table_record(t, &key, &zero, 7), 0);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  ck_assert(e->changed);
  ck_assert_uint_eq(e->last_change, 7);
  itr_table_end_pass(t);
  itr_table_free(t);
}
END_TEST

START_TEST(test_record_unchanged_keeps_last_change) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters c = counters(1);
  struct itr_entry *e;

  record_pass(t, &key, &c, 100);
  record_pass(t, &key, &c, 110);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  ck_assert(!e->changed);
  ck_assert_uint_eq(e->last_change, 100);
  assert_counters_eq(&e->counters, &c);
  record_pass(t, &key, &c, 500);
  ck_assert(!e->changed);
  ck_assert_uint_eq(e->last_change, 100);
  ck_assert_uint_eq(itr_table_count(t), 1);
  itr_table_free(t);
}
END_TEST

/* A change in any one of the four counters is a change. */
START_TEST(test_record_change_each_field) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters c = counters(1);
  struct itr_entry *e;

  record_pass(t, &key, &c, 100);
  switch (_i) {
  case 0:
    c.rx_bytes++;
    break;
  case 1:
    c.rx_packets++;
    break;
  case 2:
    c.tx_bytes++;
    break;
  default:
    c.tx_packets++;
    break;
  }
  record_pass(t, &key, &c, 110);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  ck_assert(e->changed);
  ck_assert_uint_eq(e->last_change, 110);
  assert_counters_eq(&e->counters, &c);
  /* The next pass without a change clears it again. */
  record_pass(t, &key, &c, 120);
  ck_assert(!e->changed);
  ck_assert_uint_eq(e->last_change, 110);
  itr_table_free(t);
}
END_TEST

/* Counters that go backwards (entry recreated in the kernel) are taken as
 * they are. */
START_TEST(test_record_backwards) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters big = counters(1000);
  struct itr_counters small = counters(1);
  struct itr_entry *e;

  record_pass(t, &key, &big, 100);
  record_pass(t, &key, &small, 110);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  ck_assert(e->changed);
  ck_assert_uint_eq(e->last_change, 110);
  assert_counters_eq(&e->counters, &small);
  itr_table_free(t);
}
END_TEST

/* Keys that differ in one field only are different keys. */
START_TEST(test_keys_distinct) {
  struct iptraffic_key keys[24];
  size_t n = 0;
  struct itr_table *t = new_table(64);

  keys[n++] = v4(1, 10, 0, 0, 1);
  keys[n++] = v4(2, 10, 0, 0, 1); /* ifindex */
  keys[n] = v4(1, 10, 0, 0, 1);   /* prefix length */
  keys[n++].prefixlen = 24;
  keys[n] = v4(1, 10, 0, 0, 1); /* same bytes as IPv6 */
  keys[n].kind = IPTRAFFIC_KIND_IPV6;
  keys[n++].prefixlen = 128;
  for (unsigned b = 0; b < 16; b++) { /* every address byte */
    keys[n] = v6(1, 0);
    keys[n++].addr[b] ^= 0x80;
  }
  keys[n++] = special(1, IPTRAFFIC_KIND_NONIP);
  keys[n++] = special(1, IPTRAFFIC_KIND_MALFORMED);
  keys[n++] = special(1, IPTRAFFIC_KIND_UNTRACKED);
  keys[n++] = special(2, IPTRAFFIC_KIND_NONIP);
  ck_assert_uint_eq(n, N(keys));

  itr_table_begin_pass(t);
  for (size_t i = 0; i < n; i++) {
    struct itr_counters c = counters(i);

    ck_assert_int_eq(itr_table_record(t, &keys[i], &c, 1), 0);
  }
  ck_assert_uint_eq(itr_table_end_pass(t), 0);
  ck_assert_uint_eq(itr_table_count(t), n);
  for (size_t i = 0; i < n; i++) {
    struct itr_entry *e = itr_table_find(t, &keys[i]);
    struct itr_counters c = counters(i);

    ck_assert_ptr_nonnull(e);
    ck_assert_mem_eq(&e->key, &keys[i], sizeof(keys[i]));
    assert_counters_eq(&e->counters, &c);
  }
  itr_table_free(t);
}
END_TEST

/* The dense array holds exactly the recorded keys. */
START_TEST(test_entries_dense) {
  struct itr_table *t = new_table(100);
  bool seen[100] = {false};

  itr_table_begin_pass(t);
  for (unsigned i = 0; i < 100; i++) {
    struct iptraffic_key key = v4(1, 10, 0, 0, (__u8)i);
    struct itr_counters c = counters(i);

    ck_assert_int_eq(itr_table_record(t, &key, &c, 1), 0);
  }
  itr_table_end_pass(t);
  ck_assert_uint_eq(itr_table_count(t), 100);
  for (size_t i = 0; i < 100; i++) {
    struct itr_entry *e = &itr_table_entries(t)[i];
    unsigned id = e->key.addr[3];

    ck_assert_uint_lt(id, 100);
    ck_assert(!seen[id]);
    seen[id] = true;
    ck_assert_uint_eq(e->counters.rx_packets, id + 2);
    ck_assert_ptr_eq(itr_table_find(t, &e->key), e);
  }
  itr_table_free(t);
}
END_TEST

/* --- end of pass
 * ---------------------------------------------------------------- */

START_TEST(test_end_pass_removes_unseen) {
  struct itr_table *t = new_table(16);
  struct iptraffic_key keys[10];
  struct itr_counters c = counters(1);

  itr_table_begin_pass(t);
  for (unsigned i = 0; i < N(keys); i++) {
    keys[i] = v4(1, 10, 0, 0, (__u8)i);
    ck_assert_int_eq(itr_table_record(t, &keys[i], &c, 1), 0);
  }
  ck_assert_uint_eq(itr_table_end_pass(t), 0);

  /* The next pass sees the even keys only. */
  itr_table_begin_pass(t);
  for (unsigned i = 0; i < N(keys); i += 2)
    ck_assert_int_eq(itr_table_record(t, &keys[i], &c, 2), 0);
  ck_assert_uint_eq(itr_table_end_pass(t), 5);
  ck_assert_uint_eq(itr_table_count(t), 5);
  for (unsigned i = 0; i < N(keys); i++) {
    struct itr_entry *e = itr_table_find(t, &keys[i]);

    if (i % 2) {
      ck_assert_ptr_null(e);
    } else {
      ck_assert_ptr_nonnull(e);
      assert_counters_eq(&e->counters, &c);
      ck_assert_uint_eq(e->last_change, 1);
    }
  }

  /* A pass that sees nothing empties the table. */
  itr_table_begin_pass(t);
  ck_assert_uint_eq(itr_table_end_pass(t), 5);
  ck_assert_uint_eq(itr_table_count(t), 0);
  for (unsigned i = 0; i < N(keys); i++)
    ck_assert_ptr_null(itr_table_find(t, &keys[i]));
  itr_table_free(t);
}
END_TEST

/* A key that comes back after it was dropped is new again. */
START_TEST(test_key_returns_as_new) {
  struct itr_table *t = new_table(4);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters c = counters(1);
  struct itr_entry *e;

  record_pass(t, &key, &c, 10);
  itr_table_begin_pass(t);
  ck_assert_uint_eq(itr_table_end_pass(t), 1);
  record_pass(t, &key, &c, 50);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  ck_assert(e->changed);
  ck_assert_uint_eq(e->last_change, 50);
  itr_table_free(t);
}
END_TEST

/* --- remove
 * ------------------------------------------------------------------------ */

START_TEST(test_remove) {
  struct itr_table *t = new_table(16);
  struct iptraffic_key keys[5];
  struct itr_counters c;
  struct iptraffic_key last;

  itr_table_begin_pass(t);
  for (unsigned i = 0; i < N(keys); i++) {
    keys[i] = v6(1, (__u16)i);
    c = counters(i);
    ck_assert_int_eq(itr_table_record(t, &keys[i], &c, 1), 0);
  }
  itr_table_end_pass(t);

  /* Removing from the middle moves the last entry into the hole. */
  last = itr_table_entries(t)[4].key;
  ck_assert_mem_eq(&itr_table_entries(t)[1].key, &keys[1], sizeof(keys[1]));
  ck_assert_int_eq(itr_table_remove(t, &keys[1]), 0);
  ck_assert_uint_eq(itr_table_count(t), 4);
  ck_assert_mem_eq(&itr_table_entries(t)[1].key, &last, sizeof(last));
  ck_assert_ptr_eq(itr_table_find(t, &last), &itr_table_entries(t)[1]);
  ck_assert_ptr_null(itr_table_find(t, &keys[1]));
  ck_assert_int_eq(itr_table_remove(t, &keys[1]), -ENOENT);

  /* Removing the last entry itself. */
  last = itr_table_entries(t)[3].key;
  ck_assert_int_eq(itr_table_remove(t, &last), 0);
  ck_assert_uint_eq(itr_table_count(t), 3);
  ck_assert_ptr_null(itr_table_find(t, &last));

  /* The others are untouched. */
  for (size_t i = 0; i < itr_table_count(t); i++) {
    struct itr_entry *e = &itr_table_entries(t)[i];
    unsigned id = e->key.addr[15];

    c = counters(id);
    ck_assert_ptr_eq(itr_table_find(t, &e->key), e);
    assert_counters_eq(&e->counters, &c);
  }
  itr_table_free(t);
}
END_TEST

/* --- full table
 * ------------------------------------------------------------------- */

START_TEST(test_full_table) {
  struct itr_table *t = new_table(4);
  struct itr_counters c = counters(1);
  struct itr_counters c2 = counters(2);
  struct iptraffic_key extra = v4(1, 10, 0, 0, 99);
  struct iptraffic_key key;

  itr_table_begin_pass(t);
  for (unsigned i = 0; i < 4; i++) {
    key = v4(1, 10, 0, 0, (__u8)i);
    ck_assert_int_eq(itr_table_record(t, &key, &c, 1), 0);
  }
  ck_assert_int_eq(itr_table_record(t, &extra, &c, 1), -ENOSPC);
  ck_assert_uint_eq(itr_table_count(t), 4);
  ck_assert_ptr_null(itr_table_find(t, &extra));
  itr_table_end_pass(t);

  /* Known keys are still updated when the table is full. */
  itr_table_begin_pass(t);
  for (unsigned i = 0; i < 4; i++) {
    key = v4(1, 10, 0, 0, (__u8)i);
    ck_assert_int_eq(itr_table_record(t, &key, &c2, 2), 0);
    ck_assert(itr_table_find(t, &key)->changed);
  }
  ck_assert_int_eq(itr_table_record(t, &extra, &c, 2), -ENOSPC);
  itr_table_end_pass(t);

  /* Room again after a removal. */
  key = v4(1, 10, 0, 0, 2);
  ck_assert_int_eq(itr_table_remove(t, &key), 0);
  itr_table_begin_pass(t);
  ck_assert_int_eq(itr_table_record(t, &extra, &c, 3), 0);
  ck_assert_ptr_nonnull(itr_table_find(t, &extra));
  ck_assert_int_eq(itr_table_record(t, &key, &c, 3), -ENOSPC);
  itr_table_end_pass(t);
  itr_table_free(t);
}
END_TEST

START_TEST(test_capacity_one) {
  struct itr_table *t = new_table(1);
  struct iptraffic_key a = v4(1, 10, 0, 0, 1);
  struct iptraffic_key b = v4(1, 10, 0, 0, 2);
  struct itr_counters c = counters(1);

  itr_table_begin_pass(t);
  ck_assert_int_eq(itr_table_record(t, &a, &c, 1), 0);
  ck_assert_int_eq(itr_table_record(t, &b, &c, 1), -ENOSPC);
  ck_assert_uint_eq(itr_table_end_pass(t), 0);
  itr_table_begin_pass(t);
  ck_assert_int_eq(itr_table_record(t, &b, &c, 2), -ENOSPC);
  ck_assert_uint_eq(itr_table_end_pass(t), 1);
  itr_table_begin_pass(t);
  ck_assert_int_eq(itr_table_record(t, &b, &c, 3), 0);
  ck_assert_uint_eq(itr_table_end_pass(t), 0);
  ck_assert_ptr_null(itr_table_find(t, &a));
  ck_assert_ptr_nonnull(itr_table_find(t, &b));
  itr_table_free(t);
}
END_TEST

/* A large table filled to capacity finds every key. */
START_TEST(test_large_table) {
  const size_t cap = 65536;
  struct itr_table *t = new_table(cap);
  struct itr_counters c = counters(1);
  struct iptraffic_key key;

  itr_table_begin_pass(t);
  for (size_t i = 0; i < cap; i++) {
    key = v4(1, 10, (__u8)(i >> 16), (__u8)(i >> 8), (__u8)i);
    ck_assert_int_eq(itr_table_record(t, &key, &c, 1), 0);
  }
  key = v4(1, 11, 0, 0, 0);
  ck_assert_int_eq(itr_table_record(t, &key, &c, 1), -ENOSPC);
  ck_assert_uint_eq(itr_table_end_pass(t), 0);
  ck_assert_uint_eq(itr_table_count(t), cap);
  for (size_t i = 0; i < cap; i++) {
    key = v4(1, 10, (__u8)(i >> 16), (__u8)(i >> 8), (__u8)i);
    ck_assert_ptr_nonnull(itr_table_find(t, &key));
  }
  key = v4(2, 10, 0, 0, 0);
  ck_assert_ptr_null(itr_table_find(t, &key));
  itr_table_free(t);
}
END_TEST

/* --- idle expiry
 * ------------------------------------------------------------------ */

static bool contains(const struct iptraffic_key *keys, size_t n,
                     const struct iptraffic_key *key) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(&keys[i], key, sizeof(*key)) == 0)
      return true;
  return false;
}

START_TEST(test_idle_boundary) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters c = counters(1);
  struct iptraffic_key out[8];

  record_pass(t, &key, &c, 100);
  ck_assert_uint_eq(itr_table_collect_idle(t, 100, 10, out, N(out)), 0);
  ck_assert_uint_eq(itr_table_collect_idle(t, 109, 10, out, N(out)), 0);
  ck_assert_uint_eq(itr_table_collect_idle(t, 110, 10, out, N(out)), 1);
  ck_assert_mem_eq(&out[0], &key, sizeof(key));
  ck_assert_uint_eq(itr_table_collect_idle(t, 111, 10, out, N(out)), 1);
  /* Collecting does not remove. */
  ck_assert_uint_eq(itr_table_count(t), 1);
  itr_table_free(t);
}
END_TEST

/* Idle means unchanged counters, not unseen: a key read every pass with
 * the same counters expires. */
START_TEST(test_idle_unchanged_key) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v6(1, 1);
  struct itr_counters c = counters(1);
  struct iptraffic_key out[8];

  for (uint64_t now = 100; now <= 130; now += 10)
    record_pass(t, &key, &c, now);
  ck_assert_uint_eq(itr_table_collect_idle(t, 130, 30, out, N(out)), 1);
  /* A change makes it active again. */
  c.tx_packets++;
  record_pass(t, &key, &c, 140);
  ck_assert_uint_eq(itr_table_collect_idle(t, 169, 30, out, N(out)), 0);
  ck_assert_uint_eq(itr_table_collect_idle(t, 170, 30, out, N(out)), 1);
  itr_table_free(t);
}
END_TEST

START_TEST(test_idle_zero_disables) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters c = counters(1);
  struct iptraffic_key out[8];

  record_pass(t, &key, &c, 0);
  ck_assert_uint_eq(itr_table_collect_idle(t, 0, 0, out, N(out)), 0);
  ck_assert_uint_eq(itr_table_collect_idle(t, 1, 0, out, N(out)), 0);
  ck_assert_uint_eq(itr_table_collect_idle(t, UINT64_MAX, 0, out, N(out)), 0);
  itr_table_free(t);
}
END_TEST

START_TEST(test_idle_never_special) {
  struct itr_table *t = new_table(16);
  struct iptraffic_key keys[] = {
      special(1, IPTRAFFIC_KIND_NONIP),
      special(1, IPTRAFFIC_KIND_MALFORMED),
      special(1, IPTRAFFIC_KIND_UNTRACKED),
      v4(1, 10, 0, 0, 1),
      v6(1, 1),
  };
  struct itr_counters c = counters(1);
  struct iptraffic_key out[16];
  size_t n;

  itr_table_begin_pass(t);
  for (size_t i = 0; i < N(keys); i++)
    ck_assert_int_eq(itr_table_record(t, &keys[i], &c, 10), 0);
  itr_table_end_pass(t);
  n = itr_table_collect_idle(t, 1000000, 1, out, N(out));
  ck_assert_uint_eq(n, 2);
  ck_assert(contains(out, n, &keys[3]));
  ck_assert(contains(out, n, &keys[4]));
  for (size_t i = 0; i < n; i++)
    ck_assert(!itr_key_is_special(&out[i]));
  itr_table_free(t);
}
END_TEST

/* Only the idle keys, and at most max of them. */
START_TEST(test_idle_max) {
  struct itr_table *t = new_table(16);
  struct itr_counters c = counters(1);
  struct iptraffic_key out[16];
  struct iptraffic_key key;
  size_t n;

  itr_table_begin_pass(t);
  for (unsigned i = 0; i < 10; i++) {
    key = v4(1, 10, 0, 0, (__u8)i);
    /* Even keys last changed at 0, odd ones at 50. */
    ck_assert_int_eq(itr_table_record(t, &key, &c, i % 2 ? 50 : 0), 0);
  }
  itr_table_end_pass(t);

  n = itr_table_collect_idle(t, 60, 30, out, N(out));
  ck_assert_uint_eq(n, 5);
  for (size_t i = 0; i < n; i++)
    ck_assert_uint_eq(out[i].addr[3] % 2, 0);

  memset(out, 0, sizeof(out));
  n = itr_table_collect_idle(t, 60, 30, out, 3);
  ck_assert_uint_eq(n, 3);
  for (size_t i = 0; i < n; i++) {
    ck_assert_uint_eq(out[i].kind, IPTRAFFIC_KIND_IPV4);
    ck_assert_uint_eq(out[i].addr[3] % 2, 0);
  }
  /* Nothing is written past max. */
  ck_assert_uint_eq(out[3].kind, 0);
  ck_assert_uint_eq(itr_table_collect_idle(t, 60, 30, out, 0), 0);
  ck_assert_uint_eq(itr_table_collect_idle(t, 100, 30, out, N(out)), 10);
  itr_table_free(t);
}
END_TEST

/* --- against a reference model
 * ----------------------------------------------------- */

#define MODEL_ADDRS 600
#define MODEL_SPECIALS 9 /* 3 kinds on 3 interfaces */
#define MODEL_KEYS (MODEL_ADDRS + MODEL_SPECIALS)
#define MODEL_IDLE 4
#define MODEL_OPS 10000

struct model_entry {
  bool present;
  bool seen; /* recorded in the current pass */
  bool changed;
  struct itr_counters counters;
  uint64_t last_change;
};

struct model {
  struct model_entry e[MODEL_KEYS];
  size_t count;
  size_t capacity;
};

static uint64_t rng_state;

static uint64_t rng(void) {
  /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static unsigned rng_below(unsigned n) {
  return (unsigned)(rng() % n);
}

/* Key id -> key: address keys of both families on three interfaces that
 * differ in few bits, then the special keys. */
static struct iptraffic_key model_key(unsigned id) {
  struct iptraffic_key key;

  if (id >= MODEL_ADDRS) {
    unsigned s = id - MODEL_ADDRS;

    return special(1 + s / 3, (__u8)(IPTRAFFIC_KIND_NONIP + s % 3));
  }
  if (id % 2)
    key = v6(1 + id % 3, (__u16)id);
  else
    key = v4(1 + id % 3, 10, 0, (__u8)(id >> 8), (__u8)id);
  return key;
}

static unsigned model_id(const struct iptraffic_key *key) {
  if (itr_key_is_special(key))
    return MODEL_ADDRS + (key->ifindex - 1) * 3 +
           (key->kind - IPTRAFFIC_KIND_NONIP);
  if (key->kind == IPTRAFFIC_KIND_IPV6)
    return (unsigned)key->addr[14] << 8 | key->addr[15];
  return (unsigned)key->addr[2] << 8 | key->addr[3];
}

static void model_record(struct itr_table *t, struct model *m, unsigned id,
                         uint64_t now) {
  struct model_entry *me = &m->e[id];
  struct iptraffic_key key = model_key(id);
  struct itr_counters c;
  int ret;

  if (me->present && rng_below(2))
    c = me->counters; /* unchanged */
  else
    c = counters(rng_below(50)); /* may go backwards */
  ret = itr_table_record(t, &key, &c, now);
  if (!me->present && m->count == m->capacity) {
    ck_assert_int_eq(ret, -ENOSPC);
    return;
  }
  ck_assert_int_eq(ret, 0);
  me->changed = !me->present || memcmp(&me->counters, &c, sizeof(c)) != 0;
  if (me->changed)
    me->last_change = now;
  if (!me->present)
    m->count++;
  me->present = true;
  me->seen = true;
  me->counters = c;
}

static void model_remove(struct itr_table *t, struct model *m, unsigned id) {
  struct model_entry *me = &m->e[id];
  struct iptraffic_key key = model_key(id);

  ck_assert_int_eq(itr_table_remove(t, &key), me->present ? 0 : -ENOENT);
  if (me->present)
    m->count--;
  me->present = false;
  me->seen = false;
}

static size_t model_end_pass(struct model *m) {
  size_t removed = 0;

  for (unsigned id = 0; id < MODEL_KEYS; id++) {
    struct model_entry *me = &m->e[id];

    if (me->present && !me->seen) {
      me->present = false;
      m->count--;
      removed++;
    }
    me->seen = false;
  }
  return removed;
}

static void model_check(struct itr_table *t, const struct model *m) {
  static bool listed[MODEL_KEYS];
  struct itr_entry *entries = itr_table_entries(t);

  ck_assert_uint_eq(itr_table_count(t), m->count);
  memset(listed, 0, sizeof(listed));
  for (size_t i = 0; i < m->count; i++) {
    unsigned id = model_id(&entries[i].key);

    ck_assert_uint_lt(id, MODEL_KEYS);
    ck_assert(m->e[id].present);
    ck_assert(!listed[id]);
    listed[id] = true;
    ck_assert_ptr_eq(itr_table_find(t, &entries[i].key), &entries[i]);
  }
  for (unsigned id = 0; id < MODEL_KEYS; id++) {
    const struct model_entry *me = &m->e[id];
    struct iptraffic_key key = model_key(id);
    struct itr_entry *e = itr_table_find(t, &key);

    if (!me->present) {
      ck_assert_ptr_null(e);
      continue;
    }
    ck_assert_ptr_nonnull(e);
    ck_assert_mem_eq(&e->key, &key, sizeof(key));
    assert_counters_eq(&e->counters, &me->counters);
    ck_assert_uint_eq(e->last_change, me->last_change);
    if (me->seen)
      ck_assert_int_eq(e->changed, me->changed);
  }
}

static void model_check_idle(struct itr_table *t, const struct model *m,
                             uint64_t now) {
  static struct iptraffic_key out[MODEL_KEYS];
  size_t want = 0;
  size_t n = itr_table_collect_idle(t, now, MODEL_IDLE, out, N(out));

  for (unsigned id = 0; id < MODEL_ADDRS; id++) {
    const struct model_entry *me = &m->e[id];

    if (me->present && now - me->last_change >= MODEL_IDLE)
      want++;
  }
  ck_assert_uint_eq(n, want);
  for (size_t i = 0; i < n; i++) {
    unsigned id = model_id(&out[i]);

    ck_assert_uint_lt(id, MODEL_ADDRS);
    ck_assert(m->e[id].present);
    ck_assert_uint_ge(now - m->e[id].last_change, MODEL_IDLE);
  }
}

static const size_t model_capacities[] = {1, 3, 64, 300, MODEL_KEYS};

/* Random passes of records and removes, checked against the model after
 * every pass and now and then in the middle of one. */
START_TEST(test_model) {
  static struct model m;
  struct itr_table *t = new_table(model_capacities[_i]);
  uint64_t now = 1000;
  unsigned ops = 0;

  memset(&m, 0, sizeof(m));
  m.capacity = model_capacities[_i];
  rng_state = 0x9e3779b97f4a7c15ull + _i;
  while (ops < MODEL_OPS) {
    unsigned actions = 1 + rng_below(150);

    itr_table_begin_pass(t);
    for (unsigned a = 0; a < actions; a++, ops++) {
      unsigned id = rng_below(MODEL_KEYS);
      unsigned what = rng_below(100);

      if (what < 85) {
        if (!m.e[id].seen) /* a pass reads every key once */
          model_record(t, &m, id, now);
      } else if (what < 97) {
        model_remove(t, &m, id);
      } else {
        model_check(t, &m);
      }
    }
    ck_assert_uint_eq(itr_table_end_pass(t), model_end_pass(&m));
    model_check(t, &m);
    model_check_idle(t, &m, now);
    now += rng_below(4);
  }
  itr_table_free(t);
}
END_TEST

static Suite *table_suite(void) {
  Suite *s = suite_create("table");
  TCase *tc;

  tc = tcase_create("percpu");
  tcase_add_test(tc, test_percpu_one);
  tcase_add_test(tc, test_percpu_two);
  tcase_add_test(tc, test_percpu_sixty_four);
  tcase_add_test(tc, test_percpu_zero_cpus);
  suite_add_tcase(s, tc);

  tc = tcase_create("record");
  tcase_add_test(tc, test_new_empty);
  tcase_add_test(tc, test_is_special);
  tcase_add_test(tc, test_record_new_key);
  tcase_add_test(tc, test_record_new_key_zero_counters);
  tcase_add_test(tc, test_record_unchanged_keeps_last_change);
  tcase_add_loop_test(tc, test_record_change_each_field, 0, 4);
  tcase_add_test(tc, test_record_backwards);
  tcase_add_test(tc, test_keys_distinct);
  tcase_add_test(tc, test_entries_dense);
  tcase_add_test(tc, test_end_pass_removes_unseen);
  tcase_add_test(tc, test_key_returns_as_new);
  tcase_add_test(tc, test_remove);
  tcase_add_test(tc, test_full_table);
  tcase_add_test(tc, test_capacity_one);
  suite_add_tcase(s, tc);

  tc = tcase_create("idle");
  tcase_add_test(tc, test_idle_boundary);
  tcase_add_test(tc, test_idle_unchanged_key);
  tcase_add_test(tc, test_idle_zero_disables);
  tcase_add_test(tc, test_idle_never_special);
  tcase_add_test(tc, test_idle_max);
  suite_add_tcase(s, tc);

  /* Slow under valgrind. */
  tc = tcase_create("model");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_large_table);
  tcase_add_loop_test(tc, test_model, 0, N(model_capacities));
  suite_add_tcase(s, tc);

  return s;
}

int main(void) {
  SRunner *sr = srunner_create(table_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
