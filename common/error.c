/* error.c - the BOUNCER_ERROR domain. */
#include "common/error.h"

G_DEFINE_QUARK(bouncer-error-quark, bouncer_error)
