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

static const struct itr_counters zero_counters;

static struct itr_counters counters_minus(const struct itr_counters *a,
                                          const struct itr_counters *b) {
  struct itr_counters d = {
      .rx_bytes = a->rx_bytes - b->rx_bytes,
      .rx_packets = a->rx_packets - b->rx_packets,
      .tx_bytes = a->tx_bytes - b->tx_bytes,
      .tx_packets = a->tx_packets - b->tx_packets,
  };

  return d;
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

/* Drops the entries whose interface is in ctx's set; counts its calls. */
struct drop_set {
  bool drop[8]; /* by ifindex */
  unsigned calls[8];
};

static bool drop_listed(const struct itr_entry *e, void *ctx) {
  struct drop_set *d = ctx;

  d->calls[e->key.ifindex]++;
  return d->drop[e->key.ifindex];
}

/* Against a model: every entry seen once, exactly those asked removed,
 * the others found where the dense array has them, with their counters. */
START_TEST(test_remove_if) {
  enum { KEYS = 300 };
  struct itr_table *t = new_table(KEYS);
  struct drop_set d = {.drop = {false, true, false, true, true}};
  size_t want_left = 0, removed;

  itr_table_begin_pass(t);
  for (unsigned i = 0; i < KEYS; i++) {
    struct iptraffic_key key = v4(1 + i % 5, 10, 0, (__u8)(i >> 8), (__u8)i);
    struct itr_counters c = counters(i);

    ck_assert_int_eq(itr_table_record(t, &key, &c, 1), 0);
    want_left += !d.drop[key.ifindex];
  }
  itr_table_end_pass(t);
  removed = itr_table_remove_if(t, drop_listed, &d);
  ck_assert_uint_eq(removed, KEYS - want_left);
  ck_assert_uint_eq(itr_table_count(t), want_left);
  for (unsigned ifindex = 1; ifindex <= 5; ifindex++)
    ck_assert_uint_eq(d.calls[ifindex], KEYS / 5);
  for (unsigned i = 0; i < KEYS; i++) {
    struct iptraffic_key key = v4(1 + i % 5, 10, 0, (__u8)(i >> 8), (__u8)i);
    struct itr_entry *e = itr_table_find(t, &key);
    struct itr_counters c = counters(i);

    if (d.drop[key.ifindex]) {
      ck_assert_ptr_null(e);
      continue;
    }
    ck_assert_ptr_nonnull(e);
    ck_assert(e >= itr_table_entries(t) &&
              e < itr_table_entries(t) + itr_table_count(t));
    assert_counters_eq(&e->counters, &c);
  }
  /* Nothing more to drop: nothing goes. */
  ck_assert_uint_eq(itr_table_remove_if(t, drop_listed, &d), 0);
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
  struct itr_counters delta; /* of its last record */
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
  /* New or recreated (a counter went backwards): all of c is new. */
  if (!me->present || c.rx_bytes < me->counters.rx_bytes ||
      c.rx_packets < me->counters.rx_packets ||
      c.tx_bytes < me->counters.tx_bytes ||
      c.tx_packets < me->counters.tx_packets)
    me->delta = c;
  else
    me->delta = counters_minus(&c, &me->counters);
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
    /* Checked for every key after every pass: fail explicitly rather than
     * pay for a passing assertion. */
    if (memcmp(&e->delta, &me->delta, sizeof(me->delta)) != 0)
      ck_abort_msg("key %u: delta rx %llu/%llu tx %llu/%llu, want rx "
                   "%llu/%llu tx %llu/%llu",
                   id, (unsigned long long)e->delta.rx_bytes,
                   (unsigned long long)e->delta.rx_packets,
                   (unsigned long long)e->delta.tx_bytes,
                   (unsigned long long)e->delta.tx_packets,
                   (unsigned long long)me->delta.rx_bytes,
                   (unsigned long long)me->delta.rx_packets,
                   (unsigned long long)me->delta.tx_bytes,
                   (unsigned long long)me->delta.tx_packets);
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

/* --- delta
 * ------------------------------------------------------------------------ */

/* A new key's delta is all it has. */
START_TEST(test_delta_first_record) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key a = v4(1, 10, 0, 0, 1);
  struct iptraffic_key b = v6(1, 1);
  struct iptraffic_key s = special(1, IPTRAFFIC_KIND_NONIP);
  struct itr_counters c = counters(7);
  struct itr_entry *e;

  itr_table_begin_pass(t);
  ck_assert_int_eq(itr_table_record(t, &a, &c, 10), 0);
  ck_assert_int_eq(itr_table_record(t, &b, &zero_counters, 10), 0);
  ck_assert_int_eq(itr_table_record(t, &s, &c, 10), 0);
  ck_assert_uint_eq(itr_table_end_pass(t), 0);
  e = itr_table_find(t, &a);
  ck_assert_ptr_nonnull(e);
  assert_counters_eq(&e->delta, &c);
  ck_assert_uint_eq(itr_entry_interval_bytes(e), c.rx_bytes + c.tx_bytes);
  /* A new key with zero counters is changed but has nothing to add. */
  e = itr_table_find(t, &b);
  ck_assert_ptr_nonnull(e);
  ck_assert(e->changed);
  assert_counters_eq(&e->delta, &zero_counters);
  ck_assert_uint_eq(itr_entry_interval_bytes(e), 0);
  /* Special keys have a delta too. */
  e = itr_table_find(t, &s);
  ck_assert_ptr_nonnull(e);
  assert_counters_eq(&e->delta, &c);
  itr_table_free(t);
}
END_TEST

START_TEST(test_delta_increase) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters c1 = {
      .rx_bytes = 1000, .rx_packets = 10, .tx_bytes = 500, .tx_packets = 5};
  struct itr_counters c2 = {
      .rx_bytes = 1600, .rx_packets = 13, .tx_bytes = 500, .tx_packets = 7};
  struct itr_counters c3 = {.rx_bytes = 1600 + (1ull << 40),
                            .rx_packets = 14,
                            .tx_bytes = 501,
                            .tx_packets = 7};
  struct itr_counters want;
  struct itr_entry *e;

  record_pass(t, &key, &c1, 100);
  record_pass(t, &key, &c2, 110);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  want = (struct itr_counters){
      .rx_bytes = 600, .rx_packets = 3, .tx_bytes = 0, .tx_packets = 2};
  assert_counters_eq(&e->delta, &want);
  assert_counters_eq(&e->counters, &c2);
  ck_assert_uint_eq(itr_entry_interval_bytes(e), 600);
  ck_assert(e->changed);

  /* The delta is the increase since the last pass, not since the first. */
  record_pass(t, &key, &c3, 120);
  want = (struct itr_counters){
      .rx_bytes = 1ull << 40, .rx_packets = 1, .tx_bytes = 1, .tx_packets = 0};
  assert_counters_eq(&e->delta, &want);
  ck_assert_uint_eq(itr_entry_interval_bytes(e), (1ull << 40) + 1);
  itr_table_free(t);
}
END_TEST

