#ifndef STACKREC_CZLIB_SHIM_H
#define STACKREC_CZLIB_SHIM_H

#include <zlib.h>

// inflateInit2 is a macro that passes the library version and the stream
// size; Swift cannot import macros that take arguments.
static inline int stackrec_inflate_init2(z_streamp stream, int window_bits) {
  return inflateInit2(stream, window_bits);
}

// deflateInit2 is a macro for the same reason.
static inline int stackrec_deflate_init2(
    z_streamp stream, int level, int method, int window_bits, int memory_level,
    int strategy) {
  return deflateInit2(stream, level, method, window_bits, memory_level, strategy);
}

#endif
