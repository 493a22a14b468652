/* bitnet-cli's command line: the options, their defaults, and parsing. */
#ifndef BN_CLI_OPTIONS_H
#define BN_CLI_OPTIONS_H

#include <stddef.h>

#include <bitnet/bitnet.h>

#define BN_CLI_PROG "bitnet-cli"

/* Exit statuses (and BN_CLI_INTERRUPTED, 130, in cli_signal.h). */
enum { BN_CLI_OK = 0, BN_CLI_FAILURE = 1, BN_CLI_USAGE = 2 };

typedef struct bn_cli_options {
    const char *model;          /* -m; NULL: the default model */
    const char *prompt;         /* -p */
    const char *prompt_file;    /* -f ("-" = stdin) */
    const char *system;         /* --system */
    const char *chat_template;  /* --chat-template; NULL: chosen for the model */
    int chat;                   /* --chat */
    int raw_output;             /* --raw-output: control characters unescaped on a terminal */
    int n_predict;              /* -n; -1: until end of generation or a full context */
    int n_threads;              /* -t; 0: all CPUs */
    int n_ctx;                  /* -c; 0: min(4096, the model's training context) */
    int n_batch;                /* -b */
    int n_draft;                /* --draft: tokens drafted per pass (speculative decoding); 0 = off */
    int draft_set;              /* --draft was given */
    const char *draft_model;    /* --draft-model: drafts from this model; NULL: prompt lookup */
    bn_sampler_params sampling;
    const char **stop;          /* --stop, repeatable */
    size_t n_stop;
} bn_cli_options;

/*
 * Parses argv into *o. Returns -1 to go on, or an exit status: 0 after
 * --help or --version, BN_CLI_USAGE after printing what was wrong.
 * o->stop is malloc'd: free it with bn_cli_options_release().
 */
int bn_cli_parse(bn_cli_options *o, int argc, char **argv);
void bn_cli_options_release(bn_cli_options *o);

#endif