START_TEST(test_delta_unchanged) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v6(1, 1);
  struct itr_counters c = counters(3);
  struct itr_entry *e;

  record_pass(t, &key, &c, 100);
  record_pass(t, &key, &c, 110);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  ck_assert(!e->changed);
  assert_counters_eq(&e->delta, &zero_counters);
  ck_assert_uint_eq(itr_entry_interval_bytes(e), 0);
  assert_counters_eq(&e->counters, &c);
  /* And again: the delta does not come back. */
  record_pass(t, &key, &c, 120);
  assert_counters_eq(&e->delta, &zero_counters);
  itr_table_free(t);
}
END_TEST

/* All counters backwards: the kernel entry was recreated, everything it
 * has is new. */
START_TEST(test_delta_backwards) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters big = counters(1000);
  struct itr_counters small = counters(1);
  struct itr_entry *e;

  record_pass(t, &key, &big, 100);
  record_pass(t, &key, &small, 110);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  assert_counters_eq(&e->delta, &small);
  assert_counters_eq(&e->counters, &small);
  ck_assert_uint_eq(itr_entry_interval_bytes(e),
                    small.rx_bytes + small.tx_bytes);
  /* Back to zero. */
  record_pass(t, &key, &zero_counters, 120);
  assert_counters_eq(&e->delta, &zero_counters);
  assert_counters_eq(&e->counters, &zero_counters);
  ck_assert(e->changed);
  /* And counting up again from there. */
  record_pass(t, &key, &small, 130);
  assert_counters_eq(&e->delta, &small);
  itr_table_free(t);
}
END_TEST

