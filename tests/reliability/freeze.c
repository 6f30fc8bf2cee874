/*
 * freeze.c - rl-freeze-threads: stop every thread of a process but its
 * main thread, with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT per thread),
 * so that a daemon's workers hang while its I/O thread keeps accepting:
 * a hang SIGSTOP cannot imitate (it stops every thread).  Test code; needs
 * CAP_SYS_PTRACE (root) because authgate-authd is not dumpable.
 *
 * usage: rl-freeze-threads PID
 * Prints "frozen N" once N threads are stopped, then keeps them stopped
 * until standard input closes (or this program dies), and detaches
 * ("thawed").  Threads started after the freeze are not frozen.  Exit 0,
 * 1 when no thread could be frozen.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FREEZE_MAX 256

int main(int argc, char **argv)
{
    pid_t pid, tids[FREEZE_MAX];
    int n = 0, st;
    char path[64], buf[64];
    DIR *d;
    struct dirent *e;

    if (argc != 2) {
        fprintf(stderr, "usage: rl-freeze-threads PID\n");
        return 2;
    }
    pid = (pid_t)atoi(argv[1]);
    snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
    if ((d = opendir(path)) == NULL) {
        perror(path);
        return 1;
    }
    while ((e = readdir(d)) != NULL && n < FREEZE_MAX) {
        pid_t t = (pid_t)atoi(e->d_name);
        if (t <= 0 || t == pid)
            continue;
        if (ptrace(PTRACE_SEIZE, t, NULL, NULL) != 0 ||
            ptrace(PTRACE_INTERRUPT, t, NULL, NULL) != 0) {
            fprintf(stderr, "rl-freeze-threads: thread %ld: %s\n", (long)t, strerror(errno));
            continue;
        }
        if (waitpid(t, &st, __WALL) == t)
            tids[n++] = t;
    }
    closedir(d);
    printf("frozen %d\n", n);
    fflush(stdout);
    while (read(0, buf, sizeof(buf)) > 0)
        ;
    for (int i = 0; i < n; i++)
        ptrace(PTRACE_DETACH, tids[i], NULL, NULL);
    printf("thawed\n");
    return n > 0 ? 0 : 1;
}
