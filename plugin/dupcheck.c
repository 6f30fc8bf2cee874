/*
 * dupcheck.c - is another copy of this plugin already loaded in the
 * process?
 *
 * Interface: dupcheck_earlier.
 *
 * libsasl2 dlopens every *.so of every directory in its plugin path.  When
 * two directories hold a libauthgate.so (an installed one in libsasl2's
 * directory and a build copy added with SASL_PATH=dir:sysdir, say), both
 * files are loaded -- the dynamic loader merges objects by file, not by
 * name -- and both are initialized: two plugin instances, each with its own
 * handle on the same LMDB environment, which LMDB forbids in one process
 * (closing one handle drops the other's POSIX locks).  The plugin's init
 * asks dupcheck_earlier whether an object with its own file name was
 * loaded before the one holding its code; if so, that earlier copy is the
 * plugin of this process (libsasl2 loads the plugin path in order, so the
 * first directory wins) and this one stays inert.
 *
 * The same file reached twice (a directory listed twice, a symlink) is one
 * loaded object, which this check cannot tell from one copy; libsasl2 then
 * initializes it twice.  Keep the plugin path free of such repeats.
 *
 * Diagnostics: none; the result says what was found.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plugin_private.h"

struct dupcheck_walk {
    uintptr_t self;       /* an address inside this copy's code */
    const char *basename; /* this copy's file name, without directories */
    const char *other;    /* the earlier copy's path, when found */
    int found;
};

static const char *dupcheck_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

/* Does the object described by info contain the address a? */
static int dupcheck_contains(const struct dl_phdr_info *info, uintptr_t a)
{
    int yes = 0;

    for (ElfW(Half) i = 0; i < info->dlpi_phnum && !yes; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t start = (uintptr_t)info->dlpi_addr + p->p_vaddr;

        if (p->p_type == PT_LOAD && a >= start && a - start < p->p_memsz)
            yes = 1;
    }
    return yes;
}

/* dl_iterate_phdr visits the objects in load order: stop at this copy
 * (1), or at an earlier object of the same file name (found, 1). */
static int dupcheck_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct dupcheck_walk *w = arg;
    const char *name = info->dlpi_name;
    int stop = 0;

    (void)size;
    if (dupcheck_contains(info, w->self)) {
        stop = 1;
    } else if (name != NULL && name[0] != '\0' &&
               strcmp(dupcheck_basename(name), w->basename) == 0) {
        w->other = name;
        w->found = 1;
        stop = 1;
    }
    return stop;
}

int dupcheck_earlier(const void *self, char *other, size_t othersz)
{
    struct dupcheck_walk w;
    Dl_info di;
    int r = -1;

    memset(&w, 0, sizeof(w));
    if (other != NULL && othersz > 0)
        other[0] = '\0';
    if (dladdr(self, &di) == 0 || di.dli_fname == NULL || di.dli_fname[0] == '\0')
        goto out;
    w.self = (uintptr_t)self;
    w.basename = dupcheck_basename(di.dli_fname);
    dl_iterate_phdr(dupcheck_visit, &w);
    r = w.found;
    if (w.found && other != NULL && othersz > 0)
        snprintf(other, othersz, "%s", w.other);
out:
    return r;
}
