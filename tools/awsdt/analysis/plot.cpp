// Plots and the HTML report (see plot.hpp): data and a script in a temporary directory, then gnuplot.
#include "analysis/plot.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "analysis/compare.hpp"
#include "process.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;
namespace {

// The two figures drawn for a benchmark, the x axis, and whether it is logarithmic.
struct Layout {
  std::vector<std::pair<std::string, std::string>> figures;  // point name, axis title
  std::string x_title;
  bool log_x = false;
};

Layout layout_for(const std::string& benchmark) {
  if (benchmark == "collectives")
    return {{{"busbw", "bus bandwidth (GB/s)"}, {"algbw", "algorithm bandwidth (GB/s)"}}, "size (bytes)", true};
  if (benchmark == "fabric")
    return {{{"latency_p50_us", "median latency (us)"}, {"bandwidth_GBps", "bandwidth (GB/s)"}}, "size (bytes)", true};
  if (benchmark == "fsdp") return {{{"loss", "loss"}, {"tokens_per_s", "tokens/s"}}, "step", false};
  return {{{"t_us", "time (us)"}, {"overlap_efficiency", "overlap efficiency"}}, "M (rows)", true};
}

std::string escape_gnuplot(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (c == '\'' || c == '\\' || c == '_' || c == '^' || c == '@' || c == '&') ? std::string("\\") + c
                                                                                    : std::string(1, c);
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s)
    out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : std::string(1, c);
  return out;
}

// Writes one data file per (figure, run, series) and the plot commands that draw them.
std::string plot_commands(const std::vector<RunResult>& runs, const Layout& l, const fs::path& dir) {
  std::string script =
      fmt::format("set multiplot layout {},1\nset grid\nset key outside right top\n", l.figures.size());
  script += fmt::format("set xlabel '{}'\n", escape_gnuplot(l.x_title));
  if (l.log_x) script += "set logscale x 2\n";
  if (l.x_title == "size (bytes)") script += "set format x '%.0b%BB'\n";  // 1KiB, 64MiB: nccl-tests' powers of 2
  int file = 0;
  for (const auto& [name, title] : l.figures) {
    std::vector<std::string> lines;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      std::map<std::string, std::string> data;  // series -> "x y" lines
      for (const Point& p : runs[r].points)
        if (p.name == name) data[p.series] += fmt::format("{} {}\n", p.x, p.value);
      for (const auto& [series, rows] : data) {
        const fs::path f = dir / fmt::format("d{}.dat", file++);
        write_file_atomic(f.string(), rows);
        const std::string label = runs.size() > 1 ? fmt::format("run {}: {}", r + 1, series) : series;
        lines.push_back(fmt::format("'{}' using 1:2 with linespoints title '{}'", f.string(), escape_gnuplot(label)));
      }
    }
    if (lines.empty()) continue;
    script += fmt::format("set title '{}'\nset ylabel '{}'\nplot ", escape_gnuplot(title), escape_gnuplot(title));
    for (std::size_t i = 0; i < lines.size(); ++i) script += (i ? ", \\\n     " : "") + lines[i];
    script += "\n";
  }
  return script + "unset multiplot\n";
}

// Runs gnuplot on `runs` into `out` with `terminal`.
void draw(const std::vector<RunResult>& runs, const std::string& terminal, const std::string& out) {
  for (const RunResult& r : runs)
    if (r.benchmark != runs.front().benchmark)
      throw UsageError(fmt::format("{} is {} and {} is {}: plot runs of one benchmark together", runs.front().source,
                                   runs.front().benchmark, r.source, r.benchmark));
  char tmpl[] = "/tmp/awsdt-plot-XXXXXX";
  if (!::mkdtemp(tmpl)) throw Error("cannot create a temporary directory for gnuplot", __FILE__, __LINE__);
  const fs::path dir(tmpl);
  const std::string script = fmt::format("set terminal {} size 1000,800\nset output '{}'\n", terminal, out) +
                             plot_commands(runs, layout_for(runs.front().benchmark), dir);
  write_file_atomic((dir / "plot.gp").string(), script);
  const auto r = run_process({"gnuplot", (dir / "plot.gp").string()});
  fs::remove_all(dir);
  if (r.status != 0)
    throw UsageError(fmt::format("gnuplot failed ({}): {}{}",
                                 r.status == 127 ? "is gnuplot-nox installed?" : "exit " + std::to_string(r.status),
                                 r.err, r.out));
}

std::string svg_of(const std::vector<RunResult>& runs) {
  const std::string tmp = fmt::format("/tmp/awsdt-plot-{}.svg", ::getpid());
  draw(runs, "svg dynamic background rgb 'white'", tmp);
  std::string svg = read_file(tmp);
  fs::remove(tmp);
  return svg;
}

std::string html_table(const Table& t) {
  std::string out = "<table>\n<tr>";
  for (const auto& c : t.columns) out += "<th>" + html_escape(c) + "</th>";
  out += "</tr>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (const auto& c : row) out += "<td>" + html_escape(c) + "</td>";
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string html_page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
         "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style></head>\n<body>\n" +
         body + "</body></html>\n";
}

}  // namespace

void plot_runs(const std::vector<RunResult>& runs, const std::string& file) {
  const std::string ext = fs::path(file).extension().string();
  if (ext == ".svg") return draw(runs, "svg dynamic background rgb 'white'", file);
  if (ext == ".png") return draw(runs, "pngcairo", file);
  if (ext == ".html") return write_file_atomic(file, html_page("awsdt " + runs.front().benchmark, svg_of(runs)));
  throw UsageError(fmt::format("-o {}: the plot is written as .svg, .png or .html", file));
}

void write_report(const std::vector<RunResult>& runs, const std::string& file) {
  std::string body =
      "<h1>awsdt " + html_escape(runs.front().benchmark) + ": " + std::to_string(runs.size()) + " run(s)</h1>\n";
  Table origin{{"run", "source", "started", "ranks"}, {}};
  for (std::size_t i = 0; i < runs.size(); ++i)
    origin.rows.push_back(
        {std::to_string(i + 1), runs[i].source, runs[i].started_at, std::to_string(runs[i].world_size)});
  body += "<h2>Runs</h2>\n" + html_table(origin);
  Table versions{{"run", "component", "version"}, {}};
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (const auto& [name, v] : runs[i].versions) versions.rows.push_back({std::to_string(i + 1), name, v});
  body += "<h2>Versions</h2>\n" + html_table(versions);
  body += "<h2>Figures</h2>\n" + svg_of(runs) + "\n<h2>Comparison</h2>\n" + html_table(compare_table(runs));
  write_file_atomic(file, html_page("awsdt report", body));
}

}  // namespace awsdt::launcher
