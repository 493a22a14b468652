/* Public entry points for chat templates: argument checks and status codes;
 * the work is in sampling/chat_template.c. */
#include <stdlib.h>

#include "core/error.h"
#include "model/model.h"
#include "sampling/chat_template.h"
#include "tokenizer/vocab.h"

int bn_chat_template_for_model(bn_chat_template **out, const bn_model *m)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_for_model: out is NULL");
    *out = NULL;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_for_model: model is NULL");
    const char *name;
    int rc = bn_chat_template_choose(m, &name);
    if (rc)
        return rc;
    return bn_chat_template_make_builtin(out, name);
}

int bn_chat_template_builtin(bn_chat_template **out, const char *name)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_builtin: out is NULL");
    *out = NULL;
    if (!name)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_builtin: name is NULL");
    return bn_chat_template_make_builtin(out, name);
}

int bn_chat_template_new(bn_chat_template **out)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_new: out is NULL");
    *out = NULL;
    return bn_chat_template_make_custom(out);
}

/* Built-ins are read-only: they are shared as they are documented. */
static int check_custom(const bn_chat_template *t, const char *fn)
{
    if (!t)
        return bn_fail(BN_E_INVALID_ARG, "%s: NULL template", fn);
    if (t->kind != BN_CHAT_CUSTOM)
        return bn_fail(BN_E_INVALID_ARG, "%s: the built-in template '%s' cannot be changed; "
                       "start from bn_chat_template_new()", fn, bn_chat_template_kind_name(t->kind));
    return BN_OK;
}

int bn_chat_template_set_role(bn_chat_template *t, const char *role, const char *prefix,
                              const char *suffix)
{
    int rc = check_custom(t, "bn_chat_template_set_role");
    if (rc)
        return rc;
    if (!role || !prefix || !suffix)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_set_role: NULL %s",
                       !role ? "role" : !prefix ? "prefix" : "suffix");
    if (!role[0])
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_set_role: empty role name");
    return bn_chat_template_put_role(t, role, prefix, suffix);
}

int bn_chat_template_set_begin(bn_chat_template *t, const char *begin)
{
    int rc = check_custom(t, "bn_chat_template_set_begin");
    if (rc)
        return rc;
    if (!begin)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_set_begin: NULL text");
    return bn_chat_template_put_text(&t->begin, begin);
}

int bn_chat_template_set_generation_prompt(bn_chat_template *t, const char *prompt)
{
    int rc = check_custom(t, "bn_chat_template_set_generation_prompt");
    if (rc)
        return rc;
    if (!prompt)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_template_set_generation_prompt: NULL text");
    return bn_chat_template_put_text(&t->generation_prompt, prompt);
}

void bn_chat_template_free(bn_chat_template **t)
{
    if (!t || !*t)
        return;
    bn_chat_template_destroy(*t);
    *t = NULL;
}

const char *bn_chat_template_name(const bn_chat_template *t)
{
    return t ? bn_chat_template_kind_name(t->kind) : "";
}

/* The messages' checks shared by bn_chat_format and bn_chat_tokenize. */
static int check_messages(const bn_chat_template *t, const char *const *roles,
                          const char *const *contents, size_t n, const char *fn)
{
    if (!t)
        return bn_fail(BN_E_INVALID_ARG, "%s: NULL template", fn);
    if (n && (!roles || !contents))
        return bn_fail(BN_E_INVALID_ARG, "%s: NULL %s with %zu messages", fn,
                       !roles ? "roles" : "contents", n);
    for (size_t i = 0; i < n; i++) {
        if (!roles[i] || !contents[i])
            return bn_fail(BN_E_INVALID_ARG, "%s: message %zu has a NULL %s", fn, i,
                           !roles[i] ? "role" : "content");
        if (!roles[i][0])
            return bn_fail(BN_E_INVALID_ARG, "%s: message %zu has an empty role", fn, i);
    }
    return BN_OK;
}

int bn_chat_format(const bn_chat_template *t, const char *const *roles, const char *const *contents,
                   size_t n, int add_generation_prompt, char *buf, size_t buf_size, size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_format: NULL n_out");
    *n_out = 0;
    int rc = check_messages(t, roles, contents, n, "bn_chat_format");
    if (rc)
        return rc;
    if (!buf && buf_size)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_format: NULL buffer of %zu bytes", buf_size);
    return bn_chat_template_render(t, roles, contents, n, add_generation_prompt, buf, buf_size, n_out);
}

int bn_chat_tokenize(const bn_chat_template *t, const bn_model *m, const char *const *roles,
                     const char *const *contents, size_t n, int add_generation_prompt, bn_token *out,
                     size_t n_max, size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_tokenize: NULL n_out");
    *n_out = 0;
    int rc = check_messages(t, roles, contents, n, "bn_chat_tokenize");
    if (rc)
        return rc;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_tokenize: model is NULL");
    if (!out && n_max)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_tokenize: out is NULL but n_max is %zu", n_max);
    if (!m->vocab)
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_tokenize: the model file has no tokenizer "
                       "(no tokenizer.ggml.model)");
    char *text;
    size_t len, *marks, n_marks;
    rc = bn_chat_template_render_marked(t, roles, contents, n, add_generation_prompt, &text, &len,
                                        &marks, &n_marks);
    if (rc)
        return rc;
    rc = bn_vocab_tokenize_marked(m->vocab, text, len, marks, n_marks, out, n_max, n_out);
    free(text);
    free(marks);
    return rc;
}
