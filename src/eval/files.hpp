// Result files that survive a kill: whole files are written to a temporary
// name in the same folder and renamed into place (readers never see half a
// file), and log lines are appended with one write() and an fsync so a
// finished trial is on disk before the next one starts.
#pragma once

#include <string>

namespace save::eval {

// Writes `text` to `path` atomically (tmp + fsync + rename). Throws Error.
void write_file_atomic(const std::string& path, const std::string& text);
// Appends `line` (must end in '\n') to `path` and fsyncs. Throws Error.
void append_line_durable(const std::string& path, const std::string& line);
// The whole file, or "" when it does not exist. Throws Error on read errors.
std::string read_file_or_empty(const std::string& path);
// Creates `dir` (and parents); throws Error naming it on failure.
void ensure_dir(const std::string& dir);

}  // namespace save::eval
