/*
 * Making the busiest destination the plugin's hot address.
 */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "hot.h"
#include "hotkey.h"
#include "reader.h"
#include "table.h"

void bench_make_busiest_hot(struct itr_loader *l, uint32_t capacity) {
  struct itr_reader *reader;
  struct itr_table *table = itr_table_new(capacity + 1024);
  const struct itr_entry *best = NULL;
  struct itr_hot_set hot;
  struct itr_maps maps;
  size_t created;
  int err;

  itr_loader_maps(l, &maps);
  err = itr_reader_new(&reader, &maps);
  check(err == 0 && table, "reader: %s", strerror(-err));
  err = itr_reader_pass(reader, table, 1);
  check(err == 0, "reading the tables: %s", strerror(-err));
  for (size_t i = 0; i < itr_table_count(table); i++) {
    const struct itr_entry *e = &itr_table_entries(table)[i];

    if (!itr_key_is_special(&e->key) &&
        (!best || e->counters.rx_packets > best->counters.rx_packets))
      best = e;
  }
  check(best != NULL, "no address in the tables");
  itr_hot_set_init(&hot);
  itr_hot_set_add(&hot, &best->key);
  err = itr_reader_set_hot(reader, &hot, &created);
  check(err == 0 && created == 1, "making the address hot: %s", strerror(-err));
  itr_reader_free(reader);
  itr_table_free(table);
}
