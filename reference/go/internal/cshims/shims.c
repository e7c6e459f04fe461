// The C shims shared with the Rust column: cgo compiles only .c files in
// the package directory, so this file pulls in the one source of truth.
#include "../../../../c-shims/src/shims.c"
