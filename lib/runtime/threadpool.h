/*
 * A persistent pool of worker threads owned by one context. bn_pool_run()
 * runs a task on every thread (the caller is thread 0) and returns when all
 * are done; inside the task, bn_pool_barrier() synchronises the threads
 * between steps, so a whole forward pass is one wake-up, not one per op.
 */
#ifndef BN_RUNTIME_THREADPOOL_H
#define BN_RUNTIME_THREADPOOL_H

typedef struct bn_pool bn_pool;

typedef void (*bn_task_fn)(void *arg, int ith, int nth);

/* n_threads >= 1. Returns BN_OK, BN_E_NOMEM or BN_E_INTERNAL (thread creation). */
int bn_pool_new(bn_pool **out, int n_threads);
void bn_pool_free(bn_pool **p);
int bn_pool_size(const bn_pool *p);

void bn_pool_run(bn_pool *p, bn_task_fn fn, void *arg);

/* Every thread of the running task must call it the same number of times. */
void bn_pool_barrier(bn_pool *p);

#endif
