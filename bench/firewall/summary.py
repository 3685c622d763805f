"""The firewall numbers the table and the targets share, taken from the
results of :func:`.rounds.run_firewall` (medians of the rounds)."""

from __future__ import annotations

import statistics


def _med(results, impl, phase, n, attr="wall"):
    ts = results.get((impl, phase, n))
    return statistics.median(getattr(t, attr) for t in ts) if ts else None


def backend_numbers(results, impl, n, batch) -> dict:
    """Of backend ``impl``: attach and detach rates and walls with and
    without ports, their ratio, and the cost of a published port --
    ``marginal`` (attach with ports minus without, per port: the median
    of the rounds' differences, each round's two attaches having run back
    to back), ``txn`` (one
    transaction of ``batch`` elements, per element), ``batch_marginal``
    (``batch`` endpoints created in one change with a port each minus
    without, per port: the whole cost of a port in a batch) and
    ``charged``, the largest: the marginals are the whole cost but carry
    the noise of two large changes; the transaction is a floor under
    them."""
    out = {}
    for key, phase in (("attach", "attach"), ("attach_fw", "attach+ports"),
                       ("detach", "detach"), ("detach_fw", "detach+ports")):
        out[key] = _med(results, impl, phase, n)
    for key in ("attach", "attach_fw", "detach", "detach_fw"):
        w = out[key]
        out[key + "_rate"] = n / w if w else None
    a, af = out["attach"], out["attach_fw"]
    out["ratio"] = a / af if a and af else None          # rate_fw / rate
    diffs = _paired(results, impl, n)
    out["marginal"] = statistics.median(diffs) / n if diffs else None
    t = _med(results, impl, "port txn", batch)
    out["txn"] = t / batch if t else None
    bd = _paired(results, impl, batch, ("endpoints+ports", "endpoints"))
    out["batch_marginal"] = statistics.median(bd) / batch if bd else None
    costs = [c for c in (out["marginal"], out["txn"],
                         out["batch_marginal"]) if c is not None]
    out["charged"] = max(costs) if costs else None
    return out


def _paired(results, impl, n,
            phases=("attach+ports", "attach")) -> list:
    """Per round, the phase with ports minus the one without (seconds)."""
    def by_round(phase):
        return {t.extra.get("round"): t.wall
                for t in results.get((impl, phase, n), ())}
    fw, plain = by_round(phases[0]), by_round(phases[1])
    return [fw[r] - plain[r] for r in fw if r in plain]


def peer_numbers(results, impl, n) -> dict:
    """Of exec peer ``impl``: the wall time of publishing ``n`` ports, per
    port, and the processes it ran."""
    w = _med(results, impl, "publish", n)
    ts = results.get((impl, "publish", n))
    return {"total": w, "charged": w / n if w else None,
            "execs": ts[0].extra.get("execs") if ts else None}
