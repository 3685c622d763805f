"""Emit the cffi API-mode C source of libnetwork's extension modules.

Usage: gen_ffi.py [--bitmap] NLC_H OUT_C

The cdef is a region of nlc.h between its markers, so the binding is
generated from the one public header and cannot drift from it:

* ``libnetwork._native`` (default): ``cdef-begin`` .. ``cdef-bitmap``,
  the netlink, socket and namespace functions.  cffi releases the GIL
  around each call, which netlink exchanges and namespace creation need
  (they block in the kernel for milliseconds).
* ``libnetwork._bitmap`` (``--bitmap``): ``cdef-bitmap`` .. ``cdef-end``,
  the bitmap functions only.  A bitmap call does less work than cffi's
  releasing and re-taking the GIL and saving and restoring errno around it
  (bench/README.md has the numbers); they never block and report errors
  by return value, so this module keeps the GIL (which also serialises
  concurrent Python callers of one bitmap) and skips the errno dance.

Keeping the GIL overrides macros of cffi's generated call wrapper, whose
shape is known for the cffi versions in ``KNOWN_CFFI`` (pyproject.toml's
build requirement holds the same bounds).  With any other cffi, or when
the generated source no longer has that shape, the bitmap module is
emitted as an ordinary GIL-releasing module, with a warning: correct,
only slower per call.
"""

import re
import sys
import warnings

try:
    import cffi
except ImportError:  # pragma: no cover
    sys.exit("gen_ffi.py: the cffi package is needed to build libnetwork "
             "(pip install cffi)")

# [low, high): the cffi releases whose call wrapper KEEP_GIL was checked on
KNOWN_CFFI = ((1, 17), (2, 2))

# Overrides of cffi's call wrapper for the bitmap module: the prelude is
# emitted after cffi's own definitions and before the wrappers that use them
# (the generated source is checked for that).
KEEP_GIL = """
#undef Py_BEGIN_ALLOW_THREADS
#undef Py_END_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#define Py_END_ALLOW_THREADS }
#undef _cffi_restore_errno
#undef _cffi_save_errno
#define _cffi_restore_errno() ((void)0)
#define _cffi_save_errno() ((void)0)
"""


def cdef_from_header(text: str, bitmap: bool = False) -> str:
    """The cdef of one module: ``_native``'s, or with ``bitmap``
    ``_bitmap``'s."""
    m = re.search(r"/\* cdef-begin \*/(.*)/\* cdef-end \*/", text, re.S)
    if not m:
        sys.exit("gen_ffi.py: no cdef-begin/cdef-end markers in nlc.h")
    body = m.group(1)
    at = body.find("/* cdef-bitmap")
    if at < 0:
        sys.exit("gen_ffi.py: no cdef-bitmap marker in nlc.h")
    body = body[at:] if bitmap else body[:at]
    body = body.replace("NLC_WUR", "")
    # cffi accepts '#define NAME <int>' only; keep those, refuse the rest
    for line in body.splitlines():
        s = line.strip()
        if s.startswith("#") and not re.fullmatch(
                r"#define \w+ (0x[0-9a-fA-F]+|[0-9]+)\s*(/\*.*?\*/)?", s):
            sys.exit(f"gen_ffi.py: preprocessor line in the cdef region: {s}")
    return body


def cffi_version_known(version: str) -> bool:
    """Is ``version`` (cffi.__version__) in ``KNOWN_CFFI``?"""
    parts = []
    for p in version.split(".")[:2]:
        m = re.match(r"\d+", p)
        parts.append(int(m.group()) if m else 0)
    key = tuple(parts + [0] * (2 - len(parts)))
    low, high = KNOWN_CFFI
    return low <= key < high


def _keeps_gil(src: str) -> bool:
    """The override is in place: before the first wrapper that uses it."""
    return (src.count("Py_BEGIN_ALLOW_THREADS") >= 2 and
            0 <= src.find(KEEP_GIL) < src.find("_cffi_restore_errno();"))


def _write(header_text: str, out: str, bitmap: bool, prelude: str) -> None:
    ffi = cffi.FFI()
    ffi.cdef(cdef_from_header(header_text, bitmap))
    ffi.set_source("libnetwork._bitmap" if bitmap else "libnetwork._native",
                   '#include "nlc.h"\n' + prelude)
    ffi.emit_c_code(out)


def emit(header_text: str, out: str, bitmap: bool = False,
         cffi_version: str = cffi.__version__) -> bool:
    """Write the module's C source to ``out``.  Returns whether the bitmap
    module keeps the GIL (always False for ``_native``)."""
    slower = ("libnetwork._bitmap is built releasing the GIL around each "
              "call (correct, slower)")
    keep = bitmap and cffi_version_known(cffi_version)
    if bitmap and not keep:
        warnings.warn(f"gen_ffi.py: cffi {cffi_version} is outside the "
                      f"versions whose call wrapper is known {KNOWN_CFFI}: "
                      + slower, stacklevel=2)
    _write(header_text, out, bitmap, KEEP_GIL if keep else "")
    if keep:
        with open(out) as f:
            keep = _keeps_gil(f.read())
        if not keep:
            warnings.warn("gen_ffi.py: cffi's call wrapper changed: " + slower,
                          stacklevel=2)
            _write(header_text, out, bitmap, "")
    return keep


def main(argv):
    args = argv[1:]
    bitmap = "--bitmap" in args
    if bitmap:
        args.remove("--bitmap")
    if len(args) != 2:
        sys.exit(__doc__)
    header, out = args
    with open(header) as f:
        text = f.read()
    warnings.simplefilter("always")
    emit(text, out, bitmap)


if __name__ == "__main__":
    main(sys.argv)
