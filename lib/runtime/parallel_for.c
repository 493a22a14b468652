#include "runtime/parallel_for.h"

#include <pthread.h>
#include <stdatomic.h>

#include "core/platform.h"

#define MAX_THREADS 8

typedef struct loop {
    _Atomic int64_t next;
    int64_t n;
    bn_item_fn fn;
    void *arg;
} loop;

static void *worker(void *p)
{
    loop *l = p;
    for (int64_t i; (i = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed)) < l->n;)
        l->fn(l->arg, i);
    return NULL;
}

void bn_parallel_for(int64_t n, int max_threads, bn_item_fn fn, void *arg)
{
    loop l = { 0, n, fn, arg };
    int cpus = bn_cpu_count();
    int nth = cpus < max_threads ? cpus : max_threads;
    nth = nth > MAX_THREADS ? MAX_THREADS : nth < 1 ? 1 : nth;
    nth = n < nth ? (int)(n > 0 ? n : 1) : nth;
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int i = 1; i < nth; i++, started++)
        if (pthread_create(&th[started], NULL, worker, &l) != 0)
            break;
    worker(&l);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}
