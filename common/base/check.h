// Invariant checks. CONFAB_CHECK guards conditions that cannot fail unless the
// process itself is broken (uv_loop_init, sodium_init): it aborts with a
// message in every build. CONFAB_DCHECK is assert(): debug builds only.
// Never check anything a peer or a file on disk can cause; return a Status.
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>

#define CONFAB_CHECK(cond)                                                          \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

#define CONFAB_DCHECK(cond) assert(cond)
