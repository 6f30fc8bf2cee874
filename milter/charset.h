/*
 * charset.h - convert text in a MIME charset to UTF-8.
 *
 * Used for the charset of RFC 2047 encoded-words.  UTF-8 is validated,
 * US-ASCII and ISO-8859-1 are decoded as Windows-1252 (as mail readers do,
 * so that what we check is what they show), every other name goes through
 * iconv(3).  A charset iconv does not know is decoded as "unknown 8-bit":
 * ASCII octets kept, others replaced by U+FFFD, so an ASCII address hidden in
 * an unknown charset is still seen.  The output is always well-formed UTF-8.
 */
#ifndef AUTHGATE_CHARSET_H
#define AUTHGATE_CHARSET_H

#include <stddef.h>

#include "sbuf.h"

enum charset_flags {
    CHARSET_LOSSY = 1 << 0,   /* some input replaced by U+FFFD */
    CHARSET_UNKNOWN = 1 << 1, /* charset unknown: decoded as unknown 8-bit */
};

/* Longest charset name looked up (longer names are unknown). */
#define CHARSET_NAME_MAX 40

/* Append the UTF-8 form of in[0..len), which is in charset name[0..namelen)
 * (an RFC 2231 "*language" suffix is ignored), to out.  Sets CHARSET_*
 * bits in *flags (not cleared first).  Returns 0, or -1 when out failed
 * (see sbuf_error). */
int charset_to_utf8(const char *name, size_t namelen, const unsigned char *in, size_t len,
                    sbuf *out, unsigned *flags);

#endif
