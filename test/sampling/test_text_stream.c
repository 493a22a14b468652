/* Text streams: UTF-8 characters split over tokens, invalid bytes, stop
 * strings split over tokens (and false starts), end-of-generation tokens,
 * flush and reuse, argument checks. Runs on a synthetic model whose
 * vocabulary has a token for every byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bitnet/bitnet.h>

#include "mkmodel.h"

static bn_model *model;

static int setup(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/stream-%ld.gguf", BN_STREAM_TEST_DIR, (long)getpid());
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.type = BN_MKMODEL_I2_S;
    o.hp.n_layer = 1;
    o.log = NULL;
    int rc = bn_mkmodel_write(&o, path);
    if (!rc)
        rc = bn_model_load(&model, path, NULL);
    unlink(path);
    if (rc)
        fprintf(stderr, "setup: %s\n", bn_last_error());
    return rc ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    bn_model_free(&model);
    return 0;
}

/* The token of a single byte (a lone byte >= 0x80 is invalid UTF-8 and so
 * always gets its byte token). */
static bn_token byte_token(unsigned char b)
{
    char c = (char)b;
    bn_token t[4];
    size_t n = 0;
    int rc = bn_tokenize(model, &c, 1, t, 4, 0, &n);
    if (rc || n != 1)
        fail_msg("byte 0x%02x: %zu tokens (%s)", b, n, bn_last_error());
    return t[0];
}

static bn_text_stream *stream(const char *const *stop, size_t n_stop)
{
    bn_text_stream *s = NULL;
    int rc = bn_text_stream_new(&s, model, stop, n_stop);
    if (rc)
        fail_msg("bn_text_stream_new: %s", bn_last_error());
    return s;
}

/* Collected output of a stream. */
typedef struct sink {
    char text[4096];
    size_t len;
    int stopped;
} sink;

static void push(bn_text_stream *s, sink *k, bn_token t, const char *want_now)
{
    const char *text = NULL;
    size_t len = 99;
    int stopped = -1;
    assert_int_equal(bn_text_stream_push(s, t, &text, &len, &stopped), BN_OK);
    assert_non_null(text);
    assert_true(stopped == 0 || stopped == 1);
    if (want_now && (len != strlen(want_now) || memcmp(text, want_now, len)))
        fail_msg("push gave '%.*s', expected '%s'", (int)len, text, want_now);
    assert_true(k->len + len < sizeof k->text);
    memcpy(k->text + k->len, text, len);
    k->len += len;
    k->text[k->len] = 0;
    k->stopped = stopped;
}

/* Pushes each byte of str as its byte token. */
static void push_bytes(bn_text_stream *s, sink *k, const char *str)
{
    for (size_t i = 0; str[i]; i++)
        push(s, k, byte_token((unsigned char)str[i]), NULL);
}

static void flush(bn_text_stream *s, sink *k)
{
    const char *text;
    size_t len;
    assert_int_equal(bn_text_stream_flush(s, &text, &len), BN_OK);
    memcpy(k->text + k->len, text, len);
    k->len += len;
    k->text[k->len] = 0;
}

static void test_utf8_split(void **state)
{
    (void)state;
    bn_text_stream *s = stream(NULL, 0);
    sink k = { .len = 0 };
    push(s, &k, byte_token('a'), "a");
    push(s, &k, byte_token(0xC3), "");             /* é = C3 A9 */
    push(s, &k, byte_token(0xA9), "\xC3\xA9");
    push(s, &k, byte_token(0xF0), "");             /* 😀 = F0 9F 98 80 */
    push(s, &k, byte_token(0x9F), "");
    push(s, &k, byte_token(0x98), "");
    push(s, &k, byte_token(0x80), "\xF0\x9F\x98\x80");
    assert_int_equal(k.stopped, 0);
    /* invalid: a lone continuation byte, a lead byte cut short, 0xFF */
    push(s, &k, byte_token(0x80), "\xEF\xBF\xBD");
    push(s, &k, byte_token(0xE2), "");
    push(s, &k, byte_token('x'), "\xEF\xBF\xBDx");
    push(s, &k, byte_token(0xFF), "\xEF\xBF\xBD");
    /* an overlong lead (C0) and a surrogate (ED A0) are never shown as is */
    push(s, &k, byte_token(0xC0), "\xEF\xBF\xBD");
    push(s, &k, byte_token(0xED), "");
    push(s, &k, byte_token(0xA0), "\xEF\xBF\xBD\xEF\xBF\xBD");
    /* an incomplete character at the end is flushed as U+FFFD */
    push(s, &k, byte_token(0xE2), "");
    push(s, &k, byte_token(0x82), "");
    k.len = 0;
    flush(s, &k);
    assert_string_equal(k.text, "\xEF\xBF\xBD");
    bn_text_stream_free(&s);
    assert_null(s);
}

