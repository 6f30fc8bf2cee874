/*
 * supervise.c - rl-supervise: a stand-in for systemd's service manager,
 * for one Type=notify service with WatchdogSec=, WatchdogSignal=,
 * Restart=always, RestartSec= and NotifyAccess=main.  The test machines
 * do not run systemd as PID 1 (and "systemd --user" refuses to start
 * without it), so the reliability tests use this program to prove what
 * authgate-authd's watchdog does under systemd; it speaks the same
 * protocol (sd_notify(3): datagrams on NOTIFY_SOCKET) and follows the same
 * rules (systemd.service(5)):
 *   - the service gets NOTIFY_SOCKET (a socket anyone may write to, as
 *     /run/systemd/notify), WATCHDOG_USEC and WATCHDOG_PID;
 *   - only datagrams from the main pid count (SO_PASSCRED);
 *   - READY=1 marks it started; WATCHDOG=1 resets the watchdog timer,
 *     which runs from the start; STOPPING=1 is noted;
 *   - when the timer expires the service gets WatchdogSignal (-s, SIGKILL
 *     by default here, as authgate-authd(8) recommends), then SIGKILL after
 *     TimeoutAbortSec (-a) if it is still there;
 *   - whenever the main process exits it is started again after RestartSec
 *     (-r);
 *   - with -F PIDFILE, Type=forking: the started process must exit 0 (the
 *     daemon went into the background), then the main pid is read from
 *     PIDFILE (PIDFile=); WATCHDOG_PID names the started process.  The
 *     supervisor is a child subreaper (as PID 1 is), so it reaps the
 *     daemon when it dies.
 *
 * usage: rl-supervise -n NOTIFY_PATH [-w WATCHDOG_MS] [-s SIGNAL_NUMBER]
 *                     [-a ABORT_MS] [-r RESTART_MS] [-p PIDFILE]
 *                     [-F FORKING_PIDFILE] -- COMMAND [ARG]...
 * -p: the main pid is written there at every start (once known).  Every event goes to
 * standard output as "T ms: event pid N ...", T counted from the
 * supervisor's start.  SIGTERM or SIGINT: the service gets SIGTERM
 * (SIGKILL after 10 s), then the supervisor exits 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rlutil.h"

struct sup {
    const char *notify, *pidfile, *forking;
    pid_t starter; /* Type=forking: the process started, until it exits */
    char **argv;
    int64_t watchdog_ms, abort_ms, restart_ms, t0;
    int sig, fd;
    pid_t pid;
    int64_t last_ping, kill_at, start_at;
    int stopping;
    unsigned long starts;
};

static void sup_log(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sup_log(struct sup *s, const char *fmt, ...)
{
    va_list ap;

    printf("%lld ms: ", (long long)(rl_now_ms() - s->t0));
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* The main pid is known: tell -p. */
static void sup_main_known(struct sup *s)
{
    FILE *f;

    if (s->pidfile != NULL && (f = fopen(s->pidfile, "w")) != NULL) {
        fprintf(f, "%ld\n", (long)s->pid);
        fclose(f);
    }
}

static int sup_start(struct sup *s)
{
    char us[32], pid[32];
    pid_t p = fork();

    if (p < 0)
        return -1;
    if (p == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        snprintf(us, sizeof(us), "%lld", (long long)s->watchdog_ms * 1000);
        snprintf(pid, sizeof(pid), "%ld", (long)getpid());
        setenv("NOTIFY_SOCKET", s->notify, 1);
        if (s->watchdog_ms > 0) {
            setenv("WATCHDOG_USEC", us, 1);
            setenv("WATCHDOG_PID", pid, 1);
        }
        setsid();
        execvp(s->argv[0], s->argv);
        _exit(127);
    }
    s->starts++;
    s->last_ping = rl_now_ms();
    s->kill_at = 0;
    if (s->forking != NULL) {
        s->starter = p;
        s->pid = 0;
        sup_log(s, "start pid %ld (start %lu, forking)", (long)p, s->starts);
        return 0;
    }
    s->pid = p;
    sup_main_known(s);
    sup_log(s, "start pid %ld (start %lu)", (long)p, s->starts);
    return 0;
}

/* Read every pending datagram; act on those from the main pid. */
static void sup_messages(struct sup *s)
{
    char buf[512], cbuf[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {buf, sizeof(buf) - 1};

    for (;;) {
        struct msghdr mh = {0};
        struct ucred *uc = NULL;
        ssize_t n;

        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
        if (n < 0)
            return;
        buf[n] = '\0';
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                uc = (struct ucred *)CMSG_DATA(c);
        if (uc == NULL || s->pid <= 0 || uc->pid != s->pid) {
            sup_log(s, "ignored \"%s\" from pid %ld (not the main pid %ld)", buf,
                    uc ? (long)uc->pid : -1L, (long)s->pid);
            continue;
        }
        for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l != NULL;
             l = strtok_r(NULL, "\n", &save)) {
            if (strcmp(l, "WATCHDOG=1") == 0)
                s->last_ping = rl_now_ms();
            else
                sup_log(s, "%s pid %ld", l, (long)s->pid);
        }
    }
}

static void sup_reap(struct sup *s)
{
    int st;
    pid_t p;

    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (s->starter > 0 && p == s->starter) {
            long main_pid = 0;
            FILE *f = fopen(s->forking, "r");
            s->starter = 0;
            if (f != NULL) {
                if (fscanf(f, "%ld", &main_pid) != 1)
                    main_pid = 0;
                fclose(f);
            }
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || main_pid <= 0) {
                sup_log(s, "forking start failed (status 0x%x, PIDFile pid %ld)", st, main_pid);
                s->start_at = rl_now_ms() + s->restart_ms;
                continue;
            }
            s->pid = (pid_t)main_pid;
            s->last_ping = rl_now_ms();
            sup_main_known(s);
            sup_log(s, "main pid %ld (from the PIDFile)", main_pid);
            continue;
        }
        if (p != s->pid)
            continue;
        if (WIFSIGNALED(st))
            sup_log(s, "exit pid %ld killed by signal %d", (long)p, WTERMSIG(st));
        else
            sup_log(s, "exit pid %ld status %d", (long)p, WEXITSTATUS(st));
        s->pid = 0;
        s->start_at = rl_now_ms() + s->restart_ms;
    }
}

