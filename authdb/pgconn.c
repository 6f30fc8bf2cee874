/*
 * pgconn.c - libpq calls for the authdb_pg modules: connect, run one
 * parameterized statement, map its failure to an authdb status.
 *
 * Interface (pg_private.h): pgconn_open, pgconn_exec, pgconn_cmd,
 * pgconn_u64, pgconn_error.
 *
 * Every statement with data goes through PQexecParams: values are never
 * spliced into SQL text.  Connections name themselves with
 * fallback_application_name, so an admin can tell authgatectl from
 * authgate-sync in pg_stat_activity; everything else (host, TLS, user,
 * password file, service) is the connection string's and libpq's.
 * Diagnostics: the caller's buffer gets libpq's message, one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_private.h"

const char *pgconn_error(PGconn *c, char *buf, size_t bufsz)
{
    const char *m = c != NULL ? PQerrorMessage(c) : "no connection";
    size_t n;

    snprintf(buf, bufsz, "%s", m != NULL && m[0] != '\0' ? m : "unknown PostgreSQL error");
    /* libpq's messages end in a newline and may span lines. */
    for (n = 0; buf[n] != '\0'; n++)
        if (buf[n] == '\n')
            buf[n] = ' ';
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

int pgconn_open(const char *conninfo, const char *app, PGconn **out, char *why, size_t whylen)
{
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *vals[] = {conninfo, app, NULL};
    char msg[512];
    PGconn *c;
    int rc = AUTHDB_OK;

    *out = NULL;
    c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL)
        return AUTHDB_ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(why, whylen, "cannot connect to the PostgreSQL store: %s",
                 pgconn_error(c, msg, sizeof(msg)));
        PQfinish(c);
        return AUTHDB_EREMOTE;
    }
    *out = c;
    return rc;
}

static int pgconn_status(PGconn *c, PGresult *r, char *err, size_t errlen)
{
    const char *state;
    char msg[512];

    switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
        return AUTHDB_OK;
    default:
        break;
    }
    state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (r != NULL && PQresultErrorMessage(r)[0] != '\0') {
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        for (char *p = msg; *p != '\0'; p++)
            if (*p == '\n')
                *p = ' ';
    } else {
        pgconn_error(c, msg, sizeof(msg));
    }
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "PostgreSQL: %s", msg);
    if (state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        return AUTHDB_EBUSY;
    if (state != NULL && strcmp(state, "42501") == 0)
        return AUTHDB_EPERM;
    if (state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))
        return AUTHDB_ENOSTORE;
    return AUTHDB_EREMOTE;
}

int pgconn_exec(PGconn *c, const char *sql, int n, const char *const *vals, const int *lens,
                int binary, PGresult **out, char *err, size_t errlen)
{
    int fmts[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    PGresult *r;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (n > 8)
        return AUTHDB_EINVAL;
    r = PQexecParams(c, sql, n, NULL, vals, lens, binary ? fmts : NULL, binary);
    rc = pgconn_status(c, r, err, errlen);
    if (rc == AUTHDB_OK && out != NULL)
        *out = r;
    else
        PQclear(r);
    return rc;
}

/* Statements without parameters (schema scripts may hold several). */
int pgconn_cmd(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    int rc = pgconn_status(c, r, err, errlen);

    PQclear(r);
    return rc;
}

uint64_t pgconn_u64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoull(PQgetvalue(r, row, col), NULL, 10);
}
