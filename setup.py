"""Builds the Python package stash with CMake, for pip (see pyproject.toml).

The extension stash._stash is built by the project's own CMake files for the
interpreter running pip (a venv's python3 is fine), with tests off, in
build-pip/; setuptools only copies the result and the pure-Python files.
"""
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def version():
    header = (ROOT / "include" / "stash" / "version.h").read_text()
    return re.search(r'STASH_VERSION_STRING\s+"([0-9.]+)"', header).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = ROOT / "build-pip" / "cmake"
        subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build),
                               "-DCMAKE_BUILD_TYPE=Release", "-DSTASH_BUILD_TESTS=OFF",
                               f"-DPython3_EXECUTABLE={sys.executable}"])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "stash_python",
                               "--parallel"])
        built = next((build / "python" / "stash").glob("_stash*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


(ROOT / "build-pip").mkdir(exist_ok=True)
setup(
    name="stash",
    version=version(),
    description="Store and move scientific data: memory files, NPY and NCO files, "
                "a content-keyed result store and a shared ring, from Python",
    python_requires=">=3.9",
    packages=find_packages(where="python", include=["stash", "stash.*"]),
    package_dir={"": "python"},
    package_data={"": ["*.pyi", "py.typed"]},
    ext_modules=[Extension("stash._stash", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": "build-pip"}, "egg_info": {"egg_base": "build-pip"}},
    zip_safe=False,
)
