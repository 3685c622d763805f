"""The generated binding matches csrc/nlc.h, and csrc/gen_ffi.py guards the
cdef region (it refuses preprocessor lines cffi cannot take)."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

from libnetwork import _binding

CSRC = pathlib.Path(__file__).resolve().parents[2] / "csrc"
if not (CSRC / "gen_ffi.py").exists():
    pytest.skip("needs a source checkout (csrc/)", allow_module_level=True)
pytest.importorskip("cffi")

spec = importlib.util.spec_from_file_location("gen_ffi", CSRC / "gen_ffi.py")
gen_ffi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_ffi)

GEN, HEADER = CSRC / "gen_ffi.py", CSRC / "nlc.h"
CDEF = gen_ffi.cdef_from_header(HEADER.read_text())
CODE = re.sub(r"/\*.*?\*/", "", CDEF, flags=re.S)
FUNCTIONS = set(re.findall(r"\b(nlc_\w+)\s*\(", CODE))
DEFINES = dict(re.findall(r"^\s*#define\s+(\w+)\s+(\S+)", CODE, flags=re.M))

needs_lib = pytest.mark.skipif(not _binding.AVAILABLE,
                               reason="the native core is not built")


def test_region_is_plain_c():
    assert "NLC_WUR" not in CDEF
    assert len(FUNCTIONS) > 20
    import cffi
    cffi.FFI().cdef(CDEF)           # parses as cffi would at build time


@needs_lib
def test_every_declared_function_is_bound():
    missing = sorted(f for f in FUNCTIONS if not hasattr(_binding.lib, f))
    assert missing == []


@needs_lib
def test_nothing_bound_that_is_not_declared():
    bound = {n for n in dir(_binding.lib) if n.startswith("nlc_")}
    assert bound - FUNCTIONS == set()


@needs_lib
def test_constants_match():
    assert DEFINES
    for name, value in DEFINES.items():
        assert getattr(_binding.lib, name) == int(value, 0), name


@pytest.mark.parametrize("line", [
    "#include <stdint.h>",
    "#ifdef __linux__",
    "  #if 0",
    "#endif",
    "#define NLC_SHIFTED (1 << 2)",
    "#define NLC_ALIAS NLC_ERRMSG_MAX",
    "#undef NLC_ERRMSG_MAX",
])
def test_refuses_preprocessor_line(line):
    text = f"/* cdef-begin */\nint nlc_x(void);\n{line}\n/* cdef-end */\n"
    with pytest.raises(SystemExit):
        gen_ffi.cdef_from_header(text)


def test_keeps_integer_defines_and_strips_wur():
    text = ("/* cdef-begin */\n#define NLC_A 12\n#define NLC_B 0x1f\n"
            "int nlc_x(void) NLC_WUR;\n/* cdef-end */\n")
    body = gen_ffi.cdef_from_header(text)
    assert "#define NLC_A 12" in body and "#define NLC_B 0x1f" in body
    assert "NLC_WUR" not in body


def test_refuses_missing_markers():
    with pytest.raises(SystemExit):
        gen_ffi.cdef_from_header("int nlc_x(void);\n")


@needs_lib
def test_bitmap_module_binds_exactly_the_bitmap_functions():
    """libnetwork._bitmap: the cdef-bitmap part of the header, no more."""
    from libnetwork._bitmap import lib as blib
    names = {n for n in dir(blib) if n.startswith("nlc_")}
    want = {n for n in dir(_binding.lib)
            if n.startswith("nlc_bitmap_")}
    assert names == want and len(want) == 15


def test_bitmap_module_source_keeps_the_gil(tmp_path):
    """The GIL/errno override sits before cffi's first call wrapper."""
    out = tmp_path / "b.c"
    subprocess.run([sys.executable, str(GEN), "--bitmap", str(HEADER),
                    str(out)], check=True, capture_output=True)
    src = out.read_text()
    assert src.index(gen_ffi.KEEP_GIL) < src.index("_cffi_restore_errno();")
    assert "nlc_link_add_veth" not in src


def test_bitmap_region_needs_its_marker():
    text = HEADER.read_text().replace("/* cdef-bitmap", "/* cdef-bitmxp")
    with pytest.raises(SystemExit):
        gen_ffi.cdef_from_header(text, bitmap=True)
