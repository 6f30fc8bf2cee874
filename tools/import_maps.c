/*
 * import_maps.c - "import sender-login-maps FILE": send-as rules from a
 * Postfix smtpd_sender_login_maps text table.
 *
 * Each entry "KEY login1, login2 ..." becomes the rules "allow KEY" for
 * every login: KEY an address ("alice@example.com") or "@domain".  A bare
 * local part ("postmaster"), which Postfix applies to its local domains,
 * applies to the store's local domains (authgatectl domain list).  An
 * entry is imported whole or not at all: one bad login rejects the entry.
 * A repeated key is rejected (the first one wins, as with postmap).
 * Logins without a password in the store get a warning, not an error (maps
 * are often imported before users).  Parsing lives in postfix_map.c.
 */
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "postfix_map.h"

typedef char maps_name[AUTHDB_NAME_BUFSZ];

typedef struct maps_rec {
    unsigned line;
    maps_name key; /* normalized key, for duplicate detection */
    maps_name *patterns;
    size_t npatterns;
    maps_name *logins;
    size_t nlogins;
    int bad;
} maps_rec;

struct import_maps {
    import_report rep;
    authdb_norm norm;
    maps_name *domains; /* local domains, for bare keys */
    size_t ndomains, domcap;
    maps_rec *r;
    size_t n, cap;
    int oom;
};

static int import_maps_domain_cb(const char *domain, void *arg)
{
    struct import_maps *m = arg;

    if (m->ndomains == m->domcap) {
        size_t cap = m->domcap ? 2 * m->domcap : 16;
        maps_name *nd = realloc(m->domains, cap * sizeof(*nd));
        if (nd == NULL)
            return AUTHDB_ENOMEM;
        m->domains = nd;
        m->domcap = cap;
    }
    snprintf(m->domains[m->ndomains++], sizeof(maps_name), "%s", domain);
    return 0;
}

static void import_maps_error(unsigned line, const char *why, void *arg)
{
    struct import_maps *m = arg;

    import_report_add(&m->rep, line, IMPORT_ERROR, NULL, "%s", why);
}

/* Normalize one pattern into out; 0 or -1 (problem recorded). */
static int import_maps_pattern(struct import_maps *m, unsigned line, const char *text, size_t len,
                               char *out)
{
    char esc[AUTHDB_NAME_BUFSZ * 2];
    const char *why = NULL;
    authdb_rule rule;
    int rc;

    rc = authdb_rule_parse(&m->norm, text, len, &rule, &why);
    if (rc != AUTHDB_OK || rule.kind == AUTHDB_RULE_ANY) {
        import_report_add(&m->rep, line, IMPORT_ERROR, NULL, "invalid key \"%s\": %s",
                          authdb_log_escape(text, len, esc, sizeof(esc)),
                          rc != AUTHDB_OK ? (why != NULL ? why : authdb_strerror(rc))
                                          : "not an address or @domain");
        return -1;
    }
    memcpy(out, rule.pattern, sizeof(maps_name));
    return 0;
}

static int import_maps_keys(struct import_maps *m, const postfix_map_entry *e, maps_rec *r)
{
    char esc[AUTHDB_NAME_BUFSZ * 2], addr[AUTHDB_NAME_BUFSZ * 2];

    if (memchr(e->key, '@', e->keylen) != NULL) {
        if ((r->patterns = malloc(sizeof(maps_name))) == NULL)
            return -2;
        if (import_maps_pattern(m, e->line, e->key, e->keylen, r->patterns[0]) != 0)
            return -1;
        r->npatterns = 1;
        memcpy(r->key, r->patterns[0], sizeof(maps_name));
        return 0;
    }
    authdb_log_escape(e->key, e->keylen, esc, sizeof(esc));
    if (m->ndomains == 0) {
        import_report_add(&m->rep, e->line, IMPORT_ERROR, NULL,
                          "bare local part \"%s\" applies to the local domains, and the store "
                          "has none (authgatectl domain add DOMAIN)",
                          esc);
        return -1;
    }
    if (e->keylen > AUTHDB_LOCAL_MAX) {
        import_report_add(&m->rep, e->line, IMPORT_ERROR, NULL, "key \"%s\" too long", esc);
        return -1;
    }
    if ((r->patterns = malloc(m->ndomains * sizeof(maps_name))) == NULL)
        return -2;
    for (size_t d = 0; d < m->ndomains; d++) {
        snprintf(addr, sizeof(addr), "%.*s@%s", (int)e->keylen, e->key, m->domains[d]);
        if (import_maps_pattern(m, e->line, addr, strlen(addr), r->patterns[d]) != 0)
            return -1;
        r->npatterns++;
    }
    snprintf(r->key, sizeof(maps_name), "%.*s", (int)e->keylen, esc);
    return 0;
}

