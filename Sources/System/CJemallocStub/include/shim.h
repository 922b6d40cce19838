/*
 * Stand-in for <jemalloc/jemalloc.h> in sanitizer builds (CATBENCH_SANITIZE):
 * AddressSanitizer and ThreadSanitizer must own malloc, so jemalloc is not
 * linked; these answer "no such control" and catbench reports allocation
 * counts as not measured, exactly as it does on a system allocator.
 */
#ifndef CJEMALLOC_STUB_H
#define CJEMALLOC_STUB_H
#include <stddef.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

#endif
