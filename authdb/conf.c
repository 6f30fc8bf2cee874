/*
 * conf.c - authgate.conf, one table-driven parser for every program.
 *
 * Interface: authdb_conf_key_at, authdb_conf_load, authdb_conf_free.
 *
 * The table below is the only list of keys: defaults, limits and the
 * one-line descriptions come from it, and a test checks that every key is
 * documented in authgate.conf(5).  Lines are "key = value"; '#' starts a
 * comment line; a value may be double-quoted (then it may hold '#' and
 * leading/trailing spaces; \" and \\ are the only escapes).  Errors name
 * the file and line.  Lines longer than CONF_LINE_MAX are errors.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authdb_private.h"

#define CONF_LINE_MAX 4096
#define ACT(x)        (1ul << (x))

#define K(name, type, field, def, min, max, desc)                                                  \
    {                                                                                              \
        name, type, offsetof(authdb_conf, field), def, min, max, desc                              \
    }

static const authdb_conf_key conf_keys[] = {
    K("store", AUTHDB_CONF_STRING, store, "/var/lib/authgate", 0, 0, "store directory"),
    K("secrets_group", AUTHDB_CONF_STRING, secrets_group, "authgate-secrets", 0, 0,
      "group that may read the secrets environment (the MTA's SASL user joins it)"),
    K("policy_group", AUTHDB_CONF_STRING, policy_group, "authgate-policy", 0, 0,
      "group that may read the policy environment (the milter's user joins it)"),
    K("milter_socket", AUTHDB_CONF_STRING, milter_socket, "unix:/run/authgate/milter.sock", 0, 0,
      "where authgate-milter listens: unix:/path or inet:port@host"),
    K("milter_user", AUTHDB_CONF_STRING, milter_user, "authgate-milter", 0, 0,
      "user authgate-milter runs as after opening its socket"),
    K("milter_pidfile", AUTHDB_CONF_STRING, milter_pidfile, "/run/authgate/milter.pid", 0, 0,
      "pid file of authgate-milter (empty: none)"),
    K("milter_socket_mode", AUTHDB_CONF_MODE, milter_socket_mode, "0660", 0, 0777,
      "mode of the milter's UNIX socket"),
    K("authserv_id", AUTHDB_CONF_STRING, authserv_id, "", 0, 0,
      "authserv-id of Authentication-Results (empty: the host name)"),
    K("unauthenticated_action", AUTHDB_CONF_ACTION, unauthenticated_action, "accept",
      ACT(AUTHDB_ACT_ACCEPT) | ACT(AUTHDB_ACT_REJECT), 0,
      "mail without SMTP AUTH: accept, or reject (530 5.7.0, submission-only instances)"),
    K("protect_local_domains", AUTHDB_CONF_BOOL, protect_local_domains, "no", 0, 1,
      "reject unauthenticated mail whose envelope sender or From is in a local domain"),
    K("report_only", AUTHDB_CONF_BOOL, report_only, "no", 0, 1,
      "log what would have been done, and accept (rollout mode)"),
    K("mismatch_action", AUTHDB_CONF_ACTION, mismatch_action, "reject",
      ACT(AUTHDB_ACT_REJECT) | ACT(AUTHDB_ACT_TEMPFAIL) | ACT(AUTHDB_ACT_QUARANTINE) |
          ACT(AUTHDB_ACT_HEADER),
      0, "a login using an address it may not: reject, tempfail, quarantine or header"),
    K("malformed_action", AUTHDB_CONF_ACTION, malformed_action, "reject",
      ACT(AUTHDB_ACT_REJECT) | ACT(AUTHDB_ACT_TEMPFAIL) | ACT(AUTHDB_ACT_QUARANTINE) |
          ACT(AUTHDB_ACT_HEADER),
      0, "unparseable or hostile From/Sender: reject, tempfail, quarantine or header"),
    K("unauthenticated_local_action", AUTHDB_CONF_ACTION, unauthenticated_local_action, "reject",
      ACT(AUTHDB_ACT_REJECT) | ACT(AUTHDB_ACT_TEMPFAIL) | ACT(AUTHDB_ACT_QUARANTINE) |
          ACT(AUTHDB_ACT_HEADER),
      0, "protect_local_domains hits: reject, tempfail, quarantine or header"),
    K("milter_timeout", AUTHDB_CONF_UINT, milter_timeout, "60", 5, 3600,
      "seconds libmilter waits on the MTA"),
    K("authd_socket", AUTHDB_CONF_STRING, authd_socket, "/run/authgate/authd/mux", 0, 0,
      "UNIX socket of authgate-authd (saslauthd_path: in the SASL config)"),
    K("authd_user", AUTHDB_CONF_STRING, authd_user, "authgate-authd", 0, 0,
      "user authgate-authd runs as after opening its socket"),
    K("authd_socket_group", AUTHDB_CONF_STRING, authd_socket_group, "", 0, 0,
      "group of authgate-authd's socket (empty: authd_user's group)"),
    K("authd_socket_mode", AUTHDB_CONF_MODE, authd_socket_mode, "0660", 0, 0777,
      "mode of authgate-authd's socket"),
    K("authd_threads", AUTHDB_CONF_UINT, authd_threads, "4", 1, 256,
      "password verifications authgate-authd runs at once"),
    K("authd_timeout", AUTHDB_CONF_UINT, authd_timeout, "10", 1, 300,
      "seconds a client has to send its request"),
    K("authd_pidfile", AUTHDB_CONF_STRING, authd_pidfile, "/run/authgate/authd.pid", 0, 0,
      "pid file of authgate-authd (empty: none)"),
    K("query_socket", AUTHDB_CONF_STRING, query_socket, "/run/authgate/query.sock", 0, 0,
      "UNIX socket of authgate-query (Postfix socketmap and Exim readsocket)"),
    K("query_user", AUTHDB_CONF_STRING, query_user, "authgate-query", 0, 0,
      "user authgate-query runs as after opening its socket"),
    K("query_socket_group", AUTHDB_CONF_STRING, query_socket_group, "", 0, 0,
      "group of authgate-query's socket (empty: query_user's group)"),
    K("query_socket_mode", AUTHDB_CONF_MODE, query_socket_mode, "0660", 0, 0777,
      "mode of authgate-query's socket"),
    K("query_pidfile", AUTHDB_CONF_STRING, query_pidfile, "/run/authgate/query.pid", 0, 0,
      "pid file of authgate-query (empty: none)"),
    K("query_timeout", AUTHDB_CONF_UINT, query_timeout, "10", 1, 300,
      "seconds a client has to send a request once begun, and to take the answer"),
    K("query_idle_timeout", AUTHDB_CONF_UINT, query_idle_timeout, "60", 1, 3600,
      "seconds a connection may wait for its next request"),
    K("query_connections", AUTHDB_CONF_UINT, query_connections, "256", 1, 1024,
      "connections authgate-query serves at once (one thread each)"),
    K("sync_central", AUTHDB_CONF_STRING, sync_central, "", 0, 0,
      "central PostgreSQL store authgate-sync follows: a libpq URI or \"service=NAME\" "
      "(no password here: use a password file or peer authentication)"),
    K("sync_secrets", AUTHDB_CONF_BOOL, sync_secrets, "yes", 0, 1,
      "authgate-sync copies the secrets too (no: policy only, for a milter-only node)"),
    K("sync_interval", AUTHDB_CONF_UINT, sync_interval, "30", 1, 3600,
      "seconds between authgate-sync's polls when no change notification arrives"),
    K("sync_retry_max", AUTHDB_CONF_UINT, sync_retry_max, "60", 1, 3600,
      "longest wait, in seconds, between attempts while the central store is unreachable"),
};
#define CONF_KEY_COUNT (sizeof(conf_keys) / sizeof(conf_keys[0]))

static const char *const action_names[] = {
    [AUTHDB_ACT_ACCEPT] = "accept",     [AUTHDB_ACT_REJECT] = "reject",
    [AUTHDB_ACT_TEMPFAIL] = "tempfail", [AUTHDB_ACT_QUARANTINE] = "quarantine",
    [AUTHDB_ACT_HEADER] = "header",
};

const authdb_conf_key *authdb_conf_key_at(size_t i)
{
    return i < CONF_KEY_COUNT ? &conf_keys[i] : NULL;
}

void authdb_conf_free(authdb_conf *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CONF_KEY_COUNT; i++)
        if (conf_keys[i].type == AUTHDB_CONF_STRING)
            free(*(char **)((char *)c + conf_keys[i].offset));
    free(c);
}

/* Set one key from text; *err gets a static reason. */
static int conf_set(authdb_conf *c, const authdb_conf_key *k, const char *val, const char **err)
{
    void *field = (char *)c + k->offset;
    char *end;
    unsigned long n;

    switch (k->type) {
    case AUTHDB_CONF_STRING: {
        char *dup = strdup(val);
        if (dup == NULL) {
            *err = "out of memory";
            return AUTHDB_ENOMEM;
        }
        free(*(char **)field);
        *(char **)field = dup;
        return AUTHDB_OK;
    }
    case AUTHDB_CONF_BOOL:
        if (!strcasecmp(val, "yes") || !strcasecmp(val, "true") || !strcmp(val, "1"))
            *(int *)field = 1;
        else if (!strcasecmp(val, "no") || !strcasecmp(val, "false") || !strcmp(val, "0"))
            *(int *)field = 0;
        else {
            *err = "expected yes or no";
            return AUTHDB_EINVAL;
        }
        return AUTHDB_OK;
    case AUTHDB_CONF_UINT:
    case AUTHDB_CONF_MODE:
        errno = 0;
        if (!isdigit((unsigned char)val[0])) {
            *err = k->type == AUTHDB_CONF_MODE ? "expected an octal mode" : "expected a number";
            return AUTHDB_EINVAL;
        }
        n = strtoul(val, &end, k->type == AUTHDB_CONF_MODE ? 8 : 10);
        if (*end != '\0' || errno != 0) {
            *err = k->type == AUTHDB_CONF_MODE ? "expected an octal mode" : "expected a number";
            return AUTHDB_EINVAL;
        }
        if (n < k->min || n > k->max) {
            *err = "value out of range";
            return AUTHDB_EINVAL;
        }
        *(unsigned *)field = (unsigned)n;
        return AUTHDB_OK;
    case AUTHDB_CONF_ACTION:
        for (int a = AUTHDB_ACT_ACCEPT; a <= AUTHDB_ACT_HEADER; a++)
            if (strcasecmp(val, action_names[a]) == 0) {
                if (!(k->min & ACT(a))) {
                    *err = "action not allowed for this key";
                    return AUTHDB_EINVAL;
                }
                *(int *)field = a;
                return AUTHDB_OK;
            }
        *err = "expected accept, reject, tempfail, quarantine or header";
        return AUTHDB_EINVAL;
    }
    *err = "internal: unknown key type";
    return AUTHDB_EINVAL;
}

