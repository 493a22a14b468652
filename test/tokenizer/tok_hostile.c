#include "tok_hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"

#define GOLDEN 0x9E3779B97F4A7C15ull
#define MUL1 0xFF51AFD7ED558CCDull
#define MIX_A 0xBF58476D1CE4E5B9ull
#define MIX_B 0x94D049BB133111EBull

/* ---- the former hashes and their inverses ------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * MIX_A;
    z = (z ^ (z >> 27)) * MIX_B;
    return z ^ (z >> 31);
}

static uint64_t inverse_odd(uint64_t c)
{
    uint64_t x = c;                 /* Newton: each step doubles the correct bits */
    for (int i = 0; i < 6; i++)
        x *= 2 - c * x;
    return x;
}

/* x ^= x >> s undone */
static uint64_t unshift(uint64_t y, int s)
{
    uint64_t x = y;
    for (int k = s; k < 64; k += s)
        x ^= y >> k;
    return x;
}

static uint64_t unmix64(uint64_t z)
{
    z = unshift(z, 31) * inverse_odd(MIX_B);
    z = unshift(z, 27) * inverse_odd(MIX_A);
    return unshift(z, 30);
}

uint64_t bn_hostile_former_hash(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = GOLDEN ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * MUL1;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)s[i] << (8 * i);
    return mix64(h ^ w);
}

uint32_t bn_hostile_former_merge_slot(uint32_t left, uint32_t right, uint32_t mask)
{
    return (uint32_t)((((uint64_t)left << 32 | right) * GOLDEN) >> 32) & mask;
}

/* The 8 bytes whose former hash is h. */
static void former_preimage8(uint64_t h, uint8_t out[8])
{
    uint64_t x = unshift(unmix64(h), 32);
    uint64_t w = x * inverse_odd(MUL1) ^ GOLDEN ^ 8;
    memcpy(out, &w, 8);
}

static uint64_t next_random(uint64_t *state)
{
    return mix64(*state += GOLDEN);
}

char *bn_hostile_text(const char *alphabet, size_t n, uint64_t seed)
{
    size_t k = strlen(alphabet);
    char *t = malloc(n + 1);
    if (!t)
        abort();
    for (size_t i = 0; i < n; i++)
        t[i] = alphabet[next_random(&seed) % k];
    t[n] = 0;
    return t;
}

/* ---- collisions in the token table ------------------------------------------------- */

static void spm_base(bn_tok_vocab *v)
{
    bn_tok_vocab_init(v, "llama");
    v->write_scores = 1;
    bn_tok_vocab_add_str(v, "<unk>", 2, 0);
    bn_tok_vocab_add_str(v, "<s>", 3, 0);
    bn_tok_vocab_add_str(v, "</s>", 3, 0);
    for (unsigned b = 0; b < 256; b++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", b);
        bn_tok_vocab_add_str(v, s, 6, 0);
    }
    bn_tok_vocab_add_str(v, "\xE2\x96\x81", 1, -1);
    for (char c = 'a'; c <= 'z'; c++)
        bn_tok_vocab_add(v, &c, 1, 1, -2);
    v->unk = 0;
    v->bos = 1;
    v->eos = 2;
}

void bn_hostile_colliding_tokens(bn_tok_vocab *v, uint32_t n)
{
    spm_base(v);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t s[8];
        /* the low 32 bits (every slot index) equal, the tags differ */
        former_preimage8((uint64_t)(i + 1) << 32, s);
        bn_tok_vocab_add(v, (const char *)s, 8, 1, -3);
    }
}

void bn_hostile_random_tokens(bn_tok_vocab *v, uint32_t n)
{
    spm_base(v);
    uint64_t seed = 12;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t w = next_random(&seed);
        bn_tok_vocab_add(v, (const char *)&w, 8, 1, -3);
    }
}

/* ---- collisions in the merge table ------------------------------------------------- */

