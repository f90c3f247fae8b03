/* Minimal JSON reading for the C tests: a whole file, whitespace, and string literals (with
 * \u escapes and surrogate pairs) decoded to malloc'd UTF-8. */
#ifndef ELMO_TEST_JSON_H
#define ELMO_TEST_JSON_H

#include "test_util.h"

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (bigger == NULL) { free(buf); fclose(f); return NULL; }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void skip_space(const char **p) {
    while (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t') (*p)++;
}

static int hex4(const char *p, unsigned *out) {
    *out = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d == 16) return -1;
        *out = *out * 16 + d;
    }
    return 0;
}

/* Parses a JSON string at *p (which points at the opening quote) into a malloc'd UTF-8 string. */
static char *parse_string(const char **p) {
    if (**p != '"') return NULL;
    (*p)++;
    char *out = xmalloc(strlen(*p) + 1), *o = out;
    while (**p != '"') {
        char c = *(*p)++;
        if (c == '\0') { free(out); return NULL; }
        if (c != '\\') { *o++ = c; continue; }
        c = *(*p)++;
        switch (c) {
        case '"': case '\\': case '/': *o++ = c; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned u, lo;
            if (hex4(*p, &u) != 0) { free(out); return NULL; }
            *p += 4;
            if (u >= 0xD800 && u < 0xDC00 && (*p)[0] == '\\' && (*p)[1] == 'u' && hex4(*p + 2, &lo) == 0
                && lo >= 0xDC00 && lo < 0xE000) {
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                *p += 6;
            }
            if (u < 0x80) *o++ = (char)u;
            else if (u < 0x800) { *o++ = (char)(0xC0 | u >> 6); *o++ = (char)(0x80 | (u & 0x3F)); }
            else if (u < 0x10000) {
                *o++ = (char)(0xE0 | u >> 12); *o++ = (char)(0x80 | ((u >> 6) & 0x3F)); *o++ = (char)(0x80 | (u & 0x3F));
            } else {
                *o++ = (char)(0xF0 | u >> 18); *o++ = (char)(0x80 | ((u >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((u >> 6) & 0x3F)); *o++ = (char)(0x80 | (u & 0x3F));
            }
            break;
        }
        default: free(out); return NULL;
        }
    }
    (*p)++;
    *o = '\0';
    return out;
}

#endif
