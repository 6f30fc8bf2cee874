/*
 * hdrlex.c - tokenizer for address field bodies (see hdrlex.h).
 *
 * Folding is CRLF or LF followed by a space or tab; a single line break at
 * the very end is tolerated.  Comments deeper than MAILBOX_NEST_MAX are a
 * defect rather than a recursion: nesting is counted, not recursed.
 */
#include "hdrlex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox.h"
#include "utf8.h"

typedef struct lexstate {
    hdrlex *lx;
    const unsigned char *in;
    size_t len;
    size_t i;
    int space;
    int oom;
} lexstate;

static int defect(lexstate *s, enum defect d, size_t where)
{
    if (s->lx->defect == DEFECT_NONE) {
        s->lx->defect = d;
        s->lx->where = where;
    }
    return -1;
}

static int is_atext(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of the line break at i that folds (followed by WSP), 0 if none;
 * -1 (with a defect) for a CR or LF that neither folds nor ends the input. */
static int fold_at(lexstate *s)
{
    size_t i = s->i, n = 0;

    if (s->in[i] == '\r' && i + 1 < s->len && s->in[i + 1] == '\n')
        n = 2;
    else if (s->in[i] == '\n')
        n = 1;
    else
        return defect(s, DEFECT_EOL, i);
    if (i + n == s->len)
        return (int)n; /* a trailing line break: nothing can hide after it */
    if (s->in[i + n] == ' ' || s->in[i + n] == '\t')
        return (int)n;
    return defect(s, DEFECT_EOL, i);
}

/* Check the character at s->i that is not ASCII-printable; returns its
 * length, or -1 with a defect.  NUL, C0 (TAB excepted), DEL, C1 and
 * malformed UTF-8 are defects. */
static int check_char(lexstate *s)
{
    unsigned char c = s->in[s->i];
    uint32_t cp;
    size_t n;

    if (c == '\0')
        return defect(s, DEFECT_NUL, s->i);
    if (c < 0x80) {
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return defect(s, DEFECT_CTRL, s->i);
        return 1;
    }
    n = utf8_decode(s->in + s->i, s->len - s->i, &cp);
    if (n == 0)
        return defect(s, DEFECT_UTF8, s->i);
    if (cp < 0xA0)
        return defect(s, DEFECT_CTRL, s->i);
    return (int)n;
}

static hdrlex_tok *push_tok(lexstate *s, enum hdrlex_kind kind, size_t off)
{
    hdrlex *lx = s->lx;
    hdrlex_tok *t;

    if (lx->ntok == lx->tokcap) {
        size_t cap = lx->tokcap ? lx->tokcap * 2 : 32;
        hdrlex_tok *nt = realloc(lx->tok, cap * sizeof(*nt));
        if (nt == NULL) {
            s->oom = 1;
            return NULL;
        }
        lx->tok = nt;
        lx->tokcap = cap;
    }
    t = &lx->tok[lx->ntok++];
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->off = off;
    t->space_before = s->space;
    s->space = 0;
    return t;
}

/* Inside a quoted string or comment at s->i: handle folding, a
 * quoted-pair, or one content character, appending the content to text.
 * Returns 0, or -1 with a defect. */
static int inner_char(lexstate *s, int *qp)
{
    unsigned char c = s->in[s->i];
    int n;

    if (c == '\r' || c == '\n') {
        n = fold_at(s);
        if (n < 0)
            return -1;
        s->i += (size_t)n;
        return 0;
    }
    if (c == '\\') {
        if (s->i + 1 >= s->len)
            return defect(s, DEFECT_UNTERMINATED, s->i);
        s->i++;
        c = s->in[s->i];
        if (c == '\r' || c == '\n')
            return defect(s, DEFECT_EOL, s->i);
        *qp = 1;
    }
    n = check_char(s);
    if (n < 0)
        return -1;
    sbuf_add(&s->lx->text, s->in + s->i, (size_t)n);
    s->i += (size_t)n;
    return 0;
}

static int lex_qstring(lexstate *s)
{
    size_t start = s->i;
    hdrlex_tok *t = push_tok(s, HDRLEX_QSTRING, start);

    if (t == NULL)
        return -1;
    t->text = s->lx->text.len;
    s->i++;
    while (s->i < s->len && s->in[s->i] != '"') {
        if (inner_char(s, &t->qp) != 0)
            return -1;
    }
    if (s->i >= s->len)
        return defect(s, DEFECT_UNTERMINATED, start);
    s->i++;
    t->tlen = s->lx->text.len - t->text;
    sbuf_addc(&s->lx->text, '\0');
    t->len = s->i - start;
    return 0;
}

static int lex_comment(lexstate *s)
{
    size_t start = s->i;
    unsigned depth = 0;
    hdrlex_comment c;
    int qp = 0;

    c.off = start;
    c.text = s->lx->text.len;
    do {
        unsigned char ch = s->in[s->i];
        if (ch == '(' || ch == ')') {
            if (ch == '(' && ++depth > MAILBOX_NEST_MAX)
                return defect(s, DEFECT_NESTING, s->i);
            if (ch == ')')
                depth--;
            if (!(ch == '(' && depth == 1) && depth > 0)
                sbuf_addc(&s->lx->text, (char)ch);
            s->i++;
        } else if (inner_char(s, &qp) != 0) {
            return -1;
        }
    } while (depth > 0 && s->i < s->len);
    if (depth > 0)
        return defect(s, DEFECT_UNTERMINATED, start);
    c.tlen = s->lx->text.len - c.text;
    sbuf_addc(&s->lx->text, '\0');
    if (s->lx->ncom == s->lx->comcap) {
        size_t cap = s->lx->comcap ? s->lx->comcap * 2 : 8;
        hdrlex_comment *nc = realloc(s->lx->com, cap * sizeof(*nc));
        if (nc == NULL) {
            s->oom = 1;
            return -1;
        }
        s->lx->com = nc;
        s->lx->comcap = cap;
    }
    s->lx->com[s->lx->ncom++] = c;
    s->space = 1;
    return 0;
}

static int lex_dliteral(lexstate *s)
{
    size_t start = s->i;
    hdrlex_tok *t = push_tok(s, HDRLEX_DLITERAL, start);

    if (t == NULL)
        return -1;
    s->i++;
    while (s->i < s->len && s->in[s->i] != ']') {
        unsigned char c = s->in[s->i];
        int n;
        if (c == '[' || c == '\\' || c == ' ' || c == '\t' || c == '\r' || c == '\n')
            return defect(s, c == '\\' ? DEFECT_OBSOLETE : DEFECT_SYNTAX, s->i);
        if ((n = check_char(s)) < 0)
            return -1;
        s->i += (size_t)n;
    }
    if (s->i >= s->len)
        return defect(s, DEFECT_UNTERMINATED, start);
    s->i++;
    t->len = s->i - start;
    return 0;
}

static int lex_atom(lexstate *s)
{
    size_t start = s->i;
    hdrlex_tok *t = push_tok(s, HDRLEX_ATOM, start);

    if (t == NULL)
        return -1;
    while (s->i < s->len) {
        unsigned char c = s->in[s->i];
        int n;
        if (c < 0x80) {
            if (!is_atext(c))
                break;
            s->i++;
            continue;
        }
        if ((n = check_char(s)) < 0)
            return -1;
        s->i += (size_t)n;
    }
    t->len = s->i - start;
    return 0;
}

static int lex_one(lexstate *s)
{
    unsigned char c = s->in[s->i];
    hdrlex_tok *t;
    int n;

    if (c == ' ' || c == '\t') {
        s->space = 1;
        s->i++;
        return 0;
    }
    if (c == '\r' || c == '\n') {
        if ((n = fold_at(s)) < 0)
            return -1;
        s->space = 1;
        s->i += (size_t)n;
        return 0;
    }
    if (c == '(')
        return lex_comment(s);
    if (c == '"')
        return lex_qstring(s);
    if (c == '[')
        return lex_dliteral(s);
    if (c != '\0' && strchr("<>:;@,.", c) != NULL) {
        if ((t = push_tok(s, HDRLEX_SPECIAL, s->i)) == NULL)
            return -1;
        t->ch = (char)c;
        t->len = 1;
        s->i++;
        return 0;
    }
    if (c >= 0x80 || is_atext(c))
        return lex_atom(s);
    if ((n = check_char(s)) < 0)
        return -1;
    /* A printable character that starts nothing: \ ] ) */
    return defect(s, DEFECT_CHAR, s->i);
}

int hdrlex_run(hdrlex *lx, const char *in, size_t len)
{
    lexstate s = {lx, (const unsigned char *)in, len, 0, 0, 0};
    int rc = 0;

    memset(lx, 0, sizeof(*lx));
    /* Every content octet appears once in text, plus a NUL per item. */
    sbuf_init(&lx->text, 2 * len + 2);
    while (s.i < len) {
        if (lex_one(&s) != 0)
            break;
    }
    if (!s.oom && lx->defect == DEFECT_NONE && push_tok(&s, HDRLEX_END, len) == NULL)
        s.oom = 1;
    if (s.oom || sbuf_error(&lx->text) != 0)
        rc = -1;
    else if (lx->defect != DEFECT_NONE)
        rc = 1;
    return rc;
}

void hdrlex_free(hdrlex *lx)
{
    free(lx->tok);
    free(lx->com);
    sbuf_free(&lx->text);
    memset(lx, 0, sizeof(*lx));
}
