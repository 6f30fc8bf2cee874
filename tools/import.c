/*
 * import.c - the import engine shared by "import sasldb" and "import
 * dovecot", and input reading (see import.h).
 *
 * Interface: import_read_file, import_users_init, import_users_add,
 * import_users_run, import_users_free.
 * Diagnostics: per-record problems go to the report ("FILE:LINE: error:
 * LOGIN: why"); failures of the store end the import with nothing
 * committed.
 */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashpool.h"

int import_read_file(cli *c, const char *path, char **buf, size_t *len)
{
    int fd = -1, rc = CLI_OK;
    size_t cap = 65536, n = 0;
    char *b = NULL;

    *buf = NULL;
    *len = 0;
    fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = cli_fail(c, errno == ENOENT ? CLI_NOTFOUND : cli_exit_code(errno), "%s: %s", path,
                      strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t got;
        if (n + 1 >= cap || b == NULL) {
            char *nb;
            if (b != NULL)
                cap *= 2;
            if (cap > IMPORT_FILE_MAX + 1)
                cap = IMPORT_FILE_MAX + 1;
            if (n + 1 >= cap) {
                rc = cli_fail(c, CLI_DATAERR, "%s: larger than 1 GiB", path);
                goto out;
            }
            if ((nb = realloc(b, cap)) == NULL) {
                rc = cli_fail(c, CLI_STORE, "%s: out of memory", path);
                goto out;
            }
            b = nb;
        }
        got = read(fd, b + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = cli_fail(c, cli_exit_code(errno), "%s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
out:
    if (fd > STDIN_FILENO)
        close(fd);
    if (b != NULL) {
        explicit_bzero(b, cap);
        free(b);
    }
    return rc;
}

int import_users_init(cli *c, const cli_args *a, authdb *h, const char *file, import_users *s)
{
    unsigned long jobs;
    int rc;

    memset(s, 0, sizeof(*s));
    import_report_init(&s->rep, file);
    s->all_or_nothing = cli_arg(a, "all-or-nothing") != NULL;
    s->skip_existing = cli_arg(a, "skip-existing") != NULL;
    s->dry_run = cli_arg(a, "dry-run") != NULL;
    s->mode = cli_arg(a, "replace") != NULL ? AUTHDB_PUT_UPSERT : AUTHDB_PUT_CREATE;
    if (s->skip_existing && s->mode == AUTHDB_PUT_UPSERT)
        return cli_fail(c, CLI_USAGE, "--replace and --skip-existing exclude each other");
    if ((rc = cli_opt_uint(c, a, "jobs", 1, 256, hashpool_cpus(), &jobs)) != CLI_OK)
        return rc;
    s->jobs = (unsigned)jobs;
    if ((rc = authdb_norm_get(h, NULL, &s->norm)) != AUTHDB_OK)
        return cli_fail_db(c, rc, "cannot read the store's normalization settings");
    return CLI_OK;
}

static void import_user_wipe(import_user *u)
{
    if (u->secret != NULL) {
        explicit_bzero(u->secret, u->secretlen);
        free(u->secret);
        u->secret = NULL;
    }
}

int import_users_add(import_users *s, unsigned line, const char *login, size_t loginlen,
                     enum import_kind kind, const char *secret, size_t secretlen,
                     const char *scheme, unsigned flags)
{
    char esc[AUTHDB_NAME_BUFSZ * 2];
    const char *why = NULL;
    import_user *u;
    size_t len;
    int rc;

    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        import_user *nu = realloc(s->u, cap * sizeof(*nu));
        if (nu == NULL)
            return -1;
        s->u = nu;
        s->cap = cap;
    }
    u = &s->u[s->n];
    memset(u, 0, sizeof(*u));
    rc = authdb_norm_login(&s->norm, login, loginlen, u->login, sizeof(u->login), &len, &why);
    if (rc != AUTHDB_OK) {
        import_report_add(&s->rep, line, IMPORT_ERROR,
                          authdb_log_escape(login, loginlen, esc, sizeof(esc)), "invalid login: %s",
                          why != NULL ? why : authdb_strerror(rc));
        return 0;
    }
    if ((u->secret = malloc(secretlen + 1)) == NULL)
        return -1;
    memcpy(u->secret, secret, secretlen);
    u->secret[secretlen] = '\0';
    u->secretlen = secretlen;
    u->line = line;
    u->kind = kind;
    u->scheme = scheme;
    u->flags = flags;
    s->n++;
    return 0;
}

void import_users_free(import_users *s)
{
    for (size_t i = 0; i < s->n; i++) {
        import_user_wipe(&s->u[i]);
        authdb_secrets_free(s->u[i].secrets);
    }
    free(s->u);
    import_report_free(&s->rep);
    memset(s, 0, sizeof(*s));
}

static int import_login_cmp(const void *a, const void *b, void *arg)
{
    const import_user *u = arg;
    const import_user *x = &u[*(const size_t *)a], *y = &u[*(const size_t *)b];
    int r = strcmp(x->login, y->login);

    return r != 0 ? r : (x->line < y->line ? -1 : x->line > y->line);
}

/* Step 1a: the first record of a login wins; later ones are rejected. */
static int import_dedupe(import_users *s)
{
    size_t *idx = malloc((s->n ? s->n : 1) * sizeof(*idx));

    if (idx == NULL)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        idx[i] = i;
    qsort_r(idx, s->n, sizeof(*idx), import_login_cmp, s->u);
    for (size_t i = 1; i < s->n; i++) {
        import_user *prev = &s->u[idx[i - 1]], *u = &s->u[idx[i]];
        if (strcmp(prev->login, u->login) != 0)
            continue;
        u->state = IMPORT_BAD;
        import_user_wipe(u);
        import_report_add(&s->rep, u->line, IMPORT_ERROR, u->login,
                          "duplicate: line %u already has this login", prev->line);
        /* keep pointing at the first occurrence */
        idx[i] = idx[i - 1];
    }
    free(idx);
    return 0;
}

/* Step 1b: which logins exist?  One read transaction. */
static int import_existing(cli *c, authdb *h, import_users *s)
{
    authdb_txn *txn = NULL;
    authdb_user cur;
    int rc;

    if ((rc = authdb_read_begin(h, AUTHDB_SECRETS, &txn)) != AUTHDB_OK)
        return cli_fail_db(c, rc, "cannot read %s", authdb_path(h));
    for (size_t i = 0; i < s->n; i++) {
        import_user *u = &s->u[i];
        if (u->state != IMPORT_PENDING)
            continue;
        rc = authdb_user_get(h, txn, u->login, strlen(u->login), &cur);
        if (rc == AUTHDB_NOTFOUND)
            continue;
        if (rc != AUTHDB_OK) {
            rc = cli_fail_db(c, rc, "%s: cannot look up", u->login);
            goto out;
        }
        if (s->mode == AUTHDB_PUT_UPSERT) {
            u->mechs = cur.mechs_override;
        } else if (s->skip_existing) {
            u->state = IMPORT_SKIPPED;
            import_user_wipe(u);
        } else {
            u->state = IMPORT_BAD;
            import_user_wipe(u);
            import_report_add(&s->rep, u->line, IMPORT_ERROR, u->login,
                              "exists already (use --replace or --skip-existing)");
        }
    }
    rc = CLI_OK;
out:
    authdb_txn_end(txn);
    return rc;
}

struct import_pool {
    import_users *s;
    import_user **todo;
    const authdb_derive_params *p;
    int derive; /* 0: dry run, hashes only */
};

/* Step 2, on a pool thread: build one record's secrets, then wipe the input. */
static void import_derive_one(size_t i, void *arg)
{
    struct import_pool *pool = arg;
    import_user *u = pool->todo[i];

    if (u->kind == IMPORT_HASH) {
        u->rc = authdb_secrets_from_hash(u->secret, &u->secrets);
    } else if (pool->derive) {
        authdb_derive_params p = *pool->p;
        if (u->mechs != 0)
            p.mechs = u->mechs;
        u->rc = authdb_secrets_derive(&p, u->login, u->secret, u->secretlen, &u->secrets);
    }
    import_user_wipe(u);
}

static int import_derive(cli *c, authdb *h, import_users *s)
{
    struct import_pool pool = {s, NULL, NULL, !s->dry_run};
    authdb_derive_params p;
    size_t n = 0;
    int rc;

    if ((rc = authdb_derive_params_get(h, NULL, &p)) != AUTHDB_OK)
        return cli_fail_db(c, rc, "cannot read the store's secret settings");
    pool.p = &p;
    if ((pool.todo = malloc((s->n ? s->n : 1) * sizeof(*pool.todo))) == NULL)
        return cli_fail(c, CLI_STORE, "out of memory");
    for (size_t i = 0; i < s->n; i++)
        if (s->u[i].state == IMPORT_PENDING)
            pool.todo[n++] = &s->u[i];
    hashpool_run(n, s->jobs, import_derive_one, &pool);
    rc = CLI_OK;
    for (size_t i = 0; i < n; i++) {
        import_user *u = pool.todo[i];
        if (u->rc == AUTHDB_OK)
            continue;
        u->state = IMPORT_BAD;
        if (u->kind == IMPORT_HASH && !authdb_is_tempfail(u->rc))
            import_report_add(&s->rep, u->line, IMPORT_ERROR, u->login, "%s hash refused: %s",
                              u->scheme, authdb_strerror(u->rc));
        else if (!authdb_is_tempfail(u->rc))
            import_report_add(&s->rep, u->line, IMPORT_ERROR, u->login, "cannot derive secrets: %s",
                              authdb_strerror(u->rc));
        else if (rc == CLI_OK)
            rc = cli_fail_db(c, u->rc, "%s:%u: %s: cannot derive secrets", s->rep.file, u->line,
                             u->login);
    }
    free(pool.todo);
    return rc;
}

struct import_write {
    import_users *s;
    import_user *failed; /* the record the store refused in the last run */
    int failed_rc;
    size_t written;
};

/* Step 3: inside authdb_write(); may run several times (map growth). */
static int import_write_fn(authdb_txn *txn, void *arg)
{
    struct import_write *w = arg;
    import_users *s = w->s;

    w->written = 0;
    w->failed = NULL;
    for (size_t i = 0; i < s->n; i++) {
        import_user *u = &s->u[i];
        size_t len = strlen(u->login);
        int rc;
        if (u->state != IMPORT_PENDING)
            continue;
        rc = authdb_user_put(txn, u->login, len, u->secrets, s->mode);
        if (rc == AUTHDB_OK && u->flags != 0)
            rc = authdb_user_set_flags(txn, u->login, len, u->flags, 0);
        if (rc != AUTHDB_OK) {
            if (!authdb_is_tempfail(rc)) {
                w->failed = u;
                w->failed_rc = rc;
            }
            return rc;
        }
        w->written++;
    }
    return AUTHDB_OK;
}

static int import_commit(cli *c, authdb *h, import_users *s, size_t *written)
{
    struct import_write w = {s, NULL, 0, 0};
    int rc;

    for (;;) {
        rc = authdb_write(h, import_write_fn, &w);
        if (rc == AUTHDB_OK)
            break;
        if (w.failed == NULL || w.failed_rc != rc)
            return cli_fail_db(c, rc, "%s: nothing imported", s->rep.file);
        w.failed->state = IMPORT_BAD;
        import_report_add(&s->rep, w.failed->line, IMPORT_ERROR, w.failed->login,
                          "the store refused it: %s", authdb_strerror(rc));
        if (s->all_or_nothing)
            return CLI_DATAERR;
    }
    *written = w.written;
    return CLI_OK;
}

static void import_summary(cli *c, authdb *h, import_users *s, size_t written, int committed)
{
    size_t from_hash = 0, skipped = 0;
    authdb_derive_params p;
    char mechs[256];

    for (size_t i = 0; i < s->n; i++) {
        if (s->u[i].state == IMPORT_SKIPPED)
            skipped++;
        if (s->u[i].state == IMPORT_DONE && s->u[i].kind == IMPORT_HASH)
            from_hash++;
    }
    mechs[0] = '\0';
    if (authdb_derive_params_get(h, NULL, &p) == AUTHDB_OK)
        authdb_mechs_format(p.mechs, mechs, sizeof(mechs));
    import_report_print(c, &s->rep);
    if (c->json) {
        json_kv_string(&c->j, "file", s->rep.file);
        json_kv_bool(&c->j, "committed", committed);
        json_kv_bool(&c->j, "dry_run", s->dry_run);
        json_kv_uint(&c->j, "imported", written);
        json_kv_uint(&c->j, "from_hash", from_hash);
        json_kv_uint(&c->j, "from_cleartext", written - from_hash);
        json_kv_uint(&c->j, "rejected", s->rep.errors);
        json_kv_uint(&c->j, "skipped", skipped);
        json_kv_uint(&c->j, "warnings", s->rep.warnings);
        json_key(&c->j, "hash_only");
        json_array_begin(&c->j);
    } else {
        fprintf(c->out,
                "%s: %s %zu logins (%zu from hashes, %zu from cleartext), %zu rejected, "
                "%zu skipped%s\n",
                s->rep.file, s->dry_run ? "would import" : "imported", written, from_hash,
                written - from_hash, s->rep.errors, skipped,
                committed || s->dry_run ? "" : "; NOTHING was committed");
        if (from_hash > 0)
            fprintf(
                c->out,
                "%zu logins imported from crypt(3) hashes can use PLAIN and LOGIN only, through\n"
                "authgate-authd; the store's mechanisms (%s) need their next password\n"
                "change (authgatectl user passwd LOGIN):\n",
                from_hash, mechs);
    }
    for (size_t i = 0; from_hash > 0 && i < s->n; i++) {
        const import_user *u = &s->u[i];
        if (u->state != IMPORT_DONE || u->kind != IMPORT_HASH)
            continue;
        if (c->json) {
            json_object_begin(&c->j);
            json_kv_string(&c->j, "login", u->login);
            json_kv_string(&c->j, "scheme", u->scheme);
            json_object_end(&c->j);
        } else {
            fprintf(c->out, "  %s (%s)\n", u->login, u->scheme);
        }
    }
    if (c->json) {
        json_array_end(&c->j);
        json_kv_string(&c->j, "hash_only_lacks", mechs);
    }
}

int import_users_run(cli *c, authdb *h, import_users *s)
{
    size_t written = 0, pending = 0;
    int rc, committed = 0;

    if (import_dedupe(s) != 0 || s->rep.oom) {
        rc = cli_fail(c, CLI_STORE, "%s: out of memory", s->rep.file);
        goto out;
    }
    if ((rc = import_existing(c, h, s)) != CLI_OK)
        goto out;
    if ((rc = import_derive(c, h, s)) != CLI_OK)
        goto out;
    for (size_t i = 0; i < s->n; i++)
        pending += s->u[i].state == IMPORT_PENDING;
    if (s->dry_run) {
        written = pending;
    } else if (s->all_or_nothing && s->rep.errors > 0) {
        written = 0;
    } else if (pending > 0) {
        rc = import_commit(c, h, s, &written);
        committed = rc == CLI_OK;
        if (rc != CLI_OK && rc != CLI_DATAERR) {
            import_summary(c, h, s, 0, 0);
            goto out;
        }
    } else {
        committed = 1;
    }
    for (size_t i = 0; (committed || s->dry_run) && i < s->n; i++)
        if (s->u[i].state == IMPORT_PENDING)
            s->u[i].state = IMPORT_DONE;
    import_summary(c, h, s, written, committed);
    rc = s->rep.errors > 0 ? cli_fail(c, CLI_DATAERR, "%s: %zu record(s) rejected%s", s->rep.file,
                                      s->rep.errors, committed ? "" : ", nothing committed")
                           : CLI_OK;
out:
    return rc;
}