/* One counter backwards and the others up is a recreated entry too: the
 * delta is the new counters, never a wrapped difference. */
START_TEST(test_delta_one_field_backwards) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters c1 = counters(10);
  struct itr_counters c2 = counters(20);
  struct itr_entry *e;

  switch (_i) {
  case 0:
    c2.rx_bytes = c1.rx_bytes - 1;
    break;
  case 1:
    c2.rx_packets = c1.rx_packets - 1;
    break;
  case 2:
    c2.tx_bytes = c1.tx_bytes - 1;
    break;
  default:
    c2.tx_packets = 0;
    break;
  }
  record_pass(t, &key, &c1, 100);
  record_pass(t, &key, &c2, 110);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  assert_counters_eq(&e->delta, &c2);
  assert_counters_eq(&e->counters, &c2);
  ck_assert(e->changed);
  ck_assert_uint_eq(e->last_change, 110);
  itr_table_free(t);
}
END_TEST

/* A key dropped from the table and seen again starts from nothing, even
 * when its counters are above the ones it had. */
START_TEST(test_delta_returns_as_new) {
  struct itr_table *t = new_table(4);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct itr_counters c1 = counters(1);
  struct itr_counters c2 = counters(5);
  struct itr_entry *e;

  record_pass(t, &key, &c1, 10);
  itr_table_begin_pass(t);
  ck_assert_uint_eq(itr_table_end_pass(t), 1);
  record_pass(t, &key, &c2, 20);
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  assert_counters_eq(&e->delta, &c2);
  itr_table_free(t);
}
END_TEST

/* Expiry reads an idle key's last counters when it deletes it and updates
 * the entry with them after the pass: what arrived in between is the
 * delta, nothing else. */
START_TEST(test_delta_expiry_update) {
  struct itr_table *t = new_table(8);
  struct iptraffic_key key = v4(1, 10, 0, 0, 1);
  struct iptraffic_key other = v4(1, 10, 0, 0, 2);
  struct itr_counters c = counters(4);
  struct itr_counters last = c;
  struct itr_counters want = {.rx_bytes = 64, .rx_packets = 1};
  struct itr_entry *e;
  struct itr_entry before;

  for (uint64_t now = 100; now <= 200; now += 100) {
    itr_table_begin_pass(t);
    ck_assert_int_eq(itr_table_record(t, &other, &c, now), 0);
    ck_assert_int_eq(itr_table_record(t, &key, &c, now), 0);
    ck_assert_uint_eq(itr_table_end_pass(t), 0);
  }
  e = itr_table_find(t, &key);
  ck_assert_ptr_nonnull(e);
  assert_counters_eq(&e->delta, &zero_counters);
  before = *e;

  /* Nothing arrived: nothing changes. */
  itr_entry_update(e, &c, 300);
  assert_counters_eq(&e->delta, &zero_counters);
  assert_counters_eq(&e->counters, &c);
  ck_assert(!e->changed);
  ck_assert_uint_eq(e->last_change, 100);
  ck_assert_mem_eq(&e->key, &before.key, sizeof(before.key));
  ck_assert_uint_eq(e->generation, before.generation);

  /* One frame arrived after the read pass. */
  last.rx_bytes += 64;
  last.rx_packets += 1;
  itr_entry_update(e, &last, 310);
  assert_counters_eq(&e->delta, &want);
  assert_counters_eq(&e->counters, &last);
  ck_assert(e->changed);
  ck_assert_uint_eq(e->last_change, 310);
  ck_assert_uint_eq(itr_entry_interval_bytes(e), 64);
  ck_assert_mem_eq(&e->key, &before.key, sizeof(before.key));
  ck_assert_uint_eq(e->generation, before.generation);
  ck_assert_uint_eq(e->top_until, before.top_until);
  /* The table still finds it, and the other entry is untouched. */
  ck_assert_ptr_eq(itr_table_find(t, &key), e);
  ck_assert_uint_eq(itr_table_find(t, &other)->last_change, 100);

  /* The kernel entry was recreated in between: its counters are new. */
  itr_entry_update(e, &want, 320);
  assert_counters_eq(&e->delta, &want);
  assert_counters_eq(&e->counters, &want);
  ck_assert_uint_eq(e->last_change, 320);
  itr_table_free(t);
}
END_TEST

