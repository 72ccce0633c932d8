"""Tables, targets, plot and docs/performance.md from the benchmark's results."""

import datetime
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def _ms(seconds):
    return "%.1f" % (seconds * 1000)


def _per(seconds, n):
    return seconds / n * 1000


def rows(results):
    """The measurements as markdown table lines."""
    out = ["| n | floor (pyroute2) | engine cold | cold / floor | engine check, cold | engine no change "
           "| engine check, no change | module check, cold | module no change | playbook cold "
           "| playbook check, cold | playbook no change |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in results["sizes"]:
        e = results["inprocess"][n]
        p = results["playbook"][n]
        out.append("| %d | %s | %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            n, _ms(e["floor"]), _ms(e["cold"]), e["cold"] / e["floor"], _ms(e["check_cold"]), _ms(e["nochange"]),
            _ms(e["check_nochange"]), _ms(e["module_check_cold"]), _ms(e["module_nochange"]), _ms(p["cold"]),
            _ms(p["check_cold"]), _ms(p["nochange"])))
    out.append("")
    out.append("Per container (ms): ")
    out.append("")
    out.append("| n | floor | engine cold | engine no change | module no change | playbook cold "
               "| naive playbook (n=%d) | naive / playbook |" % results["naive"]["n"])
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    naive = _per(results["naive"]["seconds"], results["naive"]["n"])
    for n in results["sizes"]:
        e = results["inprocess"][n]
        p = results["playbook"][n]
        out.append("| %d | %.2f | %.2f | %.3f | %.3f | %.1f | %.0f | %.0f |" % (
            n, _per(e["floor"], n), _per(e["cold"], n), _per(e["nochange"], n), _per(e["module_nochange"], n),
            _per(p["cold"], n), naive, naive / _per(p["cold"], n)))
    loop = results["loop"]
    n = loop["n"]
    out.append("")
    out.append("Per-task loop of %d items, whole ansible-playbook runs (s) and the cost of one more item (ms):" % n)
    out.append("")
    out.append("| loop | 1 item | %d items | per item |" % n)
    out.append("|---|---:|---:|---:|")
    for kind, label in (("veth", "netplumb.linux.veth"), ("true", "ansible.builtin.command: /bin/true")):
        one, many = loop.get("%s_1" % kind, 0.0), loop["%s_%d" % (kind, n)]
        out.append("| %s | %.2f | %.2f | %s |" % (label, one, many, _ms(_item(loop, kind)) if one else "-"))
    imports = results.get("imports")
    if imports:
        out.append("")
        out.append("A fresh Python importing what a module run imports (ms, median):")
        out.append("")
        out.append("| imports | ms |")
        out.append("|---|---:|")
        for label, seconds in imports.items():
            out.append("| %s | %s |" % (label, _ms(seconds)))
    fleet = results.get("fleet")
    if fleet:
        out.append("")
        out.append("Fleet: lab nodes, %d containers each, forks %d (s):" % (fleet["per_node"], fleet["nodes"]))
        out.append("")
        out.append("| | cold | no change |")
        out.append("|---|---:|---:|")
        out.append("| 1 node | %.2f | %.2f |" % (fleet["one_cold"], fleet["one_nochange"]))
        out.append("| %d nodes | %.2f | %.2f |" % (fleet["nodes"], fleet["all_cold"], fleet["all_nochange"]))
        out.append("| ratio | %.2f | %.2f |" % (fleet["all_cold"] / fleet["one_cold"],
                                                fleet["all_nochange"] / fleet["one_nochange"]))
    return out


def _item(loop, kind):
    n = loop["n"]
    one = loop.get("%s_1" % kind)
    many = loop["%s_%d" % (kind, n)]
    return (many - one) / (n - 1) if one is not None and n > 1 else many / n


