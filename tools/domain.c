/*
 * domain.c - "domain add|del|list": the site's local domains.
 *
 * Local domains live in the policy environment; authgate-milter uses them
 * (protect_local_domains) and "import sender-login-maps" expands bare
 * local-part keys over them.  Domains are stored in IDNA A-label form.
 */
#include <string.h>

#include "cli.h"

struct domain_write {
    const char *domain;
    int add;
};

static int domain_write_fn(authdb_txn *txn, void *arg)
{
    const struct domain_write *w = arg;

    if (w->add)
        return authdb_domain_add(txn, w->domain, strlen(w->domain));
    return authdb_domain_del(txn, w->domain, strlen(w->domain));
}

static int domain_change(cli *c, const cli_args *a, int add)
{
    struct domain_write w;
    char dom[AUTHDB_NAME_BUFSZ], esc[AUTHDB_NAME_BUFSZ * 2];
    const char *why = NULL;
    authdb *h = NULL;
    size_t len;
    int rc;

    rc = authdb_norm_domain(a->pos[0], strlen(a->pos[0]), dom, sizeof(dom), &len, &why);
    if (rc != AUTHDB_OK) {
        rc = cli_fail(c, cli_exit_code(rc), "invalid domain \"%s\": %s",
                      cli_esc(a->pos[0], strlen(a->pos[0]), esc, sizeof(esc)),
                      why != NULL ? why : authdb_strerror(rc));
        goto out;
    }
    /* Both environments though only policy is written: a writer with both
     * first completes a change a crash cut between them (authdb_write); a
     * policy-only one could not see it, and its own change could later be
     * undone by that completion. */
    if ((rc = cli_open(c, AUTHDB_BOTH | AUTHDB_WRITE, &h)) != CLI_OK)
        goto out;
    w.domain = dom;
    w.add = add;
    if ((rc = authdb_write(h, domain_write_fn, &w)) != AUTHDB_OK) {
        rc = rc == AUTHDB_NOTFOUND ? cli_fail(c, CLI_NOTFOUND, "%s is not a local domain", dom)
             : rc == AUTHDB_EEXIST ? cli_fail(c, CLI_EXISTS, "%s is already a local domain", dom)
                                   : cli_fail_db(c, rc, "%s", dom);
        goto out;
    }
    if (c->json)
        json_kv_string(&c->j, "domain", dom);
    else
        fprintf(c->out, "%s %s\n", add ? "added" : "removed", dom);
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

static int domain_add(cli *c, const cli_args *a)
{
    return domain_change(c, a, 1);
}

static int domain_del(cli *c, const cli_args *a)
{
    return domain_change(c, a, 0);
}

static int domain_list_cb(const char *domain, void *arg)
{
    cli *c = arg;

    if (c->json)
        json_string(&c->j, domain);
    else
        fprintf(c->out, "%s\n", domain);
    return 0;
}

static int domain_list(cli *c, const cli_args *a)
{
    authdb *h = NULL;
    int rc;

    (void)a;
    if ((rc = cli_open(c, AUTHDB_POLICY, &h)) != CLI_OK)
        goto out;
    cli_list_begin(c, "domains");
    rc = cli_list_end(c, authdb_domain_foreach(h, NULL, domain_list_cb, c), "domains");
out:
    authdb_close(h);
    return rc;
}

const cli_cmd domain_cmds[] = {
    {"domain add", "DOMAIN", "add a local domain",
     "Add DOMAIN (U-labels are stored as A-labels) to the site's local domains.", NULL, 1, 1,
     "  0 added\n  4 already a local domain\n  5 invalid domain\n" CLI_EXITS_COMMON, domain_add},
    {"domain del", "DOMAIN", "remove a local domain", "Remove DOMAIN from the local domains.", NULL,
     1, 1, "  0 removed\n  3 not a local domain\n  5 invalid domain\n" CLI_EXITS_COMMON,
     domain_del},
    {"domain list", "", "list the local domains", "List the local domains, one per line.", NULL, 0,
     0, "  0 listed\n" CLI_EXITS_COMMON, domain_list},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
