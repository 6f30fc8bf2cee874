/*
 * sync.c - "sync", "sync status" and "upgrade": the node side of a fleet
 * and the central schema.
 *
 * sync --once runs one round of authgate-sync (syncrun.c) on the store
 * directory: the node follows the central store named by --central or
 * sync_central in authgate.conf; --resync replaces the node's content with
 * a full load (the way out of drift).  sync status reads the store's own
 * sequence numbers and drift mark, the status file, and (unless
 * --offline) the central store's newest sequence number, and prints the
 * lag.  upgrade migrates a central store's schema.
 */
#include <inttypes.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cli.h"
#include "syncrun.h"

static const char *sync_central(cli *c, const cli_args *a)
{
    const char *v = cli_arg(a, "central");
    return v != NULL ? v : c->conf->sync_central;
}

static int sync_once(cli *c, const cli_args *a)
{
    authdb_sync_result res;
    authdb_log lg;
    syncrun r;
    char why[1024];
    const char *central = sync_central(c, a);
    unsigned flags = 0;
    int rc;

    if (cli_arg(a, "once") == NULL)
        return cli_fail(c, CLI_USAGE,
                        "sync runs one round with --once (the daemon is authgate-sync)");
    if (central == NULL || central[0] == '\0')
        return cli_fail(c, CLI_USAGE, "no central store: set sync_central in %s or use --central",
                        AUTHDB_CONF_DEFAULT);
    if (cli_store_is_uri(c))
        return cli_fail(c, CLI_USAGE, "sync copies into a store directory, not into %s",
                        cli_store_dir(c));
    if (c->conf->sync_secrets)
        flags |= AUTHDB_SYNC_SECRETS;
    if (cli_arg(a, "resync") != NULL)
        flags |= AUTHDB_SYNC_RESYNC;
    authdb_log_init(&lg, "authgatectl", !c->json, 0, 0);
    syncrun_init(&r, c->conf, central, cli_store_dir(c), &lg, flags, 0);
    rc = syncrun_round(&r, &res, why, sizeof(why));
    syncrun_done(&r);
    if (rc != AUTHDB_OK)
        return cli_fail(c, rc == AUTHDB_EMANAGED ? CLI_PERM : cli_exit_code(rc), "%s", why);
    if (c->json) {
        json_kv_uint(&c->j, "applied_seq", res.applied_seq);
        json_kv_uint(&c->j, "central_seq", res.central_seq);
        json_kv_bool(&c->j, "full", res.full);
        json_kv_uint(&c->j, "keys", res.keys);
        json_kv_uint(&c->j, "written", res.written);
        json_kv_uint(&c->j, "rejected", res.rejected);
    } else {
        fprintf(c->out, "%s: at central seq %" PRIu64 "%s, %zu keys written, %zu rejected\n",
                cli_store_dir(c), res.applied_seq, res.full ? " (full load)" : "", res.written,
                res.rejected);
    }
    return res.rejected > 0 ? CLI_DATAERR : CLI_OK;
}

static void sync_ago(FILE *f, const char *label, int64_t t, int64_t now)
{
    char buf[40];

    if (t == 0)
        fprintf(f, "%-17s never\n", label);
    else
        fprintf(f, "%-17s %s (%" PRId64 " s ago)\n", label, cli_time(t, buf, sizeof(buf)), now - t);
}

