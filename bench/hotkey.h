/*
 * The node's own address, for the benchmarks: the plugin counts it in its
 * per-CPU hot table once it knows it (src/hot.h).
 */
#ifndef ITR_BENCH_HOTKEY_H
#define ITR_BENCH_HOTKEY_H

#include <stdint.h>

#include "loader.h"

/* Reads the plugin's tables (up to capacity keys) and makes the address
 * key that received the most packets the one hot address, as the plugin
 * does with the addresses of the interfaces it counts on. Dies on
 * failure. */
void bench_make_busiest_hot(struct itr_loader *l, uint32_t capacity);

#endif /* ITR_BENCH_HOTKEY_H */
