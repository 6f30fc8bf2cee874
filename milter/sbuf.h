/*
 * sbuf.h - bounded growable byte strings for untrusted input.
 *
 * An sbuf grows on demand up to a hard maximum given at init.  Errors are
 * sticky: once an append fails (out of memory, or the maximum would be
 * exceeded) every later append is a no-op and sbuf_error() says why, so a
 * caller appends freely and checks once.  The content is always
 * NUL-terminated after a successful append (the terminator is not counted in
 * len and does not count against max).
 */
#ifndef AUTHGATE_SBUF_H
#define AUTHGATE_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *p;    /* content (NULL until the first append) */
    size_t len; /* octets used, excluding the NUL */
    size_t cap; /* octets allocated */
    size_t max; /* hard limit on len */
    int err;    /* 0, ENOMEM or E2BIG */
} sbuf;

/* An empty buffer that may hold up to max octets. */
void sbuf_init(sbuf *b, size_t max);
/* Release the memory; the buffer is empty (and reusable) afterwards. */
void sbuf_free(sbuf *b);
/* Forget the content (and a sticky error), keep the memory. */
void sbuf_reset(sbuf *b);

/* Append n octets / one octet / a NUL-terminated string.  0 or -1. */
int sbuf_add(sbuf *b, const void *data, size_t n);
int sbuf_addc(sbuf *b, char c);
int sbuf_adds(sbuf *b, const char *s);
/* Shorten to len octets (len <= b->len). */
void sbuf_truncate(sbuf *b, size_t len);

/* 0, ENOMEM or E2BIG. */
int sbuf_error(const sbuf *b);
/* The content as a string ("" when empty; owned by the buffer). */
const char *sbuf_str(const sbuf *b);

#endif
