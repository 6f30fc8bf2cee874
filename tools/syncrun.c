/*
 * syncrun.c - one sync round and the node's status file.
 *
 * Interface: syncrun_init, syncrun_round, syncrun_done,
 * syncrun_status_path, syncrun_status_load, syncrun_status_save.
 *
 * The node's store is created on the first round if it is missing (groups
 * from authgate.conf, like authgatectl init).  The status file
 * <store>/sync.status holds "key value" lines (no secrets: times, sequence
 * numbers, counts, the last error); it is replaced atomically.
 * Diagnostics: through the caller's logger and why buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "syncrun.h"

int syncrun_status_path(const char *store, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/sync.status", store);
    return n < 0 || (size_t)n >= outsz ? ENAMETOOLONG : 0;
}

int syncrun_status_load(const char *store, syncrun_status *st)
{
    char path[4096], line[700], *sp;
    FILE *f;

    memset(st, 0, sizeof(*st));
    if (syncrun_status_path(store, path, sizeof(path)) != 0)
        return ENAMETOOLONG;
    if ((f = fopen(path, "re")) == NULL)
        return errno;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if ((sp = strchr(line, ' ')) == NULL)
            continue;
        *sp++ = '\0';
        if (strcmp(line, "last_attempt") == 0)
            st->last_attempt = strtoll(sp, NULL, 10);
        else if (strcmp(line, "last_success") == 0)
            st->last_success = strtoll(sp, NULL, 10);
        else if (strcmp(line, "central_seq") == 0)
            st->central_seq = strtoull(sp, NULL, 10);
        else if (strcmp(line, "applied_seq") == 0)
            st->applied_seq = strtoull(sp, NULL, 10);
        else if (strcmp(line, "rejected_last") == 0)
            st->rejected_last = strtoul(sp, NULL, 10);
        else if (strcmp(line, "rejected_total") == 0)
            st->rejected_total = strtoul(sp, NULL, 10);
        else if (strcmp(line, "full_loads") == 0)
            st->full_loads = strtoul(sp, NULL, 10);
        else if (strcmp(line, "pid") == 0)
            st->pid = strtol(sp, NULL, 10);
        else if (strcmp(line, "last_error") == 0)
            snprintf(st->last_error, sizeof(st->last_error), "%s", sp);
    }
    fclose(f);
    return 0;
}

int syncrun_status_save(const char *store, const syncrun_status *st)
{
    char path[4096], tmp[4200];
    FILE *f;
    int fd, rc = 0;

    if (syncrun_status_path(store, path, sizeof(path)) != 0)
        return ENAMETOOLONG;
    snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return errno;
    if (fchmod(fd, 0644) != 0 || (f = fdopen(fd, "w")) == NULL) {
        rc = errno;
        close(fd);
        unlink(tmp);
        return rc;
    }
    fprintf(f,
            "last_attempt %" PRId64 "\nlast_success %" PRId64 "\ncentral_seq %" PRIu64
            "\napplied_seq %" PRIu64 "\nrejected_last %lu\nrejected_total %lu\nfull_loads %lu\n"
            "pid %ld\nlast_error %s\n",
            st->last_attempt, st->last_success, st->central_seq, st->applied_seq, st->rejected_last,
            st->rejected_total, st->full_loads, st->pid, st->last_error);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = errno;
    if (fclose(f) != 0 && rc == 0)
        rc = errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

void syncrun_init(syncrun *r, const authdb_conf *conf, const char *central, const char *store,
                  const authdb_log *lg, unsigned flags, int listen)
{
    memset(r, 0, sizeof(*r));
    r->conf = conf;
    r->central = central;
    r->store = store;
    r->lg = lg;
    r->flags = flags;
    r->listen = listen;
    syncrun_status_load(store, &r->st);
}

void syncrun_done(syncrun *r)
{
    authdb_sync_close(r->conn);
    authdb_close(r->node);
    r->conn = NULL;
    r->node = NULL;
}

static void syncrun_log(void *arg, int prio, const char *msg)
{
    authdb_logf(arg, prio, "%s", msg);
}

static gid_t syncrun_gid(const char *name)
{
    struct group *gr = name != NULL && name[0] != '\0' ? getgrnam(name) : NULL;
    return gr != NULL ? gr->gr_gid : (gid_t)-1;
}

/* Open the node's store, creating an empty one on the first round. */
static int syncrun_node(syncrun *r, char *why, size_t whylen)
{
    authdb_create_opts o;
    int rc;

    if (r->node != NULL)
        return AUTHDB_OK;
    rc = authdb_open_log(r->store, AUTHDB_BOTH | AUTHDB_WRITE, r->lg, &r->node, why, whylen);
    if (rc != AUTHDB_ENOSTORE)
        return rc;
    memset(&o, 0, sizeof(o));
    o.secrets_gid = syncrun_gid(r->conf->secrets_group);
    o.policy_gid = syncrun_gid(r->conf->policy_group);
    rc = authdb_create(r->store, &o, why, whylen);
    if (rc != AUTHDB_OK)
        return rc;
    authdb_logf(r->lg, LOG_NOTICE, "created the node store %s", r->store);
    return authdb_open_log(r->store, AUTHDB_BOTH | AUTHDB_WRITE, r->lg, &r->node, why, whylen);
}

