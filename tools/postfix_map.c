/*
 * postfix_map.c - Postfix text lookup table parser (see postfix_map.h).
 *
 * Interface: postfix_map_parse, postfix_map_next.
 * Diagnostics (through error_fn, with the logical line's first line
 * number): NUL bytes, a continuation line with nothing to continue, a
 * logical line over POSTFIX_MAP_LINE_MAX octets, a key without a value,
 * more than POSTFIX_MAP_VALUES_MAX items.  As in Postfix, '#' starts a
 * comment only at the beginning of a line (after optional white space).
 */
#include "postfix_map.h"

#include <stdlib.h>
#include <string.h>

static int postfix_map_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int postfix_map_next(const char **p, const char *end, const char **item, size_t *itemlen)
{
    const char *s = *p;

    while (s < end && (postfix_map_space(*s) || *s == ','))
        s++;
    *item = s;
    while (s < end && !postfix_map_space(*s) && *s != ',')
        s++;
    *itemlen = (size_t)(s - *item);
    *p = s;
    return *itemlen > 0;
}

struct postfix_map_logical {
    char *buf;
    size_t len, cap;
    unsigned line; /* first physical line; 0: none open */
    int toolong, nul;
};

static void postfix_map_flush(struct postfix_map_logical *l, postfix_map_entry_fn entry_fn,
                              postfix_map_error_fn error_fn, void *arg)
{
    const char *p, *end, *item;
    postfix_map_entry e;
    size_t itemlen;

    if (l->line == 0)
        return;
    memset(&e, 0, sizeof(e));
    e.line = l->line;
    if (l->toolong) {
        error_fn(e.line, "logical line longer than 65536 octets", arg);
        goto out;
    }
    if (l->nul) {
        error_fn(e.line, "line contains a NUL byte", arg);
        goto out;
    }
    p = l->buf;
    end = l->buf + l->len;
    e.key = p;
    while (p < end && !postfix_map_space(*p))
        p++;
    e.keylen = (size_t)(p - e.key);
    while (p < end && postfix_map_space(*p))
        p++;
    while (end > p && postfix_map_space(end[-1]))
        end--;
    e.value = p;
    e.valuelen = (size_t)(end - p);
    while (postfix_map_next(&p, end, &item, &itemlen))
        if (++e.nvalues > POSTFIX_MAP_VALUES_MAX)
            break;
    if (e.nvalues == 0)
        error_fn(e.line, "key without a value", arg);
    else if (e.nvalues > POSTFIX_MAP_VALUES_MAX)
        error_fn(e.line, "more than 1000 values", arg);
    else
        entry_fn(&e, arg);
out:
    l->len = 0;
    l->line = 0;
    l->toolong = l->nul = 0;
}

/* Append a physical line (joined with one space) to the logical line. */
static int postfix_map_append(struct postfix_map_logical *l, const char *s, size_t n)
{
    size_t need = l->len + n + 2;

    if (memchr(s, '\0', n) != NULL)
        l->nul = 1;
    if (l->toolong || need > POSTFIX_MAP_LINE_MAX + 2) {
        l->toolong = 1;
        return 0;
    }
    if (need > l->cap) {
        size_t cap = l->cap ? l->cap : 256;
        char *nb;
        while (cap < need)
            cap *= 2;
        if ((nb = realloc(l->buf, cap)) == NULL)
            return -1;
        l->buf = nb;
        l->cap = cap;
    }
    if (l->len > 0)
        l->buf[l->len++] = ' ';
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
    return 0;
}

int postfix_map_parse(const char *buf, size_t len, postfix_map_entry_fn entry_fn,
                      postfix_map_error_fn error_fn, void *arg)
{
    struct postfix_map_logical l = {NULL, 0, 0, 0, 0, 0};
    const char *p = buf, *end = buf + len;
    unsigned lineno = 0;
    int rc = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *q;
        size_t llen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

        lineno++;
        q = p;
        while (q < p + llen && postfix_map_space(*q))
            q++;
        if (q == p + llen || *q == '#') {
            ; /* blank or comment: skipped, even inside a logical line */
        } else if (q != p) {
            if (l.line == 0)
                error_fn(lineno,
                         "continuation line (starts with white space) without a line "
                         "to continue",
                         arg);
            else if (postfix_map_append(&l, q, llen - (size_t)(q - p)) != 0) {
                rc = -1;
                goto out;
            }
        } else {
            postfix_map_flush(&l, entry_fn, error_fn, arg);
            l.line = lineno;
            if (postfix_map_append(&l, p, llen) != 0) {
                rc = -1;
                goto out;
            }
        }
        p = nl != NULL ? nl + 1 : end;
    }
    postfix_map_flush(&l, entry_fn, error_fn, arg);
out:
    free(l.buf);
    return rc;
}
