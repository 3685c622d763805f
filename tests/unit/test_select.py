"""Backend selection: option, environment, default, and the fallback to
pyroute2 (with one logged warning) when the C core cannot be imported."""

from __future__ import annotations

import logging

import pytest

from libnetwork import _binding, backends
from libnetwork.errors import InvalidParameter


@pytest.fixture
def no_native(monkeypatch):
    monkeypatch.setattr(_binding, "AVAILABLE", False)
    monkeypatch.setattr(_binding, "IMPORT_ERROR",
                        ImportError("simulated: no compiler"))
    monkeypatch.setattr(backends, "_warned", False)


def test_unknown_backend_is_refused():
    with pytest.raises(InvalidParameter, match="unknown backend 'nope'"):
        backends.select("nope")


def test_environment_chooses(monkeypatch):
    monkeypatch.setenv("LIBNETWORK_BACKEND", "pyroute2")
    with backends.select() as be:
        assert be.name == "pyroute2"


@pytest.mark.skipif(not _binding.AVAILABLE, reason="the C core is not built")
def test_default_is_native(monkeypatch):
    monkeypatch.delenv("LIBNETWORK_BACKEND", raising=False)
    with backends.select() as be:
        assert be.name == "native"
    assert backends.available() == ["native", "pyroute2"]


def test_fallback_to_pyroute2_warns_once(no_native, caplog, monkeypatch):
    monkeypatch.delenv("LIBNETWORK_BACKEND", raising=False)
    caplog.set_level(logging.WARNING, logger="libnetwork")
    with backends.select() as a, backends.select("native") as b:
        assert (a.name, b.name) == ("pyroute2", "pyroute2")
    warnings = [r for r in caplog.records if r.name == "libnetwork"]
    assert len(warnings) == 1
    assert "simulated: no compiler" in warnings[0].getMessage()
    assert backends.available() == ["pyroute2"]
