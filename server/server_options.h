/* bitnet-server's command line: the options, their defaults, and parsing. */
#ifndef BN_SERVER_OPTIONS_H
#define BN_SERVER_OPTIONS_H

#include <stddef.h>

#define BN_SRV_PROG "bitnet-server"

/* Exit statuses. */
enum { BN_SRV_OK = 0, BN_SRV_FAILURE = 1, BN_SRV_USAGE = 2 };

typedef struct srv_options {
    const char *model;          /* -m; NULL: the bundled model */
    const char *host;           /* --host (default 127.0.0.1) */
    int port;                   /* --port; 0 = a free port, printed (default 8080) */
    int n_parallel;             /* -np: sequences decoded together (default 4) */
    int n_ctx;                  /* -c: tokens per sequence; 0 = min(4096, training) */
    int n_batch;                /* -b: tokens per forward pass (default 512) */
    int n_draft;                /* --draft: most drafted tokens per sequence and pass; 0 = off */
    int n_threads;              /* -t; 0 = all CPUs */
    int queue;                  /* --queue: requests waiting for a sequence (default 64) */
    int timeout;                /* --timeout: seconds one request may take; 0 = none */
    int idle_timeout;           /* --idle-timeout: seconds a silent connection stays */
    int drain_timeout;          /* --drain-timeout: seconds SIGTERM waits for requests */
    size_t max_body;            /* --max-body: bytes of a request body */
    const char *api_key;        /* --api-key or the first line of --api-key-file */
    char *api_key_owned;        /* what --api-key-file read (freed by release) */
    const char *alias;          /* --alias; NULL: the model file's name */
    const char *chat_template;  /* --chat-template; NULL: the model's, else bitnet-2b4t */
    int verbose;                /* -v: one log line per request */
} srv_options;

/*
 * Parses argv into *o. Returns -1 to go on, or an exit status: 0 after
 * --help or --version, BN_SRV_USAGE or BN_SRV_FAILURE after printing what
 * was wrong. Free with srv_options_release().
 */
int srv_options_parse(srv_options *o, int argc, char **argv);
void srv_options_release(srv_options *o);

#endif
