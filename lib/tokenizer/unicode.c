/* UTF-8 encoding and GPT-2's byte <-> code point mapping. */
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

size_t bn_utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* bytes_to_unicode() keeps the printable Latin-1 bytes ('!'..'~', 0xA1..0xAC,
 * 0xAE..0xFF) and gives the other 68, in byte order, the code points from
 * U+0100: 0x00..0x20 -> U+0100..U+0120, 0x7F..0xA0 -> U+0121..U+0142,
 * 0xAD -> U+0143. */
static int gpt2_keeps(unsigned b)
{
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t bn_gpt2_byte_cp(unsigned b)
{
    b &= 0xFF;
    if (gpt2_keeps(b))
        return b;
    if (b <= 0x20)
        return 0x100 + b;
    if (b <= 0xA0)
        return 0x121 + (b - 0x7F);
    return 0x143;                   /* 0xAD */
}

int bn_gpt2_cp_byte(uint32_t cp)
{
    if (cp < 0x100)
        return gpt2_keeps(cp) ? (int)cp : -1;
    if (cp <= 0x120)
        return (int)(cp - 0x100);
    if (cp <= 0x142)
        return (int)(0x7F + (cp - 0x121));
    return cp == 0x143 ? 0xAD : -1;
}
