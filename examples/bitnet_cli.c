/* bitnet-cli: generate text from a prompt, or chat, with a ternary model;
 * the text is streamed as it comes. Built on the public API only. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_options.h"
#include "cli/cli_session.h"
#include "cli/cli_signal.h"
#include "common/tool_common.h"

#ifndef BN_DEFAULT_MODEL
#  define BN_DEFAULT_MODEL "models/default.gguf"
#endif
#ifndef BN_INSTALLED_MODEL
#  define BN_INSTALLED_MODEL BN_DEFAULT_MODEL
#endif
/* Where the default model sits relative to an installed executable. */
#define BN_RELATIVE_MODEL "../share/libbitnet/models/default.gguf"

static int readable(const char *path) { return access(path, R_OK) == 0; }

/* The default model: next to the installed executable, where it was meant
 * to be installed, or in the source tree (for the build tree). */
static const char *default_model(char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            int k = snprintf(buf, size, "%s/%s", exe, BN_RELATIVE_MODEL);
            if (k > 0 && (size_t)k < size && readable(buf))
                return buf;
        }
    }
    if (readable(BN_INSTALLED_MODEL))
        return BN_INSTALLED_MODEL;
    if (readable(BN_DEFAULT_MODEL))
        return BN_DEFAULT_MODEL;
    return NULL;
}

/* Reads a whole file ("-" = stdin) as the prompt. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, BN_CLI_PROG ": cannot open the prompt file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *b = realloc(buf, 2 * cap);
        if (!b) {
            free(buf);
            buf = NULL;
        }
        buf = b;
        cap *= 2;
    }
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf || err) {
        fprintf(stderr, BN_CLI_PROG ": cannot read the prompt file %s\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    bn_tool_init(BN_CLI_PROG);
    bn_cli_options o;
    int status = bn_cli_parse(&o, argc, argv);
    if (status >= 0)
        return status;

    char found[PATH_MAX + 64];
    const char *path = o.model ? o.model : default_model(found, sizeof found);
    if (!path) {
        fprintf(stderr, BN_CLI_PROG ": no model given and no default model found (looked for %s, "
                BN_INSTALLED_MODEL " and " BN_DEFAULT_MODEL "): pass one with -m MODEL\n",
                "<executable's directory>/" BN_RELATIVE_MODEL);
        bn_cli_options_release(&o);
        return BN_CLI_FAILURE;
    }
    char *prompt = NULL;
    size_t prompt_len = 0;
    if (o.prompt_file) {
        if (!(prompt = read_all(o.prompt_file, &prompt_len))) {
            bn_cli_options_release(&o);
            return BN_CLI_FAILURE;
        }
    } else if (o.prompt) {
        prompt_len = strlen(o.prompt);
    }
    const char *text = prompt ? prompt : o.prompt;

    bn_cli_signal_init();
    bn_cli_session s;
    status = bn_cli_session_open(&s, &o, path);
    if (!status)
        status = o.chat ? bn_cli_chat(&s, text, stdin) : bn_cli_generate(&s, text, prompt_len);
    if (s.model)
        bn_cli_summary(&s);
    bn_cli_session_close(&s);
    free(prompt);
    bn_cli_options_release(&o);
    return status;
}
