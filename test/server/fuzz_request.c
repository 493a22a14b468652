/*
 * Fuzz target: request bodies into structs (server/request.c), the JSON
 * answers built from what was parsed (server/response.c), and UTF-8
 * cleaning. The first byte picks the endpoint, the rest is the body.
 * Invariants: no crash, no leak; a failure has a 4xx/5xx status and a
 * message; a success has the fields its kind needs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    srv_kind kind = (srv_kind)(data[0] % 4);
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    srv_request r;
    srv_error e;
    size_t n;
    char *json;
    if (srv_request_parse(&r, kind, body, len, 1000, &e)) {
        check(e.status >= 400 && e.status < 600 && e.message[0] && e.type);
        json = srv_json_error(&e, &n);
        check(json != NULL);
        free(json);
    } else {
        switch (kind) {
        case SRV_CHAT:
            check(r.n_messages > 0 && r.roles && r.contents);
            for (size_t i = 0; i < r.n_messages; i++)
                check(r.roles[i] && r.contents[i]);
            break;
        case SRV_COMPLETION:
            check(r.has_tokens ? r.n_tokens > 0 : r.text != NULL);
            break;
        case SRV_TOKENIZE:
            check(r.text != NULL);
            break;
        case SRV_DETOKENIZE:
            for (size_t i = 0; i < r.n_tokens; i++)
                check(r.tokens[i] >= 0 && r.tokens[i] < 1000);
            break;
        }
        check(r.n_stop <= SRV_MAX_STOP && (r.max_tokens == -1 || r.max_tokens > 0));
        srv_answer a = { .kind = kind == SRV_CHAT ? SRV_CHAT : SRV_COMPLETION, .id = "id",
                         .model = "m", .text = r.text ? r.text : (r.n_messages ? r.contents[0] : ""),
                         .finish = "stop", .first = 1 };
        a.len = strlen(a.text);
        json = srv_json_answer(&a, &n);
        check(json != NULL);
        free(json);
        json = srv_json_chunk(&a, &n);
        check(json != NULL);
        free(json);
        srv_request_release(&r);
    }
    /* the raw bytes as answer text: cleaned to valid UTF-8 */
    size_t clean_len;
    char *clean = srv_utf8_clean(body, len, &clean_len);
    check(clean != NULL);
    json = srv_json_text("content", clean, clean_len, &n);
    check(json != NULL);
    free(json);
    free(clean);
    return 0;
}
