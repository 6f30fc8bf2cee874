/*
 * maint.c - "backup", "check" and "stats".
 *
 * backup makes a consistent hot copy (authdb_backup: files 0640,
 * directories 0750 whatever the umask); check runs authdb_check and prints
 * each problem with its severity (exit 1 when an error was found); stats
 * prints counts, map use and reader slots.
 */
#include <string.h>

#include "cli.h"

static int maint_backup(cli *c, const cli_args *a)
{
    char why[512];
    authdb *h = NULL;
    int rc;

    if ((rc = cli_open(c, AUTHDB_BOTH, &h)) != CLI_OK)
        goto out;
    why[0] = '\0';
    if ((rc = authdb_backup(h, a->pos[0], why, sizeof(why))) != AUTHDB_OK) {
        rc = why[0] ? cli_fail(c, cli_exit_code(rc), "%s", why)
                    : cli_fail_db(c, rc, "backup to %s", a->pos[0]);
        goto out;
    }
    if (c->json)
        json_kv_string(&c->j, "backup", a->pos[0]);
    else
        fprintf(c->out, "copied %s to %s\n", authdb_path(h), a->pos[0]);
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

struct maint_problems {
    cli *c;
    unsigned warnings, errors;
};

static void maint_check_cb(enum authdb_check_severity sev, const char *msg, void *arg)
{
    struct maint_problems *p = arg;
    const char *level = sev == AUTHDB_CHECK_ERROR ? "error" : "warning";

    if (sev == AUTHDB_CHECK_ERROR)
        p->errors++;
    else
        p->warnings++;
    if (p->c->json) {
        json_object_begin(&p->c->j);
        json_kv_string(&p->c->j, "severity", level);
        json_kv_string(&p->c->j, "message", msg);
        json_object_end(&p->c->j);
    } else {
        fprintf(p->c->out, "%s: %s\n", level, msg);
    }
}

static int maint_check(cli *c, const cli_args *a)
{
    struct maint_problems p = {c, 0, 0};
    authdb *h = NULL;
    int rc;

    (void)a;
    if ((rc = cli_open(c, AUTHDB_BOTH, &h)) != CLI_OK)
        goto out;
    if (c->json) {
        json_key(&c->j, "problems");
        json_array_begin(&c->j);
    }
    rc = authdb_check(h, maint_check_cb, &p);
    if (c->json) {
        json_array_end(&c->j);
        json_kv_uint(&c->j, "errors", p.errors);
        json_kv_uint(&c->j, "warnings", p.warnings);
    }
    if (rc == AUTHDB_ECORRUPT || (rc == AUTHDB_OK && p.errors > 0)) {
        rc = cli_fail(c, CLI_NO, "%s: %u error(s), %u warning(s)", authdb_path(h), p.errors,
                      p.warnings);
        goto out;
    }
    if (rc != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "cannot check %s", authdb_path(h));
        goto out;
    }
    if (!c->json)
        fprintf(c->out, "%s: no errors, %u warning(s)\n", authdb_path(h), p.warnings);
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

static int maint_stats(cli *c, const cli_args *a)
{
    authdb_stats s;
    authdb *h = NULL;
    int rc;

    (void)a;
    if ((rc = cli_open(c, AUTHDB_BOTH, &h)) != CLI_OK)
        goto out;
    if ((rc = authdb_get_stats(h, &s)) != AUTHDB_OK) {
        rc = cli_fail_db(c, rc, "cannot read statistics");
        goto out;
    }
    if (c->json) {
        json_key(&c->j, "stats");
        json_object_begin(&c->j);
        json_kv_uint(&c->j, "schema", s.schema);
        json_kv_uint(&c->j, "users", s.users);
        json_kv_uint(&c->j, "users_disabled", s.users_disabled);
        json_kv_uint(&c->j, "rules", s.rules);
        json_kv_uint(&c->j, "rule_logins", s.rule_logins);
        json_kv_uint(&c->j, "domains", s.domains);
        json_kv_uint(&c->j, "secrets_map_size", s.secrets_map_size);
        json_kv_uint(&c->j, "secrets_used", s.secrets_used);
        json_kv_uint(&c->j, "policy_map_size", s.policy_map_size);
        json_kv_uint(&c->j, "policy_used", s.policy_used);
        json_kv_uint(&c->j, "readers_max", s.readers_max);
        json_kv_uint(&c->j, "secrets_readers", s.secrets_readers);
        json_kv_uint(&c->j, "policy_readers", s.policy_readers);
        json_object_end(&c->j);
    } else {
        fprintf(c->out, "store:           %s (schema %u)\n", authdb_path(h), s.schema);
        fprintf(c->out, "users:           %zu (%zu disabled)\n", s.users, s.users_disabled);
        fprintf(c->out, "send-as rules:   %zu for %zu logins\n", s.rules, s.rule_logins);
        fprintf(c->out, "local domains:   %zu\n", s.domains);
        if (!cli_store_is_uri(c)) { /* PostgreSQL has no maps or reader slots */
            fprintf(c->out, "secrets map:     %zu of %zu KiB used\n", s.secrets_used / 1024,
                    s.secrets_map_size / 1024);
            fprintf(c->out, "policy map:      %zu of %zu KiB used\n", s.policy_used / 1024,
                    s.policy_map_size / 1024);
            fprintf(c->out, "reader slots:    secrets %u, policy %u in use of %u each\n",
                    s.secrets_readers, s.policy_readers, s.readers_max);
        }
    }
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

const cli_cmd maint_cmds[] = {
    {"backup", "DEST", "consistent hot copy of the store",
     "Copy the store to the directory DEST (created; must not exist or be empty) while\n"
     "others read and write.  Files are 0640 and directories 0750 whatever the umask,\n"
     "with the groups of the source.",
     NULL, 1, 1, "  0 copied\n  4 DEST exists and is not empty\n" CLI_EXITS_COMMON, maint_backup},
    {"check", "", "check the store's health",
     "Check schema, settings agreement between the environments, record formats, rules\n"
     "of logins without secrets, stale reader slots (cleared and reported), file modes\n"
     "and groups.  Prints every problem with its severity.",
     NULL, 0, 0, "  0 no errors (warnings may be printed)\n  1 errors found\n" CLI_EXITS_COMMON,
     maint_check},
    {"stats", "", "counts, map use and reader slots",
     "Print the number of users, rules and domains, how much of each map is used and the\n"
     "reader slots in use.",
     NULL, 0, 0, "  0 printed\n" CLI_EXITS_COMMON, maint_stats},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
