#include "cli_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_signal.h"
#include "common/tool_common.h"
#include "common/tool_escape.h"

/* The library's messages may quote a hostile file (a key, a name): escaped
 * on a terminal like the model's text. */
static int lib_fail(int rc)
{
    fprintf(stderr, BN_CLI_PROG ": %s: ", bn_strerror(rc));
    bn_tool_fputs_untrusted(bn_last_error(), stderr);
    fputc('\n', stderr);
    return BN_CLI_FAILURE;
}

/* ---- loading -------------------------------------------------------------- */
typedef struct progress_state {
    double start;
    int last;
    int tty;
} progress_state;

/* A percentage on stderr, only when it is a terminal (logs stay clean) and
 * only once the load has taken a moment (small models do not flicker).
 * Ctrl-C cancels the load. */
static int show_progress(float fraction, void *user)
{
    progress_state *p = user;
    int pct = (int)(fraction * 100.0f + 0.5f);
    if (p->tty && pct != p->last && bn_tool_now() - p->start > 0.2) {
        fprintf(stderr, "\rloading the model: %3d%%", pct);
        fflush(stderr);
        p->last = pct;
    }
    return bn_cli_interrupt_pending();
}

/* Ctrl-C stops a forward pass between layers: a long prompt need not finish. */
static int abort_on_interrupt(void *user)
{
    (void)user;
    return bn_cli_interrupt_pending();
}

int bn_cli_session_open(bn_cli_session *s, const bn_cli_options *o, const char *path)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    bn_cli_output_init(&s->out, stdout, isatty(STDOUT_FILENO) && !o->raw_output);
    bn_model_params mp;
    bn_model_params_default(&mp);
    progress_state ps = { bn_tool_now(), -1, isatty(STDERR_FILENO) };
    mp.progress = show_progress;
    mp.progress_user_data = &ps;
    double t0 = bn_tool_now();
    int rc = bn_model_load(&s->model, path, &mp);
    s->load_s = bn_tool_now() - t0;
    if (ps.last >= 0)
        fprintf(stderr, "\r\033[K");
    if (rc == BN_E_CANCELLED) {     /* Ctrl-C while loading: nothing to sum up */
        s->interrupted = 1;
        return BN_CLI_INTERRUPTED;
    }
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
    bn_ctx_set_abort_callback(s->ctx, abort_on_interrupt, NULL);
    if ((rc = bn_sampler_new(&s->sampler, s->model, &o->sampling)))
        return lib_fail(rc);
    if ((rc = bn_text_stream_new(&s->stream, s->model, o->stop, o->n_stop)))
        return lib_fail(rc);
    if (o->n_draft > 0) {
        bn_spec_params sp;
        bn_spec_params_default(&sp);
        sp.n_draft_max = o->n_draft;
        if ((rc = bn_spec_new(&s->spec, &sp)))
            return lib_fail(rc);
    }
    if (o->draft_model) {
        bn_model_params dmp;
        bn_model_params_default(&dmp);
        if ((rc = bn_model_load(&s->draft_model, o->draft_model, &dmp)))
            return lib_fail(rc);
        if (bn_model_n_vocab(s->draft_model) != bn_model_n_vocab(s->model)) {
            fprintf(stderr, BN_CLI_PROG ": the draft model %s has %d tokens, the model %d: not the same vocabulary\n",
                    o->draft_model, bn_model_n_vocab(s->draft_model), bn_model_n_vocab(s->model));
            return BN_CLI_FAILURE;
        }
        if ((rc = bn_ctx_new(&s->draft_ctx, s->draft_model, &cp)))
            return lib_fail(rc);
        bn_ctx_set_abort_callback(s->draft_ctx, abort_on_interrupt, NULL);
        /* decode reads every weight once per token: the draft model's tokens
         * cost about its bytes per token over the model's */
        const double cost = (double)bn_model_bytes_per_token(s->draft_model)
                            / (double)bn_model_bytes_per_token(s->model);
        if ((rc = bn_spec_set_draft_model(s->spec, s->draft_ctx, 0, (float)(cost < 10.0 ? cost : 10.0))))
            return lib_fail(rc);
    }
    return 0;
}

