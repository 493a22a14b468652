/* Chat templates: how a conversation is laid out as text. Built-ins are
 * rules (any role name works); custom templates are tables of strings.
 * lib/api/api_chat.c checks the public arguments. */
#ifndef BN_SAMPLING_CHAT_TEMPLATE_H
#define BN_SAMPLING_CHAT_TEMPLATE_H

#include <stddef.h>

#include "bitnet/bitnet.h"

typedef enum bn_chat_kind {
    BN_CHAT_CUSTOM,
    BN_CHAT_BITNET_2B4T,
    BN_CHAT_LLAMA3,
} bn_chat_kind;

typedef struct bn_chat_role {
    char *role, *prefix, *suffix;
} bn_chat_role;

struct bn_chat_template {
    bn_chat_kind kind;
    char *begin;                /* custom only; built-ins know theirs */
    char *generation_prompt;
    bn_chat_role *roles;
    size_t n_roles, cap_roles;
};

/* A built-in by name; BN_E_NOT_FOUND (with the list of names) otherwise. */
int bn_chat_template_make_builtin(bn_chat_template **out, const char *name);
/* An empty custom template. */
int bn_chat_template_make_custom(bn_chat_template **out);
void bn_chat_template_destroy(bn_chat_template *t);
int bn_chat_template_put_role(bn_chat_template *t, const char *role, const char *prefix,
                              const char *suffix);
/* Replaces *field (begin or generation_prompt) with a copy of text. */
int bn_chat_template_put_text(char **field, const char *text);
const char *bn_chat_template_kind_name(bn_chat_kind kind);

/* Formats as bn_chat_format() documents (arguments already checked). */
int bn_chat_template_render(const bn_chat_template *t, const char *const *roles,
                            const char *const *contents, size_t n, int add_generation_prompt,
                            char *buf, size_t buf_size, size_t *n_out);

/* The same text in a new allocation (*text, *len bytes, not NUL-terminated),
 * with the ranges that are the template's own text: *n_marks pairs
 * [begin, end) in *marks, sorted and disjoint. The caller frees both. */
int bn_chat_template_render_marked(const bn_chat_template *t, const char *const *roles,
                                   const char *const *contents, size_t n, int add_generation_prompt,
                                   char **text, size_t *len, size_t **marks, size_t *n_marks);

/* Picks the built-in that fits the model's architecture and vocabulary. */
int bn_chat_template_choose(const bn_model *m, const char **name);

#endif
