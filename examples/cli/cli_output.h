/* Where bitnet-cli writes the model's text. A model's tokens are untrusted
 * bytes: on a terminal, control characters (ESC starts sequences that set the
 * window title, clear the screen, remap keys) are shown escaped; into a pipe
 * or a file the text goes byte for byte. */
#ifndef BN_CLI_OUTPUT_H
#define BN_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "common/tool_escape.h"

typedef struct bn_cli_output {
    FILE *f;
    int escape;         /* show control characters as \x1b, \u009b (tool_escape.h) */
    bn_tool_escaper esc;
    int last_char;      /* last byte of the text, '\n' at first */
    int failed;         /* a write failed (and was reported) */
} bn_cli_output;

void bn_cli_output_init(bn_cli_output *o, FILE *f, int escape);

/* Writes and flushes text. Returns 0, or -1 once a write has failed (the
 * first failure prints why on stderr). */
int bn_cli_output_write(bn_cli_output *o, const char *text, size_t len);

/* Ends the current line when the text did not. Returns 0 or -1. */
int bn_cli_output_end_line(bn_cli_output *o);

#endif
