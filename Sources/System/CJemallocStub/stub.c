#include <errno.h>
#include "shim.h"

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
    (void)name;
    (void)oldp;
    (void)oldlenp;
    (void)newp;
    (void)newlen;
    return ENOENT;
}

int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) {
    (void)name;
    (void)mibp;
    (void)miblenp;
    return ENOENT;
}

int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
    (void)mib;
    (void)miblen;
    (void)oldp;
    (void)oldlenp;
    (void)newp;
    (void)newlen;
    return ENOENT;
}