/* On an entry outside a table: only counters, delta, changed and
 * last_change move. */
START_TEST(test_entry_update_direct) {
  struct itr_entry e;
  struct itr_counters c1 = counters(2);
  struct itr_counters c2 = counters(3);
  struct itr_counters want = counters_minus(&c2, &c1);
  struct iptraffic_key key = v6(7, 7);

  memset(&e, 0, sizeof(e));
  e.key = key;
  e.generation = 42;
  e.top_until = 9;
  itr_entry_update(&e, &c1, 1000);
  assert_counters_eq(&e.delta, &c1);
  assert_counters_eq(&e.counters, &c1);
  ck_assert(e.changed);
  ck_assert_uint_eq(e.last_change, 1000);
  itr_entry_update(&e, &c2, 2000);
  assert_counters_eq(&e.delta, &want);
  assert_counters_eq(&e.counters, &c2);
  ck_assert(e.changed);
  ck_assert_uint_eq(e.last_change, 2000);
  itr_entry_update(&e, &c2, 3000);
  assert_counters_eq(&e.delta, &zero_counters);
  ck_assert(!e.changed);
  ck_assert_uint_eq(e.last_change, 2000);
  ck_assert_mem_eq(&e.key, &key, sizeof(key));
  ck_assert_uint_eq(e.generation, 42);
  ck_assert_uint_eq(e.top_until, 9);
}
END_TEST

/* Counters near the top of 64 bits: exact differences, no overflow. */
START_TEST(test_delta_large_counters) {
  struct itr_entry e;
  struct itr_counters c1 = {.rx_bytes = UINT64_MAX - 1000,
                            .rx_packets = UINT64_MAX - 10,
                            .tx_bytes = 1ull << 63,
                            .tx_packets = 1ull << 62};
  struct itr_counters c2 = {.rx_bytes = UINT64_MAX,
                            .rx_packets = UINT64_MAX,
                            .tx_bytes = (1ull << 63) + 5,
                            .tx_packets = 1ull << 62};
  struct itr_counters want = {
      .rx_bytes = 1000, .rx_packets = 10, .tx_bytes = 5, .tx_packets = 0};

  memset(&e, 0, sizeof(e));
  itr_entry_update(&e, &c1, 1);
  itr_entry_update(&e, &c2, 2);
  assert_counters_eq(&e.delta, &want);
  ck_assert_uint_eq(itr_entry_interval_bytes(&e), 1005);
}
END_TEST

/* Bytes of both directions in the delta; packets and the cumulative
 * counters do not count. */
START_TEST(test_interval_bytes) {
  struct itr_entry e;

  memset(&e, 0, sizeof(e));
  ck_assert_uint_eq(itr_entry_interval_bytes(&e), 0);
  e.counters = counters(1000);
  e.delta.rx_packets = 5;
  e.delta.tx_packets = 7;
  ck_assert_uint_eq(itr_entry_interval_bytes(&e), 0);
  e.delta.rx_bytes = 1500;
  ck_assert_uint_eq(itr_entry_interval_bytes(&e), 1500);
  e.delta.tx_bytes = 64;
  ck_assert_uint_eq(itr_entry_interval_bytes(&e), 1564);
  e.delta.rx_bytes = 0;
  ck_assert_uint_eq(itr_entry_interval_bytes(&e), 64);
  e.delta.rx_bytes = 1ull << 40;
  e.delta.tx_bytes = 1ull << 41;
  ck_assert_uint_eq(itr_entry_interval_bytes(&e), 3ull << 40);
}
END_TEST

