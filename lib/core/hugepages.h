/* Large buffers the kernels stream every token (packed weights, the Q8_0
 * output projection) are asked to be backed by transparent huge pages: one
 * TLB entry per 2 MB instead of per 4 KB while reading hundreds of MB. */
#ifndef BN_CORE_HUGEPAGES_H
#define BN_CORE_HUGEPAGES_H

#include <stddef.h>

/* Marks the whole 2 MB pages inside [p, p + n) (none outside, so no memory
 * is added to the resident set); a hint, silently ignored where unsupported.
 * Call before the buffer is first written. */
void bn_advise_hugepages(void *p, size_t n);

#endif
