// The live dashboard the admin listener serves at "/", compiled in from dashboard.html.
#pragma once

#include <string_view>

namespace corral {

/// The complete app/dashboard.html (inline CSS and JavaScript, no external
/// resource), embedded at build time so corral serves it without files. It
/// polls /status (and /events) from the same origin; see docs/OBSERVABILITY.md.
std::string_view dashboard_html();

} // namespace corral
