/*
 * mta-store.c - make and change authgate stores for the MTA integration
 * tests (tests/mta), the way authgatectl will: a separate process writing
 * through authdb while the MTAs read.
 *
 * Usage (passwords are read from standard input, never from argv):
 *   mta-store create  DIR [-g GROUP] [-m MECHANISMS] [-r DIGEST_REALM]
 *                         [-s MAPSIZE]
 *   mta-store passwd  DIR LOGIN [-m MECHANISMS]   set (or create) a password
 *   mta-store fill    DIR PREFIX -n COUNT          COUNT logins PREFIX<i>@lab.test
 *                                                (0 <= i < COUNT) with one
 *                                                password, in one write
 *   mta-store disable DIR LOGIN | enable DIR LOGIN | delete DIR LOGIN
 *   mta-store verify  DIR LOGIN                  prints ok, mismatch, unknown
 *                                                or disabled
 *   mta-store show    DIR LOGIN                  prints absent, or "present"
 *                                                and the secret kinds
 *
 * create: GROUP owns secrets/ and policy/ (the MTA's SASL user reads
 * secrets through it); MECHANISMS is the store's "mechanisms" setting;
 * scram_iterations is 4096; MAPSIZE the initial LMDB map size in bytes (a
 * small one lets a test make the store grow while MTAs read it).  passwd
 * -m sets the login's own mechanisms override.  fill derives the secrets
 * once (for PREFIX0@lab.test) and stores them under every login: bulk for
 * growing the store, not logins to authenticate with DIGEST-MD5.
 *
 * Diagnostics: one line on standard error naming the command, the store and
 * authdb's message.  Exit status 0 on success (verify: also when it printed
 * an answer), 1 for a store error, 2 for a usage error.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authdb.h"

enum { MTA_OK = 0, MTA_ESTORE = 1, MTA_EUSAGE = 2 };

struct mta_args {
    const char *dir;
    const char *login;
    const char *group;
    const char *mechs;
    const char *realm;
    unsigned long mapsize;
    unsigned long count;
};

struct mta_cmd {
    const char *name;
    int needs_login;
    int (*run)(const struct mta_args *a);
};

/* One line of standard input without its newline, into buf. */
static int mta_read_password(char *buf, size_t bufsz, size_t *len)
{
    int rc = AUTHDB_OK;

    if (fgets(buf, (int)bufsz, stdin) == NULL) {
        buf[0] = '\0';
    }
    *len = strcspn(buf, "\r\n");
    buf[*len] = '\0';
    if (*len == 0)
        rc = AUTHDB_EINVAL;
    return rc;
}

static int mta_report(const char *what, const struct mta_args *a, int rc, const char *why)
{
    if (rc == AUTHDB_OK)
        return MTA_OK;
    fprintf(stderr, "mta-store %s %s%s%s: %s\n", what, a->dir, a->login ? " " : "",
            a->login ? a->login : "", why != NULL && why[0] != '\0' ? why : authdb_strerror(rc));
    return MTA_ESTORE;
}

static int mta_create(const struct mta_args *a)
{
    const char *settings[7];
    authdb_create_opts o;
    struct group *g;
    char why[AUTHDB_WHY_MAX] = "";
    size_t n = 0;
    int rc = AUTHDB_OK;

    memset(&o, 0, sizeof(o));
    o.secrets_gid = (gid_t)-1;
    o.policy_gid = (gid_t)-1;
    if (a->group != NULL) {
        g = getgrnam(a->group);
        if (g == NULL) {
            snprintf(why, sizeof(why), "no group %s", a->group);
            rc = AUTHDB_EINVAL;
            goto out;
        }
        o.secrets_gid = g->gr_gid;
        o.policy_gid = g->gr_gid;
    }
    if (a->mechs != NULL) {
        settings[n++] = "mechanisms";
        settings[n++] = a->mechs;
    }
    if (a->realm != NULL) {
        settings[n++] = "digest_realm";
        settings[n++] = a->realm;
    }
    settings[n++] = "scram_iterations";
    settings[n++] = "4096";
    settings[n] = NULL;
    o.settings = settings;
    o.mapsize = a->mapsize;
    rc = authdb_create(a->dir, &o, why, sizeof(why));
out:
    return mta_report("create", a, rc, why);
}

struct mta_put {
    const char *login;
    const authdb_secrets *s;
    unsigned mechs; /* override, 0 = none */
};

static int mta_put_fn(authdb_txn *txn, void *arg)
{
    const struct mta_put *p = arg;
    size_t n = strlen(p->login);
    int rc = authdb_user_put(txn, p->login, n, p->s, AUTHDB_PUT_UPSERT);

    if (rc == AUTHDB_OK && p->mechs != 0)
        rc = authdb_user_set_mechs(txn, p->login, n, p->mechs);
    return rc;
}

