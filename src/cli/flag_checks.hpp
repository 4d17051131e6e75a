// Flag values checked where they are parsed, with one sentence that names
// the flag: every subcommand's numeric flags get the same rules (a count,
// a seed, a tolerance), and --max-memory is added to every subcommand.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace save::cli {

// Attaches the checks to every subcommand of `app` that has the flags
// (call after the subcommands are added).
void add_flag_checks(CLI::App& app);

// `--flag -3` becomes `--flag=-3`: CLI11 otherwise reads "-3" as an option
// name or a positional and reports something unrelated ("At Most 1 required
// but received 2"), instead of the flag's own check.
std::vector<std::string> join_negative_values(int argc, char** argv);

}  // namespace save::cli