/* Split "key = value" in place; returns 0 and sets *key and *val, or -1. */
static int conf_split(char *line, char **key, char **val, const char **err)
{
    char *p = line, *eq, *e;

    while (isspace((unsigned char)*p))
        p++;
    eq = strchr(p, '=');
    if (eq == NULL) {
        *err = "expected key = value";
        return -1;
    }
    for (e = eq; e > p && isspace((unsigned char)e[-1]); e--)
        ;
    *e = '\0';
    *key = p;
    p = eq + 1;
    while (isspace((unsigned char)*p))
        p++;
    e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1]))
        *--e = '\0';
    if (*p == '"') {
        char *o = p, *i = p + 1;
        while (*i != '\0' && *i != '"') {
            if (*i == '\\' && (i[1] == '"' || i[1] == '\\'))
                i++;
            *o++ = *i++;
        }
        if (*i != '"' || i[1] != '\0') {
            *err = "unterminated quoted value or text after it";
            return -1;
        }
        *o = '\0';
    }
    *val = p;
    if (**key == '\0') {
        *err = "empty key";
        return -1;
    }
    return 0;
}

static int conf_defaults(authdb_conf *c, char *why, size_t whylen)
{
    const char *err;

    for (size_t i = 0; i < CONF_KEY_COUNT; i++)
        if (conf_set(c, &conf_keys[i], conf_keys[i].default_value, &err) != AUTHDB_OK) {
            snprintf(why, whylen, "built-in default of %s: %s", conf_keys[i].key, err);
            return AUTHDB_EINVAL;
        }
    return AUTHDB_OK;
}

