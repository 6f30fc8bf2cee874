/*
 * rlutil.h - small helpers shared by the reliability suite's programs
 * (tests/reliability): clocks, the stop file, case files, counters.  Test
 * code, never installed.
 */
#ifndef RLUTIL_H
#define RLUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds / microseconds. */
int64_t rl_now_ms(void);
int64_t rl_now_us(void);

/* Sleep for us microseconds (restarted after signals). */
void rl_sleep_us(int64_t us);

/* Should a loop stop?  True once deadline_ms (0: none) has passed, rounds
 * (0: none) are done, or stopfile (NULL: none) exists. */
int rl_should_stop(int64_t deadline_ms, unsigned long done, unsigned long rounds,
                   const char *stopfile);

/* A case file: one case per line, whitespace-separated fields, '#'
 * comments and blank lines skipped.  rl_cases_load returns 0 and fills
 * *out (free with rl_cases_free) or -1 with a sentence in why.  Every line
 * must have exactly nfields fields (at most RL_FIELDS_MAX). */
#define RL_FIELDS_MAX 6
#define RL_FIELD_MAX  512

typedef struct rl_case {
    char f[RL_FIELDS_MAX][RL_FIELD_MAX];
} rl_case;

typedef struct rl_cases {
    rl_case *v;
    size_t n;
} rl_cases;

int rl_cases_load(const char *path, int nfields, rl_cases *out, char *why, size_t whylen);
void rl_cases_free(rl_cases *c);

/* A small xorshift generator (tests need reproducible sequences). */
uint64_t rl_rand(uint64_t *state);

#endif
