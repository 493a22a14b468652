/* bitnet-cli: generate text from a prompt, or chat, with a ternary model;
 * the text is streamed as it comes. Built on the public API only. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_options.h"
#include "cli/cli_session.h"
#include "cli/cli_signal.h"
#include "common/tool_common.h"
#include "common/tool_os.h"

#ifndef BN_DEFAULT_MODEL
#  define BN_DEFAULT_MODEL "models/default.gguf"
#endif
#ifndef BN_INSTALLED_MODEL
#  define BN_INSTALLED_MODEL BN_DEFAULT_MODEL
#endif
int main(int argc, char **argv)
{
    bn_tool_init(BN_CLI_PROG);
    bn_cli_options o;
    int status = bn_cli_parse(&o, argc, argv);
    if (status >= 0)
        return status;

    char found[PATH_MAX + 64];
    const char *path = o.model ? o.model
                               : bn_tool_default_model(BN_INSTALLED_MODEL, BN_DEFAULT_MODEL, found, sizeof found);
    if (!path) {
        fprintf(stderr, BN_CLI_PROG ": no model given and no default model found (looked next to the "
                "executable, " BN_INSTALLED_MODEL " and " BN_DEFAULT_MODEL "): pass one with -m MODEL\n");
        bn_cli_options_release(&o);
        return BN_CLI_FAILURE;
    }
    char *prompt = NULL;
    size_t prompt_len = 0;
    if (o.prompt_file) {
        errno = 0;
        if (!(prompt = bn_tool_read_file(o.prompt_file, &prompt_len))) {
            fprintf(stderr, BN_CLI_PROG ": cannot read the prompt file %s: %s\n", o.prompt_file,
                    strerror(errno ? errno : EIO));
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