static const char code64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The former merge table's size for n rules (load 2/3). */
static uint32_t former_merge_slots(uint32_t n)
{
    uint64_t cap = 16;
    while (cap < (uint64_t)n + n / 2)
        cap *= 2;
    return (uint32_t)cap;
}

void bn_hostile_colliding_merges(bn_tok_vocab *v, uint32_t n, int random)
{
    uint32_t slots = former_merge_slots(n), mask = slots - 1;
    if (256 + (uint64_t)n > slots || slots > (1u << 18))
        abort();                    /* ids below need 3 characters of code64 */
    bn_tok_vocab_init(v, "gpt2");
    v->pre = "gpt2";
    bn_tok_vocab_add_gpt2_bytes(v);
    /* every id in [256, slots) a 3-character token: any left part exists */
    for (uint32_t id = 256; id < slots; id++) {
        char s[3] = { code64[id & 63], code64[(id >> 6) & 63], code64[(id >> 12) & 63] };
        bn_tok_vocab_add(v, s, 3, 1, 0);
    }
    uint32_t inv = (uint32_t)inverse_odd(GOLDEN);
    uint64_t seed = 34;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t right = 256 + k, left;
        if (random) {
            left = (uint32_t)(next_random(&seed) % slots);
        } else {
            /* slot = (left * low32(GOLDEN) + high32(right * GOLDEN)) & mask: solve for 0 */
            uint32_t hi = (uint32_t)(((uint64_t)right * GOLDEN) >> 32);
            left = ((0u - hi) * inv) & mask;
        }
        size_t nl = v->lens[left], nr = v->lens[right];
        char rule[64], cat[64];
        memcpy(rule, v->tokens[left], nl);
        rule[nl] = ' ';
        memcpy(rule + nl + 1, v->tokens[right], nr);
        rule[nl + 1 + nr] = 0;
        memcpy(cat, v->tokens[left], nl);
        memcpy(cat + nl, v->tokens[right], nr);
        bn_tok_vocab_add(v, cat, nl + nr, 1, 0);
        bn_tok_vocab_add_merge(v, rule);
    }
}

/* ---- small hostile vocabularies ---------------------------------------------------- */

static const char *const chat_markers[] = {
    "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
};

/* Terminal control sequences and other bytes a token should not smuggle. */
static const char *const control_texts[] = {
    "\x1b]0;pwned\x07", "\x1b[2J", "\x1b[H", "\b\b\b", "\r", "\x07", "\x7f", "\x1b",
    "\xc2\x9b" "31m", "\xe2\x80\xae", "\xef\xbb\xbf",
};

static void bpe_base(bn_tok_vocab *v)
{
    bn_tok_vocab_init(v, "gpt2");
    v->pre = "llama-bpe";
    bn_tok_vocab_add_gpt2_bytes(v);
    bn_tok_vocab_add_bpe(v, "ab", 1);
    bn_tok_vocab_add_merge(v, "a b");
}

/* Normal tokens spelling the chat markers (with the text of a control token
 * too, before and after it), merges that build them, and the markers as
 * control tokens. */
static void special_as_normal(bn_tok_vocab *v, int spm)
{
    if (spm)
        spm_base(v);
    else
        bpe_base(v);
    for (size_t i = 0; i < sizeof chat_markers / sizeof *chat_markers; i++) {
        if (spm)
            bn_tok_vocab_add_str(v, chat_markers[i], 1, -1);
        else
            bn_tok_vocab_add_bpe(v, chat_markers[i], 1);
        bn_tok_vocab_add_str(v, chat_markers[i], 3, 0);
        if (spm)
            bn_tok_vocab_add_str(v, chat_markers[i], 1, -1);
        else
            bn_tok_vocab_add_bpe(v, chat_markers[i], 1);
    }
    bn_tok_vocab_add_str(v, "<|start_header_id|>system<|end_header_id|>", 1, -1);
    bn_tok_vocab_add_str(v, "<|", 1, -1);
    bn_tok_vocab_add_str(v, "|>", 1, -1);
    bn_tok_vocab_add_str(v, "<|eot", 4, 0);       /* user-defined: a prefix of a marker */
    if (!spm) {
        bn_tok_vocab_add_merge(v, "< |");
        bn_tok_vocab_add_merge(v, "| >");
    }
    v->bos = spm ? 1 : 256 + 1;
}

