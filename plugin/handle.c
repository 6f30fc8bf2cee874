/*
 * handle.c - the store handle of one plugin instance.
 *
 * Interface: handle_init, handle_get, handle_done.
 *
 * When the handle is opened matters because of the hosts:
 *  - Postfix calls sasl_server_init as root before chroot and never forks
 *    after: a handle opened at init keeps working inside the jail even
 *    when the store is outside it.
 *  - Sendmail initializes in the daemon and forks a child per connection;
 *    authdb gives a child its own environment on first use and never
 *    touches the parent's (LMDB forbids using an env across fork).
 *  - Exim runs init, one lookup and sasl_done per AUTH command.
 *  - Threaded hosts share the instance: authdb handles are thread-safe and
 *    the lazy open below is serialized.
 * So init tries to open quietly (a few system calls, no files created),
 * and handle_get opens on first use when that failed, reporting why.  A
 * writable instance (authgate_writable) opens both environments for
 * writing; a reader opens only secrets/, read-only.  Either way one
 * instance holds at most one handle: LMDB forbids opening an environment
 * twice in one process.
 *
 * Diagnostics: handle_get fills a caller buffer; nothing is logged here.
 */
#include <stdio.h>
#include <string.h>

#include "plugin_private.h"

void handle_init(handle *h, const char *dir, int writable, int open_now)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    snprintf(h->dir, sizeof(h->dir), "%s", dir);
    h->flags = writable ? (AUTHDB_BOTH | AUTHDB_WRITE) : AUTHDB_SECRETS;
    if (open_now && authdb_open(h->dir, h->flags, &h->db, NULL, 0) != AUTHDB_OK)
        h->db = NULL;
}

int handle_get(handle *h, authdb **out, char *why, size_t whylen)
{
    int rc = AUTHDB_OK;

    *out = NULL;
    pthread_mutex_lock(&h->mu);
    if (h->db == NULL)
        rc = authdb_open(h->dir, h->flags, &h->db, why, whylen);
    if (rc == AUTHDB_OK)
        *out = h->db;
    else
        h->db = NULL;
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void handle_done(handle *h)
{
    if (h != NULL) {
        authdb_close(h->db);
        h->db = NULL;
        pthread_mutex_destroy(&h->mu);
    }
}