int main(int argc, char **argv)
{
    struct sup s;
    struct sockaddr_un sa;
    sigset_t set;
    int sfd, ch, one = 1;

    memset(&s, 0, sizeof(s));
    s.watchdog_ms = 3000;
    s.abort_ms = 1000;
    s.restart_ms = 100;
    s.sig = SIGKILL;
    s.fd = -1;
    while ((ch = getopt(argc, argv, "n:w:s:a:r:p:F:")) != -1) {
        switch (ch) {
        case 'n':
            s.notify = optarg;
            break;
        case 'w':
            s.watchdog_ms = strtoll(optarg, NULL, 10);
            break;
        case 's':
            s.sig = atoi(optarg);
            break;
        case 'a':
            s.abort_ms = strtoll(optarg, NULL, 10);
            break;
        case 'r':
            s.restart_ms = strtoll(optarg, NULL, 10);
            break;
        case 'p':
            s.pidfile = optarg;
            break;
        case 'F':
            s.forking = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (s.notify == NULL || optind >= argc || strlen(s.notify) >= sizeof(sa.sun_path))
        goto usage;
    s.argv = argv + optind;
    s.t0 = rl_now_ms();
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s.notify);
    unlink(s.notify);
    if ((s.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        setsockopt(s.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
        chmod(s.notify, 0777) != 0) {
        perror("rl-supervise: notify socket");
        return 1;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        perror("rl-supervise: PR_SET_CHILD_SUBREAPER");
        return 1;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    sup_log(&s,
            "supervising \"%s\": WatchdogSec=%lldms WatchdogSignal=%d TimeoutAbortSec=%lldms "
            "RestartSec=%lldms",
            s.argv[0], (long long)s.watchdog_ms, s.sig, (long long)s.abort_ms,
            (long long)s.restart_ms);
    if (sup_start(&s) != 0) {
        perror("rl-supervise: fork");
        return 1;
    }
    for (;;) {
        struct pollfd p[2] = {{s.fd, POLLIN, 0}, {sfd, POLLIN, 0}};
        struct signalfd_siginfo si;
        int64_t now;

        poll(p, 2, 20);
        sup_messages(&s);
        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                s.stopping = 1;
                if (s.pid > 0) {
                    sup_log(&s, "stop: SIGTERM to pid %ld", (long)s.pid);
                    kill(s.pid, SIGTERM);
                    kill(s.pid, SIGCONT);
                    s.kill_at = rl_now_ms() + 10000;
                }
            }
        }
        sup_reap(&s);
        now = rl_now_ms();
        if (s.stopping && s.pid <= 0 && s.starter <= 0)
            break;
        if (s.pid > 0 && s.kill_at > 0 && now >= s.kill_at) {
            sup_log(&s, "pid %ld still there: SIGKILL", (long)s.pid);
            kill(s.pid, SIGKILL);
            s.kill_at = now + 1000000;
        }
        if (!s.stopping && s.pid > 0 && s.kill_at == 0 && s.watchdog_ms > 0 &&
            now - s.last_ping > s.watchdog_ms) {
            sup_log(&s, "watchdog timeout: pid %ld sent no keep-alive for %lld ms: signal %d",
                    (long)s.pid, (long long)(now - s.last_ping), s.sig);
            kill(s.pid, s.sig);
            s.kill_at = now + s.abort_ms;
        }
        if (!s.stopping && s.pid <= 0 && s.starter <= 0 && now >= s.start_at &&
            sup_start(&s) != 0) {
            perror("rl-supervise: fork");
            break;
        }
    }
    sup_log(&s, "stopped");
    unlink(s.notify);
    return 0;
usage:
    fprintf(stderr, "usage: rl-supervise -n NOTIFY_PATH [-w WATCHDOG_MS] [-s SIGNAL_NUMBER] "
                    "[-a ABORT_MS] [-r RESTART_MS] [-p PIDFILE] [-F FORKING_PIDFILE] -- "
                    "COMMAND [ARG]...\n");
    return 2;
}
