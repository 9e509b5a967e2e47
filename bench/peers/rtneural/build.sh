#!/usr/bin/env bash
# Builds the RTNeural peer harness (rtneural_bench.cpp beside this script) against an RTNeural checkout:
#   RTNEURAL_DIR=/path/to/RTNeural bash bench/peers/rtneural/build.sh     ->  bench/peers/rtneural/build/rtneural_bench
# RTNeural is not vendored here (BSD-3-Clause; used, not copied): get it with
#   git clone https://github.com/jatinchowdhury18/RTNeural /path/to/RTNeural
# No submodule is needed: the Eigen backend's json parser is in RTNeural's modules/json. Eigen comes from Debian's
# libeigen3-dev (/usr/include/eigen3) unless EIGEN_DIR says otherwise (e.g. EIGEN_DIR=$RTNEURAL_DIR/modules/Eigen).
# CXX picks the compiler (default g++); RTNEURAL_CXXFLAGS replaces the flags. The defaults match RTNeural's own CMake
# (Release, RTNEURAL_USE_AVX on: Eigen backend, 32-byte alignment, -O3 -DNDEBUG) with -march=native instead of -mavx2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ -z "${RTNEURAL_DIR:-}" ]]; then
  echo "error: RTNEURAL_DIR is not set. Clone RTNeural (git clone https://github.com/jatinchowdhury18/RTNeural) and run" >&2
  echo "  RTNEURAL_DIR=/path/to/RTNeural bash $0" >&2
  exit 2
fi
if [[ ! -f "$RTNEURAL_DIR/RTNeural/RTNeural.h" ]]; then
  echo "error: $RTNEURAL_DIR/RTNeural/RTNeural.h not found: RTNEURAL_DIR must be the root of an RTNeural checkout" >&2
  exit 2
fi
eigen=${EIGEN_DIR:-/usr/include/eigen3}
if [[ ! -f "$eigen/Eigen/Dense" ]]; then
  echo "error: Eigen not found in $eigen: apt-get install libeigen3-dev, or set EIGEN_DIR to a folder holding Eigen/Dense" >&2
  exit 2
fi
cxx=${CXX:-g++}
flags=${RTNEURAL_CXXFLAGS:-"-O3 -march=native -std=c++17 -DNDEBUG"}   # the harness prints them with its results
commit=$(git -C "$RTNEURAL_DIR" rev-parse HEAD 2>/dev/null || echo "unknown (not a git checkout)")
mkdir -p "$here/build"
# RTNeural and Eigen as system headers, so -Wall -Wextra speak about our file only. EIGEN_STACK_ALLOCATION_LIMIT=0
# lifts Eigen's 128 KB cap on fixed-size matrices: the (32, 128) layers' weights are 198 and 330 KB, and the harness
# allocates the models on the heap. -Wno-uninitialized: GCC 12 warns inside its own AVX-512 intrinsics once Eigen's are
# inlined (GCC bug 105593, _mm512_undefined_ps), dozens of times; our file has no such warning.
$cxx $flags -Wall -Wextra -Wno-uninitialized \
  -isystem "$RTNEURAL_DIR" -isystem "$eigen" -DRTNEURAL_USE_EIGEN=1 -DRTNEURAL_DEFAULT_ALIGNMENT=32 -DEIGEN_STACK_ALLOCATION_LIMIT=0 \
  -DBENCH_ASSETS_DIR="\"$(cd "$here/../../assets" && pwd)\"" -DRTNEURAL_COMMIT="\"$commit\"" \
  -DBENCH_COMPILER="\"$($cxx --version | head -n 1)\"" -DBENCH_FLAGS="\"$flags\"" \
  "$here/rtneural_bench.cpp" -o "$here/build/rtneural_bench"
echo "built $here/build/rtneural_bench against RTNeural $commit (Eigen from $eigen)"
