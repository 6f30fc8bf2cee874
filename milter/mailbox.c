/*
 * mailbox.c - From/Sender field parser (see mailbox.h).
 *
 * Two passes: hdrlex tokenizes and checks octets, then a recursive-descent
 * parser over the tokens builds the list.  All output strings live in one
 * bounded arena; offsets are turned into pointers once it stops growing.
 */
#include "mailbox.h"

#include <string.h>

#include "addrscan.h"
#include "hdrlex.h"
#include "rfc2047.h"

/* Room for every copy and decoding of a maximal field. */
#define ARENA_MAX (16 * MAILBOX_FIELD_MAX + 1024)

enum { OFF_ADDR, OFF_LOCAL, OFF_DOMAIN, OFF_DISPLAY };

typedef struct parser {
    const char *in;
    hdrlex lx;
    mailbox_list *out;
    size_t pos;
    int oom;
} parser;

static const hdrlex_tok *tok(const parser *p)
{
    return &p->lx.tok[p->pos];
}

static int is_sp(const hdrlex_tok *t, char c)
{
    return t->kind == HDRLEX_SPECIAL && t->ch == c;
}

static int fail(parser *p, enum defect d, size_t where)
{
    if (p->out->defect == DEFECT_NONE) {
        p->out->defect = d;
        p->out->where = where;
    }
    return -1;
}

static int has_encword_marker(const char *s, size_t len)
{
    int found = 0;

    for (size_t i = 0; i + 1 < len && !found; i++)
        found = s[i] == '=' && s[i + 1] == '?';
    return found;
}

/* Append s[0..len) without CR and LF (unfolded), plus a NUL; returns the
 * offset of the copy in the arena. */
static size_t arena_put(parser *p, const char *s, size_t len, int unfold)
{
    sbuf *a = &p->out->arena;
    size_t off = a->len, start = 0;

    for (size_t i = 0; unfold && i < len; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            sbuf_add(a, s + start, i - start);
            start = i + 1;
        }
    }
    sbuf_add(a, s + start, len - start);
    sbuf_addc(a, '\0');
    return off;
}

static int add_embedded(void *arg, const char *addr, size_t len)
{
    parser *p = arg;
    mailbox_list *l = p->out;
    size_t off;

    for (size_t i = 0; i < l->nembedded; i++) {
        const char *e = sbuf_str(&l->arena) + l->emb_off_[i];
        if (strlen(e) == len && memcmp(e, addr, len) == 0)
            return 0;
    }
    if (l->nembedded == MAILBOX_EMBEDDED_MAX)
        return fail(p, DEFECT_EMBEDDED, 0);
    off = arena_put(p, addr, len, 0);
    l->emb_off_[l->nembedded++] = off;
    return 0;
}

/* Scan free text (a display name or comment), raw and decoded, for
 * addresses.  *decoded_off, if given, gets the arena offset of the
 * decoded text. */
static int scan_text(parser *p, const char *raw, size_t len, size_t where, size_t *decoded_off)
{
    sbuf dec;
    unsigned rf = 0, af = 0;
    int rc = -1, encoded = has_encword_marker(raw, len);

    sbuf_init(&dec, ARENA_MAX);
    if (encoded && rfc2047_decode(raw, len, &dec, &rf) != 0) {
        p->oom = 1;
        goto out;
    }
    if (rf & RFC2047_CTRL) {
        fail(p, DEFECT_DECODED_CTRL, where);
        goto out;
    }
    /* Without "=?" the decoded text is the raw text: scan it once. */
    if (addrscan_run(raw, len, add_embedded, p, &af) != 0 ||
        (encoded && addrscan_run(sbuf_str(&dec), dec.len, add_embedded, p, &af) != 0))
        goto out;
    if ((af & ADDRSCAN_BIDI) && (af & ADDRSCAN_AT)) {
        fail(p, DEFECT_BIDI, where);
        goto out;
    }
    if (decoded_off != NULL)
        *decoded_off =
            encoded ? arena_put(p, sbuf_str(&dec), dec.len, 0) : arena_put(p, raw, len, 0);
    rc = 0;
out:
    if (p->out->defect == DEFECT_NONE && rc != 0)
        p->oom = 1;
    sbuf_free(&dec);
    return rc;
}

/* A piece of the input: where an addr-spec part was written. */
typedef struct span {
    const char *p;
    size_t len;
    int unfold; /* a quoted local part may hold folding */
} span;

