#include "cli_session.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tool_common.h"

static int lib_fail(int rc)
{
    fprintf(stderr, BN_CLI_PROG ": %s: %s\n", bn_strerror(rc), bn_last_error());
    return BN_CLI_FAILURE;
}

/* ---- loading -------------------------------------------------------------- */
typedef struct progress_state {
    double start;
    int last;
} progress_state;

/* A percentage on stderr, only when it is a terminal (logs stay clean) and
 * only once the load has taken a moment (small models do not flicker). */
static int show_progress(float fraction, void *user)
{
    progress_state *p = user;
    int pct = (int)(fraction * 100.0f + 0.5f);
    if (pct != p->last && bn_tool_now() - p->start > 0.2) {
        fprintf(stderr, "\rloading the model: %3d%%", pct);
        fflush(stderr);
        p->last = pct;
    }
    return 0;
}

int bn_cli_session_open(bn_cli_session *s, const bn_cli_options *o, const char *path)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    s->last_char = '\n';
    bn_model_params mp;
    bn_model_params_default(&mp);
    progress_state ps = { bn_tool_now(), -1 };
    const int tty = isatty(STDERR_FILENO);
    if (tty) {
        mp.progress = show_progress;
        mp.progress_user_data = &ps;
    }
    double t0 = bn_tool_now();
    int rc = bn_model_load(&s->model, path, &mp);
    s->load_s = bn_tool_now() - t0;
    if (tty && ps.last >= 0)
        fprintf(stderr, "\r\033[K");
    if (rc)
        return lib_fail(rc);

    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_threads = o->n_threads;
    cp.n_batch = o->n_batch;
    cp.n_ctx = o->n_ctx;
    if (cp.n_ctx == 0) {
        int32_t train = bn_model_n_ctx_train(s->model);
        cp.n_ctx = train > 0 && train < 4096 ? train : 4096;
    }
    if ((rc = bn_ctx_new(&s->ctx, s->model, &cp)))
        return lib_fail(rc);
    if ((rc = bn_sampler_new(&s->sampler, s->model, &o->sampling)))
        return lib_fail(rc);
    if ((rc = bn_text_stream_new(&s->stream, s->model, o->stop, o->n_stop)))
        return lib_fail(rc);
    return 0;
}

void bn_cli_session_close(bn_cli_session *s)
{
    bn_text_stream_free(&s->stream);
    bn_sampler_free(&s->sampler);
    bn_ctx_free(&s->ctx);
    bn_model_free(&s->model);
    free(s->tokens);
    s->tokens = NULL;
}

/* ---- tokens in ------------------------------------------------------------ */
/* Tokenizes into s->tokens (grown as needed); *n receives the count. */
static int tokenize(bn_cli_session *s, const char *text, size_t len, uint32_t flags, size_t *n)
{
    int rc = bn_tokenize(s->model, text, len, s->tokens, s->cap_tokens, flags, n);
    if (rc == BN_E_RANGE && *n > s->cap_tokens) {
        bn_token *t = realloc(s->tokens, *n * sizeof *t);
        if (!t) {
            fprintf(stderr, BN_CLI_PROG ": out of memory\n");
            return BN_CLI_FAILURE;
        }
        s->tokens = t;
        s->cap_tokens = *n;
        rc = bn_tokenize(s->model, text, len, s->tokens, s->cap_tokens, flags, n);
    }
    return rc ? lib_fail(rc) : 0;
}

static void note_full(bn_cli_session *s)
{
    s->ctx_full = 1;
    fprintf(stderr, BN_CLI_PROG ": note: the context is full (%d tokens): stopping here; "
            "-c sets a larger context\n", bn_ctx_n_ctx(s->ctx));
}

/* Decodes n tokens in batches of n_batch; each joins the penalty window. */
static int feed(bn_cli_session *s, const bn_token *t, size_t n)
{
    const size_t room = (size_t)(bn_ctx_n_ctx(s->ctx) - bn_ctx_pos(s->ctx));
    if (n >= room) {    /* keep one position for an answer */
        fprintf(stderr, BN_CLI_PROG ": %s of %zu tokens does not fit: the context holds %d tokens%s%s\n",
                bn_ctx_pos(s->ctx) ? "the message" : "the prompt", n, bn_ctx_n_ctx(s->ctx),
                bn_ctx_pos(s->ctx) ? " and is nearly full" : "",
                "; -c sets a larger context");
        s->ctx_full = 1;
        return BN_CLI_FAILURE;
    }
    double t0 = bn_tool_now();
    const size_t nb = (size_t)bn_ctx_n_batch(s->ctx);
    for (size_t i = 0; i < n; i += nb) {
        size_t k = n - i < nb ? n - i : nb;
        int rc = bn_decode(s->ctx, t + i, k);
        if (rc)
            return lib_fail(rc);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = bn_sampler_accept(s->sampler, t[i]);
        if (rc)
            return lib_fail(rc);
    }
    s->prompt_s += bn_tool_now() - t0;
    s->n_prompt += (long)n;
    return 0;
}

