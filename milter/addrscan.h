/*
 * addrscan.h - find address-looking tokens in free text.
 *
 * Display names and comments are not addresses, but a reader shows them
 * beside the address, so a name such as "ceo@example.com" is a claim the
 * policy must check.  addrscan_run() first folds look-alikes the way a human
 * reads them: fullwidth ASCII (U+FF01..U+FF5E) to ASCII, U+FE6B to "@",
 * ideographic and other full stops (U+3002 U+FF0E U+FF61 U+FE52 U+2024) to
 * ".", non-ASCII spaces to " ", and drops invisible characters (soft hyphen,
 * zero-width characters, bidi marks, word joiners, BOM, variation
 * selectors).  Then every "@" with a local part on its left (atext and dots,
 * or any non-ASCII) and a domain on its right (letters, digits, "-", ".", any
 * non-ASCII, or a [literal]) is a token, when the domain holds a dot or a
 * non-ASCII character or is a literal.  Leading dots, quotes (' `) and
 * trailing dots are trimmed.
 */
#ifndef AUTHGATE_ADDRSCAN_H
#define AUTHGATE_ADDRSCAN_H

#include <stddef.h>

enum addrscan_flags {
    ADDRSCAN_AT = 1 << 0,   /* the folded text holds "@" */
    ADDRSCAN_BIDI = 1 << 1, /* it held a bidi embedding, override or isolate */
};

/* Called once per token (the folded form, not NUL-terminated); a non-zero
 * return stops the scan and is returned by addrscan_run. */
typedef int (*addrscan_cb)(void *arg, const char *addr, size_t len);

/* Scan text[0..len) (well-formed UTF-8).  Sets ADDRSCAN_* bits in *flags.
 * Returns 0, a callback's non-zero value, or -1 when out of memory. */
int addrscan_run(const char *text, size_t len, addrscan_cb cb, void *arg, unsigned *flags);

#endif
