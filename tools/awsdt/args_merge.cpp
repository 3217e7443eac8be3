// Merging benchmark arguments (see args_merge.hpp).
#include "args_merge.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace awsdt::launcher {

namespace {

// An option, not a value: "-b", "--steps", "--steps=10"; "-1" and "-.5" are negative numbers.
bool is_option(const std::string& a) {
  if (a.size() < 2 || a[0] != '-') return false;
  return !(std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.');
}

std::string option_name(const std::string& a) { return a.substr(0, a.find('=')); }

// Leading positionals, then each option with the values that follow it.
struct Split {
  std::vector<std::string> positionals;
  std::vector<std::vector<std::string>> options;
};

Split split(const std::vector<std::string>& args) {
  Split s;
  for (const auto& a : args) {
    if (is_option(a))
      s.options.push_back({a});
    else if (s.options.empty())
      s.positionals.push_back(a);
    else
      s.options.back().push_back(a);
  }
  return s;
}

}  // namespace

std::vector<std::string> merge_args(const std::vector<std::string>& defaults, const std::vector<std::string>& user,
                                    const std::vector<std::string>& subcommands) {
  auto d = split(defaults);
  auto u = split(user);
  const bool other_subcommand = !u.positionals.empty() &&
                                std::ranges::find(subcommands, u.positionals.front()) != subcommands.end() &&
                                (d.positionals.empty() || d.positionals.front() != u.positionals.front());
  if (other_subcommand) d.options.clear();
  std::set<std::string> given;
  for (const auto& o : u.options) given.insert(option_name(o.front()));
  std::vector<std::string> out = u.positionals.empty() ? d.positionals : u.positionals;
  for (const auto& o : d.options)
    if (!given.count(option_name(o.front()))) out.insert(out.end(), o.begin(), o.end());
  for (const auto& o : u.options) out.insert(out.end(), o.begin(), o.end());
  return out;
}

}  // namespace awsdt::launcher
