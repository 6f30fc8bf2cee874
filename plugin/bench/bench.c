/*
 * bench.c - authgate-plugin-bench: logins per second through libsasl2,
 * authgate against Debian's sasldb plugin and a plugin with no store at
 * all (the floor), in one run on one machine.
 *
 * Usage: authgate-plugin-bench [-t seconds] [-r rounds]
 *
 * Each login is what an MTA does per connection: sasl_server_new, the
 * check, sasl_dispose.  Two checks:
 *   checkpass  sasl_checkpass (PLAIN/LOGIN with pwcheck_method auxprop)
 *   cram-md5   sasl_server_start (challenge), the client's answer computed
 *              directly (one HMAC-MD5, as a remote client would), then
 *              sasl_server_step: the server's side of a CRAM-MD5 login
 * The three configurations differ only in their auxprop lines:
 *   sasldb     sasldb_path: a sasldb2 made with saslpasswd2
 *   authgate   authgate_store: a store made with authdb
 *   nullprop   constant secrets computed at init (bench/nullprop.c)
 * Every configuration is first checked to accept the right password and
 * refuse a wrong one.  Each figure is the best of -r rounds (default 3) of
 * -t seconds (default 1), the configurations taking turns, so that other
 * load on the machine disturbs them alike.
 * Prints a table and the two targets (authgate >= 15x sasldb, within 3x
 * of the floor).  Exit 0 when the figures were measured, 1 on setup
 * failure; a missed target is printed, not an exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sasl/sasl.h>

#include "authdb.h"
#include "harness.h"
#include "teststore.h"

#define BENCH_USER     "bench"
#define BENCH_PASSWORD "B3nch-pw"
#define BENCH_MECHS    "PLAIN LOGIN CRAM-MD5"

enum { CHECK_PASS = 0, CHECK_CRAM, CHECKS };
enum { CONF_NULL = 0, CONF_SASLDB, CONF_AUTHGATE, CONFS };

static const char *const check_names[CHECKS] = {"checkpass", "cram-md5"};
static const char *const conf_names[CONFS] = {"nullprop", "sasldb", "authgate"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The server's side of one CRAM-MD5 login; the client's response is
 * "user hex(HMAC-MD5(password, challenge))" (RFC 2195). */
static int cram(const char *password)
{
    static const char hex[] = "0123456789abcdef";
    sasl_conn_t *s = NULL;
    const char *challenge = NULL, *out = NULL;
    unsigned clen = 0, outlen = 0;
    unsigned char mac[16];
    size_t maclen = 0, i;
    char resp[sizeof(BENCH_USER) + 33];
    int rc = sasl_server_new("smtp", "mx.test", NULL, NULL, NULL, NULL, 0, &s);

    if (rc == SASL_OK)
        rc = sasl_server_start(s, "CRAM-MD5", NULL, 0, &challenge, &clen);
    if (rc != SASL_CONTINUE)
        goto out;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "MD5", NULL, password, strlen(password),
                  (const unsigned char *)challenge, clen, mac, sizeof(mac), &maclen) == NULL) {
        rc = SASL_FAIL;
        goto out;
    }
    memcpy(resp, BENCH_USER " ", sizeof(BENCH_USER));
    for (i = 0; i < 16; i++) {
        resp[sizeof(BENCH_USER) + 2 * i] = hex[mac[i] >> 4];
        resp[sizeof(BENCH_USER) + 2 * i + 1] = hex[mac[i] & 15];
    }
    rc = sasl_server_step(s, resp, (unsigned)sizeof(resp), &out, &outlen);
out:
    sasl_dispose(&s);
    return rc;
}

static int one(int check, const char *password)
{
    if (check == CHECK_PASS)
        return harness_checkpass(NULL, BENCH_USER, password);
    return cram(password);
}

/* Logins per second for seconds, or -1 if a login failed. */
static double measure(int check, double seconds)
{
    double start = now(), t = start;
    long n = 0;

    while (t - start < seconds) {
        if (one(check, BENCH_PASSWORD) != SASL_OK)
            return -1;
        n++;
        if ((n & 15) == 0)
            t = now();
    }
    t = now();
    return (double)n / (t - start);
}

static int write_confs(harness *h, const char *sasldb)
{
    return harness_conf(h, conf_names[CONF_NULL],
                        "pwcheck_method: auxprop\nauxprop_plugin: nullprop\n"
                        "nullprop_password: %s\nmech_list: %s\n",
                        BENCH_PASSWORD, BENCH_MECHS) ||
           harness_conf(h, conf_names[CONF_SASLDB],
                        "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                        "sasldb_path: %s\nmech_list: %s\n",
                        sasldb, BENCH_MECHS) ||
           harness_conf(h, conf_names[CONF_AUTHGATE],
                        "pwcheck_method: auxprop\nauxprop_plugin: authgate\n"
                        "authgate_store: %s\nmech_list: %s\n",
                        h->store, BENCH_MECHS);
}

