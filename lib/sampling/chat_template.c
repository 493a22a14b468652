/*
 * Chat templates without Jinja. The built-ins reproduce the templates the
 * models were trained with:
 *
 *   bitnet-2b4t  <|begin_of_text|>System: {sys}<|eot_id|>User: {msg}<|eot_id|>Assistant: {answer}<|eot_id|>...
 *                (any role: its name capitalised, then ": ")
 *   llama3       <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>...
 *
 * both with the content trimmed of surrounding whitespace, as their Jinja
 * templates do. The chat_template string embedded in the published 2B4T file
 * is a placeholder and is never used.
 *
 * BOS: the text starts with "<|begin_of_text|>", so it must be tokenized
 * with BN_TOKENIZE_PARSE_SPECIAL (the text becomes the BOS token) and
 * WITHOUT BN_TOKENIZE_ADD_SPECIAL, which would put a second BOS before it.
 *
 * Every template is prefix-stable: formatting messages 0..n-1 gives a prefix
 * of formatting 0..n, so a chat only tokenizes the new tail each turn.
 */
#include "sampling/chat_template.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gguf/gguf.h"
#include "model/model.h"

#define BOT "<|begin_of_text|>"
#define EOT "<|eot_id|>"
#define SHI "<|start_header_id|>"
#define EHI "<|end_header_id|>"

static const struct {
    const char *name;
    bn_chat_kind kind;
} builtins[] = {
    { "bitnet-2b4t", BN_CHAT_BITNET_2B4T },
    { "llama3", BN_CHAT_LLAMA3 },
};

const char *bn_chat_template_kind_name(bn_chat_kind kind)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (builtins[i].kind == kind)
            return builtins[i].name;
    return "custom";
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- life cycle ----------------------------------------------------------- */
int bn_chat_template_make_custom(bn_chat_template **out)
{
    bn_chat_template *t = calloc(1, sizeof *t);
    if (!t)
        return bn_fail(BN_E_NOMEM, "chat template: out of memory");
    t->kind = BN_CHAT_CUSTOM;
    t->begin = dup_str("");
    t->generation_prompt = dup_str("");
    if (!t->begin || !t->generation_prompt) {
        bn_chat_template_destroy(t);
        return bn_fail(BN_E_NOMEM, "chat template: out of memory");
    }
    *out = t;
    return BN_OK;
}

int bn_chat_template_make_builtin(bn_chat_template **out, const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (strcmp(name, builtins[i].name))
            continue;
        int rc = bn_chat_template_make_custom(out);
        if (!rc)
            (*out)->kind = builtins[i].kind;
        return rc;
    }
    return bn_fail(BN_E_NOT_FOUND, "no built-in chat template '%s' (there are: bitnet-2b4t, llama3)", name);
}

void bn_chat_template_destroy(bn_chat_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_roles; i++) {
        free(t->roles[i].role);
        free(t->roles[i].prefix);
        free(t->roles[i].suffix);
    }
    free(t->roles);
    free(t->begin);
    free(t->generation_prompt);
    free(t);
}

int bn_chat_template_put_text(char **field, const char *text)
{
    char *p = dup_str(text);
    if (!p)
        return bn_fail(BN_E_NOMEM, "chat template: out of memory");
    free(*field);
    *field = p;
    return BN_OK;
}

int bn_chat_template_put_role(bn_chat_template *t, const char *role, const char *prefix,
                              const char *suffix)
{
    char *r = dup_str(role), *p = dup_str(prefix), *s = dup_str(suffix);
    if (!r || !p || !s) {
        free(r);
        free(p);
        free(s);
        return bn_fail(BN_E_NOMEM, "chat template: out of memory");
    }
    for (size_t i = 0; i < t->n_roles; i++) {
        if (!strcmp(t->roles[i].role, role)) {      /* replace */
            free(t->roles[i].role);
            free(t->roles[i].prefix);
            free(t->roles[i].suffix);
            t->roles[i] = (bn_chat_role){ r, p, s };
            return BN_OK;
        }
    }
    if (t->n_roles == t->cap_roles) {
        size_t cap = t->cap_roles ? 2 * t->cap_roles : 4;
        bn_chat_role *nr = realloc(t->roles, cap * sizeof *nr);
        if (!nr) {
            free(r);
            free(p);
            free(s);
            return bn_fail(BN_E_NOMEM, "chat template: out of memory");
        }
        t->roles = nr;
        t->cap_roles = cap;
    }
    t->roles[t->n_roles++] = (bn_chat_role){ r, p, s };
    return BN_OK;
}

