/*
 * The pre-tokenizer regexes, as hand-written matchers. Each function returns
 * the length of the match the regex engine would find at position i: the
 * alternatives are tried in order, with the same greedy and backtracking
 * outcome (see doc/tokenizer.md for the derivation of each branch).
 *
 * llama-bpe (Llama 3):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * gpt2:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * The text ends at n or at the first ill-formed UTF-8 byte: the caller makes
 * each such byte a piece of its own, so matches never cross it.
 */
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

#define L BN_UC_LETTER
#define N BN_UC_NUMBER
#define S BN_UC_SPACE

/* Decodes the character at i: its length (0 at the end of the text), code
 * point and class. */
static inline size_t peek(const uint8_t *s, size_t i, size_t n, uint32_t *cp, unsigned *cls)
{
    size_t len = i < n ? bn_utf8_decode(s + i, n - i, cp) : 0;
    *cls = len ? bn_uc_class(*cp) : 0;
    return len;
}

/* Advances over characters whose class has a bit of `any` (or, with any = 0,
 * none of L, N, S: "[^\s\p{L}\p{N}]"). */
static size_t run(const uint8_t *s, size_t i, size_t n, unsigned any)
{
    for (;;) {
        uint32_t c;
        unsigned k;
        size_t l = peek(s, i, n, &c, &k);
        if (!l || (any ? !(k & any) : (k & (L | N | S)) != 0))
            return i;
        i += l;
    }
}

static unsigned ascii_lower(unsigned c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The letters of 's|'t|'re|'ve|'m|'ll|'d after the apostrophe at j - 1:
 * their count, or 0. Case-insensitive for ASCII only, as llama.cpp and the
 * JavaScript reference ([sS]...). */
static size_t contraction(const uint8_t *s, size_t j, size_t n, int fold)
{
    if (j >= n)
        return 0;
    unsigned a = s[j], b = j + 1 < n ? s[j + 1] : 0;
    if (fold) {
        a = ascii_lower(a);
        b = ascii_lower(b);
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 1;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 2;
    return 0;
}

/*
 * A run of whitespace at i, by the last alternatives:
 *   \s*[\r\n]+  (llama3 only) up to and including the last CR/LF of the run;
 *   \s+(?!\S)   the whole run at the end of the text, else all of it but its
 *               last character (which then starts the next piece);
 *   \s+         a single whitespace character before a non-space.
 */
static size_t spaces(const uint8_t *s, size_t i, size_t n, int crlf_rule)
{
    size_t j = i, last = i, crlf_end = 0, count = 0;
    for (;;) {
        uint32_t c;
        unsigned k;
        size_t l = peek(s, j, n, &c, &k);
        if (!l || !(k & S))
            break;
        last = j;
        j += l;
        count++;
        if (c == '\r' || c == '\n')
            crlf_end = j;
    }
    if (crlf_rule && crlf_end)
        return crlf_end - i;
    uint32_t c;
    unsigned k;
    if (count > 1 && peek(s, j, n, &c, &k))
        return last - i;
    return j - i;
}

size_t bn_pretok_llama3(const uint8_t *s, size_t i, size_t n)
{
    uint32_t c0, c1;
    unsigned k0, k1;
    size_t l0 = peek(s, i, n, &c0, &k0);
    if (!l0)
        return 0;
    /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */
    if (c0 == '\'') {
        size_t m = contraction(s, i + 1, n, 1);
        if (m)
            return 1 + m;
    }
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (k0 & L)
        return run(s, i, n, L) - i;
    if (!(k0 & N) && c0 != '\r' && c0 != '\n' && peek(s, i + l0, n, &c1, &k1) && (k1 & L))
        return run(s, i + l0, n, L) - i;
    /* \p{N}{1,3} */
    if (k0 & N) {
        size_t j = i + l0;
        for (int r = 1; r < 3; r++) {
            size_t l = peek(s, j, n, &c1, &k1);
            if (!l || !(k1 & N))
                break;
            j += l;
        }
        return j - i;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t j = i;
    if (c0 == ' ' && peek(s, i + 1, n, &c1, &k1) && !(k1 & (L | N | S)))
        j = i + 1;
    if (j > i || !(k0 & S)) {
        j = run(s, j, n, 0);
        while (j < n && (s[j] == '\r' || s[j] == '\n'))
            j++;
        return j - i;
    }
    /* \s*[\r\n]+|\s+(?!\S)|\s+ */
    return spaces(s, i, n, 1);
}

size_t bn_pretok_gpt2(const uint8_t *s, size_t i, size_t n)
{
    uint32_t c0, c1;
    unsigned k0, k1;
    size_t l0 = peek(s, i, n, &c0, &k0);
    if (!l0)
        return 0;
    /* 's|'t|'re|'ve|'m|'ll|'d */
    if (c0 == '\'') {
        size_t m = contraction(s, i + 1, n, 0);
        if (m)
            return 1 + m;
    }
    /*  ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+ : an optional space, then the class
     * of the next character decides */
    size_t j = i;
    unsigned k = k0;
    if (c0 == ' ' && peek(s, i + 1, n, &c1, &k1) && ((k1 & (L | N)) || !(k1 & S))) {
        j = i + 1;
        k = k1;
    }
    if (j > i || !(k0 & S)) {
        if (k & L)
            return run(s, j, n, L) - i;
        if (k & N)
            return run(s, j, n, N) - i;
        return run(s, j, n, 0) - i;
    }
    /* \s+(?!\S)|\s+ */
    return spaces(s, i, n, 0);
}
