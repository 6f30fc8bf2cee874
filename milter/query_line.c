/*
 * query_line.c - the line protocol's request parser and response
 * formatter (see query_line.h).
 */
#include "query_line.h"

#include <stdio.h>
#include <string.h>

#include "query_b64.h"
#include "reply.h"

typedef struct field_def {
    const char *name;
    unsigned bit;
} field_def;

static const field_def field_defs[] = {
    {"login", QUERY_F_LOGIN},
    {"envfrom", QUERY_F_ENVFROM},
    {"headers", QUERY_F_HEADERS},
    {"id", QUERY_F_ID},
};

void query_request_init(query_request *rq)
{
    memset(rq, 0, sizeof(*rq));
    sbuf_init(&rq->login, QUERY_LINE_MAX);
    sbuf_init(&rq->envfrom, QUERY_LINE_MAX);
    sbuf_init(&rq->headers, QUERY_LINE_MAX);
    sbuf_init(&rq->id, QUERY_LINE_MAX);
}

void query_request_free(query_request *rq)
{
    sbuf_free(&rq->login);
    sbuf_free(&rq->envfrom);
    sbuf_free(&rq->headers);
    sbuf_free(&rq->id);
}

static sbuf *field_buf(query_request *rq, unsigned bit)
{
    switch (bit) {
    case QUERY_F_LOGIN:
        return &rq->login;
    case QUERY_F_ENVFROM:
        return &rq->envfrom;
    case QUERY_F_HEADERS:
        return &rq->headers;
    default:
        return &rq->id;
    }
}

/* One "name=value" token. */
static int parse_field(const char *tok, size_t len, query_request *rq, const char **why)
{
    const char *eq = memchr(tok, '=', len);
    const field_def *def = NULL;
    sbuf *b;
    int rc = -1;

    if (eq == NULL) {
        *why = "field without \"=\"";
        goto out;
    }
    for (size_t i = 0; i < sizeof(field_defs) / sizeof(field_defs[0]); i++)
        if (strlen(field_defs[i].name) == (size_t)(eq - tok) &&
            memcmp(field_defs[i].name, tok, (size_t)(eq - tok)) == 0)
            def = &field_defs[i];
    if (def == NULL) {
        *why = "unknown field";
        goto out;
    }
    if (rq->fields & def->bit) {
        *why = "field given twice";
        goto out;
    }
    rq->fields |= def->bit;
    b = field_buf(rq, def->bit);
    if (query_b64_decode(eq + 1, len - (size_t)(eq + 1 - tok), b, why) != 0)
        goto out;
    if (def->bit != QUERY_F_HEADERS && memchr(b->p, '\0', b->len) != NULL) {
        *why = "login, envfrom or id holds a NUL octet";
        goto out;
    }
    rc = 0;
out:
    return rc;
}

int query_line_parse(const char *line, size_t len, query_request *rq, const char **why)
{
    size_t i, n;
    unsigned need;
    int rc = -1;

    *why = NULL;
    rq->fields = 0;
    sbuf_reset(&rq->login);
    sbuf_reset(&rq->envfrom);
    sbuf_reset(&rq->headers);
    sbuf_reset(&rq->id);
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len + 1 > QUERY_LINE_MAX) {
        *why = "request line too long";
        goto out;
    }
    for (n = 0; n < len && line[n] != ' '; n++)
        ;
    if (n == 4 && memcmp(line, "mail", 4) == 0) {
        rq->cmd = QUERY_CMD_MAIL;
        need = QUERY_F_LOGIN | QUERY_F_ENVFROM;
    } else if (n == 4 && memcmp(line, "data", 4) == 0) {
        rq->cmd = QUERY_CMD_DATA;
        need = QUERY_F_LOGIN | QUERY_F_ENVFROM | QUERY_F_HEADERS;
    } else {
        *why = "unknown command (mail or data)";
        goto out;
    }
    for (i = n; i < len; i += n) {
        i++; /* the SP */
        for (n = 0; i + n < len && line[i + n] != ' '; n++)
            ;
        if (n == 0) {
            *why = "empty field (two spaces, or a space at the end)";
            goto out;
        }
        if (parse_field(line + i, n, rq, why) != 0)
            goto out;
    }
    if (rq->cmd == QUERY_CMD_MAIL && (rq->fields & QUERY_F_HEADERS)) {
        *why = "headers belong to the data command";
        goto out;
    }
    if ((rq->fields & need) != need) {
        *why = rq->cmd == QUERY_CMD_MAIL ? "mail needs login and envfrom"
                                         : "data needs login, envfrom and headers";
        goto out;
    }
    rc = 0;
out:
    return rc;
}

const char *query_cmd_name(enum query_cmd c)
{
    return c == QUERY_CMD_MAIL ? "mail" : c == QUERY_CMD_DATA ? "data" : "unknown";
}

/* The length of a formatted line; a truncated one still ends in LF. */
static size_t terminate(char *out, size_t outsz, int n)
{
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    if ((size_t)n < outsz)
        return (size_t)n;
    out[outsz - 2] = '\n';
    return outsz - 1;
}

size_t query_line_response(const policy_verdict *v, char *out, size_t outsz)
{
    const char *code = "250", *xcode = "2.0.0", *text;
    char clean[REPLY_TEXT_MAX];
    int n;

    if (v->action == AUTHDB_ACT_REJECT) {
        code = v->code[0] == '5' ? v->code : "550";
        xcode = v->code[0] == '5' && v->xcode[0] == '5' ? v->xcode : "5.7.1";
    } else if (v->action == AUTHDB_ACT_TEMPFAIL) {
        code = v->code[0] == '4' ? v->code : "451";
        xcode = v->code[0] == '4' && v->xcode[0] == '4' ? v->xcode : "4.3.0";
    }
    text = v->text[0] != '\0' ? v->text : v->reason[0] != '\0' ? v->reason : "ok";
    reply_sanitize(text, strlen(text), clean, sizeof(clean));
    n = snprintf(out, outsz, "%s %s %s %s %s\n", policy_action_name(v->action),
                 policy_class_name(v->cls), code, xcode, clean);
    return terminate(out, outsz, n);
}

size_t query_line_error(const char *why, char *out, size_t outsz)
{
    int n =
        snprintf(out, outsz, "tempfail tempfail 451 4.3.0 authgate-query: bad request: %s\n", why);

    return terminate(out, outsz, n);
}
