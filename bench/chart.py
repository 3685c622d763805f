"""The chart: containers set up per second against N, one line per
contender, log scale on both axes, titled with the machine; written as a
PNG with matplotlib (the ``bench`` extra), or skipped with the reason."""

from __future__ import annotations

from report_table import med

STYLE = {"native": ("C0", "-", "o"), "pyroute2": ("C1", "-", "o"),
         "wire native": ("C0", ":", "."), "wire ip-batch": ("C7", ":", "."),
         "wire pyroute2-iproute": ("C1", ":", "."),
         "cni-bridge": ("C2", "--", "s"), "cni-bridge-masq": ("C3", "--", "s"),
         "cni-bridge-portmap": ("C4", "--", "s"),
         "netavark": ("C5", "-.", "^"), "netavark-portmap": ("C6", "-.", "^")}


def write_chart(cont, env, path) -> str | None:
    """Write the PNG; None when written, else why not."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ("matplotlib not installed (pip install '.[bench]', or "
                ".ci/bench-deps)")
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    drew = False
    for who in cont["contenders"]:
        pts = []
        for n in cont["ns"]:
            ts = cont["results"].get((who, "attach", n))
            if ts:
                pts.append((n, med(ts, "eps")))
        if not pts:
            continue
        color, ls, mk = STYLE.get(who, (None, "-", "x"))
        label = who if not who.startswith("wire ") else \
            f"{who} (bare wiring)"
        if who in ("native", "pyroute2"):
            label = f"libnetwork attach ({who})"
        ax.plot(*zip(*pts), ls=ls, marker=mk, color=color, label=label)
        drew = True
    if not drew:
        plt.close(fig)
        return "no attach results to draw"
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N containers (attach of N; exec peers one at a time)")
    ax.set_ylabel("containers set up per second")
    ax.set_title(f"libnetwork: container setup rate — {env['cpus']} CPUs, "
                 f"kernel {env['kernel']}, Python {env['python']}",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return None
