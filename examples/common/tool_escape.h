/* Text from a model file or a model's output is untrusted: on a terminal its
 * control characters would be acted on (ESC sequences retitle the window,
 * clear the screen, remap keys). These write such text with C0 controls but
 * newline and tab, DEL, and the C1 controls U+0080..U+009F shown as \x1b or
 * \u009b. Shared by the tools (bitnet-cli's text, messages, bitnet-info). */
#ifndef BN_TOOL_ESCAPE_H
#define BN_TOOL_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* For text that comes in pieces: a C1 control's two bytes may be split. */
typedef struct bn_tool_escaper {
    int held_c2;        /* a 0xC2 byte kept back: with the next it may be a C1 control */
} bn_tool_escaper;

void bn_tool_escape_write(bn_tool_escaper *e, FILE *f, const char *text, size_t n);

/* Writes a byte kept back at the end of the text. */
void bn_tool_escape_end(bn_tool_escaper *e, FILE *f);

/* fputs, escaped when f is a terminal, as it is into pipes and files. */
void bn_tool_fputs_untrusted(const char *s, FILE *f);

#endif