/* ---- formatting ----------------------------------------------------------- */
/* Appends to a caller's buffer, counting what does not fit. With `marks`,
 * also records where the template's own text lies (bn_chat_tokenize parses
 * special tokens only there): pairs [begin, end), adjacent ones merged. */
typedef struct writer {
    char *buf;
    size_t size, len;
    int overflow;
    size_t *marks;              /* room for cap_marks pairs, or NULL (count only) */
    size_t n_marks, cap_marks;
    size_t last_end;            /* end of the last range */
    int after_text;             /* the caller's text (maybe empty) came since that range */
} writer;

static void put(writer *w, const char *s, size_t n)
{
    if (w->len < w->size) {
        size_t room = w->size - w->len;
        memcpy(w->buf + w->len, s, n < room ? n : room);
    }
    if (n > SIZE_MAX - w->len)
        w->overflow = 1;
    else
        w->len += n;
}

static void puts_(writer *w, const char *s) { put(w, s, strlen(s)); }

/* The template's own text (markers, headers, separators). */
static void tmpl(writer *w, const char *s)
{
    const size_t begin = w->len;
    puts_(w, s);
    if (w->len == begin || w->overflow)
        return;
    /* extends the previous range, unless a role or content stood between
     * them, even an empty one: template text on both sides of a message never
     * joins into one special token */
    if (w->n_marks && w->last_end == begin && !w->after_text) {
        if (w->marks)
            w->marks[2 * w->n_marks - 1] = w->len;
    } else {
        if (w->marks && w->n_marks < w->cap_marks) {
            w->marks[2 * w->n_marks] = begin;
            w->marks[2 * w->n_marks + 1] = w->len;
        }
        w->n_marks++;
    }
    w->last_end = w->len;
    w->after_text = 0;
}

