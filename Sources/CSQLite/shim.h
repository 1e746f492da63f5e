#ifndef STACKREC_CSQLITE_SHIM_H
#define STACKREC_CSQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro that Swift cannot import: it tells
// sqlite3_bind_* to copy the bound bytes before returning.
static inline sqlite3_destructor_type stackrec_sqlite_transient(void) {
  return SQLITE_TRANSIENT;
}

#endif