void bn_cli_session_close(bn_cli_session *s)
{
    bn_spec_free(&s->spec);
    bn_ctx_free(&s->draft_ctx);
    bn_model_free(&s->draft_model);
    free(s->hist);
    s->hist = NULL;
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

/* Appends to the record of what the context holds (the drafts' history). */
static int hist_add(bn_cli_session *s, const bn_token *t, size_t n)
{
    if (!s->spec)
        return 0;
    if (s->n_hist + n > s->cap_hist) {
        size_t cap = s->cap_hist ? s->cap_hist : 1024;
        while (cap < s->n_hist + n)
            cap *= 2;
        bn_token *h = realloc(s->hist, cap * sizeof *h);
        if (!h) {
            fprintf(stderr, BN_CLI_PROG ": out of memory\n");
            return BN_CLI_FAILURE;
        }
        s->hist = h;
        s->cap_hist = cap;
    }
    memcpy(s->hist + s->n_hist, t, n * sizeof *t);
    s->n_hist += n;
    return 0;
}

static void note_full(bn_cli_session *s)
{
    s->ctx_full = 1;
    fprintf(stderr, BN_CLI_PROG ": note: the context is full (%d tokens): stopping here; "
            "-c sets a larger context\n", bn_ctx_n_ctx(s->ctx));
}

/* Decodes n tokens in batches of n_batch; each joins the penalty window.
 * Ctrl-C stops it between batches or, through the context's abort callback,
 * inside one: the cache is then rolled back to where it was (a chat forgets
 * the message) and BN_CLI_INTERRUPTED returned. */
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
    const int32_t pos0 = bn_ctx_pos(s->ctx);
    const size_t nb = (size_t)bn_ctx_n_batch(s->ctx);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += nb) {
        size_t k = n - i < nb ? n - i : nb;
        rc = bn_cli_interrupt_pending() ? BN_E_CANCELLED : bn_decode(s->ctx, t + i, k);
    }
    s->prompt_s += bn_tool_now() - t0;
    if (rc == BN_E_CANCELLED) {
        bn_cli_take_interrupt();
        bn_ctx_truncate(s->ctx, pos0);
        if (!s->o->chat || bn_cli_quit_requested())
            s->interrupted = 1;
        return BN_CLI_INTERRUPTED;
    }
    if (rc)
        return lib_fail(rc);
    for (size_t i = 0; i < n; i++) {
        if ((rc = bn_sampler_accept(s->sampler, t[i])))
            return lib_fail(rc);
    }
    s->n_prompt += (long)n;
    return hist_add(s, t, n);
}

/* ---- text out --------------------------------------------------------------- */
/* The next tokens: one sampled (decoded by the loop if it goes on), or, with
 * --draft, what a speculative step returns (all but the last in the cache
 * already). BN_E_CANCELLED leaves everything as it was. */
static int next_tokens(bn_cli_session *s, bn_token *t, size_t *n)
{
    if (s->spec)
        return bn_spec_step(s->spec, s->ctx, 0, s->sampler, t, 65, n);
    *n = 1;
    return bn_sampler_sample(s->sampler, bn_ctx_logits(s->ctx), &t[0]);
}

/* Samples and streams tokens until the end of generation, a stop string,
 * n_predict tokens, a full context or Ctrl-C. The last sampled token is not
 * decoded: whatever ends the answer decides what follows it. */
