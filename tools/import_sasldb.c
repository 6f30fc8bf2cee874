/*
 * import_sasldb.c - "import sasldb FILE": logins and cleartext passwords
 * from a Cyrus SASL sasldb2 file (Berkeley DB, as Debian's saslpasswd2
 * writes it).
 *
 * Records are key "user\0realm\0property" -> value; only userPassword (the
 * cleartext) is imported, and the store's configured secrets are derived
 * from it.  The login is "user@realm", or the bare "user" when the realm is
 * empty or named by --bare-realm: libsasl looks a client's "alice" up in the
 * realm it was given (Postfix: smtpd_sasl_local_domain, empty by default;
 * Exim: server_realm) or else the server's host name (saslpasswd2's default
 * realm, and Sendmail's AuthRealm $j), while authgate sees exactly what the
 * MTA hands libsasl: "alice" when no realm is configured.  So sasldb users
 * in the host-name realm of a Postfix or Sendmail server become bare logins
 * with --bare-realm HOSTNAME.
 * Problems are reported per record ("FILE:N" counts records in file order).
 */
#include <db.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "import.h"

#define SASLDB_PROP "userPassword"

/* Is realm (rlen octets) in the comma-separated list? */
static int import_sasldb_bare(const char *list, const char *realm, size_t rlen)
{
    const char *p = list;

    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == rlen && strncasecmp(p, realm, rlen) == 0)
            return 1;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

struct import_sasldb {
    import_users *s;
    const char *bare;
    char host[256];
    int host_hint; /* records in the host-name realm were imported with it */
};

/* One record: key user\0realm\0prop. */
static int import_sasldb_record(struct import_sasldb *x, unsigned recno, const DBT *k, const DBT *v)
{
    const char *key = k->data, *user, *realm, *prop, *nul1, *nul2;
    char login[AUTHDB_LOGIN_MAX * 2 + 2], esc[256];
    size_t ulen, rlen, plen;

    nul1 = memchr(key, '\0', k->size);
    nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0', k->size - (size_t)(nul1 + 1 - key)) : NULL;
    if (nul2 == NULL) {
        import_report_add(&x->s->rep, recno, IMPORT_ERROR, NULL,
                          "key is not user\\0realm\\0property: \"%s\"",
                          authdb_log_escape(key, k->size, esc, sizeof(esc)));
        return 0;
    }
    user = key;
    ulen = (size_t)(nul1 - key);
    realm = nul1 + 1;
    rlen = (size_t)(nul2 - realm);
    prop = nul2 + 1;
    plen = k->size - (size_t)(prop - key);
    if (ulen + 1 + rlen >= sizeof(login) || ulen == 0) {
        import_report_add(&x->s->rep, recno, IMPORT_ERROR, NULL, "user name empty or too long");
        return 0;
    }
    memcpy(login, user, ulen);
    login[ulen] = '\0';
    if (rlen > 0 && !import_sasldb_bare(x->bare, realm, rlen)) {
        login[ulen] = '@';
        memcpy(login + ulen + 1, realm, rlen);
        login[ulen + 1 + rlen] = '\0';
        if (strlen(x->host) == rlen && strncasecmp(x->host, realm, rlen) == 0)
            x->host_hint = 1;
    }
    if (plen != strlen(SASLDB_PROP) || memcmp(prop, SASLDB_PROP, plen) != 0) {
        import_report_add(&x->s->rep, recno, IMPORT_WARNING,
                          authdb_log_escape(login, strlen(login), esc, sizeof(esc)),
                          "property %.*s ignored (only userPassword is imported)",
                          (int)(plen < 64 ? plen : 64), prop);
        return 0;
    }
    if (v->size == 0 || v->size > AUTHDB_PASSWORD_MAX || memchr(v->data, '\0', v->size) != NULL) {
        import_report_add(&x->s->rep, recno, IMPORT_ERROR,
                          authdb_log_escape(login, strlen(login), esc, sizeof(esc)),
                          "userPassword is empty, longer than %d octets or holds a NUL byte",
                          AUTHDB_PASSWORD_MAX);
        return 0;
    }
    return import_users_add(x->s, recno, login, strlen(login), IMPORT_CLEARTEXT, v->data, v->size,
                            "sasldb", 0);
}

