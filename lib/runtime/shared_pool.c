/* A thread pool shared by contexts: the public bn_threadpool. A pass holds
 * the pool's run lock from start to end, so passes of different contexts
 * take turns on the same threads instead of competing for the cores. */
#include "runtime/shared_pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/platform.h"
#include "runtime/mutex.h"

#define MAX_THREADS 512

struct bn_threadpool {
    bn_pool *pool;
    pthread_mutex_t run_lock;
};

int bn_threadpool_new(bn_threadpool **out, int32_t n_threads)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_threadpool_new: out is NULL");
    *out = NULL;
    if (n_threads == 0) {
        int n = bn_cpu_count();
        n_threads = n > 64 ? 64 : n;
    }
    if (n_threads < 1 || n_threads > MAX_THREADS)
        return bn_fail(BN_E_INVALID_ARG, "bn_threadpool_new: n_threads %d: expected 0 to %d", n_threads,
                       MAX_THREADS);
    bn_threadpool *p = calloc(1, sizeof *p);
    if (!p)
        return bn_fail(BN_E_NOMEM, "bn_threadpool_new: out of memory");
    if (bn_mutex_init_ready(&p->run_lock)) {
        free(p);
        return bn_fail(BN_E_NOMEM, "bn_threadpool_new: cannot create a mutex");
    }
    int rc = bn_pool_new(&p->pool, n_threads);
    if (rc) {
        pthread_mutex_destroy(&p->run_lock);
        free(p);
        return rc;
    }
    *out = p;
    return BN_OK;
}

void bn_threadpool_free(bn_threadpool **pp)
{
    if (!pp || !*pp)
        return;
    bn_threadpool *p = *pp;
    bn_pool_free(&p->pool);
    pthread_mutex_destroy(&p->run_lock);
    free(p);
    *pp = NULL;
}

int32_t bn_threadpool_n_threads(const bn_threadpool *p)
{
    return p ? bn_pool_size(p->pool) : 0;
}

bn_pool *bn_threadpool_pool(bn_threadpool *p)
{
    return p->pool;
}

void bn_threadpool_run(bn_threadpool *p, bn_task_fn fn, void *arg)
{
    pthread_mutex_lock(&p->run_lock);
    bn_pool_run(p->pool, fn, arg);
    pthread_mutex_unlock(&p->run_lock);
}
