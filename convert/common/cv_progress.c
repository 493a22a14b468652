#include "cv_progress.h"

#include <stdio.h>
#include <unistd.h>

static int tty = -1, open_line;

void cv_progress(uint64_t done, uint64_t total, const char *name)
{
    if (tty < 0)
        tty = isatty(2);
    if (tty) {
        fprintf(stderr, "\r[%llu/%llu] %-48.48s", (unsigned long long)done, (unsigned long long)total,
                name);
        open_line = 1;
    } else if (total && (done * 10 / total != (done - 1) * 10 / total || done == total)) {
        fprintf(stderr, "[%llu/%llu] %s\n", (unsigned long long)done, (unsigned long long)total, name);
    }
}

void cv_progress_end(void)
{
    if (open_line)
        fputc('\n', stderr);
    open_line = 0;
}
