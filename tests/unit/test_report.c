/*
 * Unit tests for one read's report (src/report.c): grouping by interface,
 * ReportInactive, TopN with its hold and "other", against a brute-force
 * model of what every series must add up to.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"
#include "report.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_KEYS 64
#define MAX_ROWS 512

static struct iptraffic_key addr(uint32_t ifindex, unsigned host) {
  struct iptraffic_key key = {
      .ifindex = ifindex,
      .kind = IPTRAFFIC_KIND_IPV4,
      .prefixlen = 32,
      .addr = {10, 0, (uint8_t)(host >> 8), (uint8_t)host}};

  return key;
}

static struct iptraffic_key special(uint32_t ifindex, uint8_t kind) {
  struct iptraffic_key key = {.ifindex = ifindex, .kind = kind};

  return key;
}

/* The rows of one pass, copied. */
struct rows {
  size_t n;
  struct {
    size_t iface;
    bool other;
    struct iptraffic_key key;
    struct itr_counters c;
  } row[MAX_ROWS];
};

static void collect(void *ctx, const struct itr_report_row *row) {
  struct rows *r = ctx;

  ck_assert_uint_lt(r->n, MAX_ROWS);
  r->row[r->n].iface = row->iface;
  r->row[r->n].other = row->key == NULL;
  if (row->key)
    r->row[r->n].key = *row->key;
  r->row[r->n].c = *row->counters;
  r->n++;
}

/* The kernel's side: keys with their cumulative counters. */
struct kernel {
  size_t n;
  struct iptraffic_key key[MAX_KEYS];
  struct itr_counters c[MAX_KEYS];
};

static void add(struct kernel *k, const struct iptraffic_key *key,
                uint64_t bytes) {
  const struct itr_counters d = {bytes, bytes ? 1 : 0, 2 * bytes,
                                 bytes ? 2 : 0};

  for (size_t i = 0; i < k->n; i++)
    if (itr_key_cmp(&k->key[i], key) == 0) {
      itr_counters_add(&k->c[i], &d);
      return;
    }
  ck_assert_uint_lt(k->n, MAX_KEYS);
  k->key[k->n] = *key;
  k->c[k->n] = d;
  k->n++;
}

/* A read pass of the snapshot over what the kernel holds. */
static void snapshot(struct itr_table *t, const struct kernel *k,
                     uint64_t now) {
  itr_table_begin_pass(t);
  for (size_t i = 0; i < k->n; i++)
    ck_assert_int_eq(itr_table_record(t, &k->key[i], &k->c[i], now), 0);
  itr_table_end_pass(t);
}

static long pass(struct itr_report *r, struct itr_table *t,
                 const struct itr_report_opts *o, struct itr_report_iface *ifs,
                 size_t n, struct rows *rows) {
  rows->n = 0;
  return itr_report_pass(r, t, o, ifs, n, collect, rows);
}

/* Without TopN: every changed instance with its own counters, grouped by
 * interface in the order given; keys of other interfaces left out. */
