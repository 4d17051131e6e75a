// The `save` command line: one subcommand per job (see commands.hpp).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/flag_checks.hpp"
#include "core/error.hpp"
#include "dist/world.hpp"

int main(int argc, char** argv) {
  CLI::App app{"SAVE: fault-tolerant neural-network inference"};
  app.require_subcommand(1);
  int exit_code = 0;
  save::cli::add_run_command(app, exit_code);
  save::cli::add_conformance_command(app, exit_code);
  save::cli::add_inject_command(app, exit_code);
  save::cli::add_sweep_command(app, exit_code);
  save::cli::add_analyze_command(app, exit_code);
  save::cli::add_eval_command(app, exit_code);
  save::cli::add_flag_checks(app);
  std::vector<std::string> args = save::cli::join_negative_values(argc, argv);
  std::vector<const char*> argp;
  for (const std::string& a : args) argp.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argp.size()), argp.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error (CLI11 adds a "Run with --help" line).
    std::fprintf(stderr, "error: %s\n", save::one_line(e.what()).c_str());
    return e.get_exit_code() != 0 ? e.get_exit_code() : 1;
  } catch (const std::bad_alloc&) {
    return save::dist::exit_with_error(save::Error("out of memory"));
  } catch (const std::exception& e) {
    // save::Error and the rest, as one line; under mpirun also stops the
    // other ranks.
    return save::dist::exit_with_error(e);
  }
  save::dist::finalize();
  return exit_code;
}
