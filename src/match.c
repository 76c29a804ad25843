/*
 * Interface names and patterns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

int itr_matcher_init(struct itr_matcher *m, const struct itr_config *cfg) {
  char err[128];

  memset(m, 0, sizeof(*m));
  m->cfg = cfg;
  m->patterns = cfg->ignore_selected;
  for (size_t i = 0; i < cfg->interfaces_num; i++) {
    if (!itr_is_pattern(cfg->interfaces[i]))
      continue;
    m->patterns = true;
    if (itr_pattern_compile(cfg->interfaces[i], &m->re[i], err, sizeof(err))) {
      itr_matcher_free(m);
      return -EINVAL;
    }
    m->compiled[i] = true;
  }
  return 0;
}

void itr_matcher_free(struct itr_matcher *m) {
  for (size_t i = 0; i < ITR_MAX_INTERFACES; i++)
    if (m->compiled[i]) {
      regfree(&m->re[i]);
      m->compiled[i] = false;
    }
}

bool itr_matcher_counts(const struct itr_matcher *m, const char *ifname) {
  bool selected = false;

  for (size_t i = 0; i < m->cfg->interfaces_num && !selected; i++)
    selected = m->compiled[i] ? regexec(&m->re[i], ifname, 0, NULL, 0) == 0
                              : strcmp(m->cfg->interfaces[i], ifname) == 0;
  return selected != m->cfg->ignore_selected;
}