/* The caller's text: a role name or a message content. */
static void text(writer *w, const char *s)
{
    puts_(w, s);
    w->after_text = 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void put_trimmed(writer *w, const char *s)
{
    w->after_text = 1;
    size_t n = strlen(s);
    while (n && is_space(s[n - 1]))
        n--;
    while (n && is_space(*s)) {
        s++;
        n--;
    }
    put(w, s, n);
}

/* Jinja's capitalize on ASCII: first letter upper case, the rest lower. */
static void put_capitalized(writer *w, const char *s)
{
    w->after_text = 1;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (i == 0 && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (i > 0 && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        put(w, &c, 1);
    }
}

static const bn_chat_role *find_role(const bn_chat_template *t, const char *role)
{
    for (size_t i = 0; i < t->n_roles; i++)
        if (!strcmp(t->roles[i].role, role))
            return &t->roles[i];
    return NULL;
}

/* Role names and contents are the caller's text (put); everything else is
 * the template's (tmpl). */
static int render(const bn_chat_template *t, const char *const *roles, const char *const *contents,
                  size_t n, int add_generation_prompt, writer *w)
{
    switch (t->kind) {
    case BN_CHAT_BITNET_2B4T:
        tmpl(w, BOT);
        for (size_t i = 0; i < n; i++) {
            put_capitalized(w, roles[i]);
            tmpl(w, ": ");
            put_trimmed(w, contents[i]);
            tmpl(w, EOT);
        }
        if (add_generation_prompt)
            tmpl(w, "Assistant: ");
        break;
    case BN_CHAT_LLAMA3:
        tmpl(w, BOT);
        for (size_t i = 0; i < n; i++) {
            tmpl(w, SHI);
            text(w, roles[i]);
            tmpl(w, EHI "\n\n");
            put_trimmed(w, contents[i]);
            tmpl(w, EOT);
        }
        if (add_generation_prompt)
            tmpl(w, SHI "assistant" EHI "\n\n");
        break;
    case BN_CHAT_CUSTOM:
        for (size_t i = 0; i < n; i++)
            if (!find_role(t, roles[i]))
                return bn_fail(BN_E_INVALID_ARG,
                               "chat: message %zu has role '%s', which the template does not define",
                               i, roles[i]);
        tmpl(w, t->begin);
        for (size_t i = 0; i < n; i++) {
            const bn_chat_role *r = find_role(t, roles[i]);
            tmpl(w, r->prefix);
            text(w, contents[i]);
            tmpl(w, r->suffix);
        }
        if (add_generation_prompt)
            tmpl(w, t->generation_prompt);
        break;
    }
    if (w->overflow)
        return bn_fail(BN_E_RANGE, "chat: the text would exceed SIZE_MAX bytes");
    return BN_OK;
}

int bn_chat_template_render(const bn_chat_template *t, const char *const *roles,
                            const char *const *contents, size_t n, int add_generation_prompt,
                            char *buf, size_t buf_size, size_t *n_out)
{
    writer w = { .buf = buf, .size = buf_size };
    int rc = render(t, roles, contents, n, add_generation_prompt, &w);
    if (rc)
        return rc;
    *n_out = w.len;
    if (w.len < buf_size)
        buf[w.len] = 0;
    if (w.len > buf_size)
        return bn_fail(BN_E_RANGE, "bn_chat_format: the text needs %zu bytes, the buffer has %zu",
                       w.len, buf_size);
    return BN_OK;
}

int bn_chat_template_render_marked(const bn_chat_template *t, const char *const *roles,
                                   const char *const *contents, size_t n, int add_generation_prompt,
                                   char **text, size_t *len, size_t **marks, size_t *n_marks)
{
    *text = NULL;
    *marks = NULL;
    writer count = { 0 };
    int rc = render(t, roles, contents, n, add_generation_prompt, &count);
    if (rc)
        return rc;
    writer w = { .size = count.len, .cap_marks = count.n_marks };
    w.buf = malloc(count.len ? count.len : 1);
    w.marks = malloc((count.n_marks ? count.n_marks : 1) * 2 * sizeof *w.marks);
    if (!w.buf || !w.marks) {
        free(w.buf);
        free(w.marks);
        return bn_fail(BN_E_NOMEM, "bn_chat_tokenize: out of memory for %zu bytes of text", count.len);
    }
    rc = render(t, roles, contents, n, add_generation_prompt, &w);
    if (rc) {
        free(w.buf);
        free(w.marks);
        return rc;
    }
    *text = w.buf;
    *len = w.len;
    *marks = w.marks;
    *n_marks = w.n_marks;
    return BN_OK;
}

/* ---- choosing a built-in for a model --------------------------------------- */
/* Whether the vocabulary (tokenizer.ggml.tokens) holds a token spelt `text`. */
static int vocab_has(const bn_model *m, const char *text)
{
    const bn_gguf_kv *kv = bn_gguf_find_kv(&m->gguf, "tokenizer.ggml.tokens");
    if (!kv || kv->value.type != BN_GGUF_ARRAY || kv->value.v.arr.elem_type != BN_GGUF_STRING)
        return 0;
    bn_gguf_str_iter it;
    bn_gguf_str s;
    bn_gguf_str_iter_init(&it, &kv->value);
    while (bn_gguf_str_iter_next(&it, &s))
        if (bn_gguf_str_eq(s, text))
            return 1;
    return 0;
}

int bn_chat_template_choose(const bn_model *m, const char **name)
{
    const char *arch = bn_model_arch_name(m);
    const int bitnet_2b4t = !strcmp(arch, "bitnet-b1.58") || !strcmp(arch, "bitnet-25");
    if (bitnet_2b4t && vocab_has(m, EOT)) {
        *name = "bitnet-2b4t";
        return BN_OK;
    }
    if (vocab_has(m, SHI)) {
        *name = "llama3";
        return BN_OK;
    }
    return bn_fail(BN_E_NOT_FOUND,
                   "no built-in chat template fits this model (architecture '%s'%s); "
                   "choose one by name (bitnet-2b4t, llama3) or make a custom one",
                   arch, bitnet_2b4t ? ", no <|eot_id|> token" : ", no <|start_header_id|> token");
}
