/*
 * status.c - authdb status codes: names and classes.
 *
 * authdb functions return AUTHDB_OK, an enum authdb_status code, an LMDB
 * code or a positive errno.  authdb_strerror() names any of them;
 * authdb_is_tempfail() says which must reach a client as a temporary
 * failure.  status_from_mdb() maps the LMDB codes that have an authdb
 * meaning and passes the rest through.
 */
#include <errno.h>
#include <lmdb.h>
#include <string.h>

#include "authdb_private.h"

static const char *const status_text[] = {
    [AUTHDB_NOTFOUND - AUTHDB_NOTFOUND] = "not found",
    [AUTHDB_EINVAL - AUTHDB_NOTFOUND] = "invalid argument",
    [AUTHDB_ETOOLONG - AUTHDB_NOTFOUND] = "input too long",
    [AUTHDB_ENOSTORE - AUTHDB_NOTFOUND] = "no store at this path",
    [AUTHDB_EFOREIGN - AUTHDB_NOTFOUND] = "not an authgate store",
    [AUTHDB_ENEWER - AUTHDB_NOTFOUND] = "store schema is newer than this authgate supports",
    [AUTHDB_ECORRUPT - AUTHDB_NOTFOUND] = "store data is corrupt",
    [AUTHDB_EEXIST - AUTHDB_NOTFOUND] = "already exists",
    [AUTHDB_ERDONLY - AUTHDB_NOTFOUND] = "store opened read-only",
    [AUTHDB_ENOENV - AUTHDB_NOTFOUND] = "store environment not opened by this handle",
    [AUTHDB_EHASH - AUTHDB_NOTFOUND] = "password hashing failed",
    [AUTHDB_EMISMATCH - AUTHDB_NOTFOUND] = "password does not match",
    [AUTHDB_EDISABLED - AUTHDB_NOTFOUND] = "login is disabled",
    [AUTHDB_ELIMIT - AUTHDB_NOTFOUND] = "limit reached",
    [AUTHDB_EBUSY - AUTHDB_NOTFOUND] = "store busy or operation not possible now",
    [AUTHDB_ENOMEM - AUTHDB_NOTFOUND] = "out of memory",
    [AUTHDB_EPERM - AUTHDB_NOTFOUND] = "permission denied",
    [AUTHDB_EMANAGED - AUTHDB_NOTFOUND] =
        "the store is managed by authgate-sync: change the central store instead (or force)",
    [AUTHDB_EREMOTE - AUTHDB_NOTFOUND] = "the central PostgreSQL store failed or is unreachable",
};

const char *authdb_strerror(int code)
{
    if (code == AUTHDB_OK)
        return "success";
    if (code >= AUTHDB_NOTFOUND && code < AUTHDB_STATUS_END_)
        return status_text[code - AUTHDB_NOTFOUND];
    if (code >= MDB_KEYEXIST && code <= MDB_LAST_ERRCODE)
        return mdb_strerror(code);
    if (code > 0)
        return strerror(code);
    return "unknown error";
}

int authdb_is_tempfail(int code)
{
    switch (code) {
    case AUTHDB_OK:
    case AUTHDB_NOTFOUND:
    case AUTHDB_EINVAL:
    case AUTHDB_ETOOLONG:
    case AUTHDB_EMISMATCH:
    case AUTHDB_EDISABLED:
    case AUTHDB_EEXIST:
    case AUTHDB_ELIMIT:
    case AUTHDB_ERDONLY:
    case AUTHDB_EMANAGED:
        return 0;
    default:
        return 1;
    }
}

int status_from_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return AUTHDB_OK;
    case MDB_NOTFOUND:
        return AUTHDB_NOTFOUND;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return AUTHDB_ECORRUPT;
    case ENOMEM:
        return AUTHDB_ENOMEM;
    case EACCES:
    case EPERM:
        return AUTHDB_EPERM;
    case ENOENT:
        return AUTHDB_ENOSTORE;
    default:
        return rc;
    }
}
