/*
 * user.c - "user add|passwd|del|disable|enable|mechanisms|list|show" and
 * "verify".
 *
 * Passwords are read (cli_password) and their secrets derived
 * (authdb_secrets_derive, slow) before the write transaction opens; the
 * transaction then only stores them.  A per-user mechanisms override is
 * honoured when a password changes.  user_json() writes one user's metadata
 * for list, show and export.  Diagnostics name the login.
 */
#include <string.h>

#include "cli.h"

enum user_op { USER_ADD, USER_PASSWD, USER_DEL, USER_FLAGS, USER_MECHS };

struct user_write {
    enum user_op op;
    const char *login;
    const authdb_secrets *secrets;
    unsigned mechs, set, clear;
};

static int user_write_fn(authdb_txn *txn, void *arg)
{
    const struct user_write *w = arg;
    size_t len = strlen(w->login);
    int rc = AUTHDB_OK;

    switch (w->op) {
    case USER_ADD:
        if ((rc = authdb_user_put(txn, w->login, len, w->secrets, AUTHDB_PUT_CREATE)) != 0)
            break;
        if (w->mechs != 0 && (rc = authdb_user_set_mechs(txn, w->login, len, w->mechs)) != 0)
            break;
        if (w->set != 0)
            rc = authdb_user_set_flags(txn, w->login, len, w->set, 0);
        break;
    case USER_PASSWD:
        rc = authdb_user_put(txn, w->login, len, w->secrets, AUTHDB_PUT_REPLACE);
        break;
    case USER_DEL:
        rc = authdb_user_del(txn, w->login, len);
        break;
    case USER_FLAGS:
        rc = authdb_user_set_flags(txn, w->login, len, w->set, w->clear);
        break;
    case USER_MECHS:
        rc = authdb_user_set_mechs(txn, w->login, len, w->mechs);
        break;
    }
    return rc;
}

void user_json(json *j, const authdb_user *u)
{
    char buf[256];

    json_kv_string(j, "login", u->login);
    json_kv_bool(j, "disabled", (u->flags & AUTHDB_USER_DISABLED) != 0);
    json_kv_string(j, "hash_scheme", u->hash_scheme);
    json_key(j, "secrets");
    json_array_begin(j);
    for (int k = 1; k < AUTHDB_SECRET_KIND_END_; k++)
        if (u->kinds & (1u << k))
            json_string(j, cli_kind_name(k));
    json_array_end(j);
    json_key(j, "mechanisms_override");
    if (u->mechs_override != 0) {
        authdb_mechs_format(u->mechs_override, buf, sizeof(buf));
        json_string(j, buf);
    } else {
        json_null(j);
    }
    json_kv_int(j, "created", u->created);
    json_kv_int(j, "changed", u->changed);
}

/* Derive the secrets for login from a password read per the options: the
 * store's mechanisms, or the login's own override, or mechs when non-zero. */
static int user_derive(cli *c, const cli_args *a, authdb *h, const char *login, unsigned mechs,
                       int confirm, authdb_secrets **out)
{
    authdb_derive_params p;
    pwbuf *pw = NULL;
    int rc;

    *out = NULL;
    if ((rc = authdb_derive_params_for(h, NULL, login, strlen(login), &p)) != AUTHDB_OK)
        return cli_fail_db(c, rc, "cannot read the store's secret settings");
    if (mechs != 0)
        p.mechs = mechs;
    if ((rc = cli_password(c, a, confirm, &pw)) != CLI_OK)
        return rc;
    rc = authdb_secrets_derive(&p, login, pw->pw, pw->len, out);
    pwbuf_free(pw);
    if (rc != AUTHDB_OK)
        return cli_fail_db(c, rc, "%s: cannot derive secrets", login);
    return CLI_OK;
}

/* Parse --mechanisms (absent: *mask = 0). */
static int user_mechs_opt(cli *c, const char *text, unsigned *mask)
{
    const char *why = NULL;
    char esc[CLI_ECHO_MAX];
    int rc;

    *mask = 0;
    if (text == NULL)
        return CLI_OK;
    if ((rc = authdb_mechs_parse(text, mask, &why)) != AUTHDB_OK || *mask == 0)
        return cli_fail(c, CLI_DATAERR, "--mechanisms \"%s\": %s",
                        cli_esc(text, strlen(text), esc, sizeof(esc)),
                        why != NULL ? why : "no mechanism named");
    return CLI_OK;
}