static int import_maps_logins(struct import_maps *m, const postfix_map_entry *e, maps_rec *r)
{
    const char *p = e->value, *end = e->value + e->valuelen, *item, *why;
    char esc[AUTHDB_NAME_BUFSZ * 2];
    size_t len, outlen;
    int rc;

    if ((r->logins = malloc(e->nvalues * sizeof(maps_name))) == NULL)
        return -2;
    while (postfix_map_next(&p, end, &item, &len) && r->nlogins < e->nvalues) {
        why = NULL;
        rc = authdb_norm_login(&m->norm, item, len, r->logins[r->nlogins], sizeof(maps_name),
                               &outlen, &why);
        if (rc != AUTHDB_OK) {
            import_report_add(
                &m->rep, e->line, IMPORT_ERROR, authdb_log_escape(item, len, esc, sizeof(esc)),
                "invalid login: %s (entry not imported)", why != NULL ? why : authdb_strerror(rc));
            return -1;
        }
        r->nlogins++;
    }
    return 0;
}

static void import_maps_entry(const postfix_map_entry *e, void *arg)
{
    struct import_maps *m = arg;
    maps_rec *r;
    int rc;

    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        maps_rec *nr = realloc(m->r, cap * sizeof(*nr));
        if (nr == NULL) {
            m->oom = 1;
            return;
        }
        m->r = nr;
        m->cap = cap;
    }
    r = &m->r[m->n++];
    memset(r, 0, sizeof(*r));
    r->line = e->line;
    if ((rc = import_maps_keys(m, e, r)) == 0)
        rc = import_maps_logins(m, e, r);
    if (rc == -2)
        m->oom = 1;
    if (rc != 0)
        r->bad = 1;
}

static int import_maps_key_cmp(const void *a, const void *b, void *arg)
{
    const maps_rec *r = arg;
    const maps_rec *x = &r[*(const size_t *)a], *y = &r[*(const size_t *)b];
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : (x->line < y->line ? -1 : x->line > y->line);
}

/* A repeated key: the first entry wins, as with postmap. */
static int import_maps_dedupe(struct import_maps *m)
{
    size_t *idx = malloc((m->n ? m->n : 1) * sizeof(*idx)), first = 0;

    if (idx == NULL)
        return -1;
    for (size_t i = 0; i < m->n; i++)
        idx[i] = i;
    qsort_r(idx, m->n, sizeof(*idx), import_maps_key_cmp, m->r);
    for (size_t i = 1; i < m->n; i++) {
        maps_rec *r = &m->r[idx[i]];
        if (m->r[idx[first]].bad || strcmp(m->r[idx[first]].key, r->key) != 0) {
            first = i;
            continue;
        }
        if (!r->bad)
            import_report_add(&m->rep, r->line, IMPORT_ERROR, NULL,
                              "duplicate key %s: line %u has it (the first one is kept)", r->key,
                              m->r[idx[first]].line);
        r->bad = 1;
    }
    free(idx);
    return 0;
}

/* Warn about logins that have no password in the store (yet). */
static int import_maps_orphans(cli *c, authdb *h, struct import_maps *m)
{
    authdb_txn *txn = NULL;
    authdb_user u;
    int rc;

    if ((rc = authdb_read_begin(h, AUTHDB_SECRETS, &txn)) != AUTHDB_OK)
        return cli_fail_db(c, rc, "cannot read %s", authdb_path(h));
    for (size_t i = 0; i < m->n; i++)
        for (size_t k = 0; !m->r[i].bad && k < m->r[i].nlogins; k++) {
            const char *login = m->r[i].logins[k];
            rc = authdb_user_get(h, txn, login, strlen(login), &u);
            if (rc == AUTHDB_NOTFOUND)
                import_report_add(&m->rep, m->r[i].line, IMPORT_WARNING, login,
                                  "no password in the store (yet): its rules wait for it");
            else if (rc != AUTHDB_OK) {
                rc = cli_fail_db(c, rc, "%s: cannot look up", login);
                goto out;
            }
        }
    rc = CLI_OK;
out:
    authdb_txn_end(txn);
    return rc;
}

struct import_maps_write {
    struct import_maps *m;
    maps_rec *failed;
    int failed_rc;
    size_t rules;
};

static int import_maps_write_fn(authdb_txn *txn, void *arg)
{
    struct import_maps_write *w = arg;
    struct import_maps *m = w->m;

    w->failed = NULL;
    w->rules = 0;
    for (size_t i = 0; i < m->n; i++) {
        maps_rec *r = &m->r[i];
        for (size_t k = 0; !r->bad && k < r->nlogins; k++)
            for (size_t p = 0; p < r->npatterns; p++) {
                int rc = authdb_rule_add(txn, r->logins[k], strlen(r->logins[k]), AUTHDB_ALLOW,
                                         r->patterns[p], strlen(r->patterns[p]));
                if (rc != AUTHDB_OK) {
                    if (!authdb_is_tempfail(rc)) {
                        w->failed = r;
                        w->failed_rc = rc;
                    }
                    return rc;
                }
                w->rules++;
            }
    }
    return AUTHDB_OK;
}