/* A text's own tokens give back the text, whatever the tokenizer merged. */
static void test_round_trip(void **state)
{
    (void)state;
    const char *text = "Grüße, 世界! ternary weights: −1, 0, +1 😀 done.\nNew line\ttab";
    bn_token t[256];
    size_t n;
    assert_int_equal(bn_tokenize(model, text, strlen(text), t, 256, 0, &n), BN_OK);
    bn_text_stream *s = stream(NULL, 0);
    sink k = { .len = 0 };
    for (size_t i = 0; i < n; i++)
        push(s, &k, t[i], NULL);
    flush(s, &k);
    assert_string_equal(k.text, text);
    bn_text_stream_free(&s);
}

static void test_stop_split(void **state)
{
    (void)state;
    const char *stop[] = { "STOP", "\xC3\xA9nd" };
    bn_text_stream *s = stream(stop, 2);
    sink k = { .len = 0 };
    push(s, &k, byte_token('a'), "a");
    push(s, &k, byte_token('b'), "b");
    push(s, &k, byte_token('S'), "");              /* may begin STOP */
    push(s, &k, byte_token('T'), "");
    push(s, &k, byte_token('X'), "STX");           /* a false start */
    push(s, &k, byte_token('S'), "");
    push(s, &k, byte_token('S'), "S");             /* the first S cannot start STOP any more */
    push(s, &k, byte_token('T'), "");
    push(s, &k, byte_token('O'), "");
    assert_int_equal(k.stopped, 0);
    push(s, &k, byte_token('P'), "");
    assert_int_equal(k.stopped, 1);
    assert_string_equal(k.text, "abSTXS");
    /* after a stop nothing more comes out */
    push(s, &k, byte_token('z'), "");
    assert_int_equal(k.stopped, 1);
    flush(s, &k);
    assert_string_equal(k.text, "abSTXS");

    /* flush starts afresh: a stop string made of multi-byte characters */
    k.len = 0;
    k.text[0] = 0;
    push_bytes(s, &k, "x\xC3\xA9n");
    assert_string_equal(k.text, "x");
    assert_int_equal(k.stopped, 0);
    push_bytes(s, &k, "d tail");
    assert_int_equal(k.stopped, 1);
    assert_string_equal(k.text, "x");
    bn_text_stream_free(&s);
}

/* The earliest stop string wins; text before it in the same token is shown. */
static void test_stop_inside_token(void **state)
{
    (void)state;
    const char *stop[] = { "aab", "b" };
    bn_text_stream *s = stream(stop, 2);
    sink k = { .len = 0 };
    push_bytes(s, &k, "xaaa");
    assert_string_equal(k.text, "xa");             /* "aa" may begin "aab" */
    push(s, &k, byte_token('b'), "");              /* "aab" begins before "b" */
    assert_int_equal(k.stopped, 1);
    assert_string_equal(k.text, "xa");
    flush(s, &k);
    assert_string_equal(k.text, "xa");

    /* a token whose piece holds a whole stop string and more */
    const char *stop2[] = { "top" };
    bn_text_stream *s2 = stream(stop2, 1);
    bn_token t[64];
    size_t n;
    const char *text = "stop it";
    assert_int_equal(bn_tokenize(model, text, strlen(text), t, 64, 0, &n), BN_OK);
    k = (sink){ .len = 0 };
    for (size_t i = 0; i < n && !k.stopped; i++)
        push(s2, &k, t[i], NULL);
    assert_int_equal(k.stopped, 1);
    assert_string_equal(k.text, "s");
    bn_text_stream_free(&s2);
    bn_text_stream_free(&s);
}

