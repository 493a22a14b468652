/* What the tools need from the OS, one implementation per OS (chosen by
 * examples/meson.build): tool_os_posix.c, tool_os_win32.c. */
#ifndef BN_TOOL_OS_H
#define BN_TOOL_OS_H

#include <stddef.h>

/* Opens /dev/null on any of the descriptors 0, 1, 2 that a careless parent
 * left closed, so that no file the tool opens becomes its stdout; exits
 * with 127 if that fails. Nothing on Windows, whose CRT has no such reuse. */
void bn_tool_fill_std_fds(void);

/* The directory of the running executable into buf; 0 when unknown. */
int bn_tool_exe_dir(char *buf, size_t size);

/* Whether a file exists and can be read. */
int bn_tool_readable(const char *path);

/* The peak resident memory of this process, in KiB (0 if unknown). */
long bn_tool_peak_rss_kb(void);

/* `bytes` aligned to 2 MB and advised for transparent huge pages where the
 * OS has them; release with bn_tool_huge_free. NULL when out of memory. */
void *bn_tool_huge_alloc(size_t bytes);
void bn_tool_huge_free(void *p);

/* Installs handler for SIGINT (Ctrl-C), kept after each call, and without
 * SA_RESTART where there is one: a read waiting for input then returns. */
void bn_tool_on_sigint(void (*handler)(int));
/* Holds SIGINT back on this thread (hold = 1) or lets it in again (0), so
 * that a write is never cut short by it (EINTR): the handler installed
 * above restarts nothing, so that Ctrl-C can end a blocking read. */
void bn_tool_hold_sigint(int hold);

/* fn(arg), run in a child process where the OS can fork, so that its memory
 * never counts in this process's peak; on Windows in this process. */
double bn_tool_in_child(double (*fn)(void *), void *arg);

#endif
