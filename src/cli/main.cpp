// The `save` command line: one subcommand per job (see commands.hpp).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/flag_checks.hpp"
#include "core/error.hpp"

namespace {

// Errors are one line: names taken from a file (a value called "\n\n") are
// printed with their control bytes escaped.
void print_error(const char* what) {
  std::string line = "error: ";
  for (const char* p = what; *p != '\0'; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      line += buf;
    } else {
      line += static_cast<char>(c);
    }
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace

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
    print_error(e.what());
    return e.get_exit_code() != 0 ? e.get_exit_code() : 1;
  } catch (const save::Error& e) {
    print_error(e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
  return exit_code;
}
