/*
 * rlutil.c - clocks, stop file, case files, the case loop, random numbers
 * for the reliability programs (rlutil.h).
 *
 * Diagnostics: rl_cases_load names the file and line of a malformed case.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rlutil.h"

int64_t rl_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rl_now_ms(void)
{
    return rl_now_us() / 1000;
}

void rl_sleep_us(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};

    while (us > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int rl_should_stop(int64_t deadline_ms, unsigned long done, unsigned long rounds,
                   const char *stopfile)
{
    if (deadline_ms > 0 && rl_now_ms() >= deadline_ms)
        return 1;
    if (rounds > 0 && done >= rounds)
        return 1;
    return stopfile != NULL && access(stopfile, F_OK) == 0;
}

int rl_cases_load(const char *path, int nfields, rl_cases *out, char *why, size_t whylen)
{
    FILE *f = NULL;
    char line[RL_FIELDS_MAX * RL_FIELD_MAX];
    size_t cap = 0, lineno = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (nfields < 1 || nfields > RL_FIELDS_MAX) {
        snprintf(why, whylen, "%s: bad field count %d", path, nfields);
        goto out;
    }
    if ((f = fopen(path, "r")) == NULL) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *save = NULL, *tok;
        int n = 0;
        rl_case c;

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(why, whylen, "%s:%zu: line too long", path, lineno);
            goto out;
        }
        memset(&c, 0, sizeof(c));
        for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
             tok = strtok_r(NULL, " \t\r\n", &save)) {
            if (n == 0 && tok[0] == '#')
                break;
            if (n >= nfields || strlen(tok) >= RL_FIELD_MAX) {
                snprintf(why, whylen, "%s:%zu: want %d fields of < %d octets", path, lineno,
                         nfields, RL_FIELD_MAX);
                goto out;
            }
            snprintf(c.f[n++], RL_FIELD_MAX, "%s", tok);
        }
        if (n == 0)
            continue;
        if (n != nfields) {
            snprintf(why, whylen, "%s:%zu: %d fields, want %d", path, lineno, n, nfields);
            goto out;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            rl_case *v = realloc(out->v, ncap * sizeof(*v));
            if (v == NULL) {
                snprintf(why, whylen, "out of memory");
                goto out;
            }
            out->v = v;
            cap = ncap;
        }
        out->v[out->n++] = c;
    }
    if (out->n == 0) {
        snprintf(why, whylen, "%s: no cases", path);
        goto out;
    }
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    if (rc != 0)
        rl_cases_free(out);
    return rc;
}

void rl_cases_free(rl_cases *c)
{
    if (c == NULL)
        return;
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

int rl_loop_opt(rl_loop *l, int ch, const char *arg)
{
    switch (ch) {
    case 's':
        l->seconds = strtol(arg, NULL, 10);
        break;
    case 'n':
        l->rounds = strtoul(arg, NULL, 10);
        break;
    case 'S':
        l->stopfile = arg;
        break;
    case 't':
        l->allow_temp = 1;
        break;
    default:
        return 0;
    }
    return 1;
}

void rl_loop_start(rl_loop *l)
{
    if (l->seconds > 0)
        l->deadline_ms = rl_now_ms() + l->seconds * 1000;
    if (l->seconds == 0 && l->rounds == 0 && l->stopfile == NULL)
        l->rounds = 1;
}

int rl_loop_over(const rl_loop *l)
{
    return rl_should_stop(l->deadline_ms, l->done, l->rounds, l->stopfile);
}

int rl_loop_judge(rl_loop *l, int temp, const char *got, const char *want)
{
    int bad;

    if (temp) {
        l->temp++;
        bad = !l->allow_temp;
    } else if (strcmp(want, "any") == 0) {
        bad = 0;
    } else {
        bad = strcmp(want, got) != 0;
        l->wrong += bad;
    }
    return bad && l->shown++ < RL_SHOWN_MAX;
}

int rl_loop_status(const rl_loop *l)
{
    return l->wrong > 0 || (!l->allow_temp && l->temp > 0) ? 1 : 0;
}

uint64_t rl_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}
