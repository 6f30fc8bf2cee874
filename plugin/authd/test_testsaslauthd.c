/*
 * test_testsaslauthd.c - integration test: Cyrus SASL's own client,
 * testsaslauthd from sasl2-bin, against the real daemon: right password
 * ("0: OK \"Success.\""), wrong and unknown ("0: NO ..."), login + realm
 * (-r), a service name (-s), and a missing store (testsaslauthd reports a
 * bad response, not a NO).  Exits 77 when testsaslauthd is not installed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#define TESTSASLAUTHD "/usr/sbin/testsaslauthd"

/* Run testsaslauthd with args; capture stdout+stderr into out. */
static int run(const char *const *args, char *out, size_t outsz)
{
    int p[2];
    char *argv[16];
    size_t n = 0;
    int st;

    argv[n++] = (char *)TESTSASLAUTHD;
    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(TESTSASLAUTHD, argv);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t r;
    while (got < outsz - 1 && (r = read(p[0], out + got, outsz - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(p[0]);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct tcase {
    const char *name;
    const char *args[10]; /* after -f <socket> */
    int want_ok;
    const char *want_out;
};

static int check(const fixture *f, const struct tcase *c)
{
    const char *args[14] = {"-f", f->sock};
    char out[512];
    size_t n = 2;
    for (size_t i = 0; c->args[i] != NULL; i++)
        args[n++] = c->args[i];
    args[n] = NULL;
    int st = run(args, out, sizeof(out));
    if ((st == 0) != c->want_ok || strstr(out, c->want_out) == NULL) {
        printf("FAIL %s: exit %d, output \"%s\"; want exit %s and \"%s\"\n", c->name, st, out,
               c->want_ok ? "0" : "non-zero", c->want_out);
        return 1;
    }
    printf("ok   %s: %s", c->name, out);
    return 0;
}

int main(void)
{
    static const struct tcase with_store[] = {
        {"right", {"-u", FX_LOGIN, "-p", FX_PASSWORD, NULL}, 1, "0: OK \"Success.\""},
        {"wrong", {"-u", FX_LOGIN, "-p", "wrong", NULL}, 0, "0: NO \"authentication failed\""},
        {"unknown", {"-u", "mallory", "-p", FX_PASSWORD, NULL}, 0, "0: NO"},
        {"disabled", {"-u", FX_DISABLED_LOGIN, "-p", FX_PASSWORD, NULL}, 0, "0: NO"},
        {"realm", {"-u", "bob", "-r", "example.org", "-p", FX_PASSWORD, NULL}, 1, "0: OK"},
        {"service smtp", {"-u", FX_LOGIN, "-s", "smtp", "-p", FX_PASSWORD, NULL}, 1, "0: OK"},
        {"repeat", {"-u", FX_LOGIN, "-p", FX_PASSWORD, "-R", "3", NULL}, 1, "2: OK"},
    };
    static const struct tcase without_store[] = {
        {"store missing",
         {"-u", FX_LOGIN, "-p", FX_PASSWORD, NULL},
         0,
         "bad response from saslauthd"},
    };
    fixture f;
    int failed = 0;

    if (access(TESTSASLAUTHD, X_OK) != 0) {
        printf("%s not installed (sasl2-bin): skipping\n", TESTSASLAUTHD);
        return 77;
    }
    int rc = fixture_init(&f, 0, 2, 5);
    if (rc != 0)
        return rc == 77 ? 77 : 1;
    if (fixture_start(&f) != 0)
        return 1;
    for (size_t i = 0; i < sizeof(with_store) / sizeof(with_store[0]); i++)
        failed += check(&f, &with_store[i]);
    if (fixture_log_has(&f, FX_PASSWORD)) {
        printf("FAIL: the log holds the password\n");
        failed++;
    }
    failed += fixture_stop(&f, SIGTERM, 10000) != 0;
    fixture_free(&f);

    if (fixture_init(&f, 1, 1, 5) != 0 || fixture_start(&f) != 0)
        return 1;
    for (size_t i = 0; i < sizeof(without_store) / sizeof(without_store[0]); i++)
        failed += check(&f, &without_store[i]);
    failed += fixture_stop(&f, SIGTERM, 10000) != 0;
    fixture_free(&f);
    return failed != 0;
}
