// Escaping of user-typed values for the files the launcher renders: no value can change a file's structure.
#pragma once

#include <string>
#include <string_view>

namespace awsdt::launcher {

/// A shell word: bare when only [A-Za-z0-9_./:=@%+,-], else single-quoted ('it'\''s'; safe for every byte).
std::string shell_quote(std::string_view value);
/// A JSON string literal, quotes included; also a valid YAML scalar.
std::string json_quote(std::string_view value);
/// Throws UsageError unless `value` matches [A-Za-z0-9._:/@+=,-]+: for places with no quoting (e.g. #SBATCH
/// directives, Kubernetes names), naming `what` and the accepted characters.
void require_plain(std::string_view value, std::string_view what);
/// Throws UsageError unless `name` is a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*).
void require_env_name(std::string_view name);

}  // namespace awsdt::launcher
