#include "http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/tool_common.h"
#include "request.h"
#include "response.h"

struct srv_http {
    struct MHD_Daemon *daemon;
    srv_state *st;
    int port;
};

/* Per request: where it goes and its body so far. */
typedef struct conn {
    srv_endpoint ep;
    srv_kind kind;
    int is_generation;
    srv_buf body;
    int too_big;
    double t_start;
} conn;

/* A streamed answer, read by libmicrohttpd from its connection's thread. */
typedef struct stream {
    srv_state *st;
    srv_job *job;
    int fd;                     /* the client's socket, watched for hang-ups */
    srv_answer a;               /* id, model, kind, ... of every chunk */
    char id[48];
    int include_usage;
    size_t seen;                /* answer bytes already sent as chunks */
    srv_buf out;                /* framed events not yet handed to libmicrohttpd */
    size_t out_pos;
    int first_sent, ended;
} stream;

/* ---- answering ---------------------------------------------------------------------- */

static int respond(srv_state *st, struct MHD_Connection *c, srv_endpoint ep, int status,
                   const char *type, const char *body, size_t len, int retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (retry_after > 0) {
        char s[16];
        snprintf(s, sizeof s, "%d", retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, s);
    }
    if (status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
                                ep == SRV_EP_MODELS || ep == SRV_EP_HEALTH || ep == SRV_EP_METRICS
                                    ? "GET" : "POST");
    if (atomic_load(&st->draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    srv_metrics_request(&st->metrics, ep, status);
    return rc;
}

static int respond_json(srv_state *st, struct MHD_Connection *c, srv_endpoint ep, int status,
                        char *json, size_t len)
{
    if (!json) {
        static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":500}}";
        return respond(st, c, ep, 500, "application/json", oom, sizeof oom - 1, 0);
    }
    int rc = respond(st, c, ep, status, "application/json", json, len, 0);
    free(json);
    return rc;
}

static int respond_error(srv_state *st, struct MHD_Connection *c, srv_endpoint ep,
                         const srv_error *e)
{
    size_t len = 0;
    char *json = srv_json_error(e, &len);
    if (!json)
        return respond_json(st, c, ep, 500, NULL, 0);
    int retry = e->status == 429 || e->status == 503 ? 1 : 0;
    int rc = respond(st, c, ep, e->status, "application/json", json, len, retry);
    free(json);
    return rc;
}

static int fail(srv_state *st, struct MHD_Connection *c, srv_endpoint ep, int status,
                const char *param, const char *msg)
{
    srv_error e;
    srv_error_set(&e, status, param, "%s", msg);
    return respond_error(st, c, ep, &e);
}

/* ---- the client's socket ---------------------------------------------------------------- */

static int client_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

/* 1 when the client closed its side or the connection broke. */
static int client_gone(int fd)
{
    if (fd < 0)
        return 0;
    struct pollfd p = { .fd = fd, .events = POLLRDHUP };
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* ---- generation ------------------------------------------------------------------------- */

static int tokenize_prompt(srv_state *st, const srv_request *r, bn_token **out, int32_t *n,
                           srv_error *e)
{
    size_t cap = 64 + (r->kind == SRV_CHAT ? 0 : r->text_len + 8), need = 0;
    if (r->kind == SRV_CHAT)
        for (size_t i = 0; i < r->n_messages; i++)
            cap += strlen(r->contents[i]) + strlen(r->roles[i]) + 16;
    if (r->kind == SRV_COMPLETION && r->has_tokens) {
        cap = r->n_tokens;
    }
    bn_token *t = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        free(t);
        t = malloc((cap ? cap : 1) * sizeof *t);
        if (!t)
            return srv_error_set(e, 500, NULL, "out of memory");
        int rc;
        if (r->kind == SRV_CHAT) {
            rc = bn_chat_tokenize(st->chat_template, st->model, (const char *const *)r->roles,
                                  (const char *const *)r->contents, r->n_messages, 1, t, cap, &need);
        } else if (r->has_tokens) {
            memcpy(t, r->tokens, r->n_tokens * sizeof *t);
            need = r->n_tokens;
            rc = BN_OK;
        } else {
            /* the prompt is the client's text: special-token spellings stay text */
            rc = bn_tokenize(st->model, r->text, r->text_len, t, cap, BN_TOKENIZE_ADD_SPECIAL, &need);
        }
        if (rc == BN_OK) {
            *out = t;
            *n = (int32_t)need;
            return 0;
        }
        if (rc != BN_E_RANGE) {
            free(t);
            return srv_error_set(e, rc == BN_E_NOMEM ? 500 : 400,
                                 r->kind == SRV_CHAT ? "messages" : "prompt",
                                 "cannot tokenize the %s: %s", r->kind == SRV_CHAT ? "messages" : "prompt",
                                 bn_last_error()[0] ? bn_last_error() : bn_strerror(rc));
        }
        cap = need;
    }
    free(t);
    return srv_error_set(e, 500, NULL, "the tokenizer disagrees with itself about the prompt's length");
}

static uint64_t fresh_seed(srv_state *st)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec
                 ^ (atomic_fetch_add(&st->next_id, 1) << 32);
    x ^= x >> 31;
    return x * 0xBF58476D1CE4E5B9ull;
}

/* A job from a parsed request, checked against the context. 0 or an error status. */
static int make_job(srv_state *st, srv_request *r, srv_job **out, srv_error *e)
{
    bn_token *tokens = NULL;
    int32_t n = 0;
    int rc = tokenize_prompt(st, r, &tokens, &n, e);
    if (rc)
        return rc;
    int32_t n_ctx = srv_sched_n_ctx(st->sched);
    const char *what = r->kind == SRV_CHAT ? "conversation" : "prompt";
    const char *param = r->kind == SRV_CHAT ? "messages" : "prompt";
    if (n == 0) {
        free(tokens);
        return srv_error_set(e, 400, param, "the %s gives no tokens", what);
    }
    if (n >= n_ctx) {
        free(tokens);
        return srv_error_set(e, 400, param, "the %s has %d tokens, more than a sequence's "
                             "context of %d tokens leaves room for (--ctx-size)", what, (int)n, (int)n_ctx);
    }
    if (r->max_tokens > 0 && (int64_t)n + r->max_tokens > n_ctx) {
        free(tokens);
        return srv_error_set(e, 400, "max_tokens", "the %s has %d tokens and max_tokens is %d: "
                             "more than a sequence's context of %d tokens", what, (int)n,
                             (int)r->max_tokens, (int)n_ctx);
    }
    srv_job *j = srv_job_new();
    if (!j) {
        free(tokens);
        return srv_error_set(e, 500, NULL, "out of memory");
    }
    j->prompt = tokens;
    j->n_prompt = n;
    j->max_tokens = r->max_tokens;
    j->ignore_eos = r->ignore_eos;
    j->sampling = r->sampling;
    if (!r->has_seed)
        j->sampling.seed = fresh_seed(st);
    for (size_t i = 0; i < r->n_stop; i++) {
        j->stop[i] = r->stop[i];
        r->stop[i] = NULL;
    }
    j->n_stop = r->n_stop;
    r->n_stop = 0;
    j->t_arrival = bn_tool_now();
    j->deadline = st->opt->timeout > 0 ? j->t_arrival + st->opt->timeout : 0;
    *out = j;
    return 0;
}

static void answer_init(srv_state *st, srv_answer *a, char *id, size_t id_size, srv_kind kind)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    snprintf(id, id_size, "%s-%llx%06llx", kind == SRV_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)time(NULL), (unsigned long long)atomic_fetch_add(&st->next_id, 1));
    a->id = id;
    a->created = (long long)time(NULL);
    a->model = st->alias;
}