/* ---- text out --------------------------------------------------------------- */
static void emit(bn_cli_session *s, const char *text, size_t len)
{
    if (!len)
        return;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    s->last_char = (unsigned char)text[len - 1];
}

static void end_line(bn_cli_session *s)
{
    if (s->last_char != '\n')
        emit(s, "\n", 1);
}

/* Samples and streams tokens until the end of generation, a stop string,
 * n_predict tokens or a full context. The last sampled token is not
 * decoded: whatever ends the answer decides what follows it. */
static int answer(bn_cli_session *s)
{
    const int n_predict = s->o->n_predict;
    const char *text;
    size_t len;
    int rc = 0, stopped = 0;
    double t0 = bn_tool_now();
    for (int i = 0; n_predict < 0 || i < n_predict; i++) {
        bn_token t;
        if ((rc = bn_sampler_sample(s->sampler, bn_ctx_logits(s->ctx), &t)))
            break;
        s->n_gen++;
        if ((rc = bn_text_stream_push(s->stream, t, &text, &len, &stopped)))
            break;
        emit(s, text, len);
        if (stopped || (n_predict >= 0 && i + 1 == n_predict))
            break;
        if (bn_ctx_pos(s->ctx) >= bn_ctx_n_ctx(s->ctx)) {
            s->ctx_full = 1;
            break;
        }
        if ((rc = bn_decode(s->ctx, &t, 1)))
            break;
    }
    s->gen_s += bn_tool_now() - t0;
    if (rc)
        return lib_fail(rc);
    if ((rc = bn_text_stream_flush(s->stream, &text, &len)))
        return lib_fail(rc);
    emit(s, text, len);
    end_line(s);
    if (s->ctx_full)
        note_full(s);
    return 0;
}

int bn_cli_generate(bn_cli_session *s, const char *prompt, size_t len)
{
    size_t n;
    int rc = tokenize(s, prompt, len, BN_TOKENIZE_ADD_SPECIAL, &n);
    if (rc)
        return rc;
    if (n == 0) {
        fprintf(stderr, BN_CLI_PROG ": the prompt is empty and the model adds no BOS token: "
                "nothing to start from\n");
        return BN_CLI_FAILURE;
    }
    if ((rc = feed(s, s->tokens, n)))
        return rc;
    return answer(s);
}

/* ---- chat ------------------------------------------------------------------- */
/*
 * The conversation as (role, content) pairs. The KV cache keeps what was
 * said: each turn only the text the template adds after what the cache holds
 * is tokenized and decoded. Answers are in the cache as the tokens the model
 * produced, so the history records them with empty content: the template
 * then yields exactly the text that closes an answer (e.g. "<|eot_id|>") and
 * opens the next message, independently of how it would re-spell the answer.
 */
typedef struct history {
    const char **roles;
    char **contents;
    size_t n, cap;
} history;

static int history_add(history *h, const char *role, const char *content)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 8;
        const char **r = realloc(h->roles, cap * sizeof *r);
        if (r)
            h->roles = r;
        char **c = realloc(h->contents, cap * sizeof *c);
        if (c)
            h->contents = c;
        if (!r || !c)
            return -1;
        h->cap = cap;
    }
    char *copy = strdup(content);
    if (!copy)
        return -1;
    h->roles[h->n] = role;
    h->contents[h->n] = copy;
    h->n++;
    return 0;
}

static void history_free(history *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->contents[i]);
    free(h->roles);
    free(h->contents);
}

typedef struct chat {
    const bn_chat_template *t;
    history h;
    bn_token *prev;             /* the last turn's tokens, up to its generation prompt */
    size_t n_prev, cap_prev;    /* the KV cache holds those n_prev tokens (then the answer) */
} chat;

/* Tokenizes the whole history with the generation prompt into s->tokens:
 * the template's markers become control tokens, the messages stay text
 * (bn_chat_tokenize), so a message cannot forge a turn. */
