// The `save` command line: one subcommand per job (see commands.hpp).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::bad_alloc&) {
    return save::dist::exit_with_error(save::Error("out of memory"));
  } catch (const std::exception& e) {
    // save::Error and the rest; under mpirun also stops the other ranks.
    return save::dist::exit_with_error(e);
  }
  save::dist::finalize();
  return exit_code;
}
