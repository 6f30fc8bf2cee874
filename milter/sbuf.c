/*
 * sbuf.c - bounded growable byte strings (see sbuf.h).
 *
 * Capacity doubles from 64 octets and never exceeds max + 1 (the NUL).
 */
#include "sbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(sbuf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->err = 0;
}

void sbuf_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}

void sbuf_reset(sbuf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

static int sbuf_grow(sbuf *b, size_t need)
{
    size_t cap = b->cap != 0 ? b->cap : 64;
    char *np;

    while (cap < need)
        cap = cap > (SIZE_MAX / 2) ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    np = realloc(b->p, cap);
    if (np == NULL) {
        b->err = ENOMEM;
        return -1;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

int sbuf_add(sbuf *b, const void *data, size_t n)
{
    if (b->err != 0)
        return -1;
    if (n > b->max - b->len) {
        b->err = E2BIG;
        return -1;
    }
    if (b->len + n + 1 > b->cap && sbuf_grow(b, b->len + n + 1) != 0)
        return -1;
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int sbuf_addc(sbuf *b, char c)
{
    return sbuf_add(b, &c, 1);
}

int sbuf_adds(sbuf *b, const char *s)
{
    return sbuf_add(b, s, strlen(s));
}

void sbuf_truncate(sbuf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->p[len] = '\0';
    }
}

int sbuf_error(const sbuf *b)
{
    return b->err;
}

const char *sbuf_str(const sbuf *b)
{
    return b->p != NULL ? b->p : "";
}