static int mta_passwd(const struct mta_args *a)
{
    struct mta_put put = {a->login, NULL, 0};
    authdb_derive_params prm;
    authdb_secrets *s = NULL;
    authdb *db = NULL;
    char pw[AUTHDB_PASSWORD_MAX + 2];
    char why[AUTHDB_WHY_MAX] = "";
    size_t pwlen = 0;
    int rc = mta_read_password(pw, sizeof(pw), &pwlen);

    if (rc != AUTHDB_OK) {
        snprintf(why, sizeof(why), "no password on standard input");
        goto out;
    }
    rc = authdb_open(a->dir, AUTHDB_BOTH | AUTHDB_WRITE, &db, why, sizeof(why));
    if (rc == AUTHDB_OK)
        rc = authdb_derive_params_for(db, NULL, a->login, strlen(a->login), &prm);
    if (rc == AUTHDB_OK && a->mechs != NULL) {
        rc = authdb_mechs_parse(a->mechs, &put.mechs, NULL);
        prm.mechs = put.mechs;
    }
    if (rc == AUTHDB_OK)
        rc = authdb_secrets_derive(&prm, a->login, pw, pwlen, &s);
    put.s = s;
    if (rc == AUTHDB_OK)
        rc = authdb_write(db, mta_put_fn, &put);
out:
    explicit_bzero(pw, sizeof(pw));
    authdb_secrets_free(s);
    authdb_close(db);
    return mta_report("passwd", a, rc, why);
}

struct mta_fill {
    const char *prefix;
    unsigned long count;
    const authdb_secrets *s;
};

static int mta_fill_fn(authdb_txn *txn, void *arg)
{
    const struct mta_fill *f = arg;
    char login[AUTHDB_NAME_BUFSZ];
    unsigned long i;
    int rc = AUTHDB_OK;
    int n;

    for (i = 0; i < f->count && rc == AUTHDB_OK; i++) {
        n = snprintf(login, sizeof(login), "%s%lu@lab.test", f->prefix, i);
        rc = n > 0 && (size_t)n < sizeof(login)
                 ? authdb_user_put(txn, login, (size_t)n, f->s, AUTHDB_PUT_UPSERT)
                 : AUTHDB_ETOOLONG;
    }
    return rc;
}

static int mta_fill(const struct mta_args *a)
{
    struct mta_fill fill = {a->login, a->count, NULL};
    authdb_derive_params prm;
    authdb_secrets *s = NULL;
    authdb *db = NULL;
    char first[AUTHDB_NAME_BUFSZ];
    char pw[AUTHDB_PASSWORD_MAX + 2];
    char why[AUTHDB_WHY_MAX] = "";
    size_t pwlen = 0;
    int rc = mta_read_password(pw, sizeof(pw), &pwlen);

    if (rc != AUTHDB_OK) {
        snprintf(why, sizeof(why), "no password on standard input");
        goto out;
    }
    snprintf(first, sizeof(first), "%s0@lab.test", a->login);
    rc = authdb_open(a->dir, AUTHDB_BOTH | AUTHDB_WRITE, &db, why, sizeof(why));
    if (rc == AUTHDB_OK)
        rc = authdb_derive_params_get(db, NULL, &prm);
    if (rc == AUTHDB_OK)
        rc = authdb_secrets_derive(&prm, first, pw, pwlen, &s);
    fill.s = s;
    if (rc == AUTHDB_OK)
        rc = authdb_write(db, mta_fill_fn, &fill);
out:
    explicit_bzero(pw, sizeof(pw));
    authdb_secrets_free(s);
    authdb_close(db);
    return mta_report("fill", a, rc, why);
}

static int mta_disable_fn(authdb_txn *txn, void *arg)
{
    const char *login = arg;
    return authdb_user_set_flags(txn, login, strlen(login), AUTHDB_USER_DISABLED, 0);
}

static int mta_enable_fn(authdb_txn *txn, void *arg)
{
    const char *login = arg;
    return authdb_user_set_flags(txn, login, strlen(login), 0, AUTHDB_USER_DISABLED);
}

static int mta_delete_fn(authdb_txn *txn, void *arg)
{
    const char *login = arg;
    return authdb_user_del(txn, login, strlen(login));
}

static int mta_write(const char *what, const struct mta_args *a, authdb_write_fn fn)
{
    authdb *db = NULL;
    char why[AUTHDB_WHY_MAX] = "";
    int rc = authdb_open(a->dir, AUTHDB_BOTH | AUTHDB_WRITE, &db, why, sizeof(why));

    if (rc == AUTHDB_OK)
        rc = authdb_write(db, fn, (void *)a->login);
    authdb_close(db);
    return mta_report(what, a, rc, why);
}

static int mta_disable(const struct mta_args *a)
{
    return mta_write("disable", a, mta_disable_fn);
}

static int mta_enable(const struct mta_args *a)
{
    return mta_write("enable", a, mta_enable_fn);
}

static int mta_delete(const struct mta_args *a)
{
    return mta_write("delete", a, mta_delete_fn);
}

