/*
 * query_socketmap.c - the "senders" socketmap (see query_socketmap.h).
 */
#include "query_socketmap.h"

#include <string.h>

typedef struct collect {
    sbuf *out;
    size_t logins, skipped;
    int toolong;
} collect;

/* Could Postfix read login back as one element of a comma/space list? */
static int listable(const char *login)
{
    const unsigned char *p = (const unsigned char *)login;

    while (*p > 0x20 && *p != 0x7F && *p != ',')
        p++;
    return *p == '\0' && login[0] != '\0';
}

static int on_login(const char *login, void *arg)
{
    collect *c = arg;
    size_t len = strlen(login);
    int rc = 0;

    if (!listable(login)) {
        c->skipped++;
    } else if (c->out->len + len + (c->logins > 0) > QUERY_SOCKETMAP_REPLY_MAX) {
        c->toolong = 1;
        rc = AUTHDB_ELIMIT; /* stops the walk */
    } else if ((c->logins > 0 && sbuf_addc(c->out, ',') != 0) ||
               sbuf_add(c->out, login, len) != 0) {
        rc = AUTHDB_ENOMEM;
    } else {
        c->logins++;
    }
    return rc;
}

/* Make out the reply "<word> <text>" and record status and detail. */
static int reply(sbuf *out, query_socketmap_result *res, enum query_socketmap_status st,
                 const char *word, const char *text, const char *detail)
{
    sbuf_reset(out);
    res->status = st;
    res->detail = detail;
    if (sbuf_adds(out, word) != 0 || sbuf_addc(out, ' ') != 0 || sbuf_adds(out, text) != 0)
        return -1;
    return 0;
}

static int is_senders(const char *name, size_t len)
{
    return len == strlen(QUERY_SOCKETMAP_SENDERS) &&
           memcmp(name, QUERY_SOCKETMAP_SENDERS, len) == 0;
}

int query_socketmap_answer(authdb *h, const char *req, size_t len, sbuf *out,
                           query_socketmap_result *res)
{
    static const char bad_form[] = "request is not \"name key\"";
    static const char bad_name[] = "unknown map name (this server answers \"senders\")";
    static const char toolong[] = "the logins owning this address exceed 100000 octets";
    const char *sp = memchr(req, ' ', len), *why = NULL;
    collect c = {out, 0, 0, 0};
    int rc;

    memset(res, 0, sizeof(*res));
    res->name = req;
    res->name_len = sp != NULL ? (size_t)(sp - req) : len;
    if (sp == NULL) {
        rc = reply(out, res, QUERY_SOCKETMAP_PERM, "PERM", bad_form, bad_form);
        goto out;
    }
    res->key = sp + 1;
    res->key_len = len - res->name_len - 1;
    if (!is_senders(req, res->name_len)) {
        rc = reply(out, res, QUERY_SOCKETMAP_PERM, "PERM", bad_name, bad_name);
        goto out;
    }
    if (h == NULL) {
        rc = reply(out, res, QUERY_SOCKETMAP_TEMP, "TEMP",
                   "the send-as policy store is unavailable", "store unavailable");
        goto out;
    }
    if (memchr(res->key, '\0', res->key_len) != NULL) {
        rc = reply(out, res, QUERY_SOCKETMAP_NOTFOUND, "NOTFOUND", "", "key holds a NUL octet");
        goto out;
    }
    sbuf_reset(out);
    if (sbuf_adds(out, "OK ") != 0) {
        rc = -1;
        goto out;
    }
    rc = authdb_senders_for(h, NULL, res->key, res->key_len, on_login, &c, &why);
    res->logins = c.logins;
    res->skipped = c.skipped;
    if (c.toolong) {
        rc = reply(out, res, QUERY_SOCKETMAP_TEMP, "TEMP", toolong, toolong);
    } else if (rc == AUTHDB_ENOMEM || sbuf_error(out) != 0) {
        reply(out, res, QUERY_SOCKETMAP_TEMP, "TEMP", "out of memory", "out of memory");
        rc = -1;
    } else if (rc == AUTHDB_OK && c.logins > 0) {
        res->status = QUERY_SOCKETMAP_FOUND;
    } else if (rc == AUTHDB_OK || rc == AUTHDB_EINVAL || rc == AUTHDB_ETOOLONG) {
        rc = reply(out, res, QUERY_SOCKETMAP_NOTFOUND, "NOTFOUND", "",
                   rc == AUTHDB_OK ? "no login may use it"
                   : why != NULL   ? why
                                   : "not an address");
    } else {
        rc =
            reply(out, res, QUERY_SOCKETMAP_TEMP, "TEMP", authdb_strerror(rc), authdb_strerror(rc));
    }
out:
    return rc;
}

const char *query_socketmap_status_name(enum query_socketmap_status s)
{
    switch (s) {
    case QUERY_SOCKETMAP_FOUND:
        return "OK";
    case QUERY_SOCKETMAP_NOTFOUND:
        return "NOTFOUND";
    case QUERY_SOCKETMAP_TEMP:
        return "TEMP";
    case QUERY_SOCKETMAP_PERM:
        return "PERM";
    }
    return "unknown";
}
