#include "cli_output.h"

#include <errno.h>
#include <string.h>

#include "cli_options.h"
#include "common/tool_os.h"

void bn_cli_output_init(bn_cli_output *o, FILE *f, int escape)
{
    o->f = f;
    o->escape = escape;
    o->esc.held_c2 = 0;
    o->last_char = '\n';
    o->failed = 0;
}

int bn_cli_output_write(bn_cli_output *o, const char *text, size_t len)
{
    if (o->failed)
        return -1;
    if (!len)
        return 0;
    bn_tool_hold_sigint(1);         /* Ctrl-C waits for the write: no EINTR */
    if (o->escape)
        bn_tool_escape_write(&o->esc, o->f, text, len);
    else
        fwrite(text, 1, len, o->f);
    o->last_char = (unsigned char)text[len - 1];
    const int bad = fflush(o->f) != 0 || ferror(o->f);
    bn_tool_hold_sigint(0);
    if (bad) {
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
    bn_tool_escape_end(&o->esc, o->f);
    return o->last_char == '\n' ? (o->failed ? -1 : 0) : bn_cli_output_write(o, "\n", 1);
}
