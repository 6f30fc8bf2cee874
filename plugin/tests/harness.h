/*
 * harness.h - drive the real libsasl2 in-process for the plugin's tests and
 * benchmark: scratch configuration and plugin directories, init/done,
 * complete client<->server exchanges, sasl_checkpass, captured log lines.
 *
 * Plugins load from "<built plugin dirs>:<scratch dir>", the scratch dir
 * holding symlinks to every stock plugin of libsasl2's own directory except
 * any installed libauthgate (a second copy of the plugin would be a second
 * plugin instance opening the same store).  The built plugin directories
 * come from the environment variable AUTHGATE_PLUGIN_PATH (set by meson).
 * Configuration files are "<root>/conf/<app>.conf", found through a
 * SASL_CB_GETCONFPATH callback.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>

#include <sasl/sasl.h>

#define HARNESS_LOG_MAX 65536

typedef struct harness {
    char root[PATH_MAX];    /* scratch root (removed by harness_teardown) */
    char confdir[PATH_MAX]; /* <root>/conf */
    char plugdir[PATH_MAX]; /* <root>/plugins: symlinks to stock plugins */
    char store[PATH_MAX];   /* <root>/store: where tests create a store */
    char sasl_path[3 * PATH_MAX];
    pthread_mutex_t logmu;
    char log[HARNESS_LOG_MAX]; /* "level: text\n" lines, oldest dropped last */
    size_t loglen;
    int min_level; /* capture lines with level <= this */
    sasl_callback_t cbs[4];
    int active; /* between harness_init and harness_done */
} harness;

/* Make the scratch tree.  Returns 0 or -1 (with errno). */
int harness_setup(harness *h);
/* sasl_done if needed, remove the scratch tree. */
void harness_teardown(harness *h);

/* Write <confdir>/<app>.conf from a format (one "key: value" per line). */
int harness_conf(harness *h, const char *app, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sasl_server_init(app) and sasl_client_init with the harness callbacks.
 * Returns the SASL code. */
int harness_init(harness *h, const char *app);
/* sasl_done. */
void harness_done(harness *h);

/* One complete exchange of mech between a fresh client and a fresh server
 * connection ("smtp" service, server FQDN "mx.test", user_realm realm or
 * NULL).  authzid NULL or "" for none.  Returns the server's final code
 * (SASL_OK on success); *client_rc gets the client's last code if not
 * NULL.  *username gets the server's SASL_USERNAME on success (may be
 * NULL). */
int harness_auth(harness *h, const char *mech, const char *realm, const char *authid,
                 const char *authzid, const char *password, int *client_rc, char *username,
                 size_t usersz);

/* sasl_server_new + sasl_checkpass + sasl_dispose. */
int harness_checkpass(const char *realm, const char *user, const char *password);

/* Is text in the captured log?  Clear the log. */
int harness_logged(harness *h, const char *text);
void harness_log_clear(harness *h);

/* Run argv (argv[0] a path) with the harness's SASL_PATH / SASL_CONF_PATH
 * in the environment, feeding input on stdin; the exit status (or -1) is
 * returned and up to outsz-1 bytes of stdout+stderr land in out. */
int harness_run(harness *h, char *const argv[], const char *input, char *out, size_t outsz);

/* The external programs and stock plugins some tests need (Debian's
 * sasl2-bin and libsasl2-modules-db).  Returns NULL when all are present,
 * else the path of the first one missing. */
const char *harness_tools_missing(void);

#define HARNESS_SASLPASSWD2 "/usr/sbin/saslpasswd2"
#define HARNESS_VIEWER      "/usr/sbin/saslpluginviewer"

/* The directory of the stock plugins (pkg-config libdir/sasl2). */
#ifndef HARNESS_STOCK_PLUGINS
#define HARNESS_STOCK_PLUGINS "/usr/lib/x86_64-linux-gnu/sasl2"
#endif

#endif /* HARNESS_H */
