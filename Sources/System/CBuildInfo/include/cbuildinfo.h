/* Facts fixed when the binary was built, passed in by scripts/build. */
#ifndef CBUILDINFO_H
#define CBUILDINFO_H
/* The git commit the binary was built from, or "unknown". */
const char *catbench_build_commit(void);
#endif