START_TEST(test_counters_add) {
  struct itr_counters a = {0};
  const struct itr_counters b = {
      .rx_bytes = 1, .rx_packets = 20, .tx_bytes = 300, .tx_packets = 4000};
  const struct itr_counters big = {.rx_bytes = 1ull << 40,
                                   .rx_packets = 1ull << 33,
                                   .tx_bytes = 1ull << 50,
                                   .tx_packets = 1ull << 35};
  struct itr_counters want;
  struct itr_counters copy = b;

  itr_counters_add(&a, &b);
  assert_counters_eq(&a, &b);
  itr_counters_add(&a, &b);
  want = (struct itr_counters){
      .rx_bytes = 2, .rx_packets = 40, .tx_bytes = 600, .tx_packets = 8000};
  assert_counters_eq(&a, &want);
  /* b is left alone. */
  assert_counters_eq(&b, &copy);
  /* Adding zero changes nothing. */
  itr_counters_add(&a, &zero_counters);
  assert_counters_eq(&a, &want);
  /* Beyond 32 bits, every field on its own. */
  itr_counters_add(&a, &big);
  want = (struct itr_counters){.rx_bytes = (1ull << 40) + 2,
                               .rx_packets = (1ull << 33) + 40,
                               .tx_bytes = (1ull << 50) + 600,
                               .tx_packets = (1ull << 35) + 8000};
  assert_counters_eq(&a, &want);
  /* Adding to itself doubles. */
  copy = a;
  itr_counters_add(&a, &a);
  want = (struct itr_counters){.rx_bytes = copy.rx_bytes * 2,
                               .rx_packets = copy.rx_packets * 2,
                               .tx_bytes = copy.tx_bytes * 2,
                               .tx_packets = copy.tx_packets * 2};
  assert_counters_eq(&a, &want);
}
END_TEST

START_TEST(test_special_kinds) {
  static const uint8_t expected[] = {
      IPTRAFFIC_KIND_NONIP, IPTRAFFIC_KIND_MALFORMED, IPTRAFFIC_KIND_UNTRACKED,
      IPTRAFFIC_KIND_IGNORED};
  bool found[N(expected)] = {false};

  ck_assert_uint_eq(N(itr_special_kinds), IPTRAFFIC_NUM_SPECIAL);
  ck_assert_uint_eq(N(expected), IPTRAFFIC_NUM_SPECIAL);
  for (size_t i = 0; i < IPTRAFFIC_NUM_SPECIAL; i++) {
    struct iptraffic_key key = special(1, itr_special_kinds[i]);
    bool known = false;

    ck_assert(itr_key_is_special(&key));
    ck_assert_uint_ne(itr_special_kinds[i], IPTRAFFIC_KIND_IPV4);
    ck_assert_uint_ne(itr_special_kinds[i], IPTRAFFIC_KIND_IPV6);
    for (size_t j = 0; j < N(expected); j++) {
      if (itr_special_kinds[i] == expected[j]) {
        ck_assert(!found[j]); /* no kind twice */
        found[j] = true;
        known = true;
      }
    }
    ck_assert_msg(known, "unexpected special kind %u", itr_special_kinds[i]);
  }
  for (size_t j = 0; j < N(expected); j++)
    ck_assert(found[j]);
}
END_TEST

/* --- TopN selection
 * ----------------------------------------------------------- */

/* n runs from 0 to SELECT_MAX_N - 1. */
#define SELECT_MAX_N 301

/* The reference ranking: more interval bytes first, then the smaller key
 * (byte by byte). */
