/*
 * export.c - "export": the whole store in one consistent snapshot.
 *
 * One read transaction over both environments: settings, local domains,
 * users (metadata; with --with-secrets also every secret value) and send-as
 * rules.  JSON with --json, else a line-oriented text form:
 *
 *   setting KEY "VALUE"
 *   domain DOMAIN
 *   user LOGIN enabled|disabled hash=SCHEME secrets=KIND,... created=T changed=T
 *   secret LOGIN KIND VALUE          (--with-secrets; binary values base64)
 *   rule LOGIN allow|deny PATTERN
 *
 * Secret values are password equivalents for their mechanism: the output
 * must be protected like the store itself.  With --with-secrets, when
 * standard output is a regular file that group or others may read (the
 * shell made it under a lax umask), export_protect makes it 0600 before
 * the first secret is written, and says so on standard error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct export_ctx {
    cli *c;
    authdb *h;
    authdb_txn *txn;
    int with_secrets;
    int rc; /* first store error inside a callback */
};

/* Standard base64 of in[0..len) into out (>= 4 * ((len + 2) / 3) + 1). */
static void export_b64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

static int export_is_text(int kind)
{
    return kind == AUTHDB_SECRET_HASH || kind == AUTHDB_SECRET_SCRAM_SHA256 ||
           kind == AUTHDB_SECRET_SCRAM_SHA1 || kind == AUTHDB_SECRET_CLEARTEXT;
}

static int export_secrets(struct export_ctx *x, const authdb_user *u)
{
    authdb_secrets *s = NULL;
    char enc[4 * ((AUTHDB_PASSWORD_MAX + 2) / 3) + 1];
    int rc;

    rc = authdb_user_secrets(x->h, x->txn, u->login, strlen(u->login), &s);
    if (rc != AUTHDB_OK)
        goto out;
    if (x->c->json) {
        json_key(&x->c->j, "secret_values");
        json_object_begin(&x->c->j);
    }
    for (int k = 1; k < AUTHDB_SECRET_KIND_END_; k++) {
        const void *val;
        size_t len;
        if (authdb_secrets_value(s, k, &val, &len) != AUTHDB_OK)
            continue;
        if (export_is_text(k) || len > AUTHDB_PASSWORD_MAX) {
            if (x->c->json)
                json_kv_string(&x->c->j, cli_kind_name(k), val);
            else
                fprintf(x->c->out, "secret %s %s %s\n", u->login, cli_kind_name(k),
                        (const char *)val);
        } else {
            export_b64(val, len, enc);
            if (x->c->json)
                json_kv_string(&x->c->j, cli_kind_name(k), enc);
            else
                fprintf(x->c->out, "secret %s %s %s\n", u->login, cli_kind_name(k), enc);
            explicit_bzero(enc, sizeof(enc));
        }
    }
    if (x->c->json)
        json_object_end(&x->c->j);
out:
    authdb_secrets_free(s);
    return rc;
}

static int export_user_cb(const authdb_user *u, void *arg)
{
    struct export_ctx *x = arg;
    char kinds[256], t1[32], t2[32];
    int rc = 0;

    if (x->c->json) {
        json_object_begin(&x->c->j);
        user_json(&x->c->j, u);
    } else {
        cli_kinds_text(u->kinds, kinds, sizeof(kinds));
        for (char *p = kinds; *p != '\0'; p++)
            if (*p == ' ')
                *p = ',';
        fprintf(x->c->out, "user %s %s hash=%s secrets=%s created=%s changed=%s\n", u->login,
                (u->flags & AUTHDB_USER_DISABLED) ? "disabled" : "enabled",
                u->hash_scheme[0] ? u->hash_scheme : "-", kinds[0] ? kinds : "-",
                cli_time(u->created, t1, sizeof(t1)), cli_time(u->changed, t2, sizeof(t2)));
    }
    if (x->with_secrets && (rc = export_secrets(x, u)) != AUTHDB_OK)
        x->rc = rc;
    if (x->c->json)
        json_object_end(&x->c->j);
    return rc;
}

static int export_rule_cb(const char *login, const authdb_rule *r, void *arg)
{
    struct export_ctx *x = arg;
    const char *action = r->action == AUTHDB_ALLOW ? "allow" : "deny";

    if (x->c->json) {
        json_object_begin(&x->c->j);
        json_kv_string(&x->c->j, "login", login);
        json_kv_string(&x->c->j, "action", action);
        json_kv_string(&x->c->j, "pattern", r->pattern);
        json_object_end(&x->c->j);
    } else {
        fprintf(x->c->out, "rule %s %s %s\n", login, action, r->pattern);
    }
    return 0;
}

