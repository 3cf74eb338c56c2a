/* Forced in front of every source of the shared library (-include), which
 * is compiled with -fvisibility=hidden: the public header's declarations
 * are seen first, with default visibility, so the myr_ functions they
 * declare are exported and everything else stays internal. The header
 * itself then needs no export macro. */
#pragma GCC visibility push(default)
#include "myriad.h"
#pragma GCC visibility pop
