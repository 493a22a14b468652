/* Progress on stderr: a line rewritten in place on a terminal, a line every
 * 10% of the tensors otherwise (logs stay short). */
#ifndef BN_CONVERT_CV_PROGRESS_H
#define BN_CONVERT_CV_PROGRESS_H

#include <stdint.h>

void cv_progress(uint64_t done, uint64_t total, const char *name);
/* Ends the in-place line, if any. */
void cv_progress_end(void);

#endif
