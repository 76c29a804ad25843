/*
 * One read's report: the snapshot grouped by interface, then ReportInactive
 * and TopN per interface.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define NONE SIZE_MAX

/* A counted interface: its ifindex and its place in the caller's array. */
struct slot {
  uint32_t ifindex;
  size_t iface;
};

struct itr_report {
  size_t capacity, ifaces;
  uint32_t interval;        /* number of the current pass, from 1 */
  struct slot *slots;       /* the counted interfaces, by ifindex */
  size_t *start;            /* ifaces + 1: where each one's entries begin */
  size_t *fill;             /* ifaces: the next place of each */
  size_t *which;            /* capacity: the interface of each entry */
  struct itr_entry **order; /* capacity: the entries, grouped */
  struct itr_entry **ranked;
};

struct itr_report *itr_report_new(size_t capacity, size_t ifaces) {
  struct itr_report *r = calloc(1, sizeof(*r));
  size_t c = capacity ? capacity : 1, n = ifaces ? ifaces : 1;

  if (!r)
    return NULL;
  r->capacity = capacity;
  r->ifaces = ifaces;
  r->slots = calloc(n, sizeof(*r->slots));
  r->start = calloc(n + 1, sizeof(*r->start));
  r->fill = calloc(n, sizeof(*r->fill));
  r->which = calloc(c, sizeof(*r->which));
  r->order = calloc(c, sizeof(*r->order));
  r->ranked = calloc(c, sizeof(*r->ranked));
  if (!r->slots || !r->start || !r->fill || !r->which || !r->order ||
      !r->ranked) {
    itr_report_free(r);
    return NULL;
  }
  return r;
}

void itr_report_free(struct itr_report *r) {
  if (!r)
    return;
  free(r->slots);
  free(r->start);
  free(r->fill);
  free(r->which);
  free(r->order);
  free(r->ranked);
  free(r);
}

