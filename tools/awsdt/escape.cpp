// Escaping (see escape.hpp).
#include "escape.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace awsdt::launcher {

std::string shell_quote(std::string_view value) {
  // Words made only of characters the shell never interprets stay bare, for readable scripts.
  if (!value.empty() && value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                                "_./:=@%+,-") == std::string_view::npos)
    return std::string(value);
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string json_quote(std::string_view value) {
  // ensure_ascii keeps non-ASCII as \u escapes: identical bytes on every platform; invalid UTF-8 is replaced.
  return nlohmann::json(std::string(value)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

void require_plain(std::string_view value, std::string_view what) {
  bool ok = !value.empty();
  for (unsigned char c : value)
    ok = ok && (std::isalnum(c) || std::string_view("._:/@+=,-").find(char(c)) != std::string_view::npos);
  if (!ok)
    throw UsageError(
        fmt::format("{} {} is not accepted here; use letters, digits and ._:/@+=,- only", what, json_quote(value)));
}

void require_env_name(std::string_view name) {
  bool ok = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (unsigned char c : name) ok = ok && (std::isalnum(c) || c == '_');
  if (!ok)
    throw UsageError(
        fmt::format("environment variable name {} is not valid; expected [A-Za-z_][A-Za-z0-9_]*", json_quote(name)));
}

}  // namespace awsdt::launcher
