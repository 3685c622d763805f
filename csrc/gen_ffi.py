"""Emit the cffi API-mode C source for libnetwork._native.

Usage: gen_ffi.py NLC_H OUT_C

The cdef is the region of nlc.h between the ``cdef-begin`` and
``cdef-end`` markers, so the binding is generated from the one public
header and cannot drift from it.
"""

import re
import sys

try:
    import cffi
except ImportError:  # pragma: no cover
    sys.exit("gen_ffi.py: the cffi package is needed to build libnetwork "
             "(pip install cffi)")


def cdef_from_header(text: str) -> str:
    m = re.search(r"/\* cdef-begin \*/(.*)/\* cdef-end \*/", text, re.S)
    if not m:
        sys.exit("gen_ffi.py: no cdef-begin/cdef-end markers in nlc.h")
    body = m.group(1).replace("NLC_WUR", "")
    # cffi accepts '#define NAME <int>' only; keep those, refuse the rest
    for line in body.splitlines():
        s = line.strip()
        if s.startswith("#") and not re.fullmatch(
                r"#define \w+ (0x[0-9a-fA-F]+|[0-9]+)\s*(/\*.*?\*/)?", s):
            sys.exit(f"gen_ffi.py: preprocessor line in the cdef region: {s}")
    return body


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    header, out = argv[1], argv[2]
    with open(header) as f:
        cdef = cdef_from_header(f.read())
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source("libnetwork._native", '#include "nlc.h"\n')
    ffi.emit_c_code(out)


if __name__ == "__main__":
    main(sys.argv)