static int make_stores(harness *h, char *sasldb, size_t sasldbsz)
{
    char *argv[] = {
        "/usr/sbin/saslpasswd2", "-p", "-c", "-f", sasldb, "-u", "mx.test", BENCH_USER, NULL};
    char out[1024];
    int rc;

    snprintf(sasldb, sasldbsz, "%s/sasldb2", h->root);
    /* sasldb keys are user@realm; with no user_realm the lookup realm is the
     * server FQDN the harness uses, mx.test. */
    rc = harness_run(h, argv, BENCH_PASSWORD, out, sizeof(out));
    if (rc != 0) {
        fprintf(stderr, "bench: saslpasswd2 -c -f %s: exit %d: %s\n", sasldb, rc, out);
        return -1;
    }
    rc = teststore_create(h->store, "CRAM-MD5 PLAIN SCRAM-SHA-256", NULL);
    if (rc == AUTHDB_OK)
        rc = teststore_put(h->store, BENCH_USER, BENCH_PASSWORD, NULL);
    if (rc != AUTHDB_OK) {
        fprintf(stderr, "bench: authgate store %s: %s\n", h->store, authdb_strerror(rc));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    double rate[CONFS][CHECKS] = {{0}};
    char sasldb[PATH_MAX + 16];
    const char *version = NULL;
    harness h;
    int c, conf, check, round, rounds = 3, status = 1;

    while ((c = getopt(argc, argv, "t:r:")) != -1) {
        if (c == 't' && atof(optarg) > 0) {
            seconds = atof(optarg);
        } else if (c == 'r' && atoi(optarg) > 0) {
            rounds = atoi(optarg);
        } else {
            fprintf(stderr, "usage: %s [-t seconds] [-r rounds]\n", argv[0]);
            return 2;
        }
    }
    if (harness_setup(&h) != 0) {
        perror("bench: scratch directory");
        return 1;
    }
    if (make_stores(&h, sasldb, sizeof(sasldb)) != 0 || write_confs(&h, sasldb) != 0)
        goto out;

    h.min_level = SASL_LOG_ERR;
    for (round = 0; round < rounds; round++) {
        for (conf = 0; conf < CONFS; conf++) {
            if (harness_init(&h, conf_names[conf]) != SASL_OK) {
                fprintf(stderr, "bench: sasl init for %s failed\n", conf_names[conf]);
                goto out;
            }
            for (check = 0; check < CHECKS; check++) {
                int right = one(check, BENCH_PASSWORD);
                int wrong = one(check, "wrong-pw");
                double r;
                if (right != SASL_OK || wrong == SASL_OK) {
                    fprintf(stderr, "bench: %s %s: right password gave %d, wrong gave %d\n%s",
                            conf_names[conf], check_names[check], right, wrong, h.log);
                    goto out;
                }
                r = measure(check, seconds);
                if (r < 0) {
                    fprintf(stderr, "bench: %s %s failed while measuring\n", conf_names[conf],
                            check_names[check]);
                    goto out;
                }
                if (r > rate[conf][check])
                    rate[conf][check] = r;
            }
            harness_done(&h);
        }
    }

    sasl_version_info(NULL, &version, NULL, NULL, NULL, NULL);
    printf("authgate-plugin-bench: libsasl2 %s, one sasl_server_new + check + sasl_dispose per "
           "login, best of %d rounds of %.1f s\n\n",
           version ? version : "?", rounds, seconds);
    printf("%-10s %-9s %12s %10s %10s\n", "check", "plugin", "logins/s", "x sasldb", "x floor");
    for (check = 0; check < CHECKS; check++) {
        for (conf = 0; conf < CONFS; conf++)
            printf("%-10s %-9s %12.0f %10.1f %10.2f\n", check_names[check], conf_names[conf],
                   rate[conf][check], rate[conf][check] / rate[CONF_SASLDB][check],
                   rate[conf][check] / rate[CONF_NULL][check]);
    }
    printf("\ntargets:\n");
    for (check = 0; check < CHECKS; check++) {
        double vs_sasldb = rate[CONF_AUTHGATE][check] / rate[CONF_SASLDB][check];
        double vs_floor = rate[CONF_NULL][check] / rate[CONF_AUTHGATE][check];
        printf("  %-10s authgate = %.1fx sasldb (target >= 15x: %s); floor = %.2fx authgate "
               "(target <= 3x: %s)\n",
               check_names[check], vs_sasldb, vs_sasldb >= 15 ? "met" : "MISSED", vs_floor,
               vs_floor <= 3 ? "met" : "MISSED");
    }
    status = 0;
out:
    harness_teardown(&h);
    return status;
}