static int export_domain_cb(const char *domain, void *arg)
{
    struct export_ctx *x = arg;

    if (x->c->json)
        json_string(&x->c->j, domain);
    else
        fprintf(x->c->out, "domain %s\n", domain);
    return 0;
}

static int export_settings(struct export_ctx *x)
{
    const authdb_setting_info *info;
    char value[AUTHDB_SETTING_MAX + 1];
    int rc = AUTHDB_OK;

    if (x->c->json) {
        json_key(&x->c->j, "settings");
        json_object_begin(&x->c->j);
    }
    for (size_t i = 0; (info = authdb_setting_info_at(i)) != NULL; i++) {
        if ((rc = authdb_setting_get(x->h, x->txn, info->key, value, sizeof(value))) != 0)
            break;
        if (x->c->json)
            json_kv_string(&x->c->j, info->key, value);
        else
            fprintf(x->c->out, "setting %s \"%s\"\n", info->key, value);
    }
    if (x->c->json)
        json_object_end(&x->c->j);
    return rc;
}

/* Secrets must not land in a file others can read. */
static int export_protect(cli *c)
{
    struct stat st;
    int fd = fileno(c->out);

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0)
        return CLI_OK;
    if (fchmod(fd, st.st_mode & 0600) != 0)
        return cli_fail(c, CLI_STORE,
                        "standard output is a file with mode %04o that others may read, and "
                        "its mode cannot be changed (%s): not writing secrets to it",
                        (unsigned)(st.st_mode & 07777), strerror(errno));
    fprintf(c->err, "authgatectl: the output file had mode %04o: made it 0600 (it holds secrets)\n",
            (unsigned)(st.st_mode & 07777));
    return CLI_OK;
}

static int export_run(cli *c, const cli_args *a)
{
    struct export_ctx x = {.c = c};
    char when[32];
    int rc;

    x.with_secrets = cli_arg(a, "with-secrets") != NULL;
    if (x.with_secrets && (rc = export_protect(c)) != CLI_OK)
        goto out;
    if ((rc = cli_open(c, AUTHDB_BOTH, &x.h)) != CLI_OK)
        goto out;
    if ((rc = authdb_read_begin(x.h, AUTHDB_BOTH, &x.txn)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "cannot read %s", authdb_path(x.h));
        goto out;
    }
    if (c->json) {
        json_kv_uint(&c->j, "schema", AUTHDB_SCHEMA);
        json_kv_bool(&c->j, "with_secrets", x.with_secrets);
    } else {
        fprintf(c->out, "# authgatectl export of %s at %s%s\n", authdb_path(x.h),
                cli_time((int64_t)time(NULL), when, sizeof(when)),
                x.with_secrets ? " WITH SECRETS: protect this file like the store" : "");
    }
    if ((rc = export_settings(&x)) != AUTHDB_OK)
        goto fail;
    if (c->json) {
        json_key(&c->j, "domains");
        json_array_begin(&c->j);
    }
    if ((rc = authdb_domain_foreach(x.h, x.txn, export_domain_cb, &x)) != AUTHDB_OK)
        goto fail;
    if (c->json) {
        json_array_end(&c->j);
        json_key(&c->j, "users");
        json_array_begin(&c->j);
    }
    if ((rc = authdb_user_foreach(x.h, x.txn, export_user_cb, &x)) != AUTHDB_OK)
        goto fail;
    if (c->json) {
        json_array_end(&c->j);
        json_key(&c->j, "rules");
        json_array_begin(&c->j);
    }
    rc = authdb_rule_foreach(x.h, x.txn, NULL, 0, export_rule_cb, &x);
    if (rc != AUTHDB_OK && rc != AUTHDB_NOTFOUND)
        goto fail;
    if (c->json)
        json_array_end(&c->j);
    rc = CLI_OK;
    goto out;
fail:
    rc = cli_fail_db(c, x.rc != 0 ? x.rc : rc, "export of %s failed", authdb_path(x.h));
out:
    if (x.txn != NULL)
        authdb_txn_end(x.txn);
    authdb_close(x.h);
    return rc;
}

static const cli_opt export_opts[] = {
    {"with-secrets", NULL, "include every secret value (password equivalents!)"},
    {NULL, NULL, NULL},
};

const cli_cmd export_cmds[] = {
    {"export", "", "print the whole store",
     "Print settings, local domains, users and send-as rules from one consistent\n"
     "snapshot: JSON with --json, else one record per line (\"setting\", \"domain\",\n"
     "\"user\", \"secret\", \"rule\").  Secret values only with --with-secrets; binary\n"
     "secrets are base64.  Protect such output like the store itself: with\n"
     "--with-secrets, a regular output file others may read is made 0600 first.",
     export_opts, 0, 0, "  0 exported\n" CLI_EXITS_COMMON, export_run},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