static int user_add(cli *c, const cli_args *a)
{
    struct user_write w = {.op = USER_ADD};
    char login[AUTHDB_NAME_BUFSZ];
    authdb_secrets *s = NULL;
    authdb_user u;
    authdb *h = NULL;
    int rc;

    if ((rc = user_mechs_opt(c, cli_arg(a, "mechanisms"), &w.mechs)) != CLI_OK)
        goto out;
    if ((rc = cli_open(c, AUTHDB_BOTH | AUTHDB_WRITE, &h)) != CLI_OK)
        goto out;
    if ((rc = cli_login(c, h, a->pos[0], login)) != CLI_OK)
        goto out;
    rc = authdb_user_get(h, NULL, login, strlen(login), &u);
    if (rc == AUTHDB_OK) {
        rc = cli_fail(c, CLI_EXISTS, "%s: already exists (authgatectl user passwd changes it)",
                      login);
        goto out;
    }
    if (rc != AUTHDB_NOTFOUND) {
        rc = cli_fail_db(c, rc, "%s", login);
        goto out;
    }
    if ((rc = user_derive(c, a, h, login, w.mechs, 1, &s)) != CLI_OK)
        goto out;
    w.login = login;
    w.secrets = s;
    w.set = cli_arg(a, "disabled") != NULL ? AUTHDB_USER_DISABLED : 0;
    if ((rc = authdb_write(h, user_write_fn, &w)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "%s", login);
        goto out;
    }
    if (c->json)
        json_kv_string(&c->j, "login", login);
    else
        fprintf(c->out, "created %s%s\n", login, w.set ? " (disabled)" : "");
    rc = CLI_OK;
out:
    authdb_secrets_free(s);
    authdb_close(h);
    return rc;
}

static int user_passwd(cli *c, const cli_args *a)
{
    struct user_write w = {.op = USER_PASSWD};
    char login[AUTHDB_NAME_BUFSZ];
    authdb_secrets *s = NULL;
    authdb_user u;
    authdb *h = NULL;
    int rc;

    if ((rc = cli_open(c, AUTHDB_BOTH | AUTHDB_WRITE, &h)) != CLI_OK)
        goto out;
    if ((rc = cli_login(c, h, a->pos[0], login)) != CLI_OK)
        goto out;
    if ((rc = authdb_user_get(h, NULL, login, strlen(login), &u)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "%s", login);
        goto out;
    }
    if ((rc = user_derive(c, a, h, login, 0, 1, &s)) != CLI_OK)
        goto out;
    w.login = login;
    w.secrets = s;
    if ((rc = authdb_write(h, user_write_fn, &w)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "%s", login);
        goto out;
    }
    if (c->json)
        json_kv_string(&c->j, "login", login);
    else
        fprintf(c->out, "changed the password of %s\n", login);
    rc = CLI_OK;
out:
    authdb_secrets_free(s);
    authdb_close(h);
    return rc;
}

