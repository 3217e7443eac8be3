// Template loading and escaping-aware rendering (see templates.hpp).
#include "templates.hpp"

#include <fmt/format.h>

#include "escape.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {

// Generated at build time from architectures/ (see CMakeLists.txt).
extern const std::map<std::string, std::string>& embedded_templates();

namespace fs = std::filesystem;

TemplateSet TemplateSet::embedded() {
  TemplateSet t;
  t.files_ = embedded_templates();
  return t;
}

TemplateSet TemplateSet::from_directory(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw UsageError(fmt::format("--templates '{}' is not a directory", dir.string()));
  TemplateSet t;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".mustache") continue;
    auto rel = fs::relative(e.path(), dir).replace_extension("").generic_string();
    t.files_[rel] = read_file(e.path().string());
  }
  return t;
}

std::string TemplateSet::render(const std::string& name, const kainjow::mustache::data& data_in) const {
  auto it = files_.find(name);
  if (it == files_.end()) throw UsageError(fmt::format("template '{}.mustache' not found", name));
  kainjow::mustache::mustache tmpl{it->second};
  if (!tmpl.is_valid()) throw UsageError(fmt::format("template '{}.mustache': {}", name, tmpl.error_message()));
  bool shell = name.ends_with(".sh");
  tmpl.set_custom_escape([shell](const std::string& s) { return shell ? shell_quote(s) : json_quote(s); });
  kainjow::mustache::data data = data_in;
  for (const auto& [file, text] : files_) {
    auto base = fs::path(file).filename().string();
    if (base.find('.') != std::string::npos) continue;  // partials have no target extension
    const std::string* body = &text;
    data.set(base, kainjow::mustache::partial([body] { return *body; }));
  }
  auto out = tmpl.render(data);
  if (!tmpl.is_valid()) throw UsageError(fmt::format("template '{}.mustache': {}", name, tmpl.error_message()));
  return out;
}

}  // namespace awsdt::launcher
