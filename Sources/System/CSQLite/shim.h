// Debian's SQLite (libsqlite3-dev): libsqlite3.a in the static release
// build, which needs libm beside it.
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import.
static inline void (*catbench_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