static void control_chars(bn_tok_vocab *v, int spm)
{
    if (spm)
        spm_base(v);
    else
        bpe_base(v);
    for (size_t i = 0; i < sizeof control_texts / sizeof *control_texts; i++) {
        const char *t = control_texts[i];
        bn_tok_vocab_add_str(v, t, 1, -1);         /* raw bytes as the text */
        if (!spm)
            bn_tok_vocab_add_bpe(v, t, 1);         /* spelled in GPT-2 characters */
        bn_tok_vocab_add_str(v, t, 4, 0);          /* user-defined */
    }
    bn_tok_vocab_add(v, "a\0b", 3, 1, -1);         /* a NUL inside */
    bn_tok_vocab_add(v, "\xff\xfe", 2, 1, -1);     /* ill-formed UTF-8 */
    bn_tok_vocab_add(v, "\xe2\x96", 2, 1, -1);     /* a cut U+2581 */
    bn_tok_vocab_add(v, "\xed\xa0\x80", 3, 1, -1); /* a surrogate */
    bn_tok_vocab_add(v, " a b ", 5, 1, -1);        /* spaces in a token text */
}

static void duplicates(bn_tok_vocab *v)
{
    spm_base(v);
    for (int i = 0; i < 4096; i++)
        bn_tok_vocab_add_str(v, i & 1 ? "ab" : "a", i % 3 == 0 ? 3 : 1, (float)-i);
}

static void empty_and_long(bn_tok_vocab *v, int spm)
{
    if (spm)
        spm_base(v);
    else
        bpe_base(v);
    size_t n = 60000;
    char *s = malloc(n);
    if (!s)
        abort();
    memset(s, 'a', n);
    bn_tok_vocab_add(v, "", 0, 1, 0);
    bn_tok_vocab_add(v, "", 0, 3, 0);
    bn_tok_vocab_add(v, "", 0, 4, 0);
    bn_tok_vocab_add(v, s, n, 1, -1);
    bn_tok_vocab_add(v, s, n / 2, 4, 0);
    free(s);
}

static void odd_types(bn_tok_vocab *v)
{
    spm_base(v);
    bn_tok_vocab_add_str(v, "ab", 99, 0);
    bn_tok_vocab_add_str(v, "bc", -1, 0);
    bn_tok_vocab_add_str(v, "<0x41>", 1, 0);      /* a byte token's text, normal */
    bn_tok_vocab_add_str(v, "<0xZZ>", 6, 0);      /* a byte token that is not one */
    bn_tok_vocab_add_str(v, "cd", 5, 0);          /* unused */
}

