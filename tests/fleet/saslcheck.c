/*
 * saslcheck.c - fleet-saslcheck: a long-lived libsasl2 server with the
 * authgate auxprop plugin, answering password checks read from standard
 * input, so a test can show that one running SASL consumer sees changes
 * the sync brings, without a restart.
 *
 * usage: fleet-saslcheck PLUGIN_DIR STORE
 * Input lines "LOGIN PASSWORD"; output one line each: "OK", "NO" (wrong
 * password or unknown login) or "TEMP <sasl code>".  The SASL
 * configuration (pwcheck_method auxprop, auxprop_plugin authgate,
 * authgate_store STORE) is given by callback, the plugin directory by
 * SASL_CB_GETPATH: nothing is read from /etc.  The store must derive the
 * legacy PLAIN secret (mechanisms include PLAIN) for auxprop checkpass.
 */
#include <sasl/sasl.h>
#include <stdio.h>
#include <string.h>

#define CB(f) ((int (*)(void))(void (*)(void))(f))

struct ctx {
    const char *plugdir, *store;
};

static int cb_getpath(void *c, const char **path)
{
    *path = ((struct ctx *)c)->plugdir;
    return SASL_OK;
}

static int cb_getopt(void *c, const char *plugin, const char *option, const char **result,
                     unsigned *len)
{
    struct ctx *x = c;

    (void)plugin;
    *result = NULL;
    if (strcmp(option, "pwcheck_method") == 0)
        *result = "auxprop";
    else if (strcmp(option, "auxprop_plugin") == 0)
        *result = "authgate";
    else if (strcmp(option, "authgate_store") == 0)
        *result = x->store;
    if (*result != NULL && len != NULL)
        *len = (unsigned)strlen(*result);
    return *result != NULL ? SASL_OK : SASL_FAIL;
}

int main(int argc, char **argv)
{
    struct ctx x;
    sasl_callback_t cbs[3];
    sasl_conn_t *conn = NULL;
    char line[1024];
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: fleet-saslcheck PLUGIN_DIR STORE\n");
        return 2;
    }
    x.plugdir = argv[1];
    x.store = argv[2];
    cbs[0] = (sasl_callback_t){SASL_CB_GETPATH, CB(cb_getpath), &x};
    cbs[1] = (sasl_callback_t){SASL_CB_GETOPT, CB(cb_getopt), &x};
    cbs[2] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
    if ((rc = sasl_server_init(cbs, "fleet")) != SASL_OK ||
        (rc = sasl_server_new("smtp", "node.test", NULL, NULL, NULL, NULL, 0, &conn)) != SASL_OK) {
        fprintf(stderr, "fleet-saslcheck: libsasl2 init failed: %d\n", rc);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *sp = strchr(line, ' ');
        line[strcspn(line, "\n")] = '\0';
        if (sp == NULL) {
            puts("TEMP bad-input");
            continue;
        }
        *sp++ = '\0';
        rc = sasl_checkpass(conn, line, (unsigned)strlen(line), sp, (unsigned)strlen(sp));
        if (rc == SASL_OK)
            puts("OK");
        else if (rc == SASL_BADAUTH || rc == SASL_NOUSER)
            puts("NO");
        else
            printf("TEMP %d\n", rc);
    }
    sasl_dispose(&conn);
    sasl_server_done();
    return 0;
}