START_TEST(test_every_address) {
  struct itr_table *t = itr_table_new(MAX_KEYS);
  struct itr_report *r = itr_report_new(MAX_KEYS, 3);
  struct itr_report_iface ifs[3] = {
      {.ifindex = 7}, {.ifindex = 0}, {.ifindex = 3}};
  const struct itr_report_opts o = {.report_inactive = false};
  struct iptraffic_key a = addr(3, 1), b = addr(7, 2), c = addr(3, 3),
                       s = special(7, IPTRAFFIC_KIND_NONIP), x = addr(9, 4);
  struct kernel k = {0};
  static struct rows rows;

  add(&k, &a, 100);
  add(&k, &b, 200);
  add(&k, &c, 300);
  add(&k, &s, 60);
  add(&k, &x, 999); /* an interface not counted */
  snapshot(t, &k, 1);
  ck_assert_int_eq(pass(r, t, &o, ifs, N(ifs), &rows), 4);
  /* ifindex 7 first (its special key, then b), then 3 (a, c); every series
   * starts with a zero. */
  ck_assert_uint_eq(rows.row[0].iface, 0);
  ck_assert_int_eq(itr_key_cmp(&rows.row[0].key, &s), 0);
  ck_assert_int_eq(itr_key_cmp(&rows.row[1].key, &b), 0);
  ck_assert_uint_eq(rows.row[2].iface, 2);
  ck_assert_int_eq(itr_key_cmp(&rows.row[2].key, &a), 0);
  ck_assert_int_eq(itr_key_cmp(&rows.row[3].key, &c), 0);
  for (size_t i = 0; i < 4; i++)
    ck_assert_uint_eq(rows.row[i].c.rx_bytes + rows.row[i].c.tx_packets, 0);
  ck_assert_uint_eq(ifs[0].addresses, 1);
  ck_assert_uint_eq(ifs[2].addresses, 2);
  ck_assert_uint_eq(ifs[0].rows, 2);
  ck_assert_uint_eq(ifs[1].rows, 0);

  /* Nothing changed: the counters the zeros stood for, even with
   * ReportInactive false. */
  snapshot(t, &k, 2);
  ck_assert_int_eq(pass(r, t, &o, ifs, N(ifs), &rows), 4);
  ck_assert_int_eq(itr_key_cmp(&rows.row[3].key, &c), 0);
  ck_assert_uint_eq(rows.row[3].c.rx_bytes, 300);
  ck_assert_uint_eq(rows.row[0].c.rx_bytes, 60);

  /* Nothing changed again: nothing with ReportInactive false, all with
   * true. */
  snapshot(t, &k, 3);
  ck_assert_int_eq(pass(r, t, &o, ifs, N(ifs), &rows), 0);
  ck_assert_uint_eq(ifs[2].addresses, 2);
  {
    const struct itr_report_opts all = {.report_inactive = true};

    snapshot(t, &k, 3);
    ck_assert_int_eq(pass(r, t, &all, ifs, N(ifs), &rows), 4);
  }
  add(&k, &c, 5);
  snapshot(t, &k, 4);
  ck_assert_int_eq(pass(r, t, &o, ifs, N(ifs), &rows), 1);
  ck_assert_uint_eq(rows.row[0].c.rx_bytes, 305);
  itr_report_free(r);
  itr_table_free(t);
}
END_TEST

/* The sizes given at creation bound a pass. */
START_TEST(test_sizes) {
  struct itr_table *t = itr_table_new(8);
  struct itr_report *r = itr_report_new(2, 1);
  struct itr_report_iface ifs[2] = {{.ifindex = 1}, {.ifindex = 2}};
  const struct itr_report_opts o = {0};
  struct kernel k = {0};
  static struct rows rows;

  for (unsigned i = 0; i < 3; i++) {
    struct iptraffic_key key = addr(1, i);

    add(&k, &key, 10);
  }
  snapshot(t, &k, 1);
  ck_assert_int_eq(pass(r, t, &o, ifs, 1, &rows), -1); /* 3 entries */
  itr_report_free(r);
  r = itr_report_new(8, 1);
  ck_assert_int_eq(pass(r, t, &o, ifs, 2, &rows), -1); /* 2 interfaces */
  ck_assert_int_eq(pass(r, t, &o, ifs, 1, &rows), 3);
  itr_report_free(r);
  itr_table_free(t);
}
END_TEST

/*
 * The model: what the series of an interface add up to, as Prometheus'
 * increase() and collectd's DERIVE take them. A series' total is the sum
 * of its increases: its first sample adds nothing, a value below the last
 * one is a restart (from zero).
 */
struct series {
  bool seen;
  struct itr_counters last, total;
};

static void take(struct series *s, const struct itr_counters *v) {
  const struct itr_counters *from = &s->last;
  struct itr_counters zero = {0};

  if (!s->seen)
    from = v;
  else if (v->rx_bytes < from->rx_bytes || v->rx_packets < from->rx_packets ||
           v->tx_bytes < from->tx_bytes || v->tx_packets < from->tx_packets)
    from = &zero;
  s->total.rx_bytes += v->rx_bytes - from->rx_bytes;
  s->total.rx_packets += v->rx_packets - from->rx_packets;
  s->total.tx_bytes += v->tx_bytes - from->tx_bytes;
  s->total.tx_packets += v->tx_packets - from->tx_packets;
  s->last = *v;
  s->seen = true;
}

