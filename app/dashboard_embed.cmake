# Turns dashboard.html into a C++ source file, so the corral binary serves its
# dashboard without files. Run at build time (app/CMakeLists.txt) as:
#   cmake -DINPUT=dashboard.html -DOUTPUT=dashboard.cpp -P dashboard_embed.cmake
# Hex bytes rather than a raw string literal, as workloads/acts/embed.cmake
# does: no delimiter can clash with what the page holds (its JavaScript is
# free to contain `)"`), and no compiler string-length limit applies.
file(READ "${INPUT}" hex HEX)
if(hex STREQUAL "")
  message(FATAL_ERROR "${INPUT} is empty")
endif()
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE "${OUTPUT}"
  "// Generated from app/dashboard.html by app/dashboard_embed.cmake: do not edit.\n"
  "#include \"app/dashboard.hpp\"\n\n"
  "namespace corral {\n\n"
  "namespace {\n"
  "constexpr char dashboard_bytes[] = {${bytes}'\\0'};\n"
  "} // namespace\n\n"
  "std::string_view dashboard_html() {\n"
  "  return {dashboard_bytes, sizeof dashboard_bytes - 1};\n"
  "}\n\n"
  "} // namespace corral\n")
