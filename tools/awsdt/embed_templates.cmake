# Writes OUTPUT: a C++ source holding every architectures/**/*.mustache as a string, keyed by relative name
# without the .mustache suffix. Run at build time (script mode) so template edits rebuild awsdt.
file(GLOB_RECURSE templates RELATIVE "${ARCH_DIR}" "${ARCH_DIR}/*.mustache")
list(SORT templates)
set(body "")
foreach(t IN LISTS templates)
  file(READ "${ARCH_DIR}/${t}" text)
  string(REGEX REPLACE "\\.mustache$" "" key "${t}")
  string(APPEND body "      {\"${key}\", R\"awsdt_tmpl(${text})awsdt_tmpl\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from architectures/ by embed_templates.cmake; do not edit.\n#include <map>\n#include <string>\n\nnamespace awsdt::launcher {\nconst std::map<std::string, std::string>& embedded_templates() {\n  static const std::map<std::string, std::string> files{\n${body}  };\n  return files;\n}\n}  // namespace awsdt::launcher\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