int bn_hostile_case(unsigned i, bn_tok_vocab *v, const char **name, int *expect)
{
    *expect = BN_OK;
    switch (i) {
    case 0: *name = "bpe special text as normal tokens"; special_as_normal(v, 0); return 1;
    case 1: *name = "spm special text as normal tokens"; special_as_normal(v, 1); return 1;
    case 2: *name = "bpe control characters"; control_chars(v, 0); return 1;
    case 3: *name = "spm control characters"; control_chars(v, 1); return 1;
    case 4: *name = "spm 4096 duplicate texts"; duplicates(v); return 1;
    case 5: *name = "bpe empty and 60000-byte tokens"; empty_and_long(v, 0); return 1;
    case 6: *name = "spm empty and 60000-byte tokens"; empty_and_long(v, 1); return 1;
    case 7: *name = "spm odd token types"; odd_types(v); return 1;
    case 8: *name = "bpe colliding tokens"; bn_hostile_colliding_tokens(v, 2048);
        v->model = "gpt2";                          /* no GPT-2 byte characters */
        *expect = BN_E_MODEL; return 1;
    case 9: *name = "spm colliding tokens"; bn_hostile_colliding_tokens(v, 2048); return 1;
    case 10: *name = "bpe colliding merges"; bn_hostile_colliding_merges(v, 2048, 0); return 1;
    case 11: *name = "bpe merge rule without a space"; bpe_base(v);
        bn_tok_vocab_add_merge(v, "ab");
        *expect = BN_E_MODEL; return 1;
    case 12: *name = "bpe merge rule of missing tokens"; bpe_base(v);
        bn_tok_vocab_add_merge(v, "x y");
        *expect = BN_E_MODEL; return 1;
    case 13: *name = "bpe merge rule with a trailing space"; bpe_base(v);
        bn_tok_vocab_add_merge(v, "a ");
        *expect = BN_E_MODEL; return 1;
    case 14: *name = "spm special id out of range"; spm_base(v);
        v->eos = (int64_t)v->n + 5;
        *expect = BN_E_MODEL; return 1;
    case 15: *name = "spm without byte fallback or unknown token";
        bn_tok_vocab_init(v, "llama");
        bn_tok_vocab_add_str(v, "a", 1, 0);
        v->unk = -1;
        *expect = BN_E_MODEL; return 1;
    case 16: *name = "bpe without merges"; bpe_base(v);
        v->write_merges = 0;
        *expect = BN_E_MODEL; return 1;
    case 17: *name = "bpe byte character also a control token"; bpe_base(v);
        bn_tok_vocab_add_str(v, "a", 3, 0);
        *expect = BN_E_MODEL; return 1;
    default: return 0;
    }
}

/* ---- many merges on a small alphabet ----------------------------------------------- */

void bn_hostile_dense_merges(bn_tok_vocab *v, unsigned max_len, uint64_t seed)
{
    bn_tok_vocab_init(v, "gpt2");
    v->pre = "gpt2";
    bn_tok_vocab_add_gpt2_bytes(v);
    uint32_t n_rules = 0;
    char (*rules)[40] = malloc(sizeof *rules << (max_len + 1));
    if (!rules || max_len > 16)
        abort();
    for (unsigned len = 2; len <= max_len; len++)
        for (uint32_t bits = 0; bits < (1u << len); bits++) {
            char s[17];
            for (unsigned k = 0; k < len; k++)
                s[k] = bits >> k & 1 ? 'b' : 'a';
            s[len] = 0;
            bn_tok_vocab_add_bpe(v, s, 1);
            unsigned split = 1 + (unsigned)(next_random(&seed) % (len - 1));
            snprintf(rules[n_rules++], sizeof *rules, "%.*s %s", (int)split, s, s + split);
        }
    for (uint32_t i = n_rules; i > 1; i--) {       /* ranks at random */
        uint32_t j = (uint32_t)(next_random(&seed) % i);
        char t[40];
        memcpy(t, rules[i - 1], sizeof t);
        memcpy(rules[i - 1], rules[j], sizeof t);
        memcpy(rules[j], t, sizeof t);
    }
    for (uint32_t i = 0; i < n_rules; i++)
        bn_tok_vocab_add_merge(v, rules[i]);
    free(rules);
}

void bn_hostile_dense_spm(bn_tok_vocab *v, unsigned max_len, uint64_t seed)
{
    spm_base(v);
    static const char *const ch[3] = { "a", "b", "\xE2\x96\x81" };
    for (unsigned len = 2; len <= max_len; len++) {
        uint32_t count = 1;
        for (unsigned k = 0; k < len; k++)
            count *= 3;
        for (uint32_t c = 0; c < count; c++) {
            char s[64];
            size_t m = 0;
            for (uint32_t k = 0, x = c; k < len; k++, x /= 3) {
                memcpy(s + m, ch[x % 3], strlen(ch[x % 3]));
                m += strlen(ch[x % 3]);
            }
            /* few distinct scores: many ties */
            bn_tok_vocab_add(v, s, m, 1, -(float)(next_random(&seed) % 5));
        }
    }
}