static int rank_cmp(const void *pa, const void *pb) {
  const struct itr_entry *a = *(const struct itr_entry *const *)pa;
  const struct itr_entry *b = *(const struct itr_entry *const *)pb;
  uint64_t x = itr_entry_interval_bytes(a), y = itr_entry_interval_bytes(b);

  if (x != y)
    return x > y ? -1 : 1;
  return memcmp(&a->key, &b->key, sizeof(a->key));
}

/* Checks that ptrs (a permutation of base[0..n)) starts with the k best of
 * them by the reference ranking, rank[i] being base[i]'s place. */
static void check_top(struct itr_entry *const *ptrs,
                      const struct itr_entry *base, const size_t *rank,
                      size_t n, size_t k) {
  static bool seen[SELECT_MAX_N];
  size_t top = k < n ? k : n;

  /* Called some 10^5 times: every passing ck_assert costs a write to the
   * parent process, so fail explicitly and pass silently. */
  memset(seen, 0, sizeof(seen));
  for (size_t i = 0; i < n; i++) {
    size_t idx;

    if (ptrs[i] < base || ptrs[i] >= base + n)
      ck_abort_msg("place %zu holds a foreign pointer (n %zu, k %zu)", i, n, k);
    idx = (size_t)(ptrs[i] - base);
    if (seen[idx])
      ck_abort_msg("entry %zu twice (n %zu, k %zu)", idx, n, k);
    seen[idx] = true;
    if (i < top && rank[idx] >= top)
      ck_abort_msg("place %zu holds the entry ranked %zu (n %zu, k %zu)", i,
                   rank[idx], n, k);
  }
}

/* Ranks base[0..n) with the reference into rank. */
static void reference_rank(struct itr_entry *base, size_t n, size_t *rank) {
  static struct itr_entry *sorted[SELECT_MAX_N];

  for (size_t i = 0; i < n; i++)
    sorted[i] = &base[i];
  qsort(sorted, n, sizeof(sorted[0]), rank_cmp);
  for (size_t i = 0; i < n; i++) {
    rank[sorted[i] - base] = i;
    /* The reference is a strict order: the keys are distinct. */
    if (i > 0 && rank_cmp(&sorted[i - 1], &sorted[i]) >= 0)
      ck_abort_msg("keys %zu and %zu are not distinct", i - 1, i);
  }
}

static void shuffle(struct itr_entry **ptrs, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = rng() % i;
    struct itr_entry *tmp = ptrs[i - 1];

    ptrs[i - 1] = ptrs[j];
    ptrs[j] = tmp;
  }
}

/* How interval bytes are drawn: the fewer distinct values, the more ties
 * the key has to break. */
enum select_profile {
  SELECT_FEW_VALUES,  /* 0..3 bytes, split randomly between rx and tx */
  SELECT_ALL_EQUAL,   /* every entry the same: the key decides alone */
  SELECT_MANY_VALUES, /* mostly distinct, some huge */
  SELECT_MIXED,       /* half zero (idle), the rest from a few values */
  SELECT_PROFILES,
};

static void select_fill(struct itr_entry *base, size_t n, int profile) {
  static const uint64_t few[] = {1, 64, 1500, 1ull << 40};

  for (size_t i = 0; i < n; i++) {
    struct itr_entry *e = &base[i];
    uint64_t bytes;
    /* Distinct keys whose order has nothing to do with i: a random
     * family and high bytes, made unique by i in the last bytes. */
    unsigned id = (unsigned)i;

    memset(e, 0, sizeof(*e));
    if (rng_below(2))
      e->key = v4(1, (__u8)rng_below(4), 0, (__u8)(id >> 8), (__u8)id);
    else
      e->key = v6(1, (__u16)id);
    if (e->key.kind == IPTRAFFIC_KIND_IPV6)
      e->key.addr[4] = (__u8)rng_below(4);
    switch (profile) {
    case SELECT_FEW_VALUES:
      bytes = rng_below(4);
      break;
    case SELECT_ALL_EQUAL:
      bytes = 1000;
      break;
    case SELECT_MANY_VALUES:
      bytes = rng_below(10) ? rng() % 1000000 : rng() >> 2;
      break;
    default:
      bytes = rng_below(2) ? 0 : few[rng_below(N(few))];
      break;
    }
    e->delta.rx_bytes = bytes ? rng() % (bytes + 1) : 0;
    e->delta.tx_bytes = bytes - e->delta.rx_bytes;
    /* Packets and cumulative counters must not matter. */
    e->delta.rx_packets = rng_below(1000);
    e->delta.tx_packets = rng_below(1000);
    e->counters.rx_bytes = rng();
  }
}

