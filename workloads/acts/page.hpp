// The web page served at "/", compiled into the binary from page.html.
#pragma once

#include <string_view>

namespace acts {

/// The complete page.html (inline CSS and JavaScript), embedded at build time
/// so the FROM-scratch image needs no files besides the binary.
std::string_view page_html();

} // namespace acts
