# Turns page.html into a C++ source file, so the acts binary carries its page.
# Run as: cmake -DINPUT=page.html -DOUTPUT=page.cpp -P embed.cmake
# Hex bytes rather than a raw string literal: no delimiter can clash with the
# page's content, and no compiler string-length limit applies.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE "${OUTPUT}"
  "// Generated from page.html by embed.cmake: do not edit.\n"
  "#include \"workloads/acts/page.hpp\"\n\n"
  "namespace acts {\n\n"
  "namespace {\n"
  "constexpr char page_bytes[] = {${bytes}'\\0'};\n"
  "} // namespace\n\n"
  "std::string_view page_html() {\n"
  "  return {page_bytes, sizeof page_bytes - 1};\n"
  "}\n\n"
  "} // namespace acts\n")
