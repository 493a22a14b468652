/* Small helpers shared by the command-line tools (not part of the library). */
#ifndef BN_TOOL_COMMON_H
#define BN_TOOL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <bitnet/bitnet.h>

/*
 * Call first in main. Makes sure file descriptors 0, 1 and 2 are open (on
 * /dev/null when the tool was started with one closed): otherwise the next
 * file opened, say the model, would become standard input or output. And
 * registers an exit handler that flushes and closes stdout: when a write
 * failed (a full disk, /dev/full) it says so and the exit status is 1.
 */
void bn_tool_init(const char *prog);

/* Closes a file the tool wrote; call it at once after a write that failed
 * (its errno gives the reason). Returns 0, or -1 after printing
 * "prog: cannot write PATH: reason". */
int bn_tool_close_output(const char *prog, FILE *f, const char *path);

double bn_tool_now(void);

/* Parses "1,2,3" into a malloc'ed array; returns the count, -1 on a bad list. */
long bn_tool_parse_tokens(const char *list, bn_token **out);

/* Reads a whole file ("-" = stdin) into a malloc'ed, NUL-terminated buffer;
 * *len gets its size. NULL on failure. */
char *bn_tool_read_file(const char *path, size_t *len);

/* Reads whitespace- or comma-separated token ids from a file ("-" = stdin). */
long bn_tool_read_tokens(const char *path, bn_token **out);

/* Parses a non-negative int option value; exits with status 2 on error. */
int bn_tool_int_arg(const char *prog, const char *opt, const char *value);

/* Loads a model, printing the library's message on failure. */
bn_model *bn_tool_load_model(const char *prog, const char *path);

#endif
