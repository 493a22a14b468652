#include "runtime/threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "runtime/mutex.h"

#if defined(__x86_64__) || defined(__i386__)
#  include <immintrin.h>
#  define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#  define cpu_relax() __asm__ __volatile__("yield")
#else
#  define cpu_relax() ((void)0)
#endif

/* Idle workers spin this many rounds before sleeping: decode steps come back
 * to back, and a futex wake-up costs more than a short spin. */
#define SPIN_ROUNDS 20000
/* Threads waiting at a barrier spin less before yielding the core, so that
 * more threads than cores (several contexts at once) still make progress. */
#define BARRIER_SPIN_ROUNDS 1000

typedef struct worker {
    bn_pool *pool;
    int ith;
    pthread_t thread;
} worker;

struct bn_pool {
    int n;
    worker *workers;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    atomic_uint work_gen;       /* bumped for each task */
    atomic_int done;            /* workers finished with the current task */
    atomic_int stop;
    bn_task_fn fn;
    void *arg;
    /* barrier */
    atomic_int bar_count;
    atomic_uint bar_gen;
};

static void wait_spin(atomic_uint *gen, unsigned seen)
{
    for (int i = 0; atomic_load_explicit(gen, memory_order_acquire) == seen; i++) {
        if (i < BARRIER_SPIN_ROUNDS)
            cpu_relax();
        else
            sched_yield();
    }
}

void bn_pool_barrier(bn_pool *p)
{
    if (p->n == 1)
        return;
    unsigned gen = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->bar_gen, 1, memory_order_release);
    } else {
        wait_spin(&p->bar_gen, gen);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    bn_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        /* spin briefly for the next task, then sleep on the condition */
        int i = 0;
        while (atomic_load_explicit(&p->work_gen, memory_order_acquire) == seen && i < SPIN_ROUNDS) {
            cpu_relax();
            i++;
        }
        if (atomic_load_explicit(&p->work_gen, memory_order_acquire) == seen) {
            pthread_mutex_lock(&p->mutex);
            while (atomic_load_explicit(&p->work_gen, memory_order_acquire) == seen)
                pthread_cond_wait(&p->cond, &p->mutex);
            pthread_mutex_unlock(&p->mutex);
        }
        seen = atomic_load_explicit(&p->work_gen, memory_order_acquire);
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            return NULL;
        p->fn(p->arg, w->ith, p->n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel);
    }
}

int bn_pool_new(bn_pool **out, int n_threads)
{
    *out = NULL;
    if (n_threads < 1)
        return bn_fail(BN_E_INVALID_ARG, "thread pool: %d threads", n_threads);
    bn_pool *p = calloc(1, sizeof *p);
    if (!p)
        return bn_fail(BN_E_NOMEM, "out of memory for the thread pool");
    p->n = n_threads;
    /* out of memory is BN_E_NOMEM wherever it happens: winpthreads (Windows)
     * allocates in these calls */
    int e = bn_mutex_init_ready(&p->mutex);
    if (e) {
        free(p);
        return bn_fail(e == ENOMEM ? BN_E_NOMEM : BN_E_INTERNAL, "thread pool: mutex init failed");
    }
    if ((e = pthread_cond_init(&p->cond, NULL))) {
        pthread_mutex_destroy(&p->mutex);
        free(p);
        return bn_fail(e == ENOMEM ? BN_E_NOMEM : BN_E_INTERNAL, "thread pool: condition init failed");
    }
    p->workers = calloc((size_t)n_threads, sizeof *p->workers);
    if (!p->workers) {
        bn_pool_free(&p);
        return bn_fail(BN_E_NOMEM, "out of memory for the thread pool");
    }
    for (int i = 1; i < n_threads; i++) {
        p->workers[i].pool = p;
        p->workers[i].ith = i;
        int err = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
        if (err) {
            p->n = i; /* only threads 1..i-1 exist: stop those */
            bn_pool_free(&p);
            /* EAGAIN: no memory for a stack or a limit on threads: a resource
             * the caller can free, not a bug */
            return bn_fail(err == EAGAIN || err == ENOMEM ? BN_E_NOMEM : BN_E_INTERNAL,
                           "thread pool: cannot create thread %d of %d: %s", i, n_threads, strerror(err));
        }
    }
    *out = p;
    return BN_OK;
}

void bn_pool_free(bn_pool **pp)
{
    if (!pp || !*pp)
        return;
    bn_pool *p = *pp;
    if (p->workers) {
        pthread_mutex_lock(&p->mutex);
        atomic_store(&p->stop, 1);
        atomic_fetch_add(&p->work_gen, 1);
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->mutex);
        for (int i = 1; i < p->n; i++)
            pthread_join(p->workers[i].thread, NULL);
        free(p->workers);
    }
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mutex);
    free(p);
    *pp = NULL;
}

int bn_pool_size(const bn_pool *p)
{
    return p->n;
}

void bn_pool_run(bn_pool *p, bn_task_fn fn, void *arg)
{
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    pthread_mutex_lock(&p->mutex);
    atomic_fetch_add_explicit(&p->work_gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mutex);
    fn(arg, 0, p->n);
    for (int i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < p->n - 1; i++) {
        if (i < BARRIER_SPIN_ROUNDS)
            cpu_relax();
        else
            sched_yield();
    }
}