static int tokenize_all(bn_cli_session *s, chat *c, size_t *n)
{
    const char *const *contents = (const char *const *)c->h.contents;
    int rc = bn_chat_tokenize(c->t, s->model, c->h.roles, contents, c->h.n, 1, s->tokens,
                              s->cap_tokens, n);
    if (rc == BN_E_RANGE && *n > s->cap_tokens) {
        bn_token *t = realloc(s->tokens, *n * sizeof *t);
        if (!t) {
            fprintf(stderr, BN_CLI_PROG ": out of memory\n");
            return BN_CLI_FAILURE;
        }
        s->tokens = t;
        s->cap_tokens = *n;
        rc = bn_chat_tokenize(c->t, s->model, c->h.roles, contents, c->h.n, 1, s->tokens,
                              s->cap_tokens, n);
    }
    return rc ? lib_fail(rc) : 0;
}

static int open_template(bn_cli_session *s, bn_chat_template **t)
{
    int rc = s->o->chat_template ? bn_chat_template_builtin(t, s->o->chat_template)
                                 : bn_chat_template_for_model(t, s->model);
    if (rc == BN_E_NOT_FOUND && !s->o->chat_template) {
        fprintf(stderr, BN_CLI_PROG ": %s\n" BN_CLI_PROG ": choose a template with --chat-template "
                "(bitnet-2b4t or llama3)\n", bn_last_error());
        return BN_CLI_FAILURE;
    }
    return rc ? lib_fail(rc) : 0;
}

static int out_of_memory(void)
{
    fprintf(stderr, BN_CLI_PROG ": out of memory\n");
    return BN_CLI_FAILURE;
}

/* One message from the user, then the streamed answer. */
static int turn(bn_cli_session *s, chat *c, const char *message)
{
    if (history_add(&c->h, "user", message))
        return out_of_memory();
    size_t n;
    int rc = tokenize_all(s, c, &n);
    if (rc)
        return rc;
    if (n < c->n_prev || (c->n_prev && memcmp(s->tokens, c->prev, c->n_prev * sizeof *c->prev))) {
        fprintf(stderr, BN_CLI_PROG ": the chat template changed earlier text: cannot continue\n");
        return BN_CLI_FAILURE;
    }
    /* feed() and answer() reuse s->tokens: keep this turn's tokens first */
    if (n > c->cap_prev) {
        bn_token *p = realloc(c->prev, n * sizeof *p);
        if (!p)
            return out_of_memory();
        c->prev = p;
        c->cap_prev = n;
    }
    memcpy(c->prev, s->tokens, n * sizeof *c->prev);
    if ((rc = feed(s, c->prev + c->n_prev, n - c->n_prev)))
        return s->ctx_full ? 0 : rc;
    if ((rc = answer(s)))
        return rc;
    /* The cache now holds these tokens (up to the generation prompt) and the
     * answer; the next turn's tokens start where these end. */
    c->n_prev = n;
    return history_add(&c->h, "assistant", "") ? out_of_memory() : 0;
}

int bn_cli_chat(bn_cli_session *s, const char *first, FILE *in)
{
    bn_chat_template *t = NULL;
    int rc = open_template(s, &t);
    if (rc)
        return rc;
    chat c = { .t = t };
    char *line = NULL;
    size_t line_cap = 0;
    const int interactive = isatty(fileno(in)) && isatty(STDOUT_FILENO);
    if (s->o->system && history_add(&c.h, "system", s->o->system))
        rc = out_of_memory();
    if (!rc && first && first[0])
        rc = turn(s, &c, first);
    while (!rc && !s->ctx_full) {
        if (interactive) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        ssize_t got = getline(&line, &line_cap, in);
        if (got < 0)
            break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = 0;
        if (got == 0)
            continue;
        rc = turn(s, &c, line);
    }
    if (interactive && !rc && !s->ctx_full)
        fputs("\n", stdout);
    free(line);
    free(c.prev);
    history_free(&c.h);
    bn_chat_template_free(&t);
    return rc;
}

void bn_cli_summary(const bn_cli_session *s)
{
    double pp = s->prompt_s > 0 ? (double)s->n_prompt / s->prompt_s : 0.0;
    double tg = s->gen_s > 0 ? (double)s->n_gen / s->gen_s : 0.0;
    fprintf(stderr, BN_CLI_PROG ": prompt %ld tokens, %.1f tok/s; generated %ld tokens, %.1f tok/s; "
            "load %.0f ms\n", s->n_prompt, pp, s->n_gen, tg, s->load_s * 1000.0);
}
