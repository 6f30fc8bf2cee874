/*
 * test_exim.c - integration test: Exim's built-in saslauthd condition
 * (exim4-daemon-heavy 4.96) against the real daemon, through
 * "exim -be" expansion tests.  Exim writes each field with its own
 * writev, so this is also the real split-write client.
 *
 * Debian's Exim has its socket compiled in as /var/run/saslauthd/mux, so
 * the test runs in a mount namespace of its own with a tmpfs over /run:
 * the host's /run is never touched.  Needs root (unshare, mount) and an
 * unpacked Exim named by AUTHD_EXIM (e.g. from the MTA lab: apt-get
 * download exim4-daemon-heavy exim4-base; dpkg -x); exits 77 otherwise.
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#define EXIM_SOCKET "/run/saslauthd/mux" /* = /var/run/saslauthd/mux */

/* exim -C conf -be expr; output (first line) into out. */
static int exim_be(const char *exim, const char *conf, const char *expr, char *out, size_t outsz)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execl(exim, "exim4", "-C", conf, "-be", expr, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t r;
    while (got < outsz - 1 && (r = read(p[0], out + got, outsz - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    out[strcspn(out, "\n")] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct ecase {
    const char *name;
    const char *args; /* inside saslauthd{...} */
    const char *want; /* output prefix */
};

static int run_cases(const fixture *f, const char *exim, const char *conf, const struct ecase *c,
                     size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char expr[512], out[512];
        snprintf(expr, sizeof(expr), "${if saslauthd{%s}{yes}{no}}", c[i].args);
        exim_be(exim, conf, expr, out, sizeof(out));
        if (strncmp(out, c[i].want, strlen(c[i].want)) != 0) {
            printf("FAIL %s: exim printed \"%s\", want \"%s...\"\n", c[i].name, out, c[i].want);
            failed++;
        } else {
            printf("ok   %s: %s\n", c[i].name, out);
        }
    }
    if (fixture_log_has(f, FX_PASSWORD)) {
        printf("FAIL: the daemon's log holds the password\n");
        failed++;
    }
    return failed;
}

static int write_exim_conf(const fixture *f, const char *exim, char *conf, size_t confsz)
{
    char dir[160];
    snprintf(conf, confsz, "%s/exim.conf", f->dir);
    snprintf(dir, sizeof(dir), "%s/exim-spool", f->dir);
    mkdir(dir, 0750);
    snprintf(dir, sizeof(dir), "%s/exim-log", f->dir);
    mkdir(dir, 0750);
    FILE *o = fopen(conf, "w");
    if (o == NULL)
        return -1;
    fprintf(o,
            "exim_path = %s\n"
            "primary_hostname = mx.lab.test\n"
            "spool_directory = %s/exim-spool\n"
            "log_file_path = %s/exim-log/%%slog\n"
            "keep_environment =\n",
            exim, f->dir, f->dir);
    return fclose(o);
}

int main(void)
{
    static const struct ecase with_store[] = {
        {"right", "{" FX_LOGIN "}{" FX_PASSWORD "}{smtp}", "yes"},
        {"wrong", "{" FX_LOGIN "}{wrong}{smtp}", "no"},
        {"unknown", "{mallory}{" FX_PASSWORD "}{smtp}", "no"},
        {"disabled", "{" FX_DISABLED_LOGIN "}{" FX_PASSWORD "}{smtp}", "no"},
        {"no service, no realm", "{" FX_LOGIN "}{" FX_PASSWORD "}", "yes"},
        {"login + realm", "{bob}{" FX_PASSWORD "}{smtp}{example.org}", "yes"},
        {"address login", "{" FX_ADDR_LOGIN "}{" FX_PASSWORD "}{smtp}", "yes"},
        {"address login + realm", "{" FX_ADDR_LOGIN "}{" FX_PASSWORD "}{smtp}{example.org}", "no"},
    };
    /* A temporary failure must make the expansion fail (Exim defers),
     * not come out as "no" (535). */
    static const struct ecase without_store[] = {
        {"store missing", "{" FX_LOGIN "}{" FX_PASSWORD "}{smtp}", "Failed:"},
    };
    const char *exim = getenv("AUTHD_EXIM");
    char conf[200];
    fixture f;
    int failed = 0;

    if (exim == NULL || access(exim, X_OK) != 0) {
        printf("AUTHD_EXIM does not name an Exim binary (exim4-daemon-heavy): skipping\n");
        return 77;
    }
    if (geteuid() != 0) {
        printf("needs root (a mount namespace for Exim's fixed socket path): skipping\n");
        return 77;
    }
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
        printf("cannot make a private /run (unshare/mount): skipping\n");
        return 77;
    }
    for (int pass = 0; pass < 2; pass++) {
        int rc = fixture_init(&f, pass == 1, 2, 5);
        if (rc != 0)
            return rc == 77 ? 77 : 1;
        snprintf(f.sock, sizeof(f.sock), "%s", EXIM_SOCKET);
        if (fixture_write_conf(&f, NULL, 2, 5) != 0 || fixture_start(&f) != 0 ||
            write_exim_conf(&f, exim, conf, sizeof(conf)) != 0)
            return 1;
        if (pass == 0)
            failed +=
                run_cases(&f, exim, conf, with_store, sizeof(with_store) / sizeof(with_store[0]));
        else
            failed += run_cases(&f, exim, conf, without_store,
                                sizeof(without_store) / sizeof(without_store[0]));
        failed += fixture_stop(&f, SIGTERM, 10000) != 0;
        fixture_free(&f);
    }
    return failed != 0;
}
