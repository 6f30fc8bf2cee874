/*
 * hdrlex.h - RFC 5322 / RFC 6532 tokenizer for address field bodies.
 *
 * Splits a field body into atoms, quoted strings, domain literals and the
 * specials < > : ; @ , . , unfolding folding whitespace and collecting
 * comments (nested, with quoted-pairs resolved) on the side.  It checks the
 * octets: NUL, control characters, CR/LF that are not folding, malformed
 * UTF-8, unterminated constructs, characters that cannot stand where they
 * do, and comment depth are defects (enum defect), reported with the offset
 * of the first one.  Input must be at most MAILBOX_FIELD_MAX octets (the
 * caller checks); memory is bounded by a small multiple of it.
 */
#ifndef AUTHGATE_HDRLEX_H
#define AUTHGATE_HDRLEX_H

#include <stddef.h>

#include "defect.h"
#include "sbuf.h"

enum hdrlex_kind {
    HDRLEX_END = 0,  /* after the last token */
    HDRLEX_ATOM,     /* 1*atext (UTF-8 allowed) */
    HDRLEX_QSTRING,  /* quoted string */
    HDRLEX_DLITERAL, /* [domain literal] */
    HDRLEX_SPECIAL,  /* one of < > : ; @ , . */
};

typedef struct hdrlex_tok {
    enum hdrlex_kind kind;
    char ch;           /* HDRLEX_SPECIAL: the character */
    int space_before;  /* whitespace or a comment precedes it */
    size_t off, len;   /* the raw octets (quotes and brackets included) */
    size_t text, tlen; /* QSTRING: content in hdrlex.text, pairs resolved */
    int qp;            /* QSTRING: held a quoted-pair */
} hdrlex_tok;

typedef struct hdrlex_comment {
    size_t off;        /* of "(" in the input */
    size_t text, tlen; /* content in hdrlex.text (inner parentheses kept) */
} hdrlex_comment;

typedef struct hdrlex {
    hdrlex_tok *tok; /* ntok tokens, the last one HDRLEX_END */
    size_t ntok, tokcap;
    hdrlex_comment *com;
    size_t ncom, comcap;
    sbuf text;          /* decoded contents of quoted strings and comments */
    enum defect defect; /* DEFECT_NONE, or the first defect found */
    size_t where;       /* its offset in the input */
} hdrlex;

/* Tokenize in[0..len) into lx (which needs no initialization and must be
 * released with hdrlex_free whatever the result).  Returns 0 (no defect),
 * 1 (lx->defect set), or -1 (out of memory). */
int hdrlex_run(hdrlex *lx, const char *in, size_t len);
void hdrlex_free(hdrlex *lx);

/* The text of a quoted string's content or a comment. */
static inline const char *hdrlex_text(const hdrlex *lx, size_t off)
{
    return sbuf_str(&lx->text) + off;
}

#endif