static void import_maps_free(struct import_maps *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->r[i].patterns);
        free(m->r[i].logins);
    }
    free(m->r);
    free(m->domains);
    import_report_free(&m->rep);
}

static int import_maps_run(cli *c, const cli_args *a)
{
    struct import_maps m;
    struct import_maps_write w;
    int all_or_nothing = cli_arg(a, "all-or-nothing") != NULL,
        dry_run = cli_arg(a, "dry-run") != NULL;
    int rc, committed = 0;
    size_t good = 0;
    authdb *h = NULL;
    char *buf = NULL;
    size_t len = 0;

    memset(&m, 0, sizeof(m));
    memset(&w, 0, sizeof(w));
    import_report_init(&m.rep, a->pos[0]);
    if ((rc = cli_open(c, AUTHDB_BOTH | AUTHDB_WRITE, &h)) != CLI_OK)
        goto out;
    if ((rc = authdb_norm_get(h, NULL, &m.norm)) != AUTHDB_OK ||
        (rc = authdb_domain_foreach(h, NULL, import_maps_domain_cb, &m)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "cannot read the store's settings and local domains");
        goto out;
    }
    if ((rc = import_read_file(c, a->pos[0], &buf, &len)) != CLI_OK)
        goto out;
    if (postfix_map_parse(buf, len, import_maps_entry, import_maps_error, &m) != 0 || m.oom ||
        import_maps_dedupe(&m) != 0 || m.rep.oom) {
        rc = cli_fail(c, CLI_STORE, "%s: out of memory", a->pos[0]);
        goto out;
    }
    if ((rc = import_maps_orphans(c, h, &m)) != CLI_OK)
        goto out;
    w.m = &m;
    if (!dry_run && !(all_or_nothing && m.rep.errors > 0)) {
        for (;;) {
            rc = authdb_write(h, import_maps_write_fn, &w);
            if (rc == AUTHDB_OK) {
                committed = 1;
                break;
            }
            if (w.failed == NULL || w.failed_rc != rc) {
                import_report_print(c, &m.rep);
                rc = cli_fail_db(c, rc, "%s: nothing imported", a->pos[0]);
                goto out;
            }
            w.failed->bad = 1;
            import_report_add(&m.rep, w.failed->line, IMPORT_ERROR, NULL,
                              "the store refused a rule of this entry: %s", authdb_strerror(rc));
            if (all_or_nothing)
                break;
        }
    }
    for (size_t i = 0; i < m.n; i++)
        if (!m.r[i].bad) {
            good++;
            if (dry_run)
                w.rules += m.r[i].nlogins * m.r[i].npatterns;
        }
    if (!committed && !dry_run)
        good = w.rules = 0;
    import_report_print(c, &m.rep);
    if (c->json) {
        json_kv_string(&c->j, "file", a->pos[0]);
        json_kv_bool(&c->j, "committed", committed);
        json_kv_bool(&c->j, "dry_run", dry_run);
        json_kv_uint(&c->j, "entries", good);
        json_kv_uint(&c->j, "rules", w.rules);
        json_kv_uint(&c->j, "rejected", m.rep.errors);
        json_kv_uint(&c->j, "warnings", m.rep.warnings);
    } else {
        fprintf(c->out, "%s: %s %zu entries as %zu allow rules, %zu rejected%s\n", a->pos[0],
                dry_run ? "would import" : "imported", good, w.rules, m.rep.errors,
                committed || dry_run ? "" : "; NOTHING was committed");
    }
    rc = m.rep.errors > 0 ? cli_fail(c, CLI_DATAERR, "%s: %zu entr%s rejected%s", a->pos[0],
                                     m.rep.errors, m.rep.errors == 1 ? "y" : "ies",
                                     committed || dry_run ? "" : ", nothing committed")
                          : CLI_OK;
out:
    if (buf != NULL)
        free(buf);
    import_maps_free(&m);
    authdb_close(h);
    return rc;
}

static const cli_opt import_maps_opts[] = {
    {"all-or-nothing", NULL, "commit nothing if any entry is rejected"},
    {"dry-run", NULL, "check the input, write nothing"},
    {NULL, NULL, NULL},
};

const cli_cmd import_maps_cmds[] = {
    {"import sender-login-maps", "FILE", "import send-as rules from a Postfix table",
     "Read a Postfix smtpd_sender_login_maps source file (\"-\" reads standard input):\n"
     "\"KEY login1, login2 ...\", # comment lines, lines starting with white space\n"
     "continue the previous one.  Each entry becomes \"allow KEY\" rules for its logins.\n"
     "KEY is an address or @domain; a bare local part applies to every local domain\n"
     "of the store (authgatectl domain list).  An entry with one bad login is rejected\n"
     "whole; a repeated key is rejected (the first wins).",
     import_maps_opts, 1, 1,
     "  0 every entry imported\n  3 FILE not found\n"
     "  5 some entries rejected (the others committed, or none with --all-or-nothing)\n"
     "  6 store error: nothing committed\n  2 usage error\n  7 permission denied\n",
     import_maps_run},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