static void assert_counters_eq(const struct itr_counters *a,
                               const struct itr_counters *b) {
  ck_assert_uint_eq(a->rx_bytes, b->rx_bytes);
  ck_assert_uint_eq(a->rx_packets, b->rx_packets);
  ck_assert_uint_eq(a->tx_bytes, b->tx_bytes);
  ck_assert_uint_eq(a->tx_packets, b->tx_packets);
}

/* Series of one interface: one per key, and other. */
struct model {
  struct iptraffic_key key[MAX_KEYS];
  struct series s[MAX_KEYS];
  size_t n;
  struct series other;
  struct itr_counters sent; /* what the kernel counted, in all */
};

static struct series *series_of(struct model *m,
                                const struct iptraffic_key *key) {
  for (size_t i = 0; i < m->n; i++)
    if (itr_key_cmp(&m->key[i], key) == 0)
      return &m->s[i];
  ck_assert_uint_lt(m->n, MAX_KEYS);
  m->key[m->n] = *key;
  memset(&m->s[m->n], 0, sizeof(m->s[0]));
  return &m->s[m->n++];
}

static void model_take(struct model *m, const struct rows *rows, size_t iface) {
  for (size_t i = 0; i < rows->n; i++) {
    if (rows->row[i].iface != iface)
      continue;
    take(rows->row[i].other ? &m->other : series_of(m, &rows->row[i].key),
         &rows->row[i].c);
  }
}

static void model_total(const struct model *m, struct itr_counters *out) {
  memset(out, 0, sizeof(*out));
  itr_counters_add(out, &m->other.total);
  for (size_t i = 0; i < m->n; i++)
    itr_counters_add(out, &m->s[i].total);
}

/* Members of the pass: at most TopN new ones, the held ones besides. */
static size_t members(const struct rows *rows, size_t iface) {
  size_t n = 0;

  for (size_t i = 0; i < rows->n; i++)
    n += rows->row[i].iface == iface && !rows->row[i].other &&
         !itr_key_is_special(&rows->row[i].key);
  return n;
}

/* Two addresses taking turns as the top talker (TopN 1, TopNHold 0): the
 * traffic that went to other while one was not a member is not counted
 * again when it is one. Every frame in exactly one series. */
START_TEST(test_topn_turns) {
  struct itr_table *t = itr_table_new(MAX_KEYS);
  struct itr_report *r = itr_report_new(MAX_KEYS, 1);
  struct itr_report_iface ifs[1] = {{.ifindex = 5}};
  const struct itr_report_opts o = {.top_n = 1, .top_n_hold = 0};
  struct iptraffic_key a = addr(5, 1), b = addr(5, 2);
  struct kernel k = {0};
  static struct model m;
  static struct rows rows;
  struct itr_counters total;

  memset(&m, 0, sizeof(m));
  for (int i = 0; i < 6; i++) {
    add(&k, &a, i % 2 ? 10 : 100);
    add(&k, &b, i % 2 ? 100 : 10);
    snapshot(t, &k, (uint64_t)i);
    pass(r, t, &o, ifs, 1, &rows);
    /* The top talker, and the last one whose series started with a zero
     * in the pass before. */
    ck_assert_uint_le(members(&rows, 0), 2);
    model_take(&m, &rows, 0);
    model_total(&m, &total);
    /* Never more than sent: a series that starts shows its traffic at
     * the next pass. */
    ck_assert_uint_le(total.rx_bytes, 110 * (uint64_t)(i + 1));
    ck_assert_uint_le(total.tx_packets, 4 * (uint64_t)(i + 1));
  }
  /* A pass without traffic: every frame in exactly one series. */
  snapshot(t, &k, 6);
  pass(r, t, &o, ifs, 1, &rows);
  model_take(&m, &rows, 0);
  model_total(&m, &total);
  ck_assert_uint_eq(total.rx_bytes, 110 * 6);
  ck_assert_uint_eq(total.tx_packets, 4 * 6);
  itr_report_free(r);
  itr_table_free(t);
}
END_TEST

