// Parsing of the human units the config file uses: "500ms", "2m", "16MiB".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corral {

/// Parses a duration: a non-negative number with one of the units ms, s, m,
/// h ("500ms", "1s", "1.5s", "2m"). Returns nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Parses a size: a non-negative integer with an optional unit B, KiB, MiB,
/// GiB, KB, MB or GB ("16MiB", "512KiB", "100"). Returns nullopt otherwise.
std::optional<uint64_t> parse_size(std::string_view text);

/// Renders a duration the way the config file writes it ("1s", "500ms").
std::string format_duration(std::chrono::milliseconds d);

/// Renders a byte count with the largest binary unit that divides it.
std::string format_size(uint64_t bytes);

} // namespace corral
