// GoogleTest printers for the runtime's enums: a failed EXPECT_EQ on an error
// code or a container status names both values ("engine_error" vs
// "not_found") instead of dumping them as "1-byte object <05>".
#pragma once

#include "runtime/container_runtime.hpp"

#include <ostream>

namespace corral {

/// Prints `code` by its name; GoogleTest finds it by argument-dependent lookup.
inline void PrintTo(runtime_errc code, std::ostream* out) {
  *out << to_string(code);
}

/// Prints `status` by the engine's word for it.
inline void PrintTo(container_status status, std::ostream* out) {
  *out << to_string(status);
}

} // namespace corral