/* Every n from 0 to SELECT_MAX_N - 1 and every k from 0 to n + 2, each on
 * a fresh shuffle, against the reference's top set. */
START_TEST(test_select_top_random) {
  static struct itr_entry base[SELECT_MAX_N];
  static struct itr_entry *ptrs[SELECT_MAX_N];
  static struct itr_entry copy[SELECT_MAX_N];
  static size_t rank[SELECT_MAX_N];

  rng_state = 0x2545f4914f6cdd1dull + (uint64_t)_i;
  for (size_t n = 0; n < SELECT_MAX_N; n++) {
    select_fill(base, n, _i);
    memcpy(copy, base, n * sizeof(base[0]));
    reference_rank(base, n, rank);
    for (size_t k = 0; k <= n + 2; k++) {
      for (size_t i = 0; i < n; i++)
        ptrs[i] = &base[i];
      shuffle(ptrs, n);
      itr_select_top(ptrs, n, k);
      check_top(ptrs, base, rank, n, k);
    }
    /* Only the pointers move; the entries are not touched. */
    if (n > 0 && memcmp(copy, base, n * sizeof(base[0])) != 0)
      ck_abort_msg("entries changed (n %zu)", n);
  }
}
END_TEST

/* Inputs already in order, in reverse order and organ-pipe shaped. */
START_TEST(test_select_top_ordered_inputs) {
  static struct itr_entry base[SELECT_MAX_N];
  static struct itr_entry *ptrs[SELECT_MAX_N];
  static struct itr_entry *by_rank[SELECT_MAX_N];
  static size_t rank[SELECT_MAX_N];
  const size_t n = SELECT_MAX_N - 1;

  rng_state = 77;
  select_fill(base, n, SELECT_MANY_VALUES);
  reference_rank(base, n, rank);
  for (size_t j = 0; j < n; j++)
    by_rank[rank[j]] = &base[j];
  for (size_t k = 0; k <= n + 2; k++) {
    for (int shape = 0; shape < 3; shape++) {
      for (size_t i = 0; i < n; i++) {
        size_t r = shape == 0   ? i
                   : shape == 1 ? n - 1 - i
                                : (i % 2 ? i / 2 : n - 1 - i / 2);

        ptrs[i] = by_rank[r];
      }
      itr_select_top(ptrs, n, k);
      check_top(ptrs, base, rank, n, k);
    }
  }
}
END_TEST

/* A small case worked by hand: ties on bytes go to the smaller key. */
START_TEST(test_select_top_example) {
  struct itr_entry e[6];
  struct itr_entry *ptrs[6];
  bool in_top[6];

  memset(e, 0, sizeof(e));
  for (unsigned i = 0; i < 6; i++) {
    e[i].key = v4(1, 10, 0, 0, (__u8)(6 - i)); /* e[5] has the smallest key */
    ptrs[i] = &e[i];
  }
  e[0].delta.rx_bytes = 100; /* 100 */
  e[1].delta.tx_bytes = 300; /* 300 */
  e[2].delta.rx_bytes = 50;  /* 100, ties with e[0], smaller key */
  e[2].delta.tx_bytes = 50;
  e[3].delta.rx_packets = 1000; /* 0 bytes, many packets */
  e[4].delta.tx_bytes = 200;    /* 200 */
  e[5].delta.rx_bytes = 99;     /* 99 */

  /* Top 3: 300 (e1), 200 (e4), then the tie at 100 goes to e2. */
  itr_select_top(ptrs, 6, 3);
  memset(in_top, 0, sizeof(in_top));
  for (unsigned i = 0; i < 3; i++)
    in_top[ptrs[i] - e] = true;
  ck_assert(in_top[1]);
  ck_assert(in_top[4]);
  ck_assert(in_top[2]);

  /* Top 1. */
  for (unsigned i = 0; i < 6; i++)
    ptrs[i] = &e[5 - i];
  itr_select_top(ptrs, 6, 1);
  ck_assert_ptr_eq(ptrs[0], &e[1]);

  /* Top 5 leaves out the entry without bytes. */
  itr_select_top(ptrs, 6, 5);
  memset(in_top, 0, sizeof(in_top));
  for (unsigned i = 0; i < 5; i++)
    in_top[ptrs[i] - e] = true;
  ck_assert(!in_top[3]);
}
END_TEST

