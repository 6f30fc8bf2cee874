/*
 * runtime.c - configuration generations, the store, draining (see
 * runtime.h).
 *
 * One mutex guards the generation pointer, the reference counts, the list
 * of store references and the in-flight count; store opening happens
 * under the store reference's own mutex so a slow open does not block
 * unrelated messages.
 */
#include "runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "authres.h"

/* Seconds between attempts to open a store that failed to open. */
#define STORE_RETRY 1

struct storeref {
    char *path;
    authdb *h;
    pthread_mutex_t mu;
    time_t next_try;
    int failing; /* the last attempt failed (logged once per streak) */
    unsigned refs;
    storeref *next;
};

struct runtime {
    pthread_mutex_t mu;
    pthread_cond_t idle;
    const authdb_log *lg;
    gen *cur;
    storeref *stores;
    unsigned inflight;
    int draining;
};

static void storeref_put(runtime *rt, storeref *s)
{
    storeref **pp;

    if (--s->refs > 0)
        return;
    for (pp = &rt->stores; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    authdb_close(s->h);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

/* The reference for path, shared if one exists (caller holds rt->mu). */
static storeref *storeref_get(runtime *rt, const char *path)
{
    storeref *s;

    for (s = rt->stores; s != NULL; s = s->next) {
        if (strcmp(s->path, path) == 0) {
            s->refs++;
            return s;
        }
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->refs = 1;
    s->next = rt->stores;
    rt->stores = s;
    return s;
}

static void gen_free(runtime *rt, gen *g)
{
    if (g == NULL)
        return;
    if (g->store != NULL)
        storeref_put(rt, g->store);
    authdb_conf_free(g->conf);
    free(g);
}

static int gen_new(runtime *rt, authdb_conf *conf, gen **out, char *why, size_t whylen)
{
    gen *g = calloc(1, sizeof(*g));
    const char *id = conf->authserv_id;
    char host[256];

    if (g == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (id == NULL || id[0] == '\0') {
        if (gethostname(host, sizeof(host)) != 0) {
            snprintf(why, whylen, "gethostname: %s", strerror(errno));
            free(g);
            return -1;
        }
        host[sizeof(host) - 1] = '\0';
        id = host;
    }
    if (!authres_valid_id(id)) {
        snprintf(why, whylen,
                 "authserv_id \"%.100s\" is not a valid token (set authserv_id in the "
                 "configuration)",
                 id);
        free(g);
        return -1;
    }
    snprintf(g->authserv_id, sizeof(g->authserv_id), "%s", id);
    g->store = storeref_get(rt, conf->store);
    if (g->store == NULL) {
        snprintf(why, whylen, "out of memory");
        free(g);
        return -1;
    }
    g->conf = conf;
    g->refs = 1; /* the runtime's own reference while current */
    *out = g;
    return 0;
}

int runtime_new(authdb_conf *conf, const authdb_log *lg, runtime **out, char *why, size_t whylen)
{
    runtime *rt = calloc(1, sizeof(*rt));

    *out = NULL;
    if (rt == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&rt->mu, NULL);
    pthread_cond_init(&rt->idle, NULL);
    rt->lg = lg;
    if (gen_new(rt, conf, &rt->cur, why, whylen) != 0) {
        pthread_cond_destroy(&rt->idle);
        pthread_mutex_destroy(&rt->mu);
        free(rt);
        return -1;
    }
    *out = rt;
    return 0;
}

void runtime_free(runtime *rt)
{
    if (rt == NULL)
        return;
    gen_free(rt, rt->cur);
    pthread_cond_destroy(&rt->idle);
    pthread_mutex_destroy(&rt->mu);
    free(rt);
}

gen *runtime_acquire(runtime *rt)
{
    gen *g;

    pthread_mutex_lock(&rt->mu);
    g = rt->cur;
    g->refs++;
    pthread_mutex_unlock(&rt->mu);
    return g;
}

void runtime_release(runtime *rt, gen *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&rt->mu);
    if (--g->refs == 0)
        gen_free(rt, g);
    pthread_mutex_unlock(&rt->mu);
}

authdb *runtime_store(runtime *rt, gen *g)
{
    storeref *s = g->store;
    char why[AUTHDB_WHY_MAX];
    authdb *h;
    time_t now;
    int rc;

    pthread_mutex_lock(&s->mu);
    h = s->h;
    now = time(NULL);
    if (h == NULL && now >= s->next_try) {
        rc = authdb_open(s->path, AUTHDB_POLICY, &h, why, sizeof(why));
        if (rc == AUTHDB_OK) {
            s->h = h;
            if (s->failing)
                authdb_logf(rt->lg, LOG_NOTICE, "store %s: open again", s->path);
            s->failing = 0;
        } else {
            h = NULL;
            s->next_try = now + STORE_RETRY;
            if (!s->failing)
                authdb_logf(rt->lg, LOG_ERR, "store: %s (%s); mail is tempfailed until it opens",
                            why, authdb_strerror(rc));
            s->failing = 1;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return h;
}

int runtime_reload(runtime *rt, authdb_conf *conf, char *why, size_t whylen)
{
    gen *g, *old;
    int rc;

    pthread_mutex_lock(&rt->mu);
    rc = gen_new(rt, conf, &g, why, whylen);
    if (rc == 0) {
        old = rt->cur;
        rt->cur = g;
        if (--old->refs == 0)
            gen_free(rt, old);
    }
    pthread_mutex_unlock(&rt->mu);
    return rc;
}

int runtime_msg_begin(runtime *rt)
{
    int rc = 0;

    pthread_mutex_lock(&rt->mu);
    if (rt->draining)
        rc = -1;
    else
        rt->inflight++;
    pthread_mutex_unlock(&rt->mu);
    return rc;
}

void runtime_msg_end(runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    if (rt->inflight > 0 && --rt->inflight == 0)
        pthread_cond_broadcast(&rt->idle);
    pthread_mutex_unlock(&rt->mu);
}

unsigned runtime_drain(runtime *rt, unsigned seconds)
{
    struct timespec until;
    unsigned left;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&rt->mu);
    rt->draining = 1;
    while (rt->inflight > 0) {
        if (pthread_cond_timedwait(&rt->idle, &rt->mu, &until) == ETIMEDOUT)
            break;
    }
    left = rt->inflight;
    pthread_mutex_unlock(&rt->mu);
    return left;
}