static int sync_status(cli *c, const cli_args *a)
{
    authdb_sync_state st;
    syncrun_status fs;
    authdb_sync *conn = NULL;
    authdb *h = NULL;
    uint64_t central_seq = 0, applied;
    int64_t now = (int64_t)time(NULL);
    const char *central = sync_central(c, a);
    char why[512] = "", buf[40];
    int rc, live = 0, healthy;

    if ((rc = cli_open(c, AUTHDB_BOTH, &h)) != CLI_OK)
        return rc;
    rc = authdb_sync_state_get(h, &st);
    authdb_close(h);
    if (rc != AUTHDB_OK)
        return cli_fail_db(c, rc, "cannot read the sync state of %s", cli_store_dir(c));
    syncrun_status_load(cli_store_dir(c), &fs);
    applied = st.seq_policy;
    if (c->conf->sync_secrets && st.seq_secrets < applied)
        applied = st.seq_secrets;
    if (cli_arg(a, "offline") == NULL && central != NULL && central[0] != '\0') {
        if (authdb_sync_connect(central, &conn, why, sizeof(why)) == AUTHDB_OK &&
            authdb_sync_central_seq(conn, &central_seq, why, sizeof(why)) == AUTHDB_OK)
            live = 1;
        authdb_sync_close(conn);
    }
    if (!live)
        central_seq = fs.central_seq;
    healthy = st.central[0] != '\0' && st.drift == 0 && fs.last_error[0] == '\0';
    if (c->json) {
        json_kv_string(&c->j, "store", cli_store_dir(c));
        json_kv_string(&c->j, "central_id", st.central);
        json_kv_uint(&c->j, "applied_seq", applied);
        json_kv_uint(&c->j, "applied_seq_policy", st.seq_policy);
        json_kv_uint(&c->j, "applied_seq_secrets", st.seq_secrets);
        json_kv_uint(&c->j, "central_seq", central_seq);
        json_kv_bool(&c->j, "central_seq_live", live);
        json_kv_uint(&c->j, "lag_changes", central_seq > applied ? central_seq - applied : 0);
        json_kv_int(&c->j, "last_success", fs.last_success);
        json_kv_int(&c->j, "seconds_since_success", fs.last_success ? now - fs.last_success : -1);
        json_kv_int(&c->j, "last_attempt", fs.last_attempt);
        json_kv_string(&c->j, "last_error", fs.last_error);
        json_kv_uint(&c->j, "rejected_last", fs.rejected_last);
        json_kv_uint(&c->j, "rejected_total", fs.rejected_total);
        json_kv_uint(&c->j, "full_loads", fs.full_loads);
        json_kv_int(&c->j, "drift", st.drift);
        if (!live && why[0] != '\0')
            json_kv_string(&c->j, "central_error", why);
    } else {
        fprintf(c->out, "%-17s %s\n", "store:", cli_store_dir(c));
        fprintf(c->out, "%-17s %s\n",
                "central store:", st.central[0] ? st.central : "none (not synced yet)");
        fprintf(c->out, "%-17s %" PRIu64 " (policy %" PRIu64 ", secrets %" PRIu64 ")\n",
                "applied seq:", applied, st.seq_policy, st.seq_secrets);
        fprintf(c->out, "%-17s %" PRIu64 " %s\n", "central seq:", central_seq,
                live ? "(now)" : "(at the last contact)");
        fprintf(c->out, "%-17s %" PRIu64 " changes\n",
                "lag:", central_seq > applied ? central_seq - applied : 0);
        sync_ago(c->out, "last success:", fs.last_success, now);
        sync_ago(c->out, "last attempt:", fs.last_attempt, now);
        fprintf(c->out, "%-17s %s\n", "last error:", fs.last_error[0] ? fs.last_error : "none");
        fprintf(c->out, "%-17s %lu in the last round, %lu in total\n",
                "rejected keys:", fs.rejected_last, fs.rejected_total);
        if (st.drift != 0)
            fprintf(c->out,
                    "%-17s local write at %s: not following the center until "
                    "authgatectl sync --once --resync\n",
                    "drift:", cli_time(st.drift, buf, sizeof(buf)));
        else
            fprintf(c->out, "%-17s none\n", "drift:");
        if (!live && why[0] != '\0')
            fprintf(c->out, "%-17s %s\n", "central error:", why);
    }
    return healthy ? CLI_OK : CLI_NO;
}

static int sync_upgrade(cli *c, const cli_args *a)
{
    unsigned from, to;
    char why[512] = "";
    int rc;

    (void)a;
    if (!cli_store_is_uri(c)) {
        if (!c->json)
            fprintf(c->out, "%s: a store directory has schema %d: nothing to upgrade\n",
                    cli_store_dir(c), AUTHDB_SCHEMA);
        return CLI_OK;
    }
    rc = authdb_pg_upgrade(cli_store_dir(c), &from, &to, why, sizeof(why));
    if (rc != AUTHDB_OK)
        return cli_fail(c, cli_exit_code(rc), "%s", why[0] ? why : authdb_strerror(rc));
    if (c->json) {
        json_kv_uint(&c->j, "from", from);
        json_kv_uint(&c->j, "to", to);
    } else if (from == to) {
        fprintf(c->out, "central store at schema %u: nothing to do\n", to);
    } else {
        fprintf(c->out, "central store migrated from schema %u to %u\n", from, to);
    }
    return CLI_OK;
}

static const cli_opt sync_once_opts[] = {
    {"once", NULL, "run one round and exit (required)"},
    {"resync", NULL, "replace the node's content with a full load (ends a drift stop)"},
    {"central", "CONNINFO", "central store (default: sync_central in authgate.conf)"},
    {NULL, NULL, NULL},
};

static const cli_opt sync_status_opts[] = {
    {"central", "CONNINFO", "central store (default: sync_central in authgate.conf)"},
    {"offline", NULL, "do not ask the central store for its newest sequence number"},
    {NULL, NULL, NULL},
};

/* "sync status" before "sync": the first matching name wins. */
const cli_cmd sync_cmds[] = {
    {"sync status", "", "how far this node's store follows the central store",
     "Print the central store this node follows, the last change applied (per\n"
     "environment), the central store's newest change and the lag, the last success,\n"
     "attempt and error of authgate-sync, how many keys it rejected, and whether a\n"
     "local write stopped the sync (drift).",
     sync_status_opts, 0, 0,
     "  0 following the central store, no error\n"
     "  1 not synced yet, the last round failed, or drift\n" CLI_EXITS_COMMON,
     sync_status},
    {"sync", "--once", "one round of authgate-sync on this node's store",
     "Bring the store directory up to date with the central PostgreSQL store, as one\n"
     "round of authgate-sync: a full load the first time, then the changes since the\n"
     "last round, each round applied atomically.  Values that fail validation are\n"
     "not applied and are reported.  --resync replaces the whole content (after a\n"
     "forced local write).",
     sync_once_opts, 0, 0,
     "  0 up to date\n  5 done, but some keys were rejected\n"
     "  7 the store was written locally (drift): use --resync\n" CLI_EXITS_COMMON,
     sync_once},
    {"upgrade", "", "migrate the central store's schema",
     "Migrate the schema of the central PostgreSQL store (--store postgresql://...) to\n"
     "the version this authgate uses, in one transaction.  A store directory has\n"
     "nothing to migrate.",
     NULL, 0, 0, "  0 migrated or already current\n" CLI_EXITS_COMMON, sync_upgrade},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
