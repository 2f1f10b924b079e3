/* For every NAME@VERSION given on the command line, look the symbol up with
 * dlvsym(RTLD_DEFAULT, NAME, VERSION) (and NAME alone with dlsym for
 * "NAME@@VERSION", the default version) and print which object defines it:
 *     aio_read@@GLIBC_2.34 dlsym=libaio_shim.so dlvsym=libaio_shim.so
 * Used by ../check_resolve.sh. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const char *obj(void *p)
{
    Dl_info di;
    if (!p)
        return "NOT-FOUND";
    if (!dladdr(p, &di) || !di.dli_fname)
        return "UNKNOWN";
    const char *s = strrchr(di.dli_fname, '/');
    return s ? s + 1 : di.dli_fname;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s", argv[i]);
        char *at = strchr(name, '@');
        if (!at) {
            printf("%s dlsym=%s\n", argv[i], obj(dlsym(RTLD_DEFAULT, name)));
            continue;
        }
        int deflt = at[1] == '@';
        *at = 0;
        const char *ver = at + 1 + deflt;
        printf("%s", argv[i]);
        if (deflt)
            printf(" dlsym=%s", obj(dlsym(RTLD_DEFAULT, name)));
        printf(" dlvsym=%s\n", obj(dlvsym(RTLD_DEFAULT, name, ver)));
    }
    return 0;
}