/* The local part is the tokens [from, to). */
static int parse_local(parser *p, size_t from, size_t to, span *sp)
{
    const hdrlex_tok *t = &p->lx.tok[from], *last = &p->lx.tok[to - 1];

    sp->p = p->in + t->off;
    sp->len = last->off + last->len - t->off;
    sp->unfold = 0;
    if (to - from == 1 && t->kind == HDRLEX_QSTRING) {
        if (memchr(hdrlex_text(&p->lx, t->text), '@', t->tlen) != NULL)
            return fail(p, DEFECT_QUOTED_AT, t->off);
        if (has_encword_marker(hdrlex_text(&p->lx, t->text), t->tlen) ||
            has_encword_marker(sp->p, sp->len))
            return fail(p, DEFECT_ENCWORD, t->off);
        sp->unfold = 1;
        return 0;
    }
    /* dot-atom: ATOM *("." ATOM), nothing between the pieces */
    for (size_t i = from; i < to; i++) {
        const hdrlex_tok *x = &p->lx.tok[i];
        int want_atom = (i - from) % 2 == 0;
        if (x->kind == HDRLEX_QSTRING)
            return fail(p, DEFECT_OBSOLETE, x->off);
        if (want_atom ? x->kind != HDRLEX_ATOM : !is_sp(x, '.'))
            return fail(p, DEFECT_SYNTAX, x->off);
    }
    if (last->kind != HDRLEX_ATOM)
        return fail(p, DEFECT_SYNTAX, last->off);
    for (size_t i = from + 1; i < to; i++)
        if (p->lx.tok[i].space_before)
            return fail(p, DEFECT_OBSOLETE, p->lx.tok[i].off);
    if (has_encword_marker(sp->p, sp->len))
        return fail(p, DEFECT_ENCWORD, t->off);
    return 0;
}

/* The domain starts at p->pos; advances past it. */
static int parse_domain(parser *p, span *sp)
{
    const hdrlex_tok *first = tok(p), *last;

    sp->p = p->in + first->off;
    sp->unfold = 0;
    if (first->kind == HDRLEX_DLITERAL) {
        p->pos++;
        sp->len = first->len;
        return 0;
    }
    if (first->kind != HDRLEX_ATOM)
        return fail(p, DEFECT_SYNTAX, first->off);
    p->pos++;
    while (is_sp(tok(p), '.')) {
        if (tok(p)->space_before)
            return fail(p, DEFECT_OBSOLETE, tok(p)->off);
        p->pos++;
        if (tok(p)->kind != HDRLEX_ATOM)
            return fail(p, DEFECT_SYNTAX, tok(p)->off);
        if (tok(p)->space_before)
            return fail(p, DEFECT_OBSOLETE, tok(p)->off);
        p->pos++;
    }
    last = &p->lx.tok[p->pos - 1];
    sp->len = last->off + last->len - first->off;
    if (has_encword_marker(sp->p, sp->len))
        return fail(p, DEFECT_ENCWORD, first->off);
    return 0;
}

/* addr-spec whose local part is the tokens [from, p->pos), p->pos at "@". */
static int parse_addr_spec(parser *p, size_t from, size_t *offs)
{
    span local, domain;
    sbuf *a = &p->out->arena;

    if (parse_local(p, from, p->pos, &local) != 0)
        return -1;
    p->pos++; /* "@" */
    if (parse_domain(p, &domain) != 0)
        return -1;
    offs[OFF_LOCAL] = arena_put(p, local.p, local.len, local.unfold);
    offs[OFF_DOMAIN] = arena_put(p, domain.p, domain.len, 0);
    offs[OFF_ADDR] = arena_put(p, local.p, local.len, local.unfold);
    sbuf_truncate(a, a->len - 1); /* the NUL: the domain follows */
    sbuf_addc(a, '@');
    arena_put(p, domain.p, domain.len, 0);
    return 0;
}

/* Display name from the phrase tokens [from, to). */
static int parse_display(parser *p, size_t from, size_t to, size_t *off)
{
    sbuf raw;
    int rc;

    if (from == to) {
        *off = arena_put(p, "", 0, 0);
        return 0;
    }
    sbuf_init(&raw, MAILBOX_FIELD_MAX);
    for (size_t i = from; i < to; i++) {
        const hdrlex_tok *t = &p->lx.tok[i];
        if (i > from && t->space_before)
            sbuf_addc(&raw, ' ');
        if (t->kind == HDRLEX_QSTRING)
            sbuf_add(&raw, hdrlex_text(&p->lx, t->text), t->tlen);
        else
            sbuf_add(&raw, p->in + t->off, t->len);
    }
    if (sbuf_error(&raw) != 0) {
        p->oom = 1;
        rc = -1;
    } else {
        rc = scan_text(p, sbuf_str(&raw), raw.len, p->lx.tok[from].off, off);
    }
    sbuf_free(&raw);
    return rc;
}

