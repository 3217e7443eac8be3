// Logger set-up (see log.hpp).
#include "util/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "util/error.hpp"

namespace awsdt {

void setup_logging(int rank, bool verbose) {
  auto logger = spdlog::stderr_color_mt("awsdt");
  logger->set_pattern(rank < 0 ? "[%^%l%$] %v" : fmt::format("[%^%l%$] [rank {}] %v", rank));
  logger->set_level(verbose ? spdlog::level::debug : (rank <= 0 ? spdlog::level::info : spdlog::level::warn));
  spdlog::set_default_logger(logger);
}

}  // namespace awsdt
