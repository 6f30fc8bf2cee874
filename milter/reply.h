/*
 * reply.h - make untrusted text safe for SMTP replies and smfi_setreply.
 *
 * reply_sanitize() keeps printable ASCII and writes everything else as
 * \xHH, so an address from a header can be named in a reply without
 * carrying CR, LF or 8-bit octets into the SMTP dialogue.  reply_escape()
 * doubles "%" for smfi_setreply (a lone "%" makes libmilter drop the whole
 * text) and drops CR and LF.  Both truncate with "..." to fit and always
 * NUL-terminate; outsz must be at least 4.
 */
#ifndef AUTHGATE_REPLY_H
#define AUTHGATE_REPLY_H

#include <stddef.h>

/* Longest reply text we hand to the MTA (an SMTP reply line is at most 512
 * octets including the codes). */
#define REPLY_TEXT_MAX 400

char *reply_sanitize(const char *in, size_t len, char *out, size_t outsz);
char *reply_escape(const char *in, char *out, size_t outsz);

#endif
