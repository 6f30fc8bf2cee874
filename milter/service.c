/*
 * service.c - the daemons' shared command line, startup, signals and end
 * (see service.h).
 */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* The write end of the self-pipe, for the signal handler: set before the
 * handlers are installed, never changed after. */
static int sigpipe_w = -1;

static void on_signal(int sig)
{
    unsigned char c = (unsigned char)sig;
    int saved = errno;

    if (write(sigpipe_w, &c, 1) != 1) {
        /* the pipe is full: a signal of each kind is already queued */
    }
    errno = saved;
}

static void usage(const service_def *d, FILE *f)
{
    fprintf(f,
            "usage: %s [-c config] [-p socket] [-f] [-d] [-t] [-V]\n"
            "  -c config  configuration file (default " AUTHDB_CONF_DEFAULT ")\n"
            "  -p socket  %s\n"
            "  -f         stay in the foreground and log to standard error\n"
            "  -d         debug logging\n"
            "  -t         check the configuration and the store, then exit\n"
            "  -V         print the version and exit\n",
            d->names.prog, d->socket_help);
}

/* SERVICE_RUN, or the exit status for -V, -h and usage errors. */
static int parse_args(service *s, int argc, char **argv)
{
    int ch, rc = SERVICE_RUN;

    while (rc == SERVICE_RUN && (ch = getopt(argc, argv, "c:p:fdtVh")) != -1) {
        switch (ch) {
        case 'c':
            s->config = optarg;
            s->config_given = 1;
            break;
        case 'p':
            s->socket = optarg;
            break;
        case 'f':
            s->foreground = 1;
            break;
        case 'd':
            s->debug = 1;
            break;
        case 't':
            s->test = 1;
            s->foreground = 1;
            break;
        case 'V':
            printf("%s %s\n", s->def->names.prog, AUTHGATE_VERSION);
            rc = 0;
            break;
        case 'h':
            usage(s->def, stdout);
            rc = 0;
            break;
        default:
            usage(s->def, stderr);
            rc = 2;
            break;
        }
    }
    if (rc == SERVICE_RUN && optind != argc) {
        usage(s->def, stderr);
        rc = 2;
    }
    return rc;
}

/* -t: the configuration loaded; can the store be opened the way the
 * daemon opens it? */
static int check_only(service *s)
{
    gen *g = runtime_acquire(s->rt);
    authdb *h = runtime_store(s->rt, g);
    int rc = h != NULL ? 0 : 1;

    if (h != NULL && s->def->check_authserv)
        authdb_logf(&s->lg, LOG_INFO, "configuration and store %s are usable (authserv-id %s)",
                    g->conf->store, g->authserv_id);
    else if (h != NULL)
        authdb_logf(&s->lg, LOG_INFO, "configuration and store %s are usable", g->conf->store);
    runtime_release(s->rt, g);
    return rc;
}

int service_start(service *s, const service_def *def, int argc, char **argv)
{
    authdb_conf *conf = NULL;
    int rc;

    memset(s, 0, sizeof(*s));
    s->def = def;
    s->config = AUTHDB_CONF_DEFAULT;
    s->ready_fd = s->pidfd = s->sigfd = -1;
    if ((rc = parse_args(s, argc, argv)) != SERVICE_RUN)
        goto out;
    authdb_log_init(&s->lg, def->names.prog, s->foreground, !s->foreground, s->debug);
    rc = 1;
    if (authdb_conf_load(s->config, !s->config_given, &conf, s->why, sizeof(s->why)) != AUTHDB_OK)
        goto fail;
    if (runtime_new(conf, &s->lg, &s->rt, s->why, sizeof(s->why)) != 0) {
        authdb_conf_free(conf);
        goto fail;
    }
    /* conf now belongs to the runtime's first generation; it stays pinned
     * so the boot values stay readable across reloads. */
    s->boot = runtime_acquire(s->rt);
    s->conf = conf;
    rc = s->test ? check_only(s) : SERVICE_RUN;
    goto out;
fail:
    authdb_logf(&s->lg, LOG_ERR, "%s", s->why);
    fprintf(stderr, "%s: %s\n", def->names.prog, s->why);
out:
    return rc;
}