static int slot_cmp(const void *a, const void *b) {
  const struct slot *x = a, *y = b;

  return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

static size_t iface_of(const struct itr_report *r, size_t m, uint32_t ifindex) {
  const struct slot key = {.ifindex = ifindex};
  const struct slot *s = bsearch(&key, r->slots, m, sizeof(key), slot_cmp);

  return s ? s->iface : NONE;
}

/* The snapshot's entries of the counted interfaces, interface by
 * interface, each in the snapshot's order (a stable counting sort). */
static void group(struct itr_report *r, struct itr_table *t,
                  struct itr_report_iface *ifs, size_t n) {
  struct itr_entry *e = itr_table_entries(t);
  size_t count = itr_table_count(t), m = 0;

  for (size_t i = 0; i < n; i++) {
    ifs[i].addresses = 0;
    ifs[i].rows = 0;
    ifs[i].owed = 0;
    if (ifs[i].ifindex)
      r->slots[m++] = (struct slot){ifs[i].ifindex, i};
  }
  qsort(r->slots, m, sizeof(*r->slots), slot_cmp);
  memset(r->start, 0, (n + 1) * sizeof(*r->start));
  for (size_t j = 0; j < count; j++) {
    r->which[j] = iface_of(r, m, e[j].key.ifindex);
    if (r->which[j] != NONE)
      r->start[r->which[j] + 1]++;
  }
  for (size_t i = 0; i < n; i++) {
    r->start[i + 1] += r->start[i];
    r->fill[i] = r->start[i];
  }
  for (size_t j = 0; j < count; j++)
    if (r->which[j] != NONE)
      r->order[r->fill[r->which[j]]++] = &e[j];
}

static void emit(itr_report_fn fn, void *ctx, struct itr_report_iface *ifs,
                 size_t i, const struct iptraffic_key *key,
                 const struct itr_counters *c) {
  const struct itr_report_row row = {.iface = i, .key = key, .counters = c};

  ifs[i].rows++;
  fn(ctx, &row);
}

/* The pass took all of e's counters for their increase: a new key, or a
 * kernel entry created anew (its counters went backwards). */
static bool counted_afresh(const struct itr_entry *e) {
  return memcmp(&e->delta, &e->counters, sizeof(e->delta)) == 0;
}

static bool is_zero(const struct itr_counters *c) {
  return !c->rx_bytes && !c->rx_packets && !c->tx_bytes && !c->tx_packets;
}

/*
 * A series starts with a zero: the first time an entry's series is handed
 * over with counters above zero, it is handed over with zeros, and with
 * its counters at the next pass, whatever the options. A kernel entry made
 * anew (its counters went back) starts a series anew. Then every writer
 * sees all of a series' traffic as an increase: Prometheus' increase()
 * takes nothing from a series' first sample, and a series that restarts
 * (after expiry, or state lost) goes below its last value, which
 * Prometheus and collectd's DERIVE both take as a reset.
 */
static const struct itr_counters zero_counters;

static void new_life(struct itr_entry *e) {
  if (counted_afresh(e) && !is_zero(&e->counters))
    e->started = false;
}

static void emit_entry(itr_report_fn fn, void *ctx,
                       struct itr_report_iface *ifs, size_t i,
                       struct itr_entry *e, const struct itr_counters *c,
                       bool wanted) {
  if (!wanted && !e->owed)
    return;
  if (!e->started) {
    e->started = true;
    if (!is_zero(c)) {
      emit(fn, ctx, ifs, i, &e->key, &zero_counters);
      e->owed = true;
      ifs[i].owed++;
      return;
    }
  }
  emit(fn, ctx, ifs, i, &e->key, c);
  e->owed = false;
}

/* The interface's "other" series: there once TopN held traffic back,
 * and starting with a zero as well. */
static void emit_other(itr_report_fn fn, void *ctx,
                       struct itr_report_iface *ifs, size_t i, bool wanted) {
  if (!ifs[i].other_shown) {
    if (is_zero(&ifs[i].other))
      return;
    ifs[i].other_shown = true;
    emit(fn, ctx, ifs, i, NULL, &zero_counters);
    ifs[i].other_owed = true;
    ifs[i].owed++;
    return;
  }
  if (wanted || ifs[i].other_owed) {
    emit(fn, ctx, ifs, i, NULL, &ifs[i].other);
    ifs[i].other_owed = false;
  }
}

/* TopN for the n addresses of one interface. */
static void report_top(struct itr_report *r, struct itr_entry **e, size_t n,
                       const struct itr_report_opts *o,
                       struct itr_report_iface *ifs, size_t i, itr_report_fn fn,
                       void *ctx) {
  size_t k = 0;
  bool other_changed = false;

  for (size_t j = 0; j < n; j++)
    if (itr_entry_interval_bytes(e[j]) > 0)
      r->ranked[k++] = e[j];
  itr_select_top(r->ranked, k, o->top_n);
  for (size_t j = 0; j < k && j < o->top_n; j++)
    r->ranked[j]->top_until = r->interval + o->top_n_hold;

  for (size_t j = 0; j < n; j++) {
    struct itr_entry *x = e[j];

    /* A member whose series started with a zero stays one for the pass
     * that shows its counters. */
    if (x->owed && x->top_until < r->interval)
      x->top_until = r->interval;

    bool member = x->top_until >= r->interval;
    struct itr_counters shown;

    /* A kernel entry created anew starts the address's account anew. */
    if (counted_afresh(x))
      memset(&x->in_other, 0, sizeof(x->in_other));
    new_life(x);
    if (!member) {
      itr_counters_add(&ifs[i].other, &x->delta);
      itr_counters_add(&x->in_other, &x->delta);
      other_changed |= x->changed;
    }
    shown =
        (struct itr_counters){x->counters.rx_bytes - x->in_other.rx_bytes,
                              x->counters.rx_packets - x->in_other.rx_packets,
                              x->counters.tx_bytes - x->in_other.tx_bytes,
                              x->counters.tx_packets - x->in_other.tx_packets};
    if (member) {
      emit_entry(fn, ctx, ifs, i, x, &shown, o->report_inactive || x->changed);
    } else if (x->owed) {
      /* It left the top before its series showed what its zero stood
       * for: that goes to "other" as well. */
      itr_counters_add(&ifs[i].other, &shown);
      itr_counters_add(&x->in_other, &shown);
      x->owed = false;
      other_changed = true;
    }
  }
  emit_other(fn, ctx, ifs, i, o->report_inactive || other_changed);
}

long itr_report_pass(struct itr_report *r, struct itr_table *t,
                     const struct itr_report_opts *o,
                     struct itr_report_iface *ifs, size_t n, itr_report_fn fn,
                     void *ctx) {
  long rows = 0;

  if (itr_table_count(t) > r->capacity || n > r->ifaces)
    return -1;
  r->interval++;
  group(r, t, ifs, n);
  for (size_t i = 0; i < n; i++) {
    struct itr_entry **e = r->order + r->start[i];
    size_t count = r->start[i + 1] - r->start[i], addresses = 0;

    if (!ifs[i].ifindex)
      continue;
    /* Special keys first, then the addresses moved to the front of the
     * rest, in the snapshot's order. */
    for (size_t j = 0; j < count; j++) {
      if (itr_key_is_special(&e[j]->key)) {
        new_life(e[j]);
        emit_entry(fn, ctx, ifs, i, e[j], &e[j]->counters,
                   o->report_inactive || e[j]->changed);
        continue;
      }
      e[addresses++] = e[j];
    }
    ifs[i].addresses = addresses;
    if (o->top_n)
      report_top(r, e, addresses, o, ifs, i, fn, ctx);
    else
      for (size_t j = 0; j < addresses; j++) {
        new_life(e[j]);
        emit_entry(fn, ctx, ifs, i, e[j], &e[j]->counters,
                   o->report_inactive || e[j]->changed);
      }
    rows += (long)ifs[i].rows;
  }
  return rows;
}
