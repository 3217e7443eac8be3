// The text exposition format's reader (see text_format.hpp).
#include "text_format.hpp"

#include <cctype>
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

namespace awsdt::exporter {
namespace {

using prometheus::MetricType;

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
struct Described {
  std::string help;
  MetricType type = MetricType::Untyped;
};

bool name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

std::size_t read_name(const std::string& s, std::size_t i) {
  const std::size_t start = i;
  while (i < s.size() && name_char(s[i], i == start)) ++i;
  return i;
}

// `{a="x",b="y\"z"}` from s[i] == '{'; returns the index after '}' or npos when malformed.
std::size_t read_labels(const std::string& s, std::size_t i, std::map<std::string, std::string>& labels) {
  ++i;
  while (i < s.size() && s[i] != '}') {
    const std::size_t end = read_name(s, i);
    if (end == i || end + 1 >= s.size() || s[end] != '=' || s[end + 1] != '"') return std::string::npos;
    std::string key = s.substr(i, end - i), value;
    for (i = end + 2; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] != '\\') {
        value += s[i];
        continue;
      }
      if (++i == s.size()) return std::string::npos;
      value += s[i] == 'n' ? '\n' : s[i];
    }
    if (i == s.size()) return std::string::npos;
    labels[key] = value;
    ++i;
    if (i < s.size() && s[i] == ',') ++i;
  }
  return i < s.size() ? i + 1 : std::string::npos;
}

// "name{labels} value [timestamp]"; "" on success, else why not.
std::string read_sample(const std::string& line, Sample& out) {
  std::size_t i = read_name(line, 0);
  if (i == 0) return "no metric name";
  out.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{' && (i = read_labels(line, i, out.labels)) == std::string::npos)
    return "malformed labels";
  std::istringstream rest(line.substr(i));
  std::string value, timestamp, extra;
  if (!(rest >> value)) return "no value";
  rest >> timestamp >> extra;
  char* end = nullptr;
  out.value = std::strtod(value.c_str(), &end);
  if (*end != '\0' || !extra.empty()) return fmt::format("bad value '{}'", value);
  return "";
}

MetricType type_named(const std::string& t) {
  if (t == "counter") return MetricType::Counter;
  if (t == "gauge") return MetricType::Gauge;
  return MetricType::Untyped;  // summaries and histograms are re-served as their untyped samples
}

}  // namespace

std::string parse_text_format(const std::string& text, FamilySet& out) {
  std::map<std::string, Described> described;
  std::vector<Sample> samples;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string kind, name, rest;
      words >> kind >> name;
      std::getline(words >> std::ws, rest);
      if (kind == "HELP") described[name].help = rest;
      if (kind == "TYPE") described[name].type = type_named(rest);
      continue;
    }
    Sample s;
    if (auto why = read_sample(line, s); !why.empty()) return fmt::format("line {}: {}", number, why);
    samples.push_back(std::move(s));
  }
  for (auto& s : samples) {
    const Described& d = described[s.name];
    out.add(s.name, d.help, d.type, std::move(s.labels), s.value);
  }
  return "";
}

}  // namespace awsdt::exporter
