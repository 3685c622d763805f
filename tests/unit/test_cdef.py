"""The generated bindings match csrc/nlc.h, and csrc/gen_ffi.py guards the
cdef region (it refuses preprocessor lines cffi cannot take), splits it
between the two modules, and falls back to an ordinary GIL-releasing
bitmap module, with a warning, for a cffi whose call wrapper it does not
know."""

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
TEXT = HEADER.read_text()


def _declared(cdef):
    code = re.sub(r"/\*.*?\*/", "", cdef, flags=re.S)
    return (set(re.findall(r"\b(nlc_\w+)\s*\(", code)),
            dict(re.findall(r"^\s*#define\s+(\w+)\s+(\S+)", code,
                            flags=re.M)))


NATIVE_CDEF = gen_ffi.cdef_from_header(TEXT)
BITMAP_CDEF = gen_ffi.cdef_from_header(TEXT, bitmap=True)
NATIVE, NATIVE_DEFINES = _declared(NATIVE_CDEF)
BITMAP, BITMAP_DEFINES = _declared(BITMAP_CDEF)

needs_lib = pytest.mark.skipif(not _binding.AVAILABLE,
                               reason="the native core is not built")


def _bound(lib):
    return {n for n in dir(lib) if n.startswith("nlc_")}


def test_regions_are_plain_c_and_split_the_header():
    import cffi
    for cdef in (NATIVE_CDEF, BITMAP_CDEF):
        assert "NLC_WUR" not in cdef
        cffi.FFI().cdef(cdef)       # parses as cffi would at build time
    assert len(NATIVE) > 25 and len(BITMAP) == 15
    assert not NATIVE & BITMAP
    assert all(f.startswith("nlc_bitmap_") for f in BITMAP)
    assert not any(f.startswith("nlc_bitmap_") for f in NATIVE)
    # every prototype of the header is in exactly one module
    everything, _ = _declared(TEXT.split("/* cdef-begin */")[1])
    assert everything == NATIVE | BITMAP


@needs_lib
def test_native_binds_exactly_its_region():
    """libnetwork._native: no bitmap function (it has no use for one)."""
    assert _bound(_binding.lib) == NATIVE


@needs_lib
def test_bitmap_module_binds_exactly_the_bitmap_functions():
    assert _bound(_binding.bitmap_lib) == BITMAP


@needs_lib
def test_constants_match():
    assert NATIVE_DEFINES
    for name, value in NATIVE_DEFINES.items():
        assert getattr(_binding.lib, name) == int(value, 0), name
    for name, value in BITMAP_DEFINES.items():
        assert getattr(_binding.bitmap_lib, name) == int(value, 0), name


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
    text = (f"/* cdef-begin */\nint nlc_x(void);\n{line}\n"
            "/* cdef-bitmap */\n/* cdef-end */\n")
    with pytest.raises(SystemExit):
        gen_ffi.cdef_from_header(text)


def test_keeps_integer_defines_and_strips_wur():
    text = ("/* cdef-begin */\n#define NLC_A 12\n#define NLC_B 0x1f\n"
            "int nlc_x(void) NLC_WUR;\n/* cdef-bitmap */\n/* cdef-end */\n")
    body = gen_ffi.cdef_from_header(text)
    assert "#define NLC_A 12" in body and "#define NLC_B 0x1f" in body
    assert "NLC_WUR" not in body


def test_refuses_missing_markers():
    with pytest.raises(SystemExit):
        gen_ffi.cdef_from_header("int nlc_x(void);\n")


@pytest.mark.parametrize("bitmap", [False, True])
def test_bitmap_region_needs_its_marker(bitmap):
    text = TEXT.replace("/* cdef-bitmap", "/* cdef-bitmxp")
    with pytest.raises(SystemExit):
        gen_ffi.cdef_from_header(text, bitmap=bitmap)


def test_native_module_source(tmp_path):
    """_native: every function but the bitmap's, releasing the GIL."""
    out = tmp_path / "n.c"
    subprocess.run([sys.executable, str(GEN), str(HEADER), str(out)],
                   check=True, capture_output=True)
    src = out.read_text()
    assert gen_ffi.KEEP_GIL not in src
    assert "nlc_link_add_macvlan" in src and "nlc_bitmap_" not in src


def test_bitmap_module_source_keeps_the_gil(tmp_path):
    """The GIL/errno override sits before cffi's first call wrapper."""
    import cffi
    assert gen_ffi.cffi_version_known(cffi.__version__)
    out = tmp_path / "b.c"
    res = subprocess.run([sys.executable, str(GEN), "--bitmap", str(HEADER),
                          str(out)], check=True, capture_output=True,
                         text=True)
    assert "warning" not in res.stderr.lower()
    src = out.read_text()
    assert src.index(gen_ffi.KEEP_GIL) < src.index("_cffi_restore_errno();")
    assert "nlc_link_add_veth" not in src


@pytest.mark.parametrize("version, known", [
    ("1.16.0", False), ("1.17.0", True), ("1.17.1", True), ("2.0.0", True),
    ("2.1.1", True), ("2.2.0", False), ("3.0", False), ("2.1.0rc1", True),
])
def test_known_cffi_versions(version, known):
    assert gen_ffi.cffi_version_known(version) is known


def test_pyproject_bounds_cffi_as_gen_ffi_knows():
    text = (CSRC.parent / "pyproject.toml").read_text()
    low, high = gen_ffi.KNOWN_CFFI
    bound = f'"cffi>={low[0]}.{low[1]},<{high[0]}.{high[1]}"'
    assert bound in text.split("[project]")[0]


def test_unknown_cffi_falls_back_with_a_warning(tmp_path):
    """A newer cffi builds an ordinary GIL-releasing bitmap module."""
    out = tmp_path / "b.c"
    with pytest.warns(UserWarning, match="outside the versions"):
        keep = gen_ffi.emit(TEXT, str(out), bitmap=True,
                            cffi_version="99.0.0")
    assert keep is False
    src = out.read_text()
    assert gen_ffi.KEEP_GIL not in src
    assert "Py_BEGIN_ALLOW_THREADS" in src and "nlc_bitmap_alloc" in src


def test_changed_call_wrapper_falls_back_with_a_warning(tmp_path,
                                                        monkeypatch):
    """A known version whose wrapper no longer has the expected shape."""
    out = tmp_path / "b.c"
    monkeypatch.setattr(gen_ffi, "_keeps_gil", lambda src: False)
    with pytest.warns(UserWarning, match="call wrapper changed"):
        keep = gen_ffi.emit(TEXT, str(out), bitmap=True)
    assert keep is False
    assert gen_ffi.KEEP_GIL not in out.read_text()
