#include "core/base64.h"

#include <stdint.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_length(size_t len)
{
    return (len + 2) / 3 * 4;
}

void base64_encode(const void *data, size_t len, char *out)
{
    const unsigned char *in = data;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[w >> 18];
        *out++ = alphabet[(w >> 12) & 63];
        *out++ = alphabet[(w >> 6) & 63];
        *out++ = alphabet[w & 63];
    }
    if (i < len) {
        uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = alphabet[w >> 18];
        *out++ = alphabet[(w >> 12) & 63];
        *out++ = i + 1 < len ? alphabet[(w >> 6) & 63] : '=';
        *out++ = '=';
    }
}

static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool base64_decode(const char *text, size_t len, void *out, size_t *out_len)
{
    if (len % 4)
        return false;
    unsigned char *o = out;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        size_t pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
        uint32_t w = 0;
        for (size_t k = 0; k < 4 - pad; k++) {
            int v = sextet(text[i + k]);
            if (v < 0)
                return false;
            w |= (uint32_t)v << (18 - 6 * k);
        }
        o[n++] = (unsigned char)(w >> 16);
        if (pad < 2)
            o[n++] = (unsigned char)(w >> 8);
        if (pad < 1)
            o[n++] = (unsigned char)w;
    }
    *out_len = n;
    return true;
}
