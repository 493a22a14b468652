/* bitnet-server: an OpenAI-compatible HTTP server for ternary models, with
 * continuous batching. Built on libbitnet's public API only. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bitnet/bitnet.h>

#include "common/tool_common.h"
#include "http.h"
#include "scheduler.h"
#include "server_options.h"

#ifndef BN_DEFAULT_MODEL
#  define BN_DEFAULT_MODEL "models/default.gguf"
#endif
#ifndef BN_INSTALLED_MODEL
#  define BN_INSTALLED_MODEL BN_DEFAULT_MODEL
#endif

/* The template named by --chat-template, the model's own, or bitnet-2b4t
 * (the bundled model has none: it then gets bitnet-2b4t's plain-text turns). */
static bn_chat_template *choose_template(const srv_options *o, const bn_model *m)
{
    bn_chat_template *t = NULL;
    if (o->chat_template) {
        if (bn_chat_template_builtin(&t, o->chat_template) != BN_OK)
            fprintf(stderr, BN_SRV_PROG ": no chat template named '%s' (bitnet-2b4t, llama3)\n",
                    o->chat_template);
        return t;
    }
    if (bn_chat_template_for_model(&t, m) == BN_OK)
        return t;
    if (bn_chat_template_builtin(&t, "bitnet-2b4t") == BN_OK)
        fprintf(stderr, BN_SRV_PROG ": no chat template fits the model: chat uses bitnet-2b4t "
                "(choose another with --chat-template)\n");
    return t;
}

/* The model's id in the API: --alias, else the file name without .gguf. */
static const char *model_alias(const srv_options *o, const char *path, char *buf, size_t size)
{
    if (o->alias)
        return o->alias;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".gguf"))
        n -= 5;
    snprintf(buf, size, "%.*s", (int)n, base);
    return buf;
}

int main(int argc, char **argv)
{
    bn_tool_init(BN_SRV_PROG);
    srv_options o;
    int status = srv_options_parse(&o, argc, argv);
    if (status >= 0)
        return status;

    char found[PATH_MAX + 64];
    const char *path = o.model ? o.model
                               : bn_tool_default_model(BN_INSTALLED_MODEL, BN_DEFAULT_MODEL, found,
                                                       sizeof found);
    if (!path) {
        fprintf(stderr, BN_SRV_PROG ": no model given and no default model found (looked next to "
                "the executable, " BN_INSTALLED_MODEL " and " BN_DEFAULT_MODEL "): pass one with -m MODEL\n");
        srv_options_release(&o);
        return BN_SRV_FAILURE;
    }

    /* Signals are taken by sigwait() below; every thread started from here
     * inherits the mask. A client that goes away must not kill the process. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    static srv_state st;
    st.opt = &o;
    srv_metrics_init(&st.metrics, o.n_parallel);
    srv_http *http = NULL;
    /* listen first, so that /health answers "loading" while the model loads */
    if (srv_http_start(&http, &st)) {
        srv_metrics_destroy(&st.metrics);
        srv_options_release(&o);
        return BN_SRV_FAILURE;
    }
    printf("listening on http://%s%s%s:%d\n", strchr(o.host, ':') ? "[" : "", o.host,
           strchr(o.host, ':') ? "]" : "", srv_http_port(http));
    fflush(stdout);

    char alias[256], err[512];
    status = BN_SRV_FAILURE;
    double t0 = bn_tool_now();
    st.model = bn_tool_load_model(BN_SRV_PROG, path);
    if (st.model && (st.chat_template = choose_template(&o, st.model))) {
        srv_sched_params sp = { .n_parallel = o.n_parallel, .n_ctx = o.n_ctx, .n_batch = o.n_batch,
                                .n_threads = o.n_threads, .queue_max = o.queue, .n_draft = o.n_draft };
        if (srv_sched_new(&st.sched, st.model, &sp, &st.metrics, err, sizeof err) == BN_OK)
            status = BN_SRV_OK;
        else
            fprintf(stderr, BN_SRV_PROG ": %s\n", err);
    }
    if (status == BN_SRV_OK) {
        st.alias = model_alias(&o, path, alias, sizeof alias);
        st.created = (long long)time(NULL);
        atomic_store(&st.ready, 1);
        fprintf(stderr, BN_SRV_PROG ": model %s (%s, %s) loaded in %.2f s; %d sequences of %d "
                "tokens, chat template %s\n", st.alias, bn_model_arch_name(st.model),
                bn_model_weight_type_name(st.model), bn_tool_now() - t0, o.n_parallel,
                (int)srv_sched_n_ctx(st.sched), bn_chat_template_name(st.chat_template));
        int sig = 0;
        sigwait(&sigs, &sig);
        fprintf(stderr, BN_SRV_PROG ": %s: no new connections; waiting up to %d s for the running "
                "requests\n", sig == SIGTERM ? "SIGTERM" : "SIGINT", o.drain_timeout);
    }
    /* drain: stop listening, let running requests finish within the bound,
     * cancel the rest, then let the connections send their last bytes */
    atomic_store(&st.draining, 1);
    srv_http_quiesce(http);
    int cancelled = srv_sched_shutdown(st.sched, o.drain_timeout);
    srv_http_stop(&http, 5.0);
    if (status == BN_SRV_OK)
        fprintf(stderr, BN_SRV_PROG ": stopped (%d request%s cancelled)\n", cancelled,
                cancelled == 1 ? "" : "s");
    srv_sched_free(&st.sched);
    bn_chat_template_free(&st.chat_template);
    bn_model_free(&st.model);
    srv_metrics_destroy(&st.metrics);
    srv_options_release(&o);
    return status;
}
