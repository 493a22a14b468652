/* Mutexes that never allocate once made. */
#ifndef BN_RUNTIME_MUTEX_H
#define BN_RUNTIME_MUTEX_H

#include <pthread.h>

/* pthread_mutex_init, then one lock and unlock. winpthreads (Windows) makes
 * a mutex's state at its first lock; made later, on a worker thread in a
 * low-memory moment, that lock fails with ENOMEM and the caller goes on
 * without the lock (the pool's workers then miss their wake-up and the pass
 * never ends). Made here, the failure is the creator's BN_E_NOMEM and no
 * later lock allocates. Returns 0 or the errno value of the failed call. */
static inline int bn_mutex_init_ready(pthread_mutex_t *m)
{
    int e = pthread_mutex_init(m, NULL);
    if (e)
        return e;
    if ((e = pthread_mutex_lock(m))) {
        pthread_mutex_destroy(m);
        return e;
    }
    pthread_mutex_unlock(m);
    return 0;
}

#endif
