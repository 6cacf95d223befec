# Sanitizer and fuzzing builds (docs/testing.md; presets asan, tsan, fuzz in CMakePresets.json).
#   TESSERA_SANITIZE=address: ASan + UBSan (+ LSan, part of ASan on Linux), clang or gcc.
#   TESSERA_SANITIZE=thread:  TSan.
#   TESSERA_FUZZ=ON: the libFuzzer targets in tests/fuzz (clang only); implies address. The
#   libraries get -fsanitize=fuzzer-no-link (coverage only), the fuzz targets -fsanitize=fuzzer,
#   so one build serves both the fuzzers and the sanitized unit tests.
set(TESSERA_SANITIZE "" CACHE STRING "Sanitizers for every target: address (ASan+UBSan+LSan), thread or empty")
option(TESSERA_FUZZ "Build the libFuzzer targets in tests/fuzz (clang; implies TESSERA_SANITIZE=address)" OFF)

if(TESSERA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TESSERA_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(TESSERA_SANITIZE address CACHE STRING "" FORCE)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(TESSERA_SANITIZE STREQUAL "address")
  # Stop at the first UBSan finding too, so tests and fuzzers fail on it instead of printing it.
  set(TESSERA_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all)
elseif(TESSERA_SANITIZE STREQUAL "thread")
  set(TESSERA_SANITIZER_FLAGS -fsanitize=thread)
elseif(NOT TESSERA_SANITIZE STREQUAL "")
  message(FATAL_ERROR "TESSERA_SANITIZE must be address, thread or empty, not '${TESSERA_SANITIZE}'")
endif()
if(TESSERA_SANITIZER_FLAGS)
  # -O1 (after the build type's -O2, so it wins) compiles faster and reports more precisely;
  # line tables give symbolized reports at a fraction of -g's compile time.
  add_compile_options(${TESSERA_SANITIZER_FLAGS} -O1 -fno-omit-frame-pointer
                      $<IF:$<CXX_COMPILER_ID:Clang>,-gline-tables-only,-g1>)
  add_link_options(${TESSERA_SANITIZER_FLAGS})
endif()

# How src/providers/cpu builds (its CMakeLists.txt reads these). A sanitized build is a checking
# build, so its kernels skip what only makes them fast (docs/testing.md has the measured costs):
#   TESSERA_KERNEL_O3: the micro-kernels' -O3; empty under a sanitizer.
#   TESSERA_KERNEL_SANITIZE: extra flags for the CPU EP's kernels. Under a sanitizer they build at
#     -O0, which halves their compile time (nn/conv.cc under ASan: 7.6 s at -O1, 3.7 s at -O0);
#     the data they run on in the stage is small. Under ASan UBSan is off there too: their
#     arithmetic on tensor data is checked against ONNX Runtime and the ONNX references by the
#     conformance and differential suites, while their buffer accesses stay under ASan. Shape
#     inference, the loader, the graph, the optimizer and the runtime keep UBSan and -O1.
# The AVX2 / AVX-512 copies of the micro-kernels stay: cpu_isa() picks the blocked layout and
# oneDNN's block size from the CPU, so dropping them would leave those paths unsanitized.
set(TESSERA_KERNEL_O3 -O3)
set(TESSERA_KERNEL_SANITIZE "")
if(TESSERA_SANITIZER_FLAGS)
  set(TESSERA_KERNEL_O3 "")
  set(TESSERA_KERNEL_SANITIZE -O0)
endif()
if(TESSERA_SANITIZE STREQUAL "address")
  list(APPEND TESSERA_KERNEL_SANITIZE -fno-sanitize=undefined)
endif()
# The test binaries' own code (tests/CMakeLists.txt) builds like the kernels: it is what checks
# the runtime, not what is checked, and gtest's macros make its files slow to compile at -O1.
set(TESSERA_TEST_SANITIZE ${TESSERA_KERNEL_SANITIZE})
