/*
 * null_write: a collectd write plugin that accepts every value list and
 * does nothing with it. The series benchmark loads it instead of
 * write_prometheus to measure collectd's own cost per value list (cache,
 * queue, filter chain) without a writer's.
 */
#include "collectd.h"

#include "plugin.h"

static int null_write(const data_set_t *ds, const value_list_t *vl,
                      user_data_t *ud) {
  (void)ds;
  (void)vl;
  (void)ud;
  return 0;
}

void module_register(void) {
  plugin_register_write("null_write", null_write, NULL);
}
