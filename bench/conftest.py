"""bench/: collect ``bench_*.py`` too (``pytest bench``), not only test_*."""

import fnmatch


def pytest_collect_file(file_path, parent):
    """A bench_*.py module, unless pytest collects it anyway (named on the
    command line, or matched by the ``python_files`` setting)."""
    name = file_path.name
    if file_path.suffix != ".py" or not fnmatch.fnmatch(name, "bench_*.py"):
        return None
    if parent.session.isinitpath(file_path) or any(
            fnmatch.fnmatch(name, p)
            for p in parent.config.getini("python_files")):
        return None
    ihook = parent.session.gethookproxy(file_path)
    return ihook.pytest_pycollect_makemodule(module_path=file_path,
                                             parent=parent)
