/*
 * json.c - streaming JSON writer (see json.h).
 *
 * Interface: json_init, json_{object,array}_{begin,end}, json_key, value
 * writers and json_kv_* shorthands, json_close_to, json_finish.
 * Output is compact, one document per json_finish().  Keys and strings are
 * escaped (control characters as \uXXXX, '"' and '\\' with a backslash);
 * bytes that are not valid UTF-8 are written as U+FFFD.
 */
#include "json.h"

#include <inttypes.h>
#include <string.h>

void json_init(json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

/* Separator before a value or key at the current level. */
static void json_sep(json *j)
{
    uint32_t bit;

    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth == 0)
        return;
    bit = 1u << (j->depth - 1);
    if (j->nonempty & bit)
        fputc(',', j->f);
    j->nonempty |= bit;
}

static void json_open(json *j, int object)
{
    uint32_t bit;

    if (j->overflow > 0 || j->depth >= JSON_DEPTH_MAX) {
        if (j->overflow == 0) {
            json_sep(j);
            fputs("null", j->f);
        }
        j->overflow++;
        return;
    }
    json_sep(j);
    fputc(object ? '{' : '[', j->f);
    bit = 1u << j->depth;
    j->nonempty &= ~bit;
    if (object)
        j->is_object |= bit;
    else
        j->is_object &= ~bit;
    j->depth++;
}

static void json_close(json *j)
{
    if (j->overflow > 0) {
        j->overflow--;
        return;
    }
    if (j->depth == 0)
        return;
    j->depth--;
    j->after_key = 0;
    fputc((j->is_object & (1u << j->depth)) ? '}' : ']', j->f);
}

void json_object_begin(json *j)
{
    json_open(j, 1);
}

void json_object_end(json *j)
{
    json_close(j);
}

void json_array_begin(json *j)
{
    json_open(j, 0);
}

void json_array_end(json *j)
{
    json_close(j);
}

void json_close_to(json *j, unsigned depth)
{
    j->overflow = 0;
    if (j->after_key && j->depth > depth) {
        fputs("null", j->f);
        j->after_key = 0;
    }
    while (j->depth > depth)
        json_close(j);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t json_utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void json_quote(json *j, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    fputc('"', j->f);
    while (i < n) {
        unsigned char c = p[i];
        size_t len;

        if (c == '"' || c == '\\') {
            fputc('\\', j->f);
            fputc(c, j->f);
            i++;
        } else if (c == '\n') {
            fputs("\\n", j->f);
            i++;
        } else if (c == '\t') {
            fputs("\\t", j->f);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(j->f, "\\u%04x", c);
            i++;
        } else if ((len = json_utf8_len(p + i, n - i)) == 0) {
            fputs("\\ufffd", j->f);
            i++;
        } else {
            fwrite(p + i, 1, len, j->f);
            i += len;
        }
    }
    fputc('"', j->f);
}

void json_key(json *j, const char *key)
{
    if (j->overflow > 0)
        return;
    json_sep(j);
    json_quote(j, key, strlen(key));
    fputc(':', j->f);
    j->after_key = 1;
}

void json_string_n(json *j, const char *s, size_t len)
{
    if (j->overflow > 0)
        return;
    json_sep(j);
    if (s == NULL)
        fputs("null", j->f);
    else
        json_quote(j, s, len);
}

void json_string(json *j, const char *s)
{
    json_string_n(j, s, s != NULL ? strlen(s) : 0);
}

void json_int(json *j, int64_t v)
{
    if (j->overflow > 0)
        return;
    json_sep(j);
    fprintf(j->f, "%" PRId64, v);
}

void json_uint(json *j, uint64_t v)
{
    if (j->overflow > 0)
        return;
    json_sep(j);
    fprintf(j->f, "%" PRIu64, v);
}

void json_bool(json *j, int v)
{
    if (j->overflow > 0)
        return;
    json_sep(j);
    fputs(v ? "true" : "false", j->f);
}

void json_null(json *j)
{
    if (j->overflow > 0)
        return;
    json_sep(j);
    fputs("null", j->f);
}

void json_kv_string(json *j, const char *key, const char *s)
{
    json_key(j, key);
    json_string(j, s);
}

void json_kv_int(json *j, const char *key, int64_t v)
{
    json_key(j, key);
    json_int(j, v);
}

void json_kv_uint(json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    json_uint(j, v);
}

void json_kv_bool(json *j, const char *key, int v)
{
    json_key(j, key);
    json_bool(j, v);
}

int json_finish(json *j)
{
    json_close_to(j, 0);
    fputc('\n', j->f);
    return (fflush(j->f) != 0 || ferror(j->f)) ? -1 : 0;
}