static int parse_mailbox(parser *p)
{
    mailbox_list *l = p->out;
    size_t start = p->pos, words, offs[4];
    const hdrlex_tok *t;

    while (tok(p)->kind == HDRLEX_ATOM || tok(p)->kind == HDRLEX_QSTRING || is_sp(tok(p), '.'))
        p->pos++;
    words = p->pos - start;
    t = tok(p);
    if (is_sp(t, ':'))
        return fail(p, DEFECT_GROUP, t->off);
    if (t->kind == HDRLEX_DLITERAL)
        return fail(p, DEFECT_SYNTAX, t->off);
    if (l->n == MAILBOX_LIST_MAX)
        return fail(p, DEFECT_TOOMANY, p->lx.tok[start].off);
    if (is_sp(t, '<')) {
        size_t from;
        p->pos++;
        if (is_sp(tok(p), '@') || is_sp(tok(p), ','))
            return fail(p, DEFECT_ROUTE, tok(p)->off);
        from = p->pos;
        while (tok(p)->kind == HDRLEX_ATOM || tok(p)->kind == HDRLEX_QSTRING || is_sp(tok(p), '.'))
            p->pos++;
        if (!is_sp(tok(p), '@') || p->pos == from)
            return fail(p, DEFECT_SYNTAX, tok(p)->off);
        if (parse_addr_spec(p, from, offs) != 0)
            return -1;
        if (!is_sp(tok(p), '>'))
            return fail(p, DEFECT_SYNTAX, tok(p)->off);
        p->pos++;
        if (parse_display(p, start, start + words, &offs[OFF_DISPLAY]) != 0)
            return -1;
    } else if (is_sp(t, '@')) {
        if (words == 0)
            return fail(p, DEFECT_SYNTAX, t->off);
        if (parse_addr_spec(p, start, offs) != 0)
            return -1;
        offs[OFF_DISPLAY] = arena_put(p, "", 0, 0);
    } else if (words > 0) {
        return fail(p, DEFECT_NOADDR, p->lx.tok[start].off);
    } else {
        return fail(p, DEFECT_SYNTAX, t->off);
    }
    memcpy(l->off_[l->n], offs, sizeof(offs));
    l->mb[l->n].offset = p->lx.tok[start].off;
    l->n++;
    return 0;
}

static int parse_list(parser *p)
{
    if (tok(p)->kind == HDRLEX_END)
        return fail(p, DEFECT_EMPTY, 0);
    for (;;) {
        if (parse_mailbox(p) != 0)
            return -1;
        if (tok(p)->kind == HDRLEX_END)
            break;
        if (!is_sp(tok(p), ','))
            return fail(p, is_sp(tok(p), ':') || is_sp(tok(p), ';') ? DEFECT_GROUP : DEFECT_SYNTAX,
                        tok(p)->off);
        p->pos++;
        if (tok(p)->kind == HDRLEX_END)
            return fail(p, DEFECT_SYNTAX, tok(p)->off);
    }
    return 0;
}

static void resolve(mailbox_list *l)
{
    const char *a = sbuf_str(&l->arena);

    for (size_t i = 0; i < l->n; i++) {
        l->mb[i].addr = a + l->off_[i][OFF_ADDR];
        l->mb[i].local = a + l->off_[i][OFF_LOCAL];
        l->mb[i].domain = a + l->off_[i][OFF_DOMAIN];
        l->mb[i].display = a + l->off_[i][OFF_DISPLAY];
    }
    for (size_t i = 0; i < l->nembedded; i++)
        l->embedded[i] = a + l->emb_off_[i];
}

int mailbox_parse(const char *field, size_t len, mailbox_list *out)
{
    parser p;
    int rc = 1, lr;

    memset(out, 0, sizeof(*out));
    memset(&p, 0, sizeof(p));
    sbuf_init(&out->arena, ARENA_MAX);
    p.in = field;
    p.out = out;
    if (len > MAILBOX_FIELD_MAX) {
        fail(&p, DEFECT_TOOLONG, MAILBOX_FIELD_MAX);
        goto out;
    }
    lr = hdrlex_run(&p.lx, field, len);
    if (lr < 0) {
        p.oom = 1;
        goto out;
    }
    if (lr > 0) {
        fail(&p, p.lx.defect, p.lx.where);
        goto out;
    }
    if (parse_list(&p) != 0)
        goto out;
    for (size_t i = 0; i < p.lx.ncom; i++) {
        const hdrlex_comment *c = &p.lx.com[i];
        if (scan_text(&p, hdrlex_text(&p.lx, c->text), c->tlen, c->off, NULL) != 0)
            goto out;
    }
    if (sbuf_error(&out->arena) != 0) {
        p.oom = 1;
        goto out;
    }
    rc = 0;
out:
    if (p.oom)
        rc = -1;
    if (rc != 0) {
        out->n = 0;
        out->nembedded = 0;
    }
    resolve(out);
    hdrlex_free(&p.lx);
    return rc;
}

void mailbox_list_free(mailbox_list *l)
{
    sbuf_free(&l->arena);
    l->n = 0;
    l->nembedded = 0;
}
