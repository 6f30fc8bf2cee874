/*
 * rfc2047.h - decode RFC 2047 encoded-words in display names and comments.
 *
 * Decoding is deliberately liberal, because the text is checked for what a
 * mail reader might show: encoded-words are decoded wherever they appear
 * (also inside quoted strings and in the middle of words, which RFC 2047
 * forbids but readers accept), the 75-character limit is not enforced,
 * whitespace between adjacent encoded-words is dropped, and adjacent words
 * in the same charset are joined before conversion (so a character split
 * across two words survives).  Q and B encodings; charsets as charset.h.
 */
#ifndef AUTHGATE_RFC2047_H
#define AUTHGATE_RFC2047_H

#include <stddef.h>

#include "sbuf.h"

enum rfc2047_flags {
    RFC2047_DECODED = 1 << 0, /* at least one encoded-word was decoded */
    RFC2047_CTRL = 1 << 1,    /* decoded text holds a control character */
    RFC2047_LOSSY = 1 << 2,   /* some octets could not be decoded */
    RFC2047_UNKNOWN = 1 << 3, /* an unknown charset was decoded as 8-bit */
};

/* Append the decoded form of in[0..len) (well-formed UTF-8) to out.
 * Sets RFC2047_* bits in *flags.  Returns 0, or -1 when out failed. */
int rfc2047_decode(const char *in, size_t len, sbuf *out, unsigned *flags);

#endif
