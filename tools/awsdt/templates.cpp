// Template loading and escaping-aware rendering (see templates.hpp).
#include "templates.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "escape.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {

// Generated at build time from architectures/ (see CMakeLists.txt).
extern const std::map<std::string, std::string>& embedded_templates();

namespace fs = std::filesystem;
using kainjow::mustache::data;

namespace {

// Mustache renders a name it cannot resolve as nothing: a typo in a --templates file would submit
// `#SBATCH --nodes=` without a word. Walks the tags as the renderer resolves them (a section over a list makes its
// items' keys visible inside it) and returns the first name `data` does not define, or "".
class NameCheck {
 public:
  NameCheck(const data& top, const std::map<std::string, const std::string*>& partials) : partials_(partials) {
    scopes_.push_back({{&top}, false});
  }

  /// A partial found including itself (directly or through others): the check stops there.
  std::string recursive_partial;

  std::string first_undefined(const std::string& text) {
    for (auto open = text.find("{{"); open != std::string::npos; open = text.find("{{", open)) {
      bool triple = text.compare(open, 3, "{{{") == 0;
      auto close = text.find(triple ? "}}}" : "}}", open);
      if (close == std::string::npos) return "";  // kainjow has already refused malformed templates
      std::string tag = text.substr(open + (triple ? 3 : 2), close - open - (triple ? 3 : 2));
      open = close + (triple ? 3 : 2);
      char sigil = triple || tag.empty() ? 0 : tag[0];
      if (sigil == '!') continue;
      if (sigil == '=') return "";  // changed delimiters: not used by awsdt's templates, not checked
      auto name = trim(std::string_view(tag).substr(std::string_view("#^/>&").find(sigil) != std::string_view::npos));
      if (sigil == '/') {
        if (scopes_.size() > 1) scopes_.pop_back();
        continue;
      }
      if (sigil == '>') {
        auto it = partials_.find(name);
        if (it == partials_.end()) return "partial " + name;
        // Expanding a partial again inside itself would never end (and a partial included twice at every
        // level of a chain makes the walk exponential): a recursion is refused.
        if (std::find(chain_.begin(), chain_.end(), name) != chain_.end()) {
          recursive_partial = name;
          return "";
        }
        chain_.push_back(name);
        auto bad = first_undefined(*it->second);
        chain_.pop_back();
        if (!bad.empty() || !recursive_partial.empty()) return bad;
        continue;
      }
      const data* value = lookup(name);
      if (!value && name != "." && !open_scope()) return name;
      if (sigil == '#')
        push_section(value);
      else if (sigil == '^')
        scopes_.push_back({{}, false});
    }
    return "";
  }

 private:
  struct Scope {
    std::vector<const data*> objects;  ///< what names resolve against (every item of a list)
    bool open;                         ///< an empty list: its items' names cannot be known, nor checked
  };

  static std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
  }
  const data* lookup(const std::string& name) const {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope)
      for (const data* d : scope->objects)
        if (const data* v = d->get(name)) return v;
    return nullptr;
  }
  bool open_scope() const {
    return std::any_of(scopes_.begin(), scopes_.end(), [](const Scope& s) { return s.open; });
  }
  void push_section(const data* value) {
    Scope scope{{}, false};
    if (value && value->is_list()) {
      for (const auto& item : value->list_value()) scope.objects.push_back(&item);
      scope.open = value->list_value().empty();
    } else if (value && value->is_object()) {
      scope.objects.push_back(value);
    }
    scopes_.push_back(scope);
  }

  const std::map<std::string, const std::string*>& partials_;
  std::vector<Scope> scopes_;
  std::vector<std::string> chain_;  ///< the partials being expanded, outermost first
};

}  // namespace

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

std::vector<std::string> TemplateSet::names() const {
  std::vector<std::string> out;
  for (const auto& [name, text] : files_) out.push_back(name);
  return out;
}

std::string TemplateSet::render(const std::string& name, const kainjow::mustache::data& data_in) const {
  auto it = files_.find(name);
  if (it == files_.end()) throw UsageError(fmt::format("template '{}.mustache' not found", name));
  kainjow::mustache::mustache tmpl{it->second};
  if (!tmpl.is_valid()) throw UsageError(fmt::format("template '{}.mustache': {}", name, tmpl.error_message()));
  bool json = name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
  tmpl.set_custom_escape([json](const std::string& s) { return json ? json_quote(s) : shell_quote(s); });
  data data = data_in;
  std::map<std::string, const std::string*> partials;
  for (const auto& [file, text] : files_) {
    auto base = fs::path(file).filename().string();
    if (base.find('.') != std::string::npos) continue;  // partials have no target extension
    const std::string* body = &text;
    partials[base] = body;
    data.set(base, kainjow::mustache::partial([body] { return *body; }));
  }
  NameCheck check(data_in, partials);
  const auto bad = check.first_undefined(it->second);
  if (!check.recursive_partial.empty())
    throw UsageError(
        fmt::format("template '{}.mustache': partial '{}' includes itself", name, check.recursive_partial));
  if (!bad.empty())
    throw UsageError(
        fmt::format("template '{}.mustache' uses {}, which awsdt does not define for it; use the names "
                    "the built-in template uses",
                    name, bad.starts_with("partial ") ? bad : "{{" + bad + "}}"));
  auto out = tmpl.render(data);
  if (!tmpl.is_valid()) throw UsageError(fmt::format("template '{}.mustache': {}", name, tmpl.error_message()));
  return out;
}

}  // namespace awsdt::launcher
