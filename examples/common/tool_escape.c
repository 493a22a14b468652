#include "tool_escape.h"

#include <string.h>
#include <unistd.h>

/* C0 controls but newline and tab, and DEL: what a terminal acts on. */
static int is_c0(unsigned char b)
{
    return (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f;
}

static int is_c1_tail(unsigned char b)
{
    return b >= 0x80 && b <= 0x9f;  /* after 0xC2: U+0080..U+009F (CSI = U+009B) */
}

void bn_tool_escape_write(bn_tool_escaper *e, FILE *f, const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    if (e->held_c2 && n) {
        e->held_c2 = 0;
        if (is_c1_tail(p[0])) {
            fprintf(f, "\\u%04x", p[0]);
            i = 1;
        } else {
            fputc(0xc2, f);
        }
    }
    size_t run = i;     /* bytes written as they are go out in runs */
    for (; i < n; i++) {
        const unsigned char b = p[i];
        if (!is_c0(b) && b != 0xc2)
            continue;
        fwrite(p + run, 1, i - run, f);
        run = i + 1;
        if (b != 0xc2) {
            fprintf(f, "\\x%02x", b);
        } else if (i + 1 == n) {
            e->held_c2 = 1;
        } else if (is_c1_tail(p[i + 1])) {
            fprintf(f, "\\u%04x", p[i + 1]);
            run = ++i + 1;
        } else {
            fputc(0xc2, f);
        }
    }
    fwrite(p + run, 1, n - run, f);
}

void bn_tool_escape_end(bn_tool_escaper *e, FILE *f)
{
    if (e->held_c2) {   /* a lone 0xC2 ends the text: not a control */
        e->held_c2 = 0;
        fputc(0xc2, f);
    }
}

void bn_tool_fputs_untrusted(const char *s, FILE *f)
{
    if (!isatty(fileno(f))) {
        fputs(s, f);
        return;
    }
    bn_tool_escaper e = { 0 };
    bn_tool_escape_write(&e, f, s, strlen(s));
    bn_tool_escape_end(&e, f);
}
