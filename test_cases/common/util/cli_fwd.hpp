// CLI11's types for headers that only name them (add_options(CLI::App&) and the like). CLI/CLI.hpp is header-only
// and costs seconds per translation unit, so only the files that define or parse flags include it.
#pragma once

namespace CLI {
class App;
class Validator;
}  // namespace CLI