int service_detach(service *s, int *status)
{
    int d = -1;

    if (s->def->no_core && daemon_no_core(s->why, sizeof(s->why)) != 0)
        goto out;
    d = 0;
    if (s->foreground)
        goto out;
    d = daemon_detach(&s->ready_fd, status, s->why, sizeof(s->why));
    if (d > 0 && *status != 0)
        fprintf(stderr, "%s: startup failed (see the mail log)\n", s->def->names.prog);
out:
    return d;
}

int service_pidfile(service *s, const char *path)
{
    s->pidfile = path;
    return daemon_pidfile(&s->def->names, path, &s->pidfd, s->why, sizeof(s->why));
}

int service_drop(service *s, const char *user, uid_t uid, gid_t gid)
{
    int rc = -1;

    if (daemon_drop(&s->def->names, user, uid, gid, s->why, sizeof(s->why)) != 0 ||
        (s->def->no_core && daemon_no_core(s->why, sizeof(s->why)) != 0))
        goto out;
    if (getuid() == 0)
        authdb_logf(&s->lg, LOG_WARNING, "running as root: set %s", s->def->names.user);
    rc = 0;
out:
    return rc;
}

int service_signals(service *s)
{
    struct sigaction sa;
    int p[2], rc = -1;

    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(s->why, sizeof(s->why), "pipe: %s", strerror(errno));
        goto out;
    }
    sigpipe_w = p[1];
    s->sigfd = p[0];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    rc = 0;
out:
    return rc;
}

static void reload(service *s)
{
    authdb_conf *c = NULL;
    char why[AUTHDB_WHY_MAX];

    if (authdb_conf_load(s->config, !s->config_given, &c, why, sizeof(why)) != AUTHDB_OK) {
        authdb_logf(&s->lg, LOG_ERR, "SIGHUP: %s; keeping the running configuration", why);
        goto out;
    }
    if (s->def->restart_changed(s->conf, c))
        authdb_logf(&s->lg, LOG_WARNING, "SIGHUP: %s change only on restart", s->def->restart_keys);
    if (runtime_reload(s->rt, c, why, sizeof(why)) != 0) {
        authdb_logf(&s->lg, LOG_ERR, "SIGHUP: %s; keeping the running configuration", why);
        authdb_conf_free(c);
        goto out;
    }
    authdb_logf(&s->lg, LOG_INFO, "SIGHUP: configuration %s reloaded", s->config);
out:
    return;
}

int service_on_signal(service *s, int sig)
{
    if (sig == SIGHUP)
        reload(s);
    return sig != SIGHUP;
}

void service_ready(service *s, const char *sock)
{
    gen *g = runtime_acquire(s->rt);

    runtime_store(s->rt, g); /* open now to log a problem early; retried later */
    runtime_release(s->rt, g);
    if (sock != NULL)
        authdb_logf(&s->lg, LOG_INFO, "%s %s ready on %s", s->def->names.prog, AUTHGATE_VERSION,
                    sock);
    daemon_ready(s->ready_fd);
    s->ready_fd = -1;
}

int service_fail(service *s)
{
    authdb_logf(&s->lg, LOG_ERR, "%s", s->why);
    if (s->foreground)
        fprintf(stderr, "%s: %s\n", s->def->names.prog, s->why);
    return 1;
}

void service_stop(service *s)
{
    if (s->ready_fd >= 0)
        close(s->ready_fd); /* the waiting parent sees failure */
    s->ready_fd = -1;
    daemon_pidfile_remove(s->pidfile, s->pidfd);
    s->pidfd = -1;
}

void service_free(service *s)
{
    service_stop(s);
    if (s->rt != NULL)
        runtime_release(s->rt, s->boot);
    runtime_free(s->rt);
    s->rt = NULL;
    s->boot = NULL;
}