static int answer(bn_cli_session *s)
{
    const int n_predict = s->o->n_predict;
    const char *text;
    size_t len;
    int rc = 0, stopped = 0, out_rc = 0, done = 0;
    const int32_t pos0 = bn_ctx_pos(s->ctx);
    long shown = 0;                 /* tokens of this answer streamed */
    double t0 = bn_tool_now();
    if (s->spec && (rc = bn_spec_begin(s->spec, s->hist, s->n_hist)))
        return lib_fail(rc);
    while (!done) {
        if (bn_cli_take_interrupt()) {
            /* plain generation ends; a chat returns to its prompt unless a
             * second Ctrl-C came soon after */
            if (!s->o->chat || bn_cli_quit_requested())
                s->interrupted = 1;
            break;
        }
        bn_token t[65];
        size_t n = 0;
        if ((rc = next_tokens(s, t, &n)) == BN_E_CANCELLED) {
            rc = 0;                 /* Ctrl-C inside a pass: nothing changed */
            continue;
        }
        for (size_t i = 0; !rc && !out_rc && i < n && !done; i++) {
            s->n_gen++;
            shown++;
            if (!(rc = bn_text_stream_push(s->stream, t[i], &text, &len, &stopped))
                && !(out_rc = bn_cli_output_write(&s->out, text, len)) && (rc = hist_add(s, &t[i], 1)))
                out_rc = rc, rc = 0;
            done = stopped || (n_predict >= 0 && shown == n_predict);
        }
        if (rc || out_rc || done)
            break;
        if (bn_ctx_pos(s->ctx) + 1 >= bn_ctx_n_ctx(s->ctx) + (s->spec ? 0 : 1)) {
            s->ctx_full = 1;
            break;
        }
        /* cancelled by Ctrl-C: nothing changed, the loop's top stops */
        if (!s->spec && (rc = bn_decode(s->ctx, &t[0], 1)) && rc != BN_E_CANCELLED)
            break;
        rc = 0;
    }
    s->gen_s += bn_tool_now() - t0;
    /* The cache holds the answer but its last token, as without drafts (a
     * speculative step may have gone past where the answer stopped); the
     * record of the context's tokens follows it. */
    if (s->spec && shown > 0 && bn_ctx_pos(s->ctx) > pos0 + (int32_t)shown - 1)
        bn_ctx_truncate(s->ctx, pos0 + (int32_t)shown - 1);
    if (s->spec)
        s->n_hist = (size_t)bn_ctx_pos(s->ctx);
    if (rc)
        return lib_fail(rc);
    if (out_rc)
        return BN_CLI_FAILURE;
    if ((rc = bn_text_stream_flush(s->stream, &text, &len)))
        return lib_fail(rc);
    if (bn_cli_output_write(&s->out, text, len) || bn_cli_output_end_line(&s->out))
        return BN_CLI_FAILURE;
    if (s->ctx_full)
        note_full(s);
    return s->interrupted ? BN_CLI_INTERRUPTED : 0;
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

static void history_drop_last(history *h)
{
    free(h->contents[--h->n]);
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
    if ((rc = feed(s, c->prev + c->n_prev, n - c->n_prev))) {
        if (rc == BN_CLI_INTERRUPTED && !s->interrupted) {
            history_drop_last(&c->h);   /* as if never sent: back to the prompt */
            fprintf(stderr, BN_CLI_PROG ": interrupted while reading the message: it was dropped\n");
            return 0;
        }
        return s->ctx_full ? 0 : rc;
    }
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
        /* a Ctrl-C after the answer, or while waiting for a line: the end */
        if (bn_cli_take_interrupt() || bn_cli_quit_requested()) {
            s->interrupted = 1;
            rc = BN_CLI_INTERRUPTED;
            break;
        }
        if (interactive) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        long got = bn_tool_getline(&line, &line_cap, in);
        if (got < 0 && ferror(in) && errno == EINTR) {
            clearerr(in);
            continue;
        }
        if (got < 0)
            break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = 0;
        if (got == 0)
            continue;
        rc = turn(s, &c, line);
    }
    if (interactive && (!rc || s->interrupted) && !s->ctx_full)
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