/* Random traffic, address churn and a kernel entry created anew, with
 * every combination of TopN, TopNHold and ReportInactive: at every pass
 * the series of each interface add up to what its kernel entries counted,
 * no interface's rows mix with another's, and no more than TopN addresses
 * join per pass. */
START_TEST(test_topn_random) {
  static const uint32_t tops[] = {1, 2, 3, 50};
  static const uint32_t holds[] = {0, 1, 4};
  static struct model m[2];
  static struct rows rows;
  unsigned seed = 1;

  for (size_t ti = 0; ti < N(tops); ti++)
    for (size_t hi = 0; hi < N(holds); hi++)
      for (int inactive = 0; inactive < 2; inactive++) {
        struct itr_table *t = itr_table_new(MAX_KEYS);
        struct itr_report *r = itr_report_new(MAX_KEYS, 2);
        struct itr_report_iface ifs[2] = {{.ifindex = 11}, {.ifindex = 4}};
        const struct itr_report_opts o = {.report_inactive = inactive,
                                          .top_n = tops[ti],
                                          .top_n_hold = holds[hi]};
        struct kernel k = {0};

        memset(m, 0, sizeof(m));
        for (unsigned i = 0; i < 2; i++) {
          struct iptraffic_key s = special(ifs[i].ifindex, 3);

          add(&k, &s, 0);
        }
        for (int p = 0; p < 120; p++) {
          if (p == 60) {
            /* The kernel entry of one address made anew (its counts so far
             * were read at the last pass): it counts from zero again. */
            memset(&k.c[2], 0, sizeof(k.c[2]));
          }
          for (int f = 0; f < 6; f++) {
            unsigned i = (unsigned)rand_r(&seed) % 2;
            unsigned host = (unsigned)rand_r(&seed) % 12;
            struct iptraffic_key key = addr(ifs[i].ifindex, host);
            uint64_t bytes = 1 + (unsigned)rand_r(&seed) % 500;
            const struct itr_counters d = {bytes, 1, 2 * bytes, 2};

            add(&k, &key, bytes);
            itr_counters_add(&m[i].sent, &d);
          }
          snapshot(t, &k, (uint64_t)p);
          pass(r, t, &o, ifs, 2, &rows);
          for (unsigned i = 0; i < 2; i++) {
            struct itr_counters total, want = m[i].sent;

            size_t addresses = 0;

            model_take(&m[i], &rows, i);
            model_total(&m[i], &total);
            /* Never more than sent; what a series born in this pass
             * counted follows at the next one. */
            ck_assert_uint_le(total.rx_bytes, want.rx_bytes);
            ck_assert_uint_le(total.tx_packets, want.tx_packets);
            for (size_t j = 0; j < k.n; j++)
              addresses += k.key[j].ifindex == ifs[i].ifindex &&
                           !itr_key_is_special(&k.key[j]);
            ck_assert_uint_eq(ifs[i].addresses, addresses);
            /* Held ones, and with TopNHold 0 the last pass's new ones,
             * whose series started with a zero. */
            ck_assert_uint_le(members(&rows, i),
                              (size_t)o.top_n *
                                  (o.top_n_hold ? o.top_n_hold + 1 : 2));
          }
          for (size_t j = 0; j < rows.n; j++)
            if (!rows.row[j].other)
              ck_assert_uint_eq(rows.row[j].key.ifindex,
                                ifs[rows.row[j].iface].ifindex);
        }
        /* A pass without traffic: every frame is in exactly one series. */
        snapshot(t, &k, 120);
        pass(r, t, &o, ifs, 2, &rows);
        for (unsigned i = 0; i < 2; i++) {
          struct itr_counters total;

          model_take(&m[i], &rows, i);
          model_total(&m[i], &total);
          assert_counters_eq(&total, &m[i].sent);
        }
        itr_report_free(r);
        itr_table_free(t);
      }
}
END_TEST

static Suite *report_suite(void) {
  Suite *s = suite_create("report");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, test_every_address);
  tcase_add_test(tc, test_sizes);
  tcase_add_test(tc, test_topn_turns);
  tcase_add_test(tc, test_topn_random);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(report_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