static void answer_counts(srv_answer *a, srv_job *j)
{
    a->prompt_tokens = j->n_prompt;
    a->completion_tokens = j->n_generated;
    a->cached_tokens = j->n_cached;
}

/* Moves new text (and the end) of the job into framed events. 0 or -1 (out of memory). */
static int stream_fill(stream *s)
{
    srv_job *j = s->job;
    pthread_mutex_lock(&j->mu);
    size_t n = j->text.len - s->seen;
    char *text = n ? malloc(n) : NULL;
    if (text)
        memcpy(text, j->text.data + s->seen, n);
    int done = j->done, status = j->error_status;
    const char *finish = j->finish;
    char msg[256];
    snprintf(msg, sizeof msg, "%s", j->error_msg);
    answer_counts(&s->a, j);
    pthread_mutex_unlock(&j->mu);
    if (n && !text)
        return -1;
    s->seen += n;
    int rc = 0;
    size_t len;
    char *json;
    if (!s->first_sent || n) {
        s->a.first = !s->first_sent;
        s->a.text = text;
        s->a.len = n;
        s->a.finish = NULL;
        json = srv_json_chunk(&s->a, &len);
        rc |= !json || srv_sse_event(&s->out, json, len);
        free(json);
        s->first_sent = 1;
    }
    free(text);
    if (done) {
        if (status) {
            srv_error e;
            srv_error_set(&e, status, NULL, "%s", msg);
            json = srv_json_error(&e, &len);
        } else {
            s->a.first = 0;
            s->a.text = NULL;
            s->a.len = 0;
            s->a.finish = finish;
            json = srv_json_chunk(&s->a, &len);
        }
        rc |= !json || srv_sse_event(&s->out, json, len);
        free(json);
        if (!status && s->include_usage) {
            json = srv_json_usage_chunk(&s->a, &len);
            rc |= !json || srv_sse_event(&s->out, json, len);
            free(json);
        }
        rc |= srv_buf_append(&s->out, "data: [DONE]\n\n", 14);
        s->ended = 1;
    }
    return rc ? -1 : 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *s = cls;
    (void)pos;
    for (;;) {
        if (s->out_pos < s->out.len) {
            size_t n = s->out.len - s->out_pos;
            if (n > max)
                n = max;
            memcpy(buf, s->out.data + s->out_pos, n);
            s->out_pos += n;
            if (s->out_pos == s->out.len)
                s->out.len = s->out_pos = 0;
            return (ssize_t)n;
        }
        if (s->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (srv_job_wait(s->job, s->seen, !s->first_sent, 0.05)) {
            if (stream_fill(s))
                return MHD_CONTENT_READER_END_WITH_ERROR;
        } else if (client_gone(s->fd)) {
            srv_job_cancel(s->job);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void stream_free(void *cls)
{
    stream *s = cls;
    /* a stream that ends before its job (the client went away): free the sequence */
    srv_job_cancel(s->job);
    srv_job_unref(s->job);
    srv_buf_free(&s->out);
    atomic_fetch_sub(&s->st->answering, 1);
    free(s);
}

static int serve_stream(srv_state *st, struct MHD_Connection *c, conn *cn, srv_job *j,
                        const srv_request *r)
{
    stream *s = calloc(1, sizeof *s);
    if (!s) {
        srv_job_cancel(j);
        srv_job_unref(j);
        return respond_json(st, c, cn->ep, 500, NULL, 0);
    }
    atomic_fetch_add(&st->answering, 1);
    s->st = st;
    s->job = j;
    s->fd = client_fd(c);
    s->include_usage = r->include_usage;
    answer_init(st, &s->a, s->id, sizeof s->id, r->kind);
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                                                  stream_read, s, stream_free);
    if (!resp) {
        stream_free(s);
        return respond_json(st, c, cn->ep, 500, NULL, 0);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    /* nginx: pass each event on as it comes */
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    srv_metrics_request(&st->metrics, cn->ep, 200);
    return rc;
}

static int serve_whole(srv_state *st, struct MHD_Connection *c, conn *cn, srv_job *j,
                       const srv_request *r)
{
    int fd = client_fd(c);
    for (;;) {
        srv_job_wait(j, SIZE_MAX - 1, 0, 0.05);
        pthread_mutex_lock(&j->mu);
        int done = j->done;
        pthread_mutex_unlock(&j->mu);
        if (done)
            break;
        if (client_gone(fd)) {
            srv_job_cancel(j);
            srv_job_unref(j);
            srv_metrics_request(&st->metrics, cn->ep, 499);
            return MHD_NO;     /* close the connection: nobody reads it */
        }
    }
    srv_answer a;
    char id[48];
    answer_init(st, &a, id, sizeof id, r->kind);
    int rc;
    if (j->error_status) {
        srv_error e;
        srv_error_set(&e, j->error_status, NULL, "%s", j->error_msg);
        rc = respond_error(st, c, cn->ep, &e);
    } else {
        answer_counts(&a, j);
        a.text = j->text.data;
        a.len = j->text.len;
        a.finish = j->finish;
        size_t len = 0;
        char *json = srv_json_answer(&a, &len);
        rc = respond_json(st, c, cn->ep, 200, json, len);
    }
    srv_job_unref(j);
    return rc;
}

static int serve_generation(srv_state *st, struct MHD_Connection *c, conn *cn, srv_request *r)
{
    srv_error e;
    srv_job *j = NULL;
    if (make_job(st, r, &j, &e))
        return respond_error(st, c, cn->ep, &e);
    if (srv_sched_submit(st->sched, j, &e)) {
        srv_job_unref(j);
        return respond_error(st, c, cn->ep, &e);
    }
    if (r->stream)
        return serve_stream(st, c, cn, j, r);
    atomic_fetch_add(&st->answering, 1);
    int rc = serve_whole(st, c, cn, j, r);
    atomic_fetch_sub(&st->answering, 1);
    return rc;
}

/* ---- the other endpoints ---------------------------------------------------------------- */

static int serve_tokenize(srv_state *st, struct MHD_Connection *c, conn *cn, srv_request *r)
{
    uint32_t flags = (r->add_special ? BN_TOKENIZE_ADD_SPECIAL : 0)
                     | (r->parse_special ? BN_TOKENIZE_PARSE_SPECIAL : 0);
    size_t need = 0, cap = r->text_len + 8;
    bn_token *t = malloc(cap * sizeof *t);
    if (!t)
        return respond_json(st, c, cn->ep, 500, NULL, 0);
    int rc = bn_tokenize(st->model, r->text, r->text_len, t, cap, flags, &need);
    if (rc == BN_E_RANGE) {
        bn_token *t2 = realloc(t, (need ? need : 1) * sizeof *t);
        if (!t2) {
            free(t);
            return respond_json(st, c, cn->ep, 500, NULL, 0);
        }
        t = t2;
        rc = bn_tokenize(st->model, r->text, r->text_len, t, need, flags, &need);
    }
    if (rc) {
        free(t);
        return fail(st, c, cn->ep, 400, "content", bn_last_error());
    }
    size_t len = 0;
    char *json = srv_json_tokens(st->model, t, need, r->with_pieces, &len);
    free(t);
    return respond_json(st, c, cn->ep, 200, json, len);
}

static int serve_detokenize(srv_state *st, struct MHD_Connection *c, conn *cn, srv_request *r)
{
    size_t need = 0, cap = 16 * r->n_tokens + 16;
    char *text = malloc(cap);
    if (!text)
        return respond_json(st, c, cn->ep, 500, NULL, 0);
    int rc = bn_detokenize(st->model, r->tokens, r->n_tokens, text, cap, 0, &need);
    if (rc == BN_E_RANGE && need > cap) {
        char *t2 = realloc(text, need);
        if (!t2) {
            free(text);
            return respond_json(st, c, cn->ep, 500, NULL, 0);
        }
        text = t2;
        rc = bn_detokenize(st->model, r->tokens, r->n_tokens, text, need, 0, &need);
    }
    if (rc) {
        free(text);
        return fail(st, c, cn->ep, 400, "tokens", bn_last_error());
    }
    size_t len = 0;
    char *json = srv_json_text("content", text, need, &len);
    free(text);
    return respond_json(st, c, cn->ep, 200, json, len);
}

static int serve_metrics(srv_state *st, struct MHD_Connection *c, conn *cn)
{
    srv_buf b = { 0 };
    if (srv_metrics_write(&st->metrics, &b)) {
        srv_buf_free(&b);
        return respond_json(st, c, cn->ep, 500, NULL, 0);
    }
    int rc = respond(st, c, cn->ep, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len, 0);
    srv_buf_free(&b);
    return rc;
}

static int serve_health(srv_state *st, struct MHD_Connection *c, conn *cn)
{
    const char *status = atomic_load(&st->draining) ? "shutting down"
                         : atomic_load(&st->ready) ? "ok" : "loading";
    size_t len = 0;
    char *json = srv_json_text("status", status, strlen(status), &len);
    int code = !strcmp(status, "ok") ? 200 : 503;
    if (!json)
        return respond_json(st, c, cn->ep, 500, NULL, 0);
    int rc = respond(st, c, cn->ep, code, "application/json", json, len, code == 503 ? 1 : 0);
    free(json);
    return rc;
}

/* ---- routing ----------------------------------------------------------------------------- */

typedef struct route {
    const char *path;
    const char *method;
    srv_endpoint ep;
    int kind;           /* srv_kind for POST bodies, -1 for GET */
} route;

static const route routes[] = {
    { "/v1/chat/completions", "POST", SRV_EP_CHAT, SRV_CHAT },
    { "/chat/completions", "POST", SRV_EP_CHAT, SRV_CHAT },
    { "/v1/completions", "POST", SRV_EP_COMPLETION, SRV_COMPLETION },
    { "/completions", "POST", SRV_EP_COMPLETION, SRV_COMPLETION },
    { "/tokenize", "POST", SRV_EP_TOKENIZE, SRV_TOKENIZE },
    { "/detokenize", "POST", SRV_EP_DETOKENIZE, SRV_DETOKENIZE },
    { "/v1/models", "GET", SRV_EP_MODELS, -1 },
    { "/models", "GET", SRV_EP_MODELS, -1 },
    { "/health", "GET", SRV_EP_HEALTH, -1 },
    { "/metrics", "GET", SRV_EP_METRICS, -1 },
};

/* The route of url ("/v1/models/ID" counts as /v1/models), or NULL. */
static const route *find_route(const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(url, routes[i].path))
            return &routes[i];
    if (!strncmp(url, "/v1/models/", 11))
        return &routes[6];
    return NULL;
}

/* Constant-time comparison of the API key. */
static int key_ok(const char *given, const char *key)
{
    size_t gl = strlen(given), kl = strlen(key);
    unsigned diff = gl != kl;
    for (size_t i = 0; i < kl; i++)
        diff |= (unsigned)(key[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}

static int authorized(srv_state *st, struct MHD_Connection *c)
{
    if (!st->opt->api_key)
        return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7))
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    return key_ok(h, st->opt->api_key);
}

/* The first call for a request: route, method, key, announced length. */
static int first_call(srv_state *st, struct MHD_Connection *c, conn *cn, const char *url,
                      const char *method)
{
    const route *r = find_route(url);
    cn->ep = r ? r->ep : SRV_EP_OTHER;
    if (!r) {
        char msg[160];
        snprintf(msg, sizeof msg, "no such endpoint: %.100s", url);
        return fail(st, c, cn->ep, 404, NULL, msg);
    }
    if (strcmp(method, r->method) && !(r->kind < 0 && !strcmp(method, "HEAD")))
        return fail(st, c, cn->ep, 405, NULL, "method not allowed");
    cn->kind = r->kind < 0 ? SRV_CHAT : (srv_kind)r->kind;
    cn->is_generation = r->kind == SRV_CHAT || r->kind == SRV_COMPLETION;
    if (cn->ep != SRV_EP_HEALTH && !authorized(st, c))
        return fail(st, c, cn->ep, 401, NULL, "missing or wrong API key (Authorization: Bearer KEY)");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > st->opt->max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body is larger than %zu bytes (--max-body)", st->opt->max_body);
        return fail(st, c, cn->ep, 413, NULL, msg);
    }
    return -1;
}

static int dispatch(srv_state *st, struct MHD_Connection *c, conn *cn, const char *url)
{
    if (cn->ep == SRV_EP_HEALTH)
        return serve_health(st, c, cn);
    if (cn->ep == SRV_EP_METRICS)
        return serve_metrics(st, c, cn);
    if (!atomic_load(&st->ready))
        return fail(st, c, cn->ep, 503, NULL, "the model is loading");
    if (cn->ep == SRV_EP_MODELS) {
        size_t len = 0;
        char *json;
        if (!strncmp(url, "/v1/models/", 11)) {
            if (strcmp(url + 11, st->alias))
                return fail(st, c, cn->ep, 404, "model", "no such model");
            json = srv_json_model(st->alias, st->created, st->model, &len);
        } else {
            json = srv_json_models(st->alias, st->created, st->model, &len);
        }
        return respond_json(st, c, cn->ep, 200, json, len);
    }
    if (cn->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body is larger than %zu bytes (--max-body)", st->opt->max_body);
        return fail(st, c, cn->ep, 413, NULL, msg);
    }
    if (cn->is_generation && atomic_load(&st->draining))
        return fail(st, c, cn->ep, 503, NULL, "the server is shutting down");
    srv_request r;
    srv_error e;
    if (srv_request_parse(&r, cn->kind, cn->body.data ? cn->body.data : "", cn->body.len,
                          bn_model_n_vocab(st->model), &e))
        return respond_error(st, c, cn->ep, &e);
    int rc;
    switch (cn->kind) {
    case SRV_TOKENIZE: rc = serve_tokenize(st, c, cn, &r); break;
    case SRV_DETOKENIZE: rc = serve_detokenize(st, c, cn, &r); break;
    default: rc = serve_generation(st, c, cn, &r); break;
    }
    srv_request_release(&r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    srv_state *st = cls;
    conn *cn = *con_cls;
    (void)version;
    if (!cn) {
        if (!(cn = calloc(1, sizeof *cn)))
            return MHD_NO;
        cn->t_start = bn_tool_now();
        *con_cls = cn;
        int rc = first_call(st, c, cn, url, method);
        return rc < 0 ? MHD_YES : (enum MHD_Result)rc;
    }
    if (*upload_data_size) {
        if (cn->too_big || cn->body.len + *upload_data_size > st->opt->max_body)
            cn->too_big = 1;
        else if (srv_buf_append(&cn->body, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return (enum MHD_Result)dispatch(st, c, cn, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    srv_state *st = cls;
    conn *cn = *con_cls;
    (void)c;
    if (!cn)
        return;
    if (st->opt->verbose)
        fprintf(stderr, BN_SRV_PROG ": request to endpoint %d ended (%s) after %.3f s\n", (int)cn->ep,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "ok" : "closed early",
                bn_tool_now() - cn->t_start);
    srv_buf_free(&cn->body);
    free(cn);
    *con_cls = NULL;
}

/* ---- the daemon -------------------------------------------------------------------------- */

/* libmicrohttpd's own messages (a client that hung up mid-answer, ...): with -v only. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    const srv_state *st = cls;
    if (!st->opt->verbose)
        return;
    fputs(BN_SRV_PROG ": libmicrohttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

int srv_http_start(srv_http **out, srv_state *st)
{
    *out = NULL;
    const srv_options *o = st->opt;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    int gai = getaddrinfo(o->host, port, &hints, &ai);
    if (gai) {
        fprintf(stderr, BN_SRV_PROG ": cannot use the address %s: %s\n", o->host, gai_strerror(gai));
        return -1;
    }
    srv_http *h = calloc(1, sizeof *h);
    if (!h) {
        freeaddrinfo(ai);
        return -1;
    }
    h->st = st;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC
                     | MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    unsigned limit = (unsigned)(o->n_parallel + o->queue + 64);
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, st,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout,
                                 MHD_OPTION_CONNECTION_LIMIT, limit,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, st,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, st,
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        fprintf(stderr, BN_SRV_PROG ": cannot listen on %s port %d (in use, or not an address of "
                "this machine?)\n", o->host, o->port);
        free(h);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : o->port;
    *out = h;
    return 0;
}

int srv_http_port(const srv_http *h)
{
    return h->port;
}

void srv_http_quiesce(srv_http *h)
{
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void srv_http_stop(srv_http **hp, double seconds)
{
    srv_http *h = *hp;
    if (!h)
        return;
    double end = bn_tool_now() + seconds;
    /* idle keep-alive connections do not count: they are closed below */
    while (bn_tool_now() < end && atomic_load(&h->st->answering) > 0) {
        struct timespec nap = { 0, 20 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
    MHD_stop_daemon(h->daemon);
    free(h);
    *hp = NULL;
}
