"""Emit the cffi API-mode C source of libnetwork's extension modules.

Usage: gen_ffi.py [--bitmap] NLC_H OUT_C

The cdef is the region of nlc.h between the ``cdef-begin`` and
``cdef-end`` markers, so the binding is generated from the one public
header and cannot drift from it.

Two modules come out of it:

* ``libnetwork._native``: everything.  cffi releases the GIL around each
  call, which netlink exchanges and namespace creation need (they block in
  the kernel for milliseconds).
* ``libnetwork._bitmap`` (``--bitmap``): the bitmap functions only, from the
  ``cdef-bitmap`` marker on.  A bitmap call does ~100 ns of work, less than
  cffi's releasing and re-taking the GIL and saving and restoring errno
  around it; they never block and report errors by return value, so this
  module keeps the GIL (which also serialises concurrent Python callers of
  one bitmap) and skips the errno dance.  That halves the cost of a call
  from Python.
"""

import re
import sys

try:
    import cffi
except ImportError:  # pragma: no cover
    sys.exit("gen_ffi.py: the cffi package is needed to build libnetwork "
             "(pip install cffi)")

# Overrides of cffi's call wrapper for the bitmap module: the prelude is
# emitted after cffi's own definitions and before the wrappers that use them
# (gen_ffi checks that they are still used as expected).
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
    m = re.search(r"/\* cdef-begin \*/(.*)/\* cdef-end \*/", text, re.S)
    if not m:
        sys.exit("gen_ffi.py: no cdef-begin/cdef-end markers in nlc.h")
    body = m.group(1)
    if bitmap:
        at = body.find("/* cdef-bitmap")
        if at < 0:
            sys.exit("gen_ffi.py: no cdef-bitmap marker in nlc.h")
        body = body[at:]
    body = body.replace("NLC_WUR", "")
    # cffi accepts '#define NAME <int>' only; keep those, refuse the rest
    for line in body.splitlines():
        s = line.strip()
        if s.startswith("#") and not re.fullmatch(
                r"#define \w+ (0x[0-9a-fA-F]+|[0-9]+)\s*(/\*.*?\*/)?", s):
            sys.exit(f"gen_ffi.py: preprocessor line in the cdef region: {s}")
    return body


def main(argv):
    args = argv[1:]
    bitmap = "--bitmap" in args
    if bitmap:
        args.remove("--bitmap")
    if len(args) != 2:
        sys.exit(__doc__)
    header, out = args
    with open(header) as f:
        cdef = cdef_from_header(f.read(), bitmap)
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    module = "libnetwork._bitmap" if bitmap else "libnetwork._native"
    prelude = '#include "nlc.h"\n' + (KEEP_GIL if bitmap else "")
    ffi.set_source(module, prelude)
    ffi.emit_c_code(out)
    if bitmap:
        with open(out) as f:
            src = f.read()
        if src.count("Py_BEGIN_ALLOW_THREADS") < 2 or \
                src.find(KEEP_GIL) > src.find("_cffi_restore_errno();"):
            sys.exit("gen_ffi.py: cffi's call wrapper changed; the bitmap "
                     "module's GIL override no longer applies")


if __name__ == "__main__":
    main(sys.argv)
