// Benchmark arguments after `--` merged onto the test case's defaults flag by flag: `-- --steps 10` changes the
// steps and keeps the model, `-- -b 1M -e 1G` keeps `-f 2`. Replacing the whole list silently ran other models
// and 1,024 sizes.
#pragma once

#include <string>
#include <vector>

namespace awsdt::launcher {

/// `defaults` with every option the user gave removed (with its values), then the user's arguments; the user's
/// leading positionals (a collective's name) replace the defaults' leading ones. An option spelled differently
/// (`--minbytes` for `-b`) stays twice, and the executable's parser takes the last one (its own check of the
/// merged line runs before the job is submitted). When the user's first positional is one of `subcommands` and not
/// the defaults' first, the defaults' options (another subcommand's) are dropped.
std::vector<std::string> merge_args(const std::vector<std::string>& defaults, const std::vector<std::string>& user,
                                    const std::vector<std::string>& subcommands = {});

}  // namespace awsdt::launcher
