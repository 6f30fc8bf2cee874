/*
 * utf8.h - strict UTF-8 decoding and encoding.
 *
 * utf8_decode() accepts exactly the well-formed sequences of RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF.  Pure functions.
 */
#ifndef AUTHGATE_UTF8_H
#define AUTHGATE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The replacement character U+FFFD, for undecodable input. */
#define UTF8_REPLACEMENT 0xFFFDu

/* Decode the code point starting at s (len > 0 octets available).  Returns
 * the number of octets it occupies (1..4) and sets *cp, or 0 when the octets
 * there are not a well-formed sequence. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Encode cp (a scalar value) into out, which has room for 4 octets; returns
 * the number of octets written (1..4). */
size_t utf8_encode(uint32_t cp, char *out);

/* Non-zero when s[0..len) is entirely well-formed UTF-8. */
int utf8_valid(const char *s, size_t len);

#endif
