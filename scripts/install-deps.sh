#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12 packages.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
PKGS=(
  cmake ninja-build g++ pkg-config clang-format
  libdnnl-dev ocl-icd-opencl-dev opencl-headers   # oneDNN (its CMake config needs OpenCL)
  libonnx-dev libprotobuf-dev protobuf-compiler   # ONNX model format
  libgtest-dev libgmock-dev libbenchmark-dev      # tests and benchmarks
  libcli11-dev nlohmann-json3-dev libfmt-dev      # CLI, JSON, formatting
  zlib1g-dev libssl-dev                           # gzip'd IDX datasets, SHA-256
  dataset-fashion-mnist libonnx-testdata          # data: bundled models' test set, ONNX suite
  pybind11-dev python3-dev python3-numpy          # the Python package (python/)
  python3-pytest python3-torch                    # its tests, the PyTorch example
  libopenmpi-dev openmpi-bin                      # campaigns over MPI ranks (src/dist)
  clang-14 libclang-rt-14-dev                     # fuzzing tier: clang++ and libFuzzer (scripts/fuzz.sh)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
