#ifndef BN_BENCH_MEMBW_H
#define BN_BENCH_MEMBW_H

#include <stddef.h>

/* Best of `reps` rounds of streaming reads of `bytes` split over n_threads,
 * each round a plain and a prefetched read (membw.c), in GB/s. */
double bn_bench_read_bandwidth(int n_threads, size_t bytes, int reps);

#endif
