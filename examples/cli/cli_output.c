#include "cli_output.h"

#include <errno.h>
#include <string.h>

#include "cli_options.h"

void bn_cli_output_init(bn_cli_output *o, FILE *f, int escape)
{
    o->f = f;
    o->escape = escape;
    o->held_c2 = 0;
    o->last_char = '\n';
    o->failed = 0;
}

/* C0 controls but newline and tab, and DEL: what a terminal acts on. */
static int is_c0(unsigned char b)
{
    return (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f;
}

static void put_escaped(bn_cli_output *o, const unsigned char *p, size_t n)
{
    size_t i = 0;
    if (o->held_c2 && n) {
        o->held_c2 = 0;
        if (p[0] >= 0x80 && p[0] <= 0x9f) {     /* U+0080..U+009F: C1 controls (CSI = U+009B) */
            fprintf(o->f, "\\u%04x", p[0]);
            i = 1;
        } else {
            fputc(0xc2, o->f);
        }
    }
    size_t run = i;     /* bytes written as they are go out in runs */
    for (; i < n; i++) {
        const unsigned char b = p[i];
        if (!is_c0(b) && b != 0xc2)
            continue;
        fwrite(p + run, 1, i - run, o->f);
        run = i + 1;
        if (b != 0xc2) {
            fprintf(o->f, "\\x%02x", b);
        } else if (i + 1 == n) {
            o->held_c2 = 1;
        } else if (p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
            fprintf(o->f, "\\u%04x", p[i + 1]);
            run = ++i + 1;
        } else {
            fputc(0xc2, o->f);
        }
    }
    fwrite(p + run, 1, n - run, o->f);
}

int bn_cli_output_write(bn_cli_output *o, const char *text, size_t len)
{
    if (o->failed)
        return -1;
    if (!len)
        return 0;
    if (o->escape)
        put_escaped(o, (const unsigned char *)text, len);
    else
        fwrite(text, 1, len, o->f);
    o->last_char = (unsigned char)text[len - 1];
    if (fflush(o->f) != 0 || ferror(o->f)) {
        /* said once, here, while errno is the write's; the exit handler
         * (tool_common.c) then finds the stream clean */
        fprintf(stderr, BN_CLI_PROG ": cannot write the output: %s\n", strerror(errno));
        clearerr(o->f);
        o->failed = 1;
    }
    return o->failed ? -1 : 0;
}

int bn_cli_output_end_line(bn_cli_output *o)
{
    if (o->held_c2) {           /* a lone 0xC2 ends the text: not a control */
        o->held_c2 = 0;
        fputc(0xc2, o->f);
    }
    return o->last_char == '\n' ? (o->failed ? -1 : 0) : bn_cli_output_write(o, "\n", 1);
}
