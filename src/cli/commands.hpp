// Each subcommand registers itself on the app; its callback stores the exit
// code in `exit_code`. Errors are thrown as save::Error and printed by main.
#pragma once

#include <CLI/CLI.hpp>

namespace save::cli {

void add_run_command(CLI::App& app, int& exit_code);
void add_conformance_command(CLI::App& app, int& exit_code);
void add_inject_command(CLI::App& app, int& exit_code);
void add_sweep_command(CLI::App& app, int& exit_code);
void add_analyze_command(CLI::App& app, int& exit_code);
void add_eval_command(CLI::App& app, int& exit_code);

}  // namespace save::cli
