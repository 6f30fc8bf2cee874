/*
 * sender.c - "sender allow|deny|del|list|test": send-as rules.
 *
 * A rule is LOGIN + allow|deny + PATTERN (an address, "@domain" or "*"),
 * stored in the policy environment (authdb_rule_*).  "sender test" asks the
 * store's own decision procedure (authdb_sender_check) and prints the rule
 * that decided.  Rules for logins that have no password yet are accepted
 * with a warning (imports of maps often come before the users).
 */
#include <string.h>

#include "cli.h"

struct sender_write {
    const char *login, *pattern;
    enum authdb_rule_action action; /* 0: delete */
};

static int sender_write_fn(authdb_txn *txn, void *arg)
{
    const struct sender_write *w = arg;

    if (w->action == 0)
        return authdb_rule_del(txn, w->login, strlen(w->login), w->pattern, strlen(w->pattern));
    return authdb_rule_add(txn, w->login, strlen(w->login), w->action, w->pattern,
                           strlen(w->pattern));
}

static int sender_change(cli *c, const cli_args *a, enum authdb_rule_action action)
{
    struct sender_write w;
    char login[AUTHDB_NAME_BUFSZ], esc[AUTHDB_NAME_BUFSZ * 2];
    authdb_norm n;
    authdb_rule r;
    authdb_user u;
    authdb *h = NULL;
    const char *why = NULL;
    int rc;

    if ((rc = cli_open(c, AUTHDB_BOTH | AUTHDB_WRITE, &h)) != CLI_OK)
        goto out;
    if ((rc = cli_login(c, h, a->pos[0], login)) != CLI_OK)
        goto out;
    if ((rc = authdb_norm_get(h, NULL, &n)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "cannot read the store's normalization settings");
        goto out;
    }
    rc = authdb_rule_parse(&n, a->pos[1], strlen(a->pos[1]), &r, &why);
    if (rc != AUTHDB_OK) {
        rc = cli_fail(c, cli_exit_code(rc), "invalid pattern \"%s\": %s",
                      cli_esc(a->pos[1], strlen(a->pos[1]), esc, sizeof(esc)),
                      why != NULL ? why : authdb_strerror(rc));
        goto out;
    }
    rc = authdb_user_get(h, NULL, login, strlen(login), &u);
    if (rc == AUTHDB_NOTFOUND && action != 0)
        cli_warn(c, "%s has no password in the store (yet): the rule waits for it", login);
    else if (rc != AUTHDB_OK && rc != AUTHDB_NOTFOUND) {
        rc = cli_fail_db(c, rc, "%s", login);
        goto out;
    }
    w.login = login;
    w.pattern = r.pattern;
    w.action = action;
    if ((rc = authdb_write(h, sender_write_fn, &w)) != AUTHDB_OK) {
        rc = rc == AUTHDB_NOTFOUND
                 ? cli_fail(c, CLI_NOTFOUND, "%s has no rule for %s", login, r.pattern)
                 : cli_fail_db(c, rc, "%s %s", login, r.pattern);
        goto out;
    }
    if (c->json) {
        json_kv_string(&c->j, "login", login);
        json_kv_string(&c->j, "action",
                       action == AUTHDB_ALLOW  ? "allow"
                       : action == AUTHDB_DENY ? "deny"
                                               : "del");
        json_kv_string(&c->j, "pattern", r.pattern);
    } else {
        fprintf(c->out, "%s: %s %s\n", login,
                action == AUTHDB_ALLOW  ? "allow"
                : action == AUTHDB_DENY ? "deny"
                                        : "removed the rule for",
                r.pattern);
    }
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

static int sender_allow(cli *c, const cli_args *a)
{
    return sender_change(c, a, AUTHDB_ALLOW);
}

static int sender_deny(cli *c, const cli_args *a)
{
    return sender_change(c, a, AUTHDB_DENY);
}

static int sender_del(cli *c, const cli_args *a)
{
    return sender_change(c, a, 0);
}

static int sender_list_cb(const char *login, const authdb_rule *r, void *arg)
{
    cli *c = arg;
    const char *action = r->action == AUTHDB_ALLOW ? "allow" : "deny";

    if (c->json) {
        json_object_begin(&c->j);
        json_kv_string(&c->j, "login", login);
        json_kv_string(&c->j, "action", action);
        json_kv_string(&c->j, "pattern", r->pattern);
        json_object_end(&c->j);
    } else {
        fprintf(c->out, "%s %s %s\n", login, action, r->pattern);
    }
    return 0;
}

static int sender_list(cli *c, const cli_args *a)
{
    char login[AUTHDB_NAME_BUFSZ];
    authdb *h = NULL;
    int rc;

    if ((rc = cli_open(c, AUTHDB_POLICY, &h)) != CLI_OK)
        goto out;
    if (a->npos == 1 && (rc = cli_login(c, h, a->pos[0], login)) != CLI_OK)
        goto out;
    cli_list_begin(c, "rules");
    rc = authdb_rule_foreach(h, NULL, a->npos == 1 ? login : NULL, a->npos == 1 ? strlen(login) : 0,
                             sender_list_cb, c);
    rc = cli_list_end(c, rc == AUTHDB_NOTFOUND ? AUTHDB_OK : rc, "rules");
out:
    authdb_close(h);
    return rc;
}

static int sender_test(cli *c, const cli_args *a)
{
    char esc[AUTHDB_NAME_BUFSZ * 2], login[AUTHDB_NAME_BUFSZ];
    authdb_verdict v;
    authdb *h = NULL;
    const char *why = NULL, *decided;
    int rc;

    if ((rc = cli_open(c, AUTHDB_POLICY, &h)) != CLI_OK)
        goto out;
    if ((rc = cli_login(c, h, a->pos[0], login)) != CLI_OK)
        goto out;
    rc = authdb_sender_check(h, NULL, login, strlen(login), a->pos[1], strlen(a->pos[1]), &v, &why);
    if (rc != AUTHDB_OK) {
        rc = cli_fail(c, cli_exit_code(rc), "%s: %s",
                      cli_esc(a->pos[1], strlen(a->pos[1]), esc, sizeof(esc)),
                      why != NULL ? why : authdb_strerror(rc));
        goto out;
    }
    decided = v.implicit_self ? "self_send (the login is this address)"
              : v.matched     ? v.rule.pattern
                              : "no rule matches (default deny)";
    if (c->json) {
        json_kv_string(&c->j, "login", login);
        json_kv_string(&c->j, "address", v.address);
        json_kv_bool(&c->j, "allowed", v.allowed);
        json_kv_bool(&c->j, "implicit_self", v.implicit_self);
        json_key(&c->j, "rule");
        if (v.matched && !v.implicit_self) {
            json_object_begin(&c->j);
            json_kv_string(&c->j, "action", v.rule.action == AUTHDB_ALLOW ? "allow" : "deny");
            json_kv_string(&c->j, "pattern", v.rule.pattern);
            json_object_end(&c->j);
        } else {
            json_null(&c->j);
        }
    } else if (v.matched && !v.implicit_self) {
        fprintf(c->out, "%s %s %s: rule %s %s\n", login,
                v.allowed ? "may send as" : "may not send as", v.address,
                v.rule.action == AUTHDB_ALLOW ? "allow" : "deny", decided);
    } else {
        fprintf(c->out, "%s %s %s: %s\n", login, v.allowed ? "may send as" : "may not send as",
                v.address, decided);
    }
    rc = v.allowed ? CLI_OK : CLI_NO;
out:
    authdb_close(h);
    return rc;
}

#define SENDER_EXITS                                                                               \
    "  5 invalid login or pattern, or too many rules (1000 per login)\n" CLI_EXITS_COMMON

const cli_cmd sender_cmds[] = {
    {"sender allow", "LOGIN PATTERN", "let a login send as PATTERN",
     "Allow LOGIN to use PATTERN as envelope sender, From and Sender: an address\n"
     "(subaddress stripped), \"@domain\" (that domain, not its subdomains) or \"*\".\n"
     "Replaces a deny rule with the same pattern.  The most specific matching rule\n"
     "decides (address > @domain > *); at equal specificity deny wins.",
     NULL, 2, 2, "  0 rule stored\n" SENDER_EXITS, sender_allow},
    {"sender deny", "LOGIN PATTERN", "forbid a login to send as PATTERN",
     "Deny LOGIN the use of PATTERN (see sender allow); replaces an allow rule with the\n"
     "same pattern.  \"sender deny alice@example.com alice@example.com\" removes the\n"
     "implicit right of an address login to send as itself.",
     NULL, 2, 2, "  0 rule stored\n" SENDER_EXITS, sender_deny},
    {"sender del", "LOGIN PATTERN", "remove a rule",
     "Remove LOGIN's rule (allow or deny) for PATTERN.", NULL, 2, 2,
     "  0 removed\n  3 no such rule\n" SENDER_EXITS, sender_del},
    {"sender list", "[LOGIN]", "list send-as rules",
     "List the rules of LOGIN, or of every login, in key order.", NULL, 0, 1,
     "  0 listed\n  5 invalid login\n" CLI_EXITS_COMMON, sender_list},
    {"sender test", "LOGIN ADDRESS", "may LOGIN send as ADDRESS?",
     "Decide as authgate-milter does whether LOGIN may use ADDRESS, and print the rule\n"
     "that decided (or self_send, or the default deny).",
     NULL, 2, 2, "  0 allowed\n  1 not allowed\n  5 invalid login or address\n" CLI_EXITS_COMMON,
     sender_test},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
