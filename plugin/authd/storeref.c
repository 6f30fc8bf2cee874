/*
 * storeref.c - one shared, reloadable store handle (storeref.h).
 *
 * A writer-preferring rwlock: read side = one verification, write side =
 * open/close.  The retry of a failed open happens under the write lock,
 * rate-limited by a monotonic timestamp, so a missing store costs one
 * failed open per second, not one per request.
 *
 * Diagnostics: the authdb_open() sentence, kept for the log and handed to
 * callers of storeref_acquire().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storeref.h"

struct storeref {
    pthread_rwlock_t lock;
    authdb *h; /* NULL: not open */
    char *dir;
    long long last_try_ms;    /* monotonic time of the last failed open */
    char why[AUTHDB_WHY_MAX]; /* why the last open failed */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under the write lock: open s->dir into s->h. */
static int open_locked(storeref *s)
{
    int rc;

    s->why[0] = '\0';
    rc = authdb_open(s->dir, AUTHDB_SECRETS, &s->h, s->why, sizeof(s->why));
    if (rc != AUTHDB_OK) {
        s->h = NULL;
        if (s->why[0] == '\0')
            snprintf(s->why, sizeof(s->why), "store %s: %s", s->dir, authdb_strerror(rc));
        s->last_try_ms = now_ms();
    }
    return rc;
}

int storeref_new(const char *dir, storeref **out, char *why, size_t whylen)
{
    pthread_rwlockattr_t attr;
    storeref *s = NULL;
    int rc = ENOMEM;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->dir = strdup(dir)) == NULL)
        goto out;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    open_locked(s);
    snprintf(why, whylen, "%s", s->why);
    *out = s;
    s = NULL;
    rc = 0;
out:
    if (s != NULL) {
        free(s->dir);
        free(s);
    }
    return rc;
}

authdb *storeref_acquire(storeref *s, char *why, size_t whylen)
{
    authdb *h;

    pthread_rwlock_rdlock(&s->lock);
    if (s->h == NULL && now_ms() - s->last_try_ms >= STOREREF_RETRY_MS) {
        pthread_rwlock_unlock(&s->lock);
        pthread_rwlock_wrlock(&s->lock);
        if (s->h == NULL && now_ms() - s->last_try_ms >= STOREREF_RETRY_MS)
            open_locked(s);
        pthread_rwlock_unlock(&s->lock);
        pthread_rwlock_rdlock(&s->lock);
    }
    h = s->h;
    if (h == NULL)
        snprintf(why, whylen, "%s", s->why);
    return h;
}

void storeref_release(storeref *s)
{
    pthread_rwlock_unlock(&s->lock);
}

int storeref_reload(storeref *s, const char *dir, char *why, size_t whylen)
{
    char *copy = strdup(dir);
    int rc;

    pthread_rwlock_wrlock(&s->lock);
    authdb_close(s->h);
    s->h = NULL;
    if (copy != NULL) {
        free(s->dir);
        s->dir = copy;
    }
    rc = open_locked(s);
    snprintf(why, whylen, "%s", s->why);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

void storeref_free(storeref *s)
{
    if (s == NULL)
        return;
    authdb_close(s->h);
    pthread_rwlock_destroy(&s->lock);
    free(s->dir);
    free(s);
}
