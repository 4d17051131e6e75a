// The `save` command line: one subcommand per job.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"SAVE: fault-tolerant neural-network inference"};
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const save::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