static int import_sasldb_read(cli *c, const char *path, struct import_sasldb *x)
{
    DB *db = NULL;
    DBC *cur = NULL;
    DBT k, v;
    unsigned recno = 0;
    int ret, rc = CLI_OK;

    if (access(path, R_OK) != 0) {
        rc = cli_fail(c, errno == ENOENT ? CLI_NOTFOUND : cli_exit_code(errno), "%s: %s", path,
                      strerror(errno));
        goto out;
    }
    if ((ret = db_create(&db, NULL, 0)) != 0) {
        rc = cli_fail(c, CLI_STORE, "%s: %s", path, db_strerror(ret));
        goto out;
    }
    if ((ret = db->open(db, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0)) != 0) {
        rc = cli_fail(c, ret == EACCES ? CLI_PERM : CLI_DATAERR,
                      "%s: cannot open as a Berkeley DB sasldb2 file: %s", path, db_strerror(ret));
        goto out;
    }
    if ((ret = db->cursor(db, NULL, &cur, 0)) != 0) {
        rc = cli_fail(c, CLI_DATAERR, "%s: %s", path, db_strerror(ret));
        goto out;
    }
    memset(&k, 0, sizeof(k));
    memset(&v, 0, sizeof(v));
    while ((ret = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
        int r = import_sasldb_record(x, ++recno, &k, &v);
        explicit_bzero(v.data, v.size);
        if (r != 0) {
            rc = cli_fail(c, CLI_STORE, "%s: out of memory", path);
            goto out;
        }
    }
    if (ret != DB_NOTFOUND)
        rc = cli_fail(c, CLI_DATAERR, "%s: record %u: %s", path, recno + 1, db_strerror(ret));
out:
    if (cur != NULL)
        cur->close(cur);
    if (db != NULL)
        db->close(db, 0);
    return rc;
}

static int import_sasldb_run(cli *c, const cli_args *a)
{
    struct import_sasldb x;
    import_users s;
    authdb *h = NULL;
    int rc;

    memset(&s, 0, sizeof(s));
    memset(&x, 0, sizeof(x));
    x.s = &s;
    x.bare = cli_arg(a, "bare-realm");
    if (gethostname(x.host, sizeof(x.host) - 1) != 0)
        x.host[0] = '\0';
    if ((rc = cli_open(c, AUTHDB_BOTH | AUTHDB_WRITE, &h)) != CLI_OK)
        goto out;
    if ((rc = import_users_init(c, a, h, a->pos[0], &s)) != CLI_OK)
        goto out;
    if ((rc = import_sasldb_read(c, a->pos[0], &x)) != CLI_OK)
        goto out;
    if (x.host_hint)
        cli_warn(c,
                 "realm \"%s\" is this host's name: Postfix with an empty "
                 "smtpd_sasl_local_domain and Sendmail look such users up as the bare \"user\"; "
                 "if clients log in without @realm, import with --bare-realm %s",
                 x.host, x.host);
    rc = import_users_run(c, h, &s);
out:
    import_users_free(&s);
    authdb_close(h);
    return rc;
}

static const cli_opt import_sasldb_opts[] = {
    IMPORT_USER_OPTS,
    {"bare-realm", "REALM[,REALM...]", "users of these realms become bare logins \"user\""},
    {NULL, NULL, NULL},
};

const cli_cmd import_sasldb_cmds[] = {
    {"import sasldb", "FILE", "import users from a Cyrus sasldb2 file",
     "Read a Berkeley DB sasldb2 file (saslpasswd2 -f FILE) and create a login for each\n"
     "userPassword, deriving the store's configured secrets from the cleartext (on all\n"
     "CPUs, before the one write transaction).  Logins are \"user@realm\"; users of an\n"
     "empty realm or of a realm named by --bare-realm become the bare \"user\", which is\n"
     "what Postfix (empty smtpd_sasl_local_domain) and Sendmail hand libsasl when the\n"
     "client logs in without @realm.  Problems are reported per record (FILE:N, N the\n"
     "record number).",
     import_sasldb_opts, 1, 1, IMPORT_EXITS, import_sasldb_run},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
