/*
 * The HTTP side (GNU libmicrohttpd): routes, API key, body limit, and the
 * answers, whole or streamed as server-sent events. One thread per
 * connection, so that a connection may wait for its generation; the
 * scheduler thread alone touches the context.
 */
#ifndef BN_SRV_HTTP_H
#define BN_SRV_HTTP_H

#include <stdatomic.h>

#include <bitnet/bitnet.h>

#include "metrics.h"
#include "scheduler.h"
#include "server_options.h"

typedef struct srv_http srv_http;

/* What the handlers serve; set up by main, read by every connection. */
typedef struct srv_state {
    const srv_options *opt;
    srv_metrics metrics;
    /* set once the model is loaded, before `ready` becomes 1 */
    bn_model *model;
    bn_chat_template *chat_template;
    srv_sched *sched;
    const char *alias;
    long long created;          /* Unix time the model was loaded */
    atomic_int ready;           /* 0 loading, 1 ready */
    atomic_int draining;        /* SIGTERM: no new generations */
    atomic_ullong next_id;      /* request ids */
    atomic_int answering;       /* generations whose answer is not all handed over yet */
} srv_state;

/* Starts listening (opt->host, opt->port). 0, or -1 with a message printed. */
int srv_http_start(srv_http **out, srv_state *st);
/* The port listened on (the chosen one when --port 0). */
int srv_http_port(const srv_http *h);
/* Stops accepting connections (the listening socket closes); running ones go on. */
void srv_http_quiesce(srv_http *h);
/* Waits at most `seconds` for the answers being sent, then closes every connection and frees. */
void srv_http_stop(srv_http **h, double seconds);

#endif
