/*
 * authgate_sync.c - main of authgate-sync: keep this node's store
 * directory in step with the central PostgreSQL store.
 *
 * usage: authgate-sync [-c FILE] [-s STORE] [-C CONNINFO] [-d] [--once]
 *
 * Runs in the foreground (under systemd or a supervisor).  Each round is
 * syncrun_round(): connect and LISTEN authgate_changes if needed, apply
 * what changed, record the status file.  Then it waits for a notification
 * or sync_interval seconds (the polling fallback), whichever comes first.
 * When the central store is unreachable the node keeps serving its last
 * synced state; the sync logs it and retries after 1, 2, 4 ... up to
 * sync_retry_max seconds.  A drifted node (written locally with --force)
 * is logged at every retry and left alone until a resync.
 * SIGTERM / SIGINT end it between rounds or while it waits; a kill -9 at
 * any point loses nothing committed (each round is atomic on the node).
 * Diagnostics: standard error and syslog (facility mail).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "syncrun.h"

/* Set by the signal handler, read by the loop (the only way a handler may
 * talk to it). */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct sync_args {
    const char *config, *store, *central;
    int debug, once;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: authgate-sync [-c FILE] [-s STORE] [-C CONNINFO] [-d] [--once]\n"
               "  -c FILE      configuration (default " AUTHDB_CONF_DEFAULT ")\n"
               "  -s STORE     the node's store directory (default: store in the file)\n"
               "  -C CONNINFO  the central store (default: sync_central in the file)\n"
               "  -d           debug logging\n"
               "  --once       one round, then exit (status 0 on success)\n");
}

static int parse_args(int argc, char **argv, struct sync_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-d") == 0) {
            a->debug = 1;
        } else if (strcmp(o, "--once") == 0) {
            a->once = 1;
        } else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if ((strcmp(o, "-c") == 0 || strcmp(o, "-s") == 0 || strcmp(o, "-C") == 0) &&
                   i + 1 < argc) {
            const char **slot = o[1] == 'c' ? &a->config : o[1] == 's' ? &a->store : &a->central;
            *slot = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

/* Sleep up to ms, waking at once on a stop request. */
static void nap(unsigned ms)
{
    struct timespec ts = {0, 100 * 1000000L};

    for (unsigned t = 0; t < ms && !stop_requested; t += 100)
        nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    const struct rlimit nocore = {0, 0};
    struct sigaction sa;
    struct sync_args a;
    authdb_conf *conf = NULL;
    authdb_sync_result res;
    authdb_log lg;
    syncrun r;
    char why[1024];
    unsigned backoff = 1, flags;
    int status, rc;

    /* Secrets pass through this process: never into a core dump. */
    setrlimit(RLIMIT_CORE, &nocore);
    if ((status = parse_args(argc, argv, &a)) >= 0)
        return status;
    authdb_log_init(&lg, "authgate-sync", 1, 1, a.debug);
    if (authdb_conf_load(a.config != NULL ? a.config : AUTHDB_CONF_DEFAULT, a.config == NULL, &conf,
                         why, sizeof(why)) != AUTHDB_OK) {
        authdb_logf(&lg, LOG_ERR, "%s", why);
        return 78;
    }
    if (a.central == NULL)
        a.central = conf->sync_central;
    if (a.store == NULL)
        a.store = conf->store;
    if (a.central[0] == '\0') {
        authdb_logf(&lg, LOG_ERR, "no central store: set sync_central in the configuration");
        authdb_conf_free(conf);
        return 78;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    flags = conf->sync_secrets ? AUTHDB_SYNC_SECRETS : 0;
    syncrun_init(&r, conf, a.central, a.store, &lg, flags, !a.once);
    authdb_logf(&lg, LOG_INFO, "following the central store for %s", a.store);
    status = 0;
    while (!stop_requested) {
        rc = syncrun_round(&r, &res, why, sizeof(why));
        if (a.once) {
            status = rc == AUTHDB_OK ? 0 : 1;
            break;
        }
        if (rc != AUTHDB_OK) {
            /* Unreachable center, drift or a node store error: retry
             * later; the node keeps serving what it has. */
            nap(backoff * 1000);
            backoff = backoff * 2 > conf->sync_retry_max ? conf->sync_retry_max : backoff * 2;
            continue;
        }
        backoff = 1;
        rc = authdb_sync_wait(r.conn, (int)conf->sync_interval * 1000);
        if (rc < 0) {
            authdb_logf(&lg, LOG_WARNING, "lost the connection to the central store: %s",
                        authdb_strerror(rc));
            authdb_sync_close(r.conn);
            r.conn = NULL;
        }
    }
    authdb_logf(&lg, LOG_INFO, "stopping");
    syncrun_done(&r);
    authdb_conf_free(conf);
    return status;
}
