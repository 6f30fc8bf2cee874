/*
 * query_b64.h - base64 (RFC 4648 section 4) for authgate-query's line
 * protocol.
 *
 * Exim's ${base64:...} produces the standard alphabet with "=" padding and
 * no line breaks; query_b64_decode() accepts exactly that and nothing else:
 * no whitespace, no URL alphabet, length a multiple of 4, padding only at
 * the end, unused bits of the last group zero.  Anything else is refused
 * with a static reason, never guessed at.  Pure and thread-safe.
 */
#ifndef AUTHGATE_QUERY_B64_H
#define AUTHGATE_QUERY_B64_H

#include <stddef.h>

#include "sbuf.h"

/* Append the decoding of in[0..len) to out.  0, or -1 with *why set (a
 * malformed input, or out's limit or memory exhausted). */
int query_b64_decode(const char *in, size_t len, sbuf *out, const char **why);

/* Append the encoding of in[0..len) to out (clients, tests and the
 * benchmark).  0, or -1 when out's limit or memory is exhausted. */
int query_b64_encode(const void *in, size_t len, sbuf *out);

#endif