/* del, disable, enable and mechanisms: no password involved. */
static int user_simple(cli *c, const cli_args *a, struct user_write *w, const char *done)
{
    char login[AUTHDB_NAME_BUFSZ];
    unsigned flags = AUTHDB_SECRETS | AUTHDB_WRITE;
    authdb *h = NULL;
    int rc;

    if (w->op == USER_DEL)
        flags |= AUTHDB_POLICY;
    if ((rc = cli_open(c, flags, &h)) != CLI_OK)
        goto out;
    if ((rc = cli_login(c, h, a->pos[0], login)) != CLI_OK)
        goto out;
    w->login = login;
    if ((rc = authdb_write(h, user_write_fn, w)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "%s", login);
        goto out;
    }
    if (c->json)
        json_kv_string(&c->j, "login", login);
    else
        fprintf(c->out, "%s %s\n", done, login);
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

static int user_del(cli *c, const cli_args *a)
{
    struct user_write w = {.op = USER_DEL};
    return user_simple(c, a, &w, "deleted");
}

static int user_disable(cli *c, const cli_args *a)
{
    struct user_write w = {.op = USER_FLAGS, .set = AUTHDB_USER_DISABLED};
    return user_simple(c, a, &w, "disabled");
}

static int user_enable(cli *c, const cli_args *a)
{
    struct user_write w = {.op = USER_FLAGS, .clear = AUTHDB_USER_DISABLED};
    return user_simple(c, a, &w, "enabled");
}

static int user_mechanisms(cli *c, const cli_args *a)
{
    struct user_write w = {.op = USER_MECHS};
    int rc;

    if (strcmp(a->pos[1], "default") != 0 &&
        (rc = user_mechs_opt(c, a->pos[1], &w.mechs)) != CLI_OK)
        return rc;
    return user_simple(c, a, &w, "changed the mechanisms of");
}

static int user_list_cb(const authdb_user *u, void *arg)
{
    cli *c = arg;
    char buf[256];

    if (c->json) {
        json_object_begin(&c->j);
        user_json(&c->j, u);
        json_object_end(&c->j);
    } else {
        fprintf(c->out, "%-40s %-8s %-13s %s\n", u->login,
                (u->flags & AUTHDB_USER_DISABLED) ? "disabled" : "enabled",
                u->hash_scheme[0] ? u->hash_scheme : "-",
                cli_kinds_text(u->kinds, buf, sizeof(buf)));
    }
    return 0;
}

static int user_list(cli *c, const cli_args *a)
{
    authdb *h = NULL;
    int rc;

    (void)a;
    if ((rc = cli_open(c, AUTHDB_SECRETS, &h)) != CLI_OK)
        goto out;
    cli_list_begin(c, "users");
    rc = cli_list_end(c, authdb_user_foreach(h, NULL, user_list_cb, c), "users");
out:
    authdb_close(h);
    return rc;
}

static int user_show_rule_cb(const char *login, const authdb_rule *r, void *arg)
{
    cli *c = arg;

    (void)login;
    if (c->json) {
        json_object_begin(&c->j);
        json_kv_string(&c->j, "action", r->action == AUTHDB_ALLOW ? "allow" : "deny");
        json_kv_string(&c->j, "pattern", r->pattern);
        json_object_end(&c->j);
    } else {
        fprintf(c->out, "  %s %s\n", r->action == AUTHDB_ALLOW ? "allow" : "deny", r->pattern);
    }
    return 0;
}

static int user_show(cli *c, const cli_args *a)
{
    char login[AUTHDB_NAME_BUFSZ], buf[256], t1[32], t2[32];
    authdb_user u;
    authdb *h = NULL;
    int rc;

    if ((rc = cli_open(c, AUTHDB_BOTH, &h)) != CLI_OK)
        goto out;
    if ((rc = cli_login(c, h, a->pos[0], login)) != CLI_OK)
        goto out;
    if ((rc = authdb_user_get(h, NULL, login, strlen(login), &u)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "%s", login);
        goto out;
    }
    if (c->json) {
        json_key(&c->j, "user");
        json_object_begin(&c->j);
        user_json(&c->j, &u);
        json_key(&c->j, "rules");
        json_array_begin(&c->j);
    } else {
        fprintf(c->out, "login:       %s\n", u.login);
        fprintf(c->out, "state:       %s\n",
                (u.flags & AUTHDB_USER_DISABLED) ? "disabled" : "enabled");
        fprintf(c->out, "created:     %s\n", cli_time(u.created, t1, sizeof(t1)));
        fprintf(c->out, "changed:     %s\n", cli_time(u.changed, t2, sizeof(t2)));
        fprintf(c->out, "hash:        %s\n", u.hash_scheme[0] ? u.hash_scheme : "-");
        fprintf(c->out, "secrets:     %s\n", cli_kinds_text(u.kinds, buf, sizeof(buf)));
        fprintf(c->out, "usable:      %s\n", cli_usable_text(u.kinds, buf, sizeof(buf)));
        if (u.mechs_override != 0)
            authdb_mechs_format(u.mechs_override, buf, sizeof(buf));
        fprintf(c->out, "mechanisms:  %s\n", u.mechs_override ? buf : "the store's setting");
        fprintf(c->out, "send-as rules:\n");
    }
    rc = authdb_rule_foreach(h, NULL, login, strlen(login), user_show_rule_cb, c);
    if (rc != AUTHDB_OK && rc != AUTHDB_NOTFOUND) {
        rc = cli_fail_db(c, rc, "%s: cannot list send-as rules", login);
        goto out;
    }
    if (c->json) {
        json_array_end(&c->j);
        json_object_end(&c->j);
    }
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

static int user_verify(cli *c, const cli_args *a)
{
    char login[AUTHDB_NAME_BUFSZ];
    pwbuf *pw = NULL;
    authdb *h = NULL;
    const char *verdict;
    int rc;

    if ((rc = cli_open(c, AUTHDB_SECRETS, &h)) != CLI_OK)
        goto out;
    if ((rc = cli_login(c, h, a->pos[0], login)) != CLI_OK)
        goto out;
    if ((rc = cli_password(c, a, 0, &pw)) != CLI_OK)
        goto out;
    rc = authdb_verify_password(h, login, strlen(login), pw->pw, pw->len);
    switch (rc) {
    case AUTHDB_OK:
        verdict = "match";
        break;
    case AUTHDB_EMISMATCH:
        verdict = "mismatch";
        break;
    case AUTHDB_NOTFOUND:
        verdict = "unknown";
        break;
    case AUTHDB_EDISABLED:
        verdict = "disabled";
        break;
    default:
        rc = cli_fail_db(c, rc, "%s: cannot verify", login);
        goto out;
    }
    if (c->json) {
        json_kv_string(&c->j, "login", login);
        json_kv_bool(&c->j, "match", rc == AUTHDB_OK);
        json_kv_string(&c->j, "result", verdict);
    } else {
        fprintf(c->out, "%s: %s\n", login, verdict);
    }
    rc = rc == AUTHDB_OK ? CLI_OK : CLI_NO;
out:
    pwbuf_free(pw);
    authdb_close(h);
    return rc;
}

static const cli_opt user_add_opts[] = {
    {"password-stdin", NULL, "read the password from one line of standard input"},
    {"mechanisms", "LIST", "secrets for this login instead of the store's \"mechanisms\""},
    {"disabled", NULL, "create the login disabled"},
    {NULL, NULL, NULL},
};

static const cli_opt user_pw_opts[] = {
    {"password-stdin", NULL, "read the password from one line of standard input"},
    {NULL, NULL, NULL},
};

#define USER_EXITS_LOGIN "  3 no such login\n  5 invalid login\n" CLI_EXITS_COMMON

const cli_cmd user_cmds[] = {
    {"user add", "LOGIN", "create a login with a password",
     "Create LOGIN (\"user\" or \"user@domain\", normalized with the store's rules) with a\n"
     "password read from the terminal (asked twice, not echoed) or, with\n"
     "--password-stdin, from one line of standard input.  The store's \"mechanisms\"\n"
     "setting (or --mechanisms) says which SASL secrets are derived from it.",
     user_add_opts, 1, 1,
     "  0 created\n  4 LOGIN exists\n  5 invalid login or password, passwords differ\n"
     "  130 interrupted at the prompt\n" CLI_EXITS_COMMON,
     user_add},
    {"user passwd", "LOGIN", "set a new password",
     "Replace the password of LOGIN and every secret derived from it (per the store's\n"
     "\"mechanisms\", or the login's own override).  Flags and send-as rules are kept.",
     user_pw_opts, 1, 1,
     "  0 changed\n  3 no such login\n  5 invalid login or password, passwords differ\n"
     "  130 interrupted at the prompt\n" CLI_EXITS_COMMON,
     user_passwd},
    {"user del", "LOGIN", "delete a login and its send-as rules",
     "Delete LOGIN's secrets and its send-as rules in one transaction.", NULL, 1, 1,
     "  0 deleted\n" USER_EXITS_LOGIN, user_del},
    {"user disable", "LOGIN", "refuse every authentication of a login",
     "Mark LOGIN disabled: every mechanism fails for it; secrets and rules are kept.", NULL, 1, 1,
     "  0 disabled\n" USER_EXITS_LOGIN, user_disable},
    {"user enable", "LOGIN", "undo user disable", "Clear LOGIN's disabled mark.", NULL, 1, 1,
     "  0 enabled\n" USER_EXITS_LOGIN, user_enable},
    {"user mechanisms", "LOGIN LIST|default", "per-login mechanisms override",
     "Set which secrets LOGIN's next password derives (LIST as for the \"mechanisms\"\n"
     "setting), or \"default\" to follow the store's setting again.  Takes effect at\n"
     "the next \"user passwd\".",
     NULL, 2, 2, "  0 changed\n  3 no such login\n  5 invalid login or LIST\n" CLI_EXITS_COMMON,
     user_mechanisms},
    {"user list", "", "list logins",
     "List every login: state, hash scheme and the secrets it holds (never their values).", NULL, 0,
     0, "  0 listed\n" CLI_EXITS_COMMON, user_list},
    {"user show", "LOGIN", "show one login and its send-as rules",
     "Show LOGIN's state, times, secrets held, the mechanisms they allow and its send-as\n"
     "rules.",
     NULL, 1, 1, "  0 shown\n" USER_EXITS_LOGIN, user_show},
    {"verify", "LOGIN", "check a password",
     "Check a password for LOGIN against its stored hash, as authgate-authd does.  The\n"
     "password comes from the terminal or, with --password-stdin, standard input.",
     user_pw_opts, 1, 1,
     "  0 the password matches\n  1 mismatch, unknown login or disabled login\n"
     "  5 invalid login or password\n  130 interrupted at the prompt\n" CLI_EXITS_COMMON,
     user_verify},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
