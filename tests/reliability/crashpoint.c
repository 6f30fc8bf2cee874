/*
 * crashpoint.c - rl-crashpoint.so: an LD_PRELOAD shim that kills its own
 * process with SIGKILL at an exact point of LMDB's commit, so that
 * rl-kill-writer can put a kill -9 between any two of the writes and
 * syncs that make up a transaction's commit (page writes, fdatasync, the
 * meta page), not only wherever a timer happens to fire.  Test code.
 *
 * It wraps write, pwrite, pwrite64, writev, fdatasync and fsync.  Calls on a
 * descriptor whose file name ends in ".mdb" are counted (1, 2, ...).
 * Environment:
 *   RL_CRASH_AT=N       raise SIGKILL at the N-th counted call
 *   RL_CRASH_AT=between raise SIGKILL before the first call on policy/ that
 *                       follows one on secrets/: between the commits of
 *                       the two environments
 *   RL_CRASH_WHEN=after after that call returned (default: before it)
 *   RL_CRASH_COUNT=FILE at a normal exit, append the number of counted
 *                       calls to FILE (how many crash points a command has)
 *   RL_CRASH_HIT=FILE   at the crash point, write the letter of that call
 *                       (which environment's commit the kill cut)
 * Without RL_CRASH_AT nothing is killed.  SIGKILL raised by the process is
 * the same as kill -9 from outside at that instant: no handler, no atexit,
 * no flush; the kernel closes the files.
 */
/* meson builds with _FILE_OFFSET_BITS=64, which renames pwrite to
 * pwrite64 in the headers: this file defines both names itself. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The project builds with -fvisibility=hidden: wrappers must be exported
 * to interpose. */
#define CRASH_EXPORT __attribute__((visibility("default")))

static unsigned long crash_count;
static int crash_seen_secrets;

/* 0 for a file that is no .mdb, else its environment's letter. */
static int crash_is_mdb(int fd)
{
    char link[64], path[4096];
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n < 4)
        return 0;
    path[n] = '\0';
    if (strcmp(path + n - 4, ".mdb") != 0)
        return 0;
    return strstr(path, "/secrets/") != NULL ? 's' : strstr(path, "/policy/") != NULL ? 'p' : 'o';
}

/* 1 when this call is the chosen crash point, "when" tells before/after. */
static int crash_point(int fd, int *after)
{
    const char *at, *when, *hit;
    int env = crash_is_mdb(fd);
    FILE *f;

    if (env == 0)
        return 0;
    crash_count++;
    at = getenv("RL_CRASH_AT");
    when = getenv("RL_CRASH_WHEN");
    *after = when != NULL && strcmp(when, "after") == 0;
    if (at != NULL && strcmp(at, "between") == 0) {
        crash_seen_secrets |= env == 's';
        *after = 0;
        if (env != 'p' || !crash_seen_secrets)
            return 0;
    } else if (at == NULL || strtoul(at, NULL, 10) != crash_count) {
        return 0;
    }
    if ((hit = getenv("RL_CRASH_HIT")) != NULL && (f = fopen(hit, "w")) != NULL) {
        fprintf(f, "%c\n", env);
        fclose(f);
    }
    return 1;
}

static void crash_now(void)
{
    kill(getpid(), SIGKILL);
    for (;;)
        pause();
}

#define CRASH_WRAP(call)                                                                           \
    do {                                                                                           \
        int after = 0, hit = crash_point(fd, &after);                                              \
        if (hit && !after)                                                                         \
            crash_now();                                                                           \
        ret = call;                                                                                \
        if (hit)                                                                                   \
            crash_now();                                                                           \
    } while (0)

CRASH_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    ssize_t ret;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "write");
    CRASH_WRAP(real(fd, buf, n));
    return ret;
}

CRASH_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    ssize_t ret;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "pwrite");
    CRASH_WRAP(real(fd, buf, n, off));
    return ret;
}

CRASH_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off64_t);
    ssize_t ret;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "pwrite64");
    CRASH_WRAP(real(fd, buf, n, off));
    return ret;
}

CRASH_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    ssize_t ret;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "writev");
    CRASH_WRAP(real(fd, iov, cnt));
    return ret;
}

CRASH_EXPORT int fdatasync(int fd)
{
    static int (*real)(int);
    int ret;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    CRASH_WRAP(real(fd));
    return ret;
}

CRASH_EXPORT int fsync(int fd)
{
    static int (*real)(int);
    int ret;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    CRASH_WRAP(real(fd));
    return ret;
}

__attribute__((destructor)) static void crash_report(void)
{
    const char *path = getenv("RL_CRASH_COUNT");
    FILE *f;

    if (path == NULL || (f = fopen(path, "a")) == NULL)
        return;
    fprintf(f, "%lu\n", crash_count);
    fclose(f);
}
