/* UTF-8 decoding and the Unicode character classes of the pre-tokenizer
 * regexes (\p{L}, \p{N}, \s). The class table is generated at build time
 * from the Unicode Character Database (gen_unicode_table.py). */
#ifndef BN_TOKENIZER_UNICODE_H
#define BN_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum {
    BN_UC_LETTER = 1,   /* General_Category L* */
    BN_UC_NUMBER = 2,   /* General_Category N* */
    BN_UC_SPACE = 4     /* White_Space property */
};

extern const char bn_ucd_version[];
extern const uint16_t bn_ucd_index[0x110000 >> 8];
extern const uint8_t bn_ucd_blocks[][256];

/* Class bits of a code point; 0 beyond U+10FFFF. */
static inline unsigned bn_uc_class(uint32_t cp)
{
    return cp < 0x110000 ? bn_ucd_blocks[bn_ucd_index[cp >> 8]][cp & 255] : 0;
}

/*
 * Decodes one well-formed UTF-8 sequence at s (n bytes available). Returns its
 * length (1..4) and the code point, or 0 when n is 0 or the bytes at s do not
 * start a well-formed sequence (stray continuation byte, overlong form,
 * surrogate, above U+10FFFF, truncated).
 */
static inline size_t bn_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    uint32_t c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;       /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;       /* overlong */
        if (c == 0xED) hi = 0x9F;       /* surrogates */
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;       /* overlong */
        if (c == 0xF4) hi = 0x8F;       /* above U+10FFFF */
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    c = (c << 6) | (s[1] & 0x3Fu);
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    *cp = c;
    return len;
}

/* Writes the UTF-8 form of cp (< 0x110000) to out; returns its length. */
size_t bn_utf8_encode(uint32_t cp, uint8_t out[4]);

#endif
