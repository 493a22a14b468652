/*
 * A one-shot parallel loop for load-time work, before any context (and so
 * any thread pool) exists: repacking weights, converting the output
 * projection. Items are handed out one at a time, so uneven items balance.
 */
#ifndef BN_RUNTIME_PARALLEL_FOR_H
#define BN_RUNTIME_PARALLEL_FOR_H

#include <stdint.h>

typedef void (*bn_item_fn)(void *arg, int64_t item);

/* Calls fn(arg, i) for every i in [0, n), on up to max_threads threads (the
 * caller is one of them; with fewer CPUs, or when threads cannot be
 * started, the caller does the rest). Items must not depend on each other. */
void bn_parallel_for(int64_t n, int max_threads, bn_item_fn fn, void *arg);

#endif
