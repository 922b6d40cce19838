#include "cbuildinfo.h"

#ifndef CATBENCH_COMMIT
#define CATBENCH_COMMIT "unknown"
#endif

const char *catbench_build_commit(void) { return CATBENCH_COMMIT; }
