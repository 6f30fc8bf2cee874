/*
 * rlutil.h - small helpers shared by the reliability suite's programs
 * (tests/reliability): clocks, the stop file, case files, the case loop
 * of the load programs, counters.  Test code, never installed.
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

/* The case loop of rl-sasl-load and rl-milter-load: their options
 * -s SECONDS, -n ROUNDS, -S STOPFILE and -t (temporary failures allowed),
 * rounds of cases until one of those says stop (none given: one round),
 * and the judging of each answer against the case's EXPECT. */
#define RL_LOOP_OPTS "s:n:S:t"
#define RL_SHOWN_MAX 5

typedef struct rl_loop {
    long seconds;
    unsigned long rounds;
    const char *stopfile;
    int allow_temp;
    int64_t deadline_ms;
    unsigned long done;  /* rounds done */
    unsigned long wrong; /* answers of the wrong kind */
    unsigned long temp;  /* temporary failures */
    unsigned long shown; /* unexpected answers */
} rl_loop;

/* Take option ch (with its argument arg) if it is one of RL_LOOP_OPTS:
 * 1, else 0. */
int rl_loop_opt(rl_loop *l, int ch, const char *arg);
/* After the options: the deadline starts now. */
void rl_loop_start(rl_loop *l);
/* Stop before the next round?  (rl_should_stop with the options; the
 * caller counts l->done.) */
int rl_loop_over(const rl_loop *l);
/* One answer named got, a temporary failure if temp, against want ("any":
 * either non-temporary answer).  Counts it; returns 1 when it is
 * unexpected and among the first RL_SHOWN_MAX such (the caller prints
 * it), else 0. */
int rl_loop_judge(rl_loop *l, int temp, const char *got, const char *want);
/* The exit status: 1 when an answer was wrong, or temporary without -t;
 * else 0. */
int rl_loop_status(const rl_loop *l);

/* A small xorshift generator (tests need reproducible sequences). */
uint64_t rl_rand(uint64_t *state);

#endif