int authdb_conf_load(const char *path, int missing_ok, authdb_conf **out, char *why, size_t whylen)
{
    authdb_conf *c;
    FILE *f = NULL;
    char line[CONF_LINE_MAX + 2];
    unsigned char seen[CONF_KEY_COUNT] = {0};
    unsigned lineno = 0;
    int rc;

    *out = NULL;
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return AUTHDB_ENOMEM;
    rc = conf_defaults(c, why, whylen);
    if (rc != AUTHDB_OK)
        goto out;
    f = fopen(path, "re");
    if (f == NULL) {
        rc = errno;
        if (rc == ENOENT && missing_ok) {
            rc = AUTHDB_OK;
            goto out;
        }
        snprintf(why, whylen, "%s: %s", path, strerror(rc));
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line), i;
        char *key, *val, *p = line;
        const char *err;

        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f)) {
            snprintf(why, whylen, "%s:%u: line longer than %d characters", path, lineno,
                     CONF_LINE_MAX);
            rc = AUTHDB_ETOOLONG;
            goto out;
        }
        if (memchr(line, '\0', len) != NULL || strlen(line) != len) {
            snprintf(why, whylen, "%s:%u: NUL byte in line", path, lineno);
            rc = AUTHDB_EINVAL;
            goto out;
        }
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (conf_split(p, &key, &val, &err) != 0) {
            snprintf(why, whylen, "%s:%u: %s", path, lineno, err);
            rc = AUTHDB_EINVAL;
            goto out;
        }
        for (i = 0; i < CONF_KEY_COUNT; i++)
            if (strcmp(conf_keys[i].key, key) == 0)
                break;
        if (i == CONF_KEY_COUNT) {
            snprintf(why, whylen, "%s:%u: unknown key \"%.64s\"", path, lineno, key);
            rc = AUTHDB_EINVAL;
            goto out;
        }
        if (seen[i]++) {
            snprintf(why, whylen, "%s:%u: %s is set twice", path, lineno, key);
            rc = AUTHDB_EINVAL;
            goto out;
        }
        rc = conf_set(c, &conf_keys[i], val, &err);
        if (rc != AUTHDB_OK) {
            snprintf(why, whylen, "%s:%u: %s: %s", path, lineno, key, err);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = errno ? errno : EIO;
        snprintf(why, whylen, "%s: read error", path);
    }
out:
    if (f != NULL)
        fclose(f);
    if (rc != AUTHDB_OK) {
        authdb_conf_free(c);
        return rc;
    }
    *out = c;
    return AUTHDB_OK;
}
