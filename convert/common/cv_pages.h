/* Bounded memory over memory-mapped inputs: pages a converter has finished
 * with are handed back, so that the resident set stays near one tensor. */
#ifndef BN_CONVERT_CV_PAGES_H
#define BN_CONVERT_CV_PAGES_H

#include <stdint.h>

/* Drops the pages of [p, p + len) of a read-only file mapping from the
 * process (they are read again from the file if touched). */
void cv_pages_release(const void *p, uint64_t len);

#endif
