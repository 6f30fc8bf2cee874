/*
 * harness.c - the real libsasl2, driven in-process (see harness.h).
 *
 * Interface: harness_setup, harness_teardown, harness_conf, harness_init,
 * harness_done, harness_auth, harness_checkpass, harness_logged,
 * harness_log_clear, harness_run, harness_tools_missing.
 *
 * Diagnostics: functions return codes; nothing is printed except by
 * harness_run's child when exec fails.
 */
#include <dirent.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* libsasl2 declares callback procs as int (*)(void); the real type depends
 * on the id.  The detour through void (*)(void) is the documented way to
 * say so to -Wcast-function-type. */
#define HARNESS_CB(f) ((int (*)(void))(void (*)(void))(f))

/* snprintf that fails instead of truncating. */
static int harness_fmt(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int harness_fmt(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int harness_getpath(void *ctx, const char **path)
{
    const harness *h = ctx;
    *path = h->sasl_path;
    return SASL_OK;
}

static int harness_getconfpath(void *ctx, char **path)
{
    harness *h = ctx;
    *path = h->confdir;
    return SASL_OK;
}

static int harness_logcb(void *ctx, int level, const char *message)
{
    harness *h = ctx;
    int n;

    if (level > h->min_level)
        return SASL_OK;
    pthread_mutex_lock(&h->logmu);
    n = snprintf(h->log + h->loglen, sizeof(h->log) - h->loglen, "%d: %s\n", level, message);
    if (n > 0 && (size_t)n < sizeof(h->log) - h->loglen)
        h->loglen += (size_t)n;
    pthread_mutex_unlock(&h->logmu);
    return SASL_OK;
}

/* Symlink every stock plugin except an installed libauthgate. */
static int harness_link_stock(harness *h)
{
    DIR *d = opendir(HARNESS_STOCK_PLUGINS);
    struct dirent *e;
    char src[PATH_MAX], dst[PATH_MAX];
    int rc = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".so") != 0 ||
            strncmp(e->d_name, "libauthgate", 11) == 0)
            continue;
        if (harness_fmt(src, sizeof(src), "%s/%s", HARNESS_STOCK_PLUGINS, e->d_name) != 0 ||
            harness_fmt(dst, sizeof(dst), "%s/%s", h->plugdir, e->d_name) != 0 ||
            symlink(src, dst) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int harness_setup(harness *h)
{
    const char *built = getenv("AUTHGATE_PLUGIN_PATH");
    const char *tmp = getenv("TMPDIR");
    int rc = -1;

    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->logmu, NULL);
    h->min_level = SASL_LOG_DEBUG;
    if (harness_fmt(h->root, sizeof(h->root), "%s/authgate-plugin-XXXXXX", tmp ? tmp : "/tmp") ||
        mkdtemp(h->root) == NULL)
        goto out;
    if (harness_fmt(h->confdir, sizeof(h->confdir), "%s/conf", h->root) ||
        harness_fmt(h->plugdir, sizeof(h->plugdir), "%s/plugins", h->root) ||
        harness_fmt(h->store, sizeof(h->store), "%s/store", h->root))
        goto out;
    if (mkdir(h->confdir, 0755) != 0 || mkdir(h->plugdir, 0755) != 0)
        goto out;
    if (harness_link_stock(h) != 0)
        goto out;
    if (harness_fmt(h->sasl_path, sizeof(h->sasl_path), "%s%s%s", built ? built : "",
                    built ? ":" : "", h->plugdir))
        goto out;
    h->cbs[0] = (sasl_callback_t){SASL_CB_GETPATH, HARNESS_CB(harness_getpath), h};
    h->cbs[1] = (sasl_callback_t){SASL_CB_GETCONFPATH, HARNESS_CB(harness_getconfpath), h};
    h->cbs[2] = (sasl_callback_t){SASL_CB_LOG, HARNESS_CB(harness_logcb), h};
    h->cbs[3] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
    rc = 0;
out:
    return rc;
}

static int harness_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

void harness_teardown(harness *h)
{
    if (h->active)
        harness_done(h);
    if (h->root[0] != '\0')
        nftw(h->root, harness_rm, 16, FTW_DEPTH | FTW_PHYS);
    pthread_mutex_destroy(&h->logmu);
}

int harness_conf(harness *h, const char *app, const char *fmt, ...)
{
    char path[PATH_MAX];
    va_list ap;
    FILE *f;
    int rc = 0;

    if (harness_fmt(path, sizeof(path), "%s/%s.conf", h->confdir, app) != 0)
        return -1;
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    va_start(ap, fmt);
    if (vfprintf(f, fmt, ap) < 0)
        rc = -1;
    va_end(ap);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int harness_init(harness *h, const char *app)
{
    int rc = sasl_server_init(h->cbs, app);

    if (rc == SASL_OK)
        rc = sasl_client_init(h->cbs);
    if (rc == SASL_OK)
        h->active = 1;
    return rc;
}

void harness_done(harness *h)
{
    sasl_done();
    h->active = 0;
}

/* ------------------------------------------------------------ client */

struct client {
    const char *authid;
    const char *authzid;
    sasl_secret_t *secret;
};

static int client_simple(void *ctx, int id, const char **result, unsigned *len)
{
    const struct client *c = ctx;
    const char *v = id == SASL_CB_AUTHNAME ? c->authid : (c->authzid ? c->authzid : "");

    *result = v;
    if (len != NULL)
        *len = (unsigned)strlen(v);
    return SASL_OK;
}

static int client_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    const struct client *c = ctx;
    (void)conn;
    (void)id;
    *psecret = c->secret;
    return SASL_OK;
}

static int client_realm(void *ctx, int id, const char **availrealms, const char **result)
{
    (void)ctx;
    (void)id;
    *result = availrealms != NULL && availrealms[0] != NULL ? availrealms[0] : "";
    return SASL_OK;
}

static void harness_secprops(sasl_conn_t *conn)
{
    sasl_security_properties_t sp;

    memset(&sp, 0, sizeof(sp));
    sp.maxbufsize = 0;
    sp.min_ssf = 0;
    sp.max_ssf = 0;
    sp.security_flags = 0;
    sasl_setprop(conn, SASL_SEC_PROPS, &sp);
}

int harness_auth(harness *h, const char *mech, const char *realm, const char *authid,
                 const char *authzid, const char *password, int *client_rc, char *username,
                 size_t usersz)
{
    struct client c = {authid, authzid, NULL};
    sasl_callback_t ccbs[] = {
        {SASL_CB_AUTHNAME, HARNESS_CB(client_simple), &c},
        {SASL_CB_USER, HARNESS_CB(client_simple), &c},
        {SASL_CB_PASS, HARNESS_CB(client_pass), &c},
        {SASL_CB_GETREALM, HARNESS_CB(client_realm), &c},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *s = NULL, *cl = NULL;
    const char *cout = NULL, *sout = NULL, *chosen = NULL;
    unsigned coutlen = 0, soutlen = 0;
    size_t pwlen = strlen(password);
    int crc = SASL_FAIL, srv = SASL_FAIL;

    (void)h;
    c.secret = calloc(1, sizeof(sasl_secret_t) + pwlen + 1);
    if (c.secret == NULL)
        goto out;
    c.secret->len = (unsigned long)pwlen;
    memcpy(c.secret->data, password, pwlen);
    srv = sasl_server_new("smtp", "mx.test", realm, NULL, NULL, NULL, 0, &s);
    if (srv != SASL_OK)
        goto out;
    crc = sasl_client_new("smtp", "mx.test", NULL, NULL, ccbs, 0, &cl);
    if (crc != SASL_OK)
        goto out;
    harness_secprops(s);
    harness_secprops(cl);
    crc = sasl_client_start(cl, mech, NULL, &cout, &coutlen, &chosen);
    if (crc != SASL_OK && crc != SASL_CONTINUE) {
        srv = SASL_FAIL;
        goto out;
    }
    srv = sasl_server_start(s, mech, cout, coutlen, &sout, &soutlen);
    while (srv == SASL_CONTINUE) {
        crc = sasl_client_step(cl, sout, soutlen, NULL, &cout, &coutlen);
        if (crc != SASL_OK && crc != SASL_CONTINUE) {
            srv = SASL_FAIL;
            break;
        }
        srv = sasl_server_step(s, cout, coutlen, &sout, &soutlen);
    }
    if (srv == SASL_OK && username != NULL) {
        const char *u = NULL;
        if (sasl_getprop(s, SASL_USERNAME, (const void **)&u) == SASL_OK && u != NULL)
            snprintf(username, usersz, "%s", u);
    }
out:
    if (client_rc != NULL)
        *client_rc = crc;
    sasl_dispose(&cl);
    sasl_dispose(&s);
    if (c.secret != NULL) {
        explicit_bzero(c.secret, sizeof(sasl_secret_t) + pwlen + 1);
        free(c.secret);
    }
    return srv;
}

int harness_checkpass(const char *realm, const char *user, const char *password)
{
    sasl_conn_t *s = NULL;
    int rc = sasl_server_new("smtp", "mx.test", realm, NULL, NULL, NULL, 0, &s);

    if (rc == SASL_OK)
        rc = sasl_checkpass(s, user, (unsigned)strlen(user), password, (unsigned)strlen(password));
    sasl_dispose(&s);
    return rc;
}

int harness_logged(harness *h, const char *text)
{
    int found;

    pthread_mutex_lock(&h->logmu);
    h->log[h->loglen] = '\0';
    found = strstr(h->log, text) != NULL;
    pthread_mutex_unlock(&h->logmu);
    return found;
}

void harness_log_clear(harness *h)
{
    pthread_mutex_lock(&h->logmu);
    h->loglen = 0;
    h->log[0] = '\0';
    pthread_mutex_unlock(&h->logmu);
}

/* In a sanitizer build the plugin carries ASan/UBSan references: a tool
 * that loads it must have the same runtimes preloaded (and leak checking
 * off: the tools are not ours).  Collect the runtime paths this process
 * has loaded, and libcrypt's: ASan intercepts crypt_r and resolves the
 * real one at startup, before the plugin would bring libcrypt in. */
struct harness_preload {
    char list[2 * PATH_MAX];
};

static int harness_find_runtime(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct harness_preload *p = arg;
    const char *name = info->dlpi_name;
    size_t used = strlen(p->list);

    (void)size;
    if (name != NULL &&
        (strstr(name, "/libasan.so") != NULL || strstr(name, "/libubsan.so") != NULL ||
         strstr(name, "/libcrypt.so") != NULL) &&
        used + strlen(name) + 2 < sizeof(p->list))
        snprintf(p->list + used, sizeof(p->list) - used, "%s%s", used ? ":" : "", name);
    return 0;
}

int harness_run(harness *h, char *const argv[], const char *input, char *out, size_t outsz)
{
    int in[2] = {-1, -1}, res[2] = {-1, -1};
    char envpath[sizeof(h->sasl_path) + 16], envconf[PATH_MAX + 32];
    char envpre[sizeof(struct harness_preload) + 16];
    char *envp[] = {envpath, envconf, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL, NULL};
    struct harness_preload pre = {{0}};
    size_t got = 0;
    ssize_t n;
    pid_t pid;
    int status, rc = -1;

    if (harness_fmt(envpath, sizeof(envpath), "SASL_PATH=%s", h->sasl_path) ||
        harness_fmt(envconf, sizeof(envconf), "SASL_CONF_PATH=%s", h->confdir))
        goto out;
    dl_iterate_phdr(harness_find_runtime, &pre);
    if (strstr(pre.list, "/libasan.so") != NULL || strstr(pre.list, "/libubsan.so") != NULL) {
        if (harness_fmt(envpre, sizeof(envpre), "LD_PRELOAD=%s", pre.list))
            goto out;
        envp[3] = envpre;
        envp[4] = "ASAN_OPTIONS=detect_leaks=0";
    }
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(res, O_CLOEXEC) != 0)
        goto out;
    pid = fork();
    if (pid < 0)
        goto out;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(res[1], 1);
        dup2(res[1], 2);
        execve(argv[0], argv, envp);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    in[0] = -1;
    close(res[1]);
    res[1] = -1;
    if (input != NULL && write(in[1], input, strlen(input)) < 0)
        goto wait;
    close(in[1]);
    in[1] = -1;
    while (outsz > 0 && (n = read(res[0], out + got, outsz - 1 - got)) > 0)
        got += (size_t)n;
wait:
    if (outsz > 0)
        out[got] = '\0';
    if (waitpid(pid, &status, 0) == pid)
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
out:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (res[i] >= 0)
            close(res[i]);
    }
    return rc;
}

const char *harness_tools_missing(void)
{
    static const char *const need[] = {HARNESS_SASLPASSWD2, HARNESS_VIEWER,
                                       HARNESS_STOCK_PLUGINS "/libsasldb.so"};
    const char *missing = NULL;
    size_t i;

    for (i = 0; i < sizeof(need) / sizeof(need[0]) && missing == NULL; i++) {
        if (access(need[i], F_OK) != 0)
            missing = need[i];
    }
    return missing;
}