static void test_end_of_generation(void **state)
{
    (void)state;
    const bn_token eot = bn_model_token_eot(model), eos = bn_model_token_eos(model);
    assert_true(eot >= 0 && eos >= 0);
    const char *stop[] = { "STOP" };
    bn_text_stream *s = stream(stop, 1);
    sink k = { .len = 0 };
    push_bytes(s, &k, "hi ST");
    assert_string_equal(k.text, "hi ");
    push(s, &k, eot, "ST");            /* held text is released, then the end */
    assert_int_equal(k.stopped, 1);
    flush(s, &k);
    assert_string_equal(k.text, "hi ST");

    k.len = 0;
    k.text[0] = 0;
    push(s, &k, byte_token(0xC3), "");
    push(s, &k, eos, "\xEF\xBF\xBD");
    assert_int_equal(k.stopped, 1);

    /* a control token that does not end generation shows nothing */
    flush(s, &k);
    const bn_token bos = bn_model_token_bos(model);
    if (bos >= 0 && !bn_model_token_is_eog(model, bos)) {
        push(s, &k, bos, "");
        assert_int_equal(k.stopped, 0);
    }
    bn_text_stream_free(&s);
}

/* At the end an incomplete last character becomes U+FFFD, which may
 * complete a stop string: the text still ends before it (flush and EOS). */
static void test_stop_completed_at_end(void **state)
{
    (void)state;
    const char *const stop[] = { "x\xEF\xBF\xBD" };
    for (int eos = 0; eos <= 1; eos++) {
        bn_text_stream *s = stream(stop, 1);
        sink k = { .len = 0 };
        push_bytes(s, &k, "ab");
        push(s, &k, byte_token('x'), "");           /* may begin the stop string */
        push(s, &k, byte_token(0xE2), "");          /* a character cut short */
        if (eos)
            push(s, &k, bn_model_token_eos(model), "");
        else
            flush(s, &k);
        assert_string_equal(k.text, "ab");
        bn_text_stream_free(&s);
    }
}

static void test_arguments(void **state)
{
    (void)state;
    bn_text_stream *s = (bn_text_stream *)(uintptr_t)1;
    const char *good[] = { "x" }, *empty[] = { "" }, *null_entry[] = { NULL };
    const char *bad_utf8[] = { "ab\xC3" }, *surrogate[] = { "\xED\xA0\x80" };
    assert_int_equal(bn_text_stream_new(NULL, model, NULL, 0), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_new(&s, NULL, NULL, 0), BN_E_INVALID_ARG);
    assert_null(s);
    assert_int_equal(bn_text_stream_new(&s, model, NULL, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_new(&s, model, empty, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_new(&s, model, null_entry, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_new(&s, model, bad_utf8, 1), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "UTF-8"));
    assert_int_equal(bn_text_stream_new(&s, model, surrogate, 1), BN_E_INVALID_ARG);
    assert_null(s);
    assert_int_equal(bn_text_stream_new(&s, model, good, 1), BN_OK);

    const char *text;
    size_t len;
    int stopped;
    assert_int_equal(bn_text_stream_push(NULL, 0, &text, &len, &stopped), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_push(s, 0, NULL, &len, &stopped), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_push(s, 0, &text, NULL, &stopped), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_push(s, 0, &text, &len, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_push(s, -1, &text, &len, &stopped), BN_E_RANGE);
    assert_int_equal(bn_text_stream_push(s, bn_model_n_vocab(model), &text, &len, &stopped), BN_E_RANGE);
    assert_int_equal(len, 0);
    assert_int_equal(bn_text_stream_flush(NULL, &text, &len), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_flush(s, NULL, &len), BN_E_INVALID_ARG);
    assert_int_equal(bn_text_stream_flush(s, &text, NULL), BN_E_INVALID_ARG);
    bn_text_stream_free(&s);
    bn_text_stream_free(&s);
    bn_text_stream_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_split),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_stop_split),
        cmocka_unit_test(test_stop_inside_token),
        cmocka_unit_test(test_end_of_generation),
        cmocka_unit_test(test_stop_completed_at_end),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