def targets(results):
    """(target, measured, holds) for each target of the issue, at the largest n."""
    n = max(results["sizes"])
    e = results["inprocess"][n]
    p = results["playbook"][n]
    naive = _per(results["naive"]["seconds"], results["naive"]["n"])
    out = [
        ("%d cold: engine <= 1.5x the floor" % n, "%.2fx" % (e["cold"] / e["floor"]), e["cold"] <= 1.5 * e["floor"]),
        ("%d cold: ansible-playbook >= 100x faster per container than naive" % n,
         "%.0fx" % (naive / _per(p["cold"], n)), naive >= 100 * _per(p["cold"], n)),
        ("%d no change: <= 1 ms per container of module time (main(), in process)" % n,
         "%.3f ms" % _per(e["module_nochange"], n), _per(e["module_nochange"], n) <= 1.0),
        ("%d no change: <= 1 ms per container of engine time" % n, "%.3f ms" % _per(e["nochange"], n),
         _per(e["nochange"], n) <= 1.0),
        ("%d check on cold: no slower than the no-change run (module)" % n,
         "%s vs %s ms" % (_ms(e["module_check_cold"]), _ms(e["module_nochange"])),
         e["module_check_cold"] <= e["module_nochange"]),
        ("%d check on cold: no slower than the no-change run (engine)" % n,
         "%s vs %s ms" % (_ms(e["check_cold"]), _ms(e["nochange"])), e["check_cold"] <= e["nochange"]),
        ("%d check on cold: no slower than the no-change run (playbook)" % n,
         "%.2f vs %.2f s" % (p["check_cold"], p["nochange"]), p["check_cold"] <= p["nochange"]),
    ]
    loop = results["loop"]
    veth, true = _item(loop, "veth"), _item(loop, "true")
    out.append(("loop of %d veth items within 1.3x of /bin/true (per item)" % loop["n"],
                "%.2fx" % (veth / true if true > 0 else float("inf")), veth <= 1.3 * true))
    fleet = results.get("fleet")
    if fleet:
        label = "fleet %dx%d, forks %d: wall time and ratio to 1 node" % (
            fleet["nodes"], fleet["per_node"], fleet["nodes"])
        out.append((label,
                    "%.1f s, %.2fx" % (fleet["all_cold"], fleet["all_cold"] / fleet["one_cold"]), None))
    return out


def table(results):
    lines = ["netplumb benchmark (%s), times in ms unless marked" % results["machine"], ""] + rows(results)
    lines += ["", "Targets:"]
    for name, measured, holds in targets(results):
        lines.append("  %-72s %-18s %s" % (name, measured, {True: "holds", False: "DOES NOT HOLD",
                                                            None: "(measured)"}[holds]))
    return "\n".join(lines)


def plot(results, path):
    """Time per container vs n, log scale: naive vs netplumb vs floor. False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = results["sizes"]
    naive = _per(results["naive"]["seconds"], results["naive"]["n"])
    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=110)
    ax.plot(sizes, [naive] * len(sizes), "o--", label="naive playbook (ip per step, measured at n=%d)"
            % results["naive"]["n"])
    ax.plot(sizes, [_per(results["playbook"][n]["cold"], n) for n in sizes], "s-",
            label="netplumb: ansible-playbook, container_net, cold")
    ax.plot(sizes, [_per(results["inprocess"][n]["cold"], n) for n in sizes], "^-",
            label="netplumb: container_net engine, cold")
    ax.plot(sizes, [_per(results["inprocess"][n]["nochange"], n) for n in sizes], "v:",
            label="netplumb: container_net engine, no change")
    ax.plot(sizes, [_per(results["inprocess"][n]["floor"], n) for n in sizes], "D-",
            label="floor: pyroute2 script, one process")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(n) for n in sizes])
    ax.set_xlabel("containers per call (n)")
    ax.set_ylabel("time per container (ms)")
    ax.set_title("Time per container, measured side by side in one run")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_doc(results, path, plot_path):
    with open(os.path.join(HERE, "performance.md.in")) as handle:
        template = handle.read()
    target_lines = ["| target | measured | |", "|---|---|---|"]
    for name, measured, holds in targets(results):
        verdict = {True: "holds", False: "**does not hold**", None: "measured"}[holds]
        target_lines.append("| %s | %s | %s |" % (name, measured, verdict))
    plot_text = ("![time per container vs n](%s)" % os.path.relpath(plot_path, os.path.dirname(path))
                 if plot_path else "(no plot: matplotlib was not installed)")
    text = template.format(
        date=datetime.date.today().isoformat(), machine=results["machine"], duration=results["duration"],
        tables="\n".join(rows(results)), targets="\n".join(target_lines), plot=plot_text)
    with open(path, "w") as handle:
        handle.write(text)