/* Nothing to select, or everything: the array keeps its entries. */
START_TEST(test_select_top_edges) {
  struct itr_entry e[3];
  struct itr_entry *ptrs[3];
  bool seen[3];

  itr_select_top(NULL, 0, 0);
  itr_select_top(NULL, 0, 10);
  memset(e, 0, sizeof(e));
  for (unsigned i = 0; i < 3; i++) {
    e[i].key = v6(1, (__u16)i);
    e[i].delta.tx_bytes = i;
    ptrs[i] = &e[i];
  }
  for (size_t k = 0; k < 6; k++) {
    itr_select_top(ptrs, 3, k);
    memset(seen, 0, sizeof(seen));
    for (unsigned i = 0; i < 3; i++)
      seen[ptrs[i] - e] = true;
    ck_assert(seen[0] && seen[1] && seen[2]);
  }
  itr_select_top(ptrs, 3, 1);
  ck_assert_ptr_eq(ptrs[0], &e[2]);
  itr_select_top(ptrs, 3, 2);
  ck_assert(ptrs[0] != &e[0] && ptrs[1] != &e[0]);
  itr_select_top(ptrs, 1, 1);
  itr_select_top(ptrs, 1, 0);
}
END_TEST

/* A large table where everybody ties: the smallest keys win, in a time
 * that would show a quadratic selection. */
START_TEST(test_select_top_large_ties) {
  const size_t n = 200000, k = 1000;
  struct itr_entry *e = calloc(n, sizeof(*e));
  struct itr_entry **ptrs = calloc(n, sizeof(*ptrs));

  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_nonnull(ptrs);
  for (size_t i = 0; i < n; i++) {
    e[i].key = v4(1, 10, (__u8)(i >> 16), (__u8)(i >> 8), (__u8)i);
    e[i].delta.rx_bytes = 1500;
    ptrs[i] = &e[n - 1 - i];
  }
  itr_select_top(ptrs, n, k);
  for (size_t i = 0; i < k; i++)
    ck_assert_uint_lt((size_t)(ptrs[i] - e), k);
  free(ptrs);
  free(e);
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
  tcase_add_test(tc, test_remove_if);
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

  tc = tcase_create("delta");
  tcase_add_test(tc, test_delta_first_record);
  tcase_add_test(tc, test_delta_increase);
  tcase_add_test(tc, test_delta_unchanged);
  tcase_add_test(tc, test_delta_backwards);
  tcase_add_loop_test(tc, test_delta_one_field_backwards, 0, 4);
  tcase_add_test(tc, test_delta_returns_as_new);
  tcase_add_test(tc, test_delta_expiry_update);
  tcase_add_test(tc, test_entry_update_direct);
  tcase_add_test(tc, test_delta_large_counters);
  tcase_add_test(tc, test_interval_bytes);
  tcase_add_test(tc, test_counters_add);
  tcase_add_test(tc, test_special_kinds);
  suite_add_tcase(s, tc);

  /* Slow under valgrind. */
  tc = tcase_create("top");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_select_top_example);
  tcase_add_test(tc, test_select_top_edges);
  tcase_add_loop_test(tc, test_select_top_random, 0, SELECT_PROFILES);
  tcase_add_test(tc, test_select_top_ordered_inputs);
  tcase_add_test(tc, test_select_top_large_ties);
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