static int mta_verify(const struct mta_args *a)
{
    authdb *db = NULL;
    char pw[AUTHDB_PASSWORD_MAX + 2];
    char why[AUTHDB_WHY_MAX] = "";
    size_t pwlen = 0;
    int rc = mta_read_password(pw, sizeof(pw), &pwlen);

    if (rc == AUTHDB_OK)
        rc = authdb_open(a->dir, AUTHDB_SECRETS, &db, why, sizeof(why));
    if (rc == AUTHDB_OK) {
        rc = authdb_verify_password(db, a->login, strlen(a->login), pw, pwlen);
        switch (rc) {
        case AUTHDB_OK:
            puts("ok");
            break;
        case AUTHDB_EMISMATCH:
            puts("mismatch");
            rc = AUTHDB_OK;
            break;
        case AUTHDB_NOTFOUND:
            puts("unknown");
            rc = AUTHDB_OK;
            break;
        case AUTHDB_EDISABLED:
            puts("disabled");
            rc = AUTHDB_OK;
            break;
        default:
            break;
        }
    }
    explicit_bzero(pw, sizeof(pw));
    authdb_close(db);
    return mta_report("verify", a, rc, why);
}

static int mta_show(const struct mta_args *a)
{
    static const char *const kind_names[AUTHDB_SECRET_KIND_END_] = {
        [AUTHDB_SECRET_HASH] = "hash",
        [AUTHDB_SECRET_SCRAM_SHA256] = "SCRAM-SHA-256",
        [AUTHDB_SECRET_SCRAM_SHA1] = "SCRAM-SHA-1",
        [AUTHDB_SECRET_CRAM_MD5] = "CRAM-MD5",
        [AUTHDB_SECRET_DIGEST_MD5] = "DIGEST-MD5",
        [AUTHDB_SECRET_PLAIN] = "PLAIN",
        [AUTHDB_SECRET_CLEARTEXT] = "CLEARTEXT",
    };
    authdb *db = NULL;
    authdb_user u;
    char why[AUTHDB_WHY_MAX] = "";
    int k;
    int rc = authdb_open(a->dir, AUTHDB_SECRETS, &db, why, sizeof(why));

    if (rc == AUTHDB_OK)
        rc = authdb_user_get(db, NULL, a->login, strlen(a->login), &u);
    if (rc == AUTHDB_NOTFOUND) {
        puts("absent");
        rc = AUTHDB_OK;
    } else if (rc == AUTHDB_OK) {
        fputs((u.flags & AUTHDB_USER_DISABLED) ? "present disabled" : "present", stdout);
        for (k = AUTHDB_SECRET_HASH; k < AUTHDB_SECRET_KIND_END_; k++) {
            if (u.kinds & (1u << k))
                printf(" %s", kind_names[k]);
        }
        putchar('\n');
    }
    authdb_close(db);
    return mta_report("show", a, rc, why);
}

static const struct mta_cmd mta_cmds[] = {
    {"create", 0, mta_create}, {"passwd", 1, mta_passwd}, {"disable", 1, mta_disable},
    {"enable", 1, mta_enable}, {"delete", 1, mta_delete}, {"verify", 1, mta_verify},
    {"show", 1, mta_show},     {"fill", 1, mta_fill},
};

static int mta_usage(void)
{
    fputs("usage: mta-store create DIR [-g GROUP] [-m MECHANISMS] [-r DIGEST_REALM] [-s MAPSIZE]\n"
          "       mta-store passwd DIR LOGIN [-m MECHANISMS]   (password on stdin)\n"
          "       mta-store fill DIR PREFIX -n COUNT           (password on stdin)\n"
          "       mta-store disable|enable|delete|show DIR LOGIN\n"
          "       mta-store verify DIR LOGIN                   (password on stdin)\n",
          stderr);
    return MTA_EUSAGE;
}

int main(int argc, char **argv)
{
    const struct mta_cmd *cmd = NULL;
    struct mta_args a;
    size_t i;
    int opt;
    int rc = MTA_EUSAGE;

    memset(&a, 0, sizeof(a));
    for (i = 0; argc > 2 && i < sizeof(mta_cmds) / sizeof(mta_cmds[0]); i++) {
        if (strcmp(argv[1], mta_cmds[i].name) == 0)
            cmd = &mta_cmds[i];
    }
    if (cmd == NULL || argc < 3 + cmd->needs_login) {
        rc = mta_usage();
        goto out;
    }
    a.dir = argv[2];
    a.login = cmd->needs_login ? argv[3] : NULL;
    optind = 3 + cmd->needs_login;
    while ((opt = getopt(argc, argv, "g:m:n:r:s:")) != -1) {
        switch (opt) {
        case 'g':
            a.group = optarg;
            break;
        case 'm':
            a.mechs = optarg;
            break;
        case 'n':
            a.count = strtoul(optarg, NULL, 10);
            break;
        case 'r':
            a.realm = optarg;
            break;
        case 's':
            a.mapsize = strtoul(optarg, NULL, 10);
            break;
        default:
            rc = mta_usage();
            goto out;
        }
    }
    if (optind != argc) {
        rc = mta_usage();
        goto out;
    }
    rc = cmd->run(&a);
out:
    return rc;
}
