/*
 * UTF-8 validation (RFC 3629): the check every string entering a value tree
 * passes, so strings are always text that Python, JSON and HDF5 accept.
 */
#include "core/utf8.h"

#include <stdint.h>

/* Length of the sequence a lead byte starts, 0 if it cannot start one. */
static size_t sequence_length(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 0;
}

/* The allowed range of the second byte, which rules out overlong forms,
 * surrogates (U+D800..U+DFFF) and code points past U+10FFFF. */
static bool second_byte_ok(unsigned char lead, unsigned char b)
{
    unsigned char lo = 0x80, hi = 0xBF;
    if (lead == 0xE0)
        lo = 0xA0;
    else if (lead == 0xED)
        hi = 0x9F;
    else if (lead == 0xF0)
        lo = 0x90;
    else if (lead == 0xF4)
        hi = 0x8F;
    return b >= lo && b <= hi;
}

bool utf8_is_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = sequence_length(s[i]);
        if (n == 0 || n > len - i || !second_byte_ok(s[i], s[i + 1]))
            return false;
        for (size_t k = 2; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += n;
    }
    return true;
}
