#!/usr/bin/env bash
# Installs the build into a temporary prefix and consumes it the ways a user would:
# an out-of-tree CMake project (find_package(Tessera), Tessera::tessera) building the C++
# example, and `pkg-config --cflags --libs tessera` building the C example (again against
# libtessera.a with `pkg-config --static`). Each must run and classify the model's input. Also
# checks the installed layout, that libtessera.so exports only the public API (no protobuf, no
# internal classes) and that the public headers include only the standard library and tessera/.
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
model=$src/models/digits/model.onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/tessera/tessera_c.h include/tessera/session.h lib/libtessera.a lib/cmake/Tessera/TesseraConfig.cmake \
         lib/cmake/Tessera/TesseraConfigVersion.cmake lib/pkgconfig/tessera.pc bin/tessera; do
  [[ -e $prefix/$f ]] || { echo "not installed: $f"; exit 1; }
done
so=$(readlink -f "$prefix/lib/libtessera.so")
[[ $so == */libtessera.so.0.1.0 ]] || { echo "libtessera.so points to $so, expected libtessera.so.0.1.0"; exit 1; }
soname=$(objdump -p "$so" | awk '/SONAME/ {print $2}')
[[ $soname == libtessera.so.0.1 ]] || { echo "SONAME is '$soname', expected libtessera.so.0.1"; exit 1; }
exported=$(nm -D --defined-only -C "$so")
grep -q ' tessera_run@@TESSERA_0.1$' <<<"$exported" || { echo "tessera_run is not exported"; exit 1; }
grep -q 'tessera::Session::load(' <<<"$exported" || { echo "tessera::Session::load is not exported"; exit 1; }
leaked=$(grep -E 'google::protobuf|tessera::(SessionState|Graph|Executor|Model)\b' <<<"$exported" || true)
[[ -z $leaked ]] || { echo "internal symbols exported:"; head -5 <<<"$leaked"; exit 1; }
outside=$(grep -h '#include' "$prefix"/include/tessera/*.h | grep -v -E '#include (<[a-z_]+(\.h)?>|"tessera/[a-z_]+\.h")' || true)
[[ -z $outside ]] || { echo "public headers include: $outside"; exit 1; }
[[ $(pkg-config --modversion "$prefix/lib/pkgconfig/tessera.pc") == 0.1.0 ]] || { echo "tessera.pc version"; exit 1; }

# The CMake consumer of the README: the C++ example, one file.
mkdir "$tmp/app"
cp "$src/examples/classify.cc" "$tmp/app/"
cat >"$tmp/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(app CXX)
find_package(Tessera 0.1 REQUIRED)
add_executable(app classify.cc)
target_link_libraries(app Tessera::tessera)
CMAKE
cmake -S "$tmp/app" -B "$tmp/app/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/app/build" >/dev/null
out=$("$tmp/app/build/app" "$model")
[[ $out == "image -> [1,10]" ]] || { echo "the CMake consumer printed: $out"; exit 1; }

# The pkg-config consumer: the C example.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c11 -Wall -Werror "$src/examples/c/classify.c" $(pkg-config --cflags --libs tessera) -Wl,-rpath,"$prefix/lib" \
   -o "$tmp/classify_c"
out=$("$tmp/classify_c" "$model")
grep -q "predicted digit: 7" <<<"$out" || { echo "the pkg-config consumer printed: $out"; exit 1; }

# The same program linked statically against libtessera.a, with what `pkg-config --static` lists.
static_libs=$(pkg-config --static --libs-only-l --libs-only-other tessera | sed 's/-ltessera//')
cc -std=c11 "$src/examples/c/classify.c" $(pkg-config --cflags tessera) "$prefix/lib/libtessera.a" $static_libs \
   -o "$tmp/classify_static"
if ldd "$tmp/classify_static" | grep -q libtessera; then echo "the static consumer loads libtessera.so"; exit 1; fi
out=$("$tmp/classify_static" "$model")
grep -q "predicted digit: 7" <<<"$out" || { echo "the static consumer printed: $out"; exit 1; }
echo "installed, consumed with find_package, pkg-config and pkg-config --static"
