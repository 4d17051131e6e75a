// The pieces of the `save._save` module, one registration function per file.
#pragma once

#include <pybind11/pybind11.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace save::py {

namespace pyb = pybind11;

void add_models(pyb::module_& m);     // module.cpp: Session, ProtectedModel
void add_campaigns(pyb::module_& m);  // campaigns.cpp: inject, eval
void add_analysis(pyb::module_& m);   // analysis.cpp: analyze

// JSON to Python objects through the json module: numbers, strings, lists
// and dicts exactly as the files on disk hold them.
pyb::object to_python(const nlohmann::json& j);

// {name: (lo, hi)} or None -> the engine's input constraints.
std::map<std::string, std::pair<double, double>> input_ranges(const pyb::object& obj);

}  // namespace save::py
