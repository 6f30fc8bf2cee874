/*
 * options.c - the plugin's settings, read once per plugin instance.
 *
 * Interface: options_load, options_bool, options_lists_plugin.
 *
 * Options come from the application's SASL configuration (smtpd.conf,
 * Sendmail.conf, exim.conf, saslpasswd.conf) through libsasl's getopt; the
 * keys are fixed in a table:
 *
 *   authgate_store     store directory (absolute; default /var/lib/authgate)
 *   authgate_writable  yes|no: sasl_setpass and saslpasswd2 may write
 *                      (default no: the store probe fails)
 *
 * The plugin is "active" for an application that sets authgate_store or
 * lists authgate in auxprop_plugin.  Every SASL server on the host loads
 * every plugin in the plugin directory, so an inactive plugin must change
 * nothing for applications that use another auxprop plugin.
 *
 * Diagnostics: never logs; a bad value is described in options.error and
 * makes the plugin fail closed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plugin_private.h"

int options_bool(const char *v)
{
    static const char *const yes[] = {"1", "y", "yes", "t", "true", "on"};
    static const char *const no[] = {"0", "n", "no", "f", "false", "off"};
    int r = -1;
    size_t i;

    if (v == NULL)
        goto out;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0)
            r = 1;
        if (strcasecmp(v, no[i]) == 0)
            r = 0;
    }
out:
    return r;
}

int options_lists_plugin(const char *list)
{
    size_t want = strlen(OPTIONS_NAME);
    const char *p = list;
    int found = 0;

    while (p != NULL && *p != '\0' && !found) {
        size_t n;

        p += strspn(p, " \t");
        n = strcspn(p, " \t");
        if (n == want && strncasecmp(p, OPTIONS_NAME, n) == 0)
            found = 1;
        p += n;
    }
    return found;
}

static void options_error(options *o, const char *key, const char *problem)
{
    if (o->error[0] == '\0')
        snprintf(o->error, sizeof(o->error), "option %s: %s", key, problem);
}

void options_load(options_get_fn get, void *arg, options *out)
{
    char plugins[256];
    char writable[16];
    int has_store, has_plugins, has_writable, w = 0;

    memset(out, 0, sizeof(*out));
    has_store = get(arg, OPTIONS_KEY_STORE, out->store, sizeof(out->store));
    has_plugins = get(arg, OPTIONS_KEY_PLUGINS, plugins, sizeof(plugins));
    has_writable = get(arg, OPTIONS_KEY_WRITABLE, writable, sizeof(writable));

    out->active = has_store != 0 || (has_plugins == 1 && options_lists_plugin(plugins));
    if (has_store == 0)
        snprintf(out->store, sizeof(out->store), "%s", OPTIONS_DEFAULT_STORE);
    if (has_store < 0)
        options_error(out, OPTIONS_KEY_STORE, "path too long");
    else if (out->store[0] != '/')
        options_error(out, OPTIONS_KEY_STORE, "must be an absolute directory path");
    if (has_plugins < 0)
        options_error(out, OPTIONS_KEY_PLUGINS, "value too long");

    if (has_writable == 1)
        w = options_bool(writable);
    if (has_writable < 0 || w < 0)
        options_error(out, OPTIONS_KEY_WRITABLE, "must be yes or no");
    out->writable = w == 1;
}
