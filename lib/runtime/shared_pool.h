/* bn_threadpool: a bn_pool that several contexts share, one forward pass at
 * a time, so that contexts in one process never oversubscribe the cores. */
#ifndef BN_RUNTIME_SHARED_POOL_H
#define BN_RUNTIME_SHARED_POOL_H

#include "bitnet/bitnet.h"
#include "runtime/threadpool.h"

/* The pool's workers (for the per-thread scratch a context plans). */
bn_pool *bn_threadpool_pool(bn_threadpool *p);

/* bn_pool_run on the shared pool, waiting while another context runs on it. */
void bn_threadpool_run(bn_threadpool *p, bn_task_fn fn, void *arg);

#endif
