/**
 * collectd - iptraffic plugin: what the glue's files share (glue.h): the
 * plugin's state, and libbpf's and libxdp's messages in collectd's log.
 */
#include "glue.h"

#include "utils/common/common.h"

struct glue g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* libbpf's warnings while loading are held back until the outcome is
 * known: when the plugin can say plainly what went wrong (missing
 * privileges), they go to the debug log, else they follow as warnings. */
#define HELD_MAX 16
static char held[HELD_MAX][256];
static int held_num;
static bool holding;

void hold_warnings(void) {
  holding = true;
}

void log_libbpf(enum itr_log_level level, const char *msg) {
  int prio = level == ITR_LOG_WARNING ? LOG_WARNING : LOG_DEBUG;

  if (holding && prio == LOG_WARNING) {
    if (held_num < HELD_MAX)
      sstrncpy(held[held_num++], msg, sizeof(held[0]));
    return;
  }
  plugin_log(prio, LOG_PREFIX "%s", msg);
}

void release_held(int prio) {
  for (int i = 0; i < held_num; i++)
    plugin_log(prio, LOG_PREFIX "%s", held[i]);
  held_num = 0;
  holding = false;
}
