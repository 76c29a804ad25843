/*
 * Which interfaces are counted: the Interface options (names and /regex/
 * patterns, collectd's convention) and IgnoreSelected.
 *
 * Pure logic: libc only (POSIX regular expressions).
 */
#ifndef ITR_MATCH_H
#define ITR_MATCH_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "plugin_config.h"

struct itr_matcher {
  const struct itr_config *cfg;
  regex_t re[ITR_MAX_INTERFACES]; /* of the patterns among cfg->interfaces */
  bool compiled[ITR_MAX_INTERFACES];
  bool patterns; /* any pattern, or IgnoreSelected: the set is found, not
                    listed */
};

/* A matcher for cfg's Interface options (validated by itr_config_parse,
 * so compiling does not fail: -EINVAL if it does). */
int itr_matcher_init(struct itr_matcher *m, const struct itr_config *cfg);
void itr_matcher_free(struct itr_matcher *m);

/* Whether the interface ifname is counted. */
bool itr_matcher_counts(const struct itr_matcher *m, const char *ifname);

/* Whether the counted interfaces are exactly the names listed (no pattern,
 * no IgnoreSelected): only those are ever attached, and each one is
 * expected to exist. */
static inline bool itr_matcher_only_names(const struct itr_matcher *m) {
  return !m->patterns;
}

#endif /* ITR_MATCH_H */