int syncrun_round(syncrun *r, authdb_sync_result *res, char *why, size_t whylen)
{
    authdb_sync_opts o = {r->flags, syncrun_log, (void *)r->lg};
    char esc[512];
    int rc;

    memset(res, 0, sizeof(*res));
    why[0] = '\0';
    r->st.last_attempt = (int64_t)time(NULL);
    r->st.pid = (long)getpid();
    rc = syncrun_node(r, why, whylen);
    if (rc == AUTHDB_OK && r->conn == NULL) {
        rc = authdb_sync_connect(r->central, &r->conn, why, whylen);
        if (rc == AUTHDB_OK && r->listen && (rc = authdb_sync_listen(r->conn)) != AUTHDB_OK)
            snprintf(why, whylen, "LISTEN failed: %s", authdb_strerror(rc));
    }
    if (rc == AUTHDB_OK)
        rc = authdb_sync_round(r->conn, r->node, &o, res, why, whylen);
    if (rc == AUTHDB_OK) {
        r->st.last_success = r->st.last_attempt;
        r->st.central_seq = res->central_seq;
        r->st.applied_seq = res->applied_seq;
        r->st.last_error[0] = '\0';
        if (res->written > 0 || res->rejected > 0 || res->full) {
            r->st.rejected_last = res->rejected;
            r->st.rejected_total += res->rejected;
            r->st.full_loads += res->full ? 1 : 0;
            authdb_logf(r->lg, res->rejected > 0 ? LOG_WARNING : LOG_INFO,
                        "applied seq %llu from the central store%s: %zu keys read, %zu written, "
                        "%zu rejected",
                        (unsigned long long)res->applied_seq, res->full ? " (full load)" : "",
                        res->keys, res->written, res->rejected);
        }
    } else {
        if (why[0] == '\0')
            snprintf(why, whylen, "%s", authdb_strerror(rc));
        snprintf(r->st.last_error, sizeof(r->st.last_error), "%s",
                 authdb_log_escape(why, strlen(why), esc, sizeof(esc)));
        authdb_logf(r->lg, LOG_ERR, "%s%s", r->st.last_error,
                    rc == AUTHDB_EREMOTE ? " (serving the last synced state)" : "");
        if (rc == AUTHDB_EREMOTE) {
            authdb_sync_close(r->conn);
            r->conn = NULL;
        }
    }
    if (syncrun_status_save(r->store, &r->st) != 0 && rc == AUTHDB_OK)
        authdb_logf(r->lg, LOG_WARNING, "cannot write the status file in %s", r->store);
    return rc;
}
