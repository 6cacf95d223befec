"""Builds tessera._tessera with the project's CMake (setuptools only drives it), so that
`pip install --no-build-isolation --no-index ./python` works offline.

TESSERA_BUILD_DIR=DIR builds in that CMake build folder (one already configured, e.g. the
checkout's build/, is used as it is); by default a fresh one under setuptools' temporary folder. TESSERA_CMAKE_ARGS adds configure
arguments (e.g. -DTESSERA_WERROR=ON)."""

import os
import pathlib
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE = pathlib.Path(__file__).resolve().parent.parent  # the repository root


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        given = os.environ.get("TESSERA_BUILD_DIR")
        build = pathlib.Path(given) if given else pathlib.Path(self.build_temp).resolve() / "cmake"
        if not (given and (build / "CMakeCache.txt").exists()):  # a configured folder is used as it is
            configure = ["cmake", "-S", str(SOURCE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                         "-DTESSERA_BUILD_TESTS=OFF", "-DTESSERA_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}"]
            subprocess.run(configure + shlex.split(os.environ.get("TESSERA_CMAKE_ARGS", "")), check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "tessera_python", "-j", str(os.cpu_count() or 1)],
                       check=True)
        built = next((build / "python" / "tessera").glob("_tessera*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(ext_modules=[Extension("tessera._tessera", sources=[])], cmdclass={"build_ext": CMakeBuild})
