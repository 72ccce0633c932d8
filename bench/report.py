"""Tables, targets, plot and docs/performance.md from the benchmark's results.

Run alone, it writes the document again from saved results (run.py --json):

    .venv/bin/python bench/report.py .build/bench.json --doc docs/performance.md --plot docs/performance.png
"""

import argparse
import datetime
import json
import os
import statistics
import sys

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
    if all("cold_unverified" in results["inprocess"][n] for n in results["sizes"]):
        out += ["", "The read-back after a real apply, timed inside the engine's cold run (ms; a run with nothing to "
                "change applies nothing and reads nothing back):", "",
                "| n | cold | of which the read-back | cold without it | ratio | one container added to n: the run "
                "| of which the read-back |", "|---:|---:|---:|---:|---:|---:|---:|"]
        for n in results["sizes"]:
            e = results["inprocess"][n]
            cells = (n, _ms(e["cold"]), _ms(e.get("readback", e["cold"] - e["cold_unverified"])),
                     _ms(e["cold_unverified"]), _readback_ratio(e),
                     _ms(e["one_more"]) if "one_more" in e else "-",
                     _ms(e["one_more_readback"]) if "one_more_readback" in e else "-")
            out.append("| %d | %s | %s | %s | %.2f | %s | %s |" % cells)
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
        # [label, seconds] pairs in the order measured (a dict in older results).
        for label, seconds in (imports.items() if isinstance(imports, dict) else imports):
            out.append("| %s | %s |" % (label, _ms(seconds)))
    payloads = results.get("payloads")
    if payloads:
        out += ["", "Ansible building a module's AnsiballZ payload on the controller, once per run and module "
                "(ms, median; a Python of its own, which has read ansible.builtin's routing first, "
                "as a run has; and with the garbage collector paused, as netplumb's action plugins build it):", "",
                "| module | ms | payload (kB) | ms, the collector paused |", "|---|---:|---:|---:|"]
        # [module, seconds, bytes, seconds paused] (older results: without the last).
        out += ["| %s | %s | %.0f | %s |" % (row[0], _ms(row[1]), row[2] / 1024.0, _ms(row[3]) if len(row) > 3 else "-")
                for row in payloads]
    out += shape_rows(results) + growth_rows(results) + fleet_rows(results)
    return out


def shape_rows(results):
    """The bench shapes with n containers, no change, above Ansible's own cost
    of the same tasks, and of as many tasks without arguments."""
    shapes = results.get("shapes")
    if not shapes:
        return []
    n = shapes["n"]
    out = ["", "%d containers, nothing to change, against Ansible's own cost of the same tasks (the same "
           "arguments into a module that does nothing, one per netplumb module, bench/library/netplumb_bench_noop.py) "
           "and of as many tasks without arguments (ansible.builtin.ping), whole ansible-playbook runs:" % n, "",
           "| shape | tasks | no change (s) | the same tasks, doing nothing (s) | above them, per container (ms) "
           "| of which netplumb's code, shipped and imported (ms) | as many pings (s) "
           "| above them, per container (ms) | the same tasks doing nothing, the collector paused as netplumb's "
           "actions pause it (s) | above them, per container (ms) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, shape in sorted((k, v) for k, v in shapes.items() if k != "n"):
        ping, imports, paused = shape.get("ping"), shape.get("imports"), shape.get("paused")
        out.append("| %s | %d | %.2f | %.2f | %.2f | %s | %s | %s | %s | %s |" % (
            label, shape["tasks"], shape["nochange"], shape["ansible"], _per(_difference(shape, "nochange", "ansible"), n),
            "%.2f" % _per(_difference(shape, "imports", "ansible"), n) if imports is not None else "-",
            "%.2f" % ping if ping is not None else "-",
            "%.2f" % _per(_difference(shape, "nochange", "ping"), n) if ping is not None else "-",
            "%.2f" % paused if paused is not None else "-",
            "%.2f" % _per(_difference(shape, "nochange", "paused"), n) if paused is not None else "-"))
    return out


def _growth_ratio(g, n):
    """The module's cold run per container, relative to the floor's, at n:
    the median of each module run's ratio to the floor run beside it
    (results of older runs: the ratio of the medians)."""
    return g[n].get("ratio", g[n]["cold"] / g[n]["floor"])


def paired(first, second):
    """The median of the differences of runs taken in turn (first[i] - second[i])."""
    return statistics.median(a - b for a, b in zip(first, second))


def _difference(record, first, second):
    """Seconds of run ``first`` over run ``second`` of a record that keeps
    its runs taken in turn (a shape, a playbook size): the median of the
    differences within each repeat (results without their runs: the
    difference of the medians)."""
    runs = record.get("runs")
    if not runs:
        return record[first] - record[second]
    return paired(runs[first], runs[second])


def _check_over_nochange(p):
    """The playbook's check mode on a cold node over its no-change run."""
    return _difference(p, "check_cold", "nochange")


def _readback_ratio(e):
    """A cold run over the same run without its read-back: the median of
    each run's own ratio (results of older runs: the ratio of the medians)."""
    return e.get("readback_ratio", e["cold"] / e["cold_unverified"])


def growth_rows(results):
    growth = results.get("growth")
    if not growth:
        return []
    out = ["", "Growth: container_net's module (main(), a Python of its own) and the pyroute2 floor, side by side; "
           "the floor again with IPv6 off on its new links, and through pyroute2's IPRoute API (item 9):", "",
           "| n | floor (s) | module cold (s) | module / floor | module no change (s) | per container, cold (ms) "
           "| peak memory of the module run (MB) | floor, IPv6 off (s) | floor's time in IPv6's start "
           "| floor through IPRoute (s) | module / that floor |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sorted(growth):
        g = growth[n]
        off, iproute = g.get("floor_ipv6_off"), g.get("floor_iproute")
        out.append("| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %s | %s | %s | %s |" % (
            n, g["floor"], g["cold"], _growth_ratio(growth, n), g["nochange"], _per(g["cold"], n),
            g["maxrss_kb"] / 1024.0, "%.2f" % off if off else "-",
            "%.0f%%" % (100.0 * (g["floor"] - off) / g["floor"]) if off else "-",
            "%.2f" % iproute if iproute else "-", "%.2f" % (g["cold"] / iproute) if iproute else "-"))
    return out


def _nodes(n):
    return "%d node%s" % (n, "" if n == 1 else "s")


def _fleet_base(fleet):
    """The smallest fleet: what the ratios are taken against (1 node by default)."""
    return fleet[min(fleet)]


def _fleet_name(results):
    return os.path.basename(results.get("fleet_playbook", "site.yml"))


def _short(name):
    """A task name for a table cell: without the collection, its pipes escaped."""
    return name.replace("netplumb.linux.", "").replace("|", "\\|")


def fleet_rows(results):
    """The fleet over SSH: the site playbook against the one-ping playbook, per
    node count; the lab's own cost; where the time goes in the largest fleet."""
    fleet = results.get("fleet")
    if not fleet:
        return []
    site = _fleet_name(results)
    base = _fleet_base(fleet)
    versus = "x %s" % _nodes(base["nodes"])
    out = ["", "Fleet over SSH: %s on fresh lab nodes, forks = nodes, whole ansible-playbook runs (s):" % site, "",
           "| nodes | %s cold | %s | %s no change | %s | ping | %s | cold / ping, first contact "
           "| no change / ping |" % (site, versus, site, versus, versus),
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for nodes in sorted(fleet):
        f = fleet[nodes]
        out.append("| %d | %.1f | %.2f | %.1f | %.2f | %.1f | %.2f | %.1f | %.1f |" % (
            nodes, f["site_cold"]["wall"], f["site_cold"]["wall"] / base["site_cold"]["wall"],
            f["site_nochange"]["wall"], f["site_nochange"]["wall"] / base["site_nochange"]["wall"],
            f["ping"]["wall"], f["ping"]["wall"] / base["ping"]["wall"],
            f["site_cold"]["wall"] / f["ping_first"]["wall"], f["site_nochange"]["wall"] / f["ping"]["wall"]))
    out += ["", "The lab and the connection (s; load: this machine's 1-minute load average before and after):", "",
            "| nodes | lab build | lab teardown | ping, first contact | ping | %s cold changed | "
            "no change changed | load |" % site,
            "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for nodes in sorted(fleet):
        f = fleet[nodes]
        out.append("| %d | %.1f%s | %s | %.1f | %.1f | %d | %d | %.1f, %.1f |" % (
            nodes, f["lab_up"], " (layer built)" if f.get("layer_built") else "",
            "%.1f" % f["lab_down"] if f.get("lab_down") is not None else "failed",
            f["ping_first"]["wall"], f["ping"]["wall"], f["site_cold"]["changed"], f["site_nochange"]["changed"],
            f["load_before"], f["load_after"]))
    out += ["", "Against the one-ping playbook on the same nodes (the roles' prerequisites installed; cold: no network "
            "yet, check: check mode in that state), task slots per node and CPU seconds per node:", "",
            "| nodes | check / ping | cold / ping | no change / ping | task slots per node | controller CPU per node, "
            "no change (s) | node CPU per node, no change (s) |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    for nodes in sorted(fleet):
        f = fleet[nodes]
        if "site_check" not in f:
            continue
        cpu = f["site_nochange"].get("cpu") or {}
        out.append("| %d | %.1f | %.1f | %.1f | %.0f | %.2f | %.2f |" % (
            nodes, f["site_check"]["wall"] / f["ping"]["wall"], f["site_cold"]["wall"] / f["ping"]["wall"],
            f["site_nochange"]["wall"] / f["ping"]["wall"], f["site_nochange"].get("slots_per_node", 0),
            cpu.get("controller", 0) / nodes, cpu.get("nodes", 0) / nodes))
    top = fleet[max(fleet)]
    out += ["", "Where the time goes, %s (s; a task's span runs from its start to the last node's result):"
            % _nodes(top["nodes"]), "",
            "| | %s cold | %s no change | ping |" % (site, site), "|---|---:|---:|---:|"]
    runs = [top["site_cold"], top["site_nochange"], top["ping"]]
    out.append("| whole run | %s |" % " | ".join("%.1f" % r["wall"] for r in runs))
    out.append("| ansible-playbook before and after the play (start-up, inventory, parsing) | %s |"
               % " | ".join("%.1f" % (r["wall"] - r["in_plays"]) for r in runs))
    out.append("| tasks that ran on a node / in the run | %s |"
               % " | ".join("%d / %d" % (r["tasks_run"], r["tasks"]) for r in runs))
    out.append("| spans of the tasks that ran a module on the nodes | %s |"
               % " | ".join("%.1f" % r["in_module_tasks"] for r in runs))
    out.append("| spans of the tasks that ran on the controller only (set_fact, assert, include, ...) | %s |"
               % " | ".join("%.1f" % (r["in_tasks"] - r["in_module_tasks"]) for r in runs))
    out.append("| module runs on each node (loop items counted) | %s |"
               % " | ".join("%.0f" % r["module_runs_per_node"] for r in runs))
    out.append("| span per module run on a node | %s |"
               % " | ".join("%.2f" % (r["in_module_tasks"] / r["module_runs_per_node"])
                            if r["module_runs_per_node"] else "-" for r in runs))
    for key, label in (("site_cold", "cold"), ("site_nochange", "no change")):
        out += ["", "Slowest tasks of %s %s, %s (s; module runs per node, loop items counted):"
                % (site, label, _nodes(top["nodes"])), "", "| task | runs | s |", "|---|---:|---:|"]
        out += ["| %s | %.0f | %.1f |" % (_short(name), runs_, seconds) for name, seconds, runs_ in top[key]["slowest"]]
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
         "%.2f vs %.2f s (%+.2f s within a repeat)" % (p["check_cold"], p["nochange"], _check_over_nochange(p)),
         _check_over_nochange(p) <= 0),
    ]
    if "cold_unverified" in e:
        out.append(("%d cold: the read-back after the apply costs <= 10%% (engine)" % n,
                    "%.2fx" % _readback_ratio(e), _readback_ratio(e) <= 1.1))
    loop = results["loop"]
    veth, true = _item(loop, "veth"), _item(loop, "true")
    out.append(("loop of %d veth items within 1.3x of /bin/true (per item)" % loop["n"],
                "%.2fx" % (veth / true if true > 0 else float("inf")), veth <= 1.3 * true))
    shapes = results.get("shapes")
    for label, shape in sorted((k, v) for k, v in (shapes or {}).items() if k != "n"):
        above = _per(_difference(shape, "nochange", "ansible"), shapes["n"])
        out.append(("%d no change, %s: <= 1.0 ms per container above Ansible's own cost of the same %s"
                    % (shapes["n"], label, "task" if shape["tasks"] == 1 else "%d tasks" % shape["tasks"]),
                    "%.2f ms" % above, above <= 1.0))
        if shape.get("paused") is not None:
            out.append(("%d no change, %s, for reference: per container above the same tasks doing nothing with the "
                        "collector paused as netplumb's actions pause it" % (shapes["n"], label),
                        "%.2f ms" % _per(_difference(shape, "nochange", "paused"), shapes["n"]), None))
    growth = results.get("growth")
    if growth and len(growth) > 1:
        low, high = min(growth), max(growth)
        ratio = _growth_ratio(growth, high) / _growth_ratio(growth, low)
        out.append(("growth: module / floor per container at %d <= 1.1x that at %d" % (high, low),
                    "%.2fx (%.2f, %.2f)" % (ratio, _growth_ratio(growth, high), _growth_ratio(growth, low)),
                    ratio <= 1.1))
        out.append(("peak memory of the module run at %d containers" % high,
                    "%.0f MB" % (growth[high]["maxrss_kb"] / 1024.0), None))
    fleet = results.get("fleet")
    if fleet and any("site_check" in f for f in fleet.values()):
        lab = fleet[2] if 2 in fleet else _fleet_base(fleet)
        name = "%s, %s" % (_fleet_name(results), _nodes(lab["nodes"]))
        for key, label, limit in (("site_nochange", "no change", 4.0), ("site_cold", "cold", 5.0),
                                  ("site_check", "check mode", 5.0)):
            ratio = lab[key]["wall"] / lab["ping"]["wall"]
            out.append(("%s %s: <= %.0fx the one-ping playbook" % (name, label, limit),
                        "%.1fx (%.1f s)" % (ratio, lab[key]["wall"]), ratio <= limit))
        slots = max(f["site_nochange"].get("slots_per_node", 0) for f in fleet.values())
        out.append(("%s: <= 12 task slots per node" % _fleet_name(results), "%.0f" % slots, slots <= 12))
        one, many = _fleet_base(fleet), fleet[max(fleet)]
        if many is not one and one["site_nochange"].get("cpu") and many["site_nochange"].get("cpu"):
            for side in ("controller", "nodes"):
                per_one = one["site_nochange"]["cpu"][side] / one["nodes"]
                per_many = many["site_nochange"]["cpu"][side] / many["nodes"]
                ratio = per_many / per_one if per_one > 0 else float("inf")
                out.append(("fleet, no change: %s CPU per node, %d nodes <= 1.2x %d" % (
                    "controller" if side == "controller" else "node", many["nodes"], one["nodes"]),
                    "%.2fx (%.2f vs %.2f s)" % (ratio, per_many, per_one), ratio <= 1.2))
        if many is not one and one["ping"].get("cpu", {}).get("nodes") and many["ping"].get("cpu"):
            # The same nodes' cost of Ansible alone: what sharing the cores does to any module run.
            per_one = one["ping"]["cpu"]["nodes"] / one["nodes"]
            per_many = many["ping"]["cpu"]["nodes"] / many["nodes"]
            out.append(("fleet: the one-ping playbook's node CPU per node, %d nodes against %d" % (
                many["nodes"], one["nodes"]), "%.2fx (%.2f vs %.2f s)" % (per_many / per_one, per_many, per_one), None))
    if fleet:
        base, top = _fleet_base(fleet), fleet[max(fleet)]
        for key, label in (("site_cold", "cold"), ("site_nochange", "no change")):
            out.append(("fleet of %d, %s %s, forks %d: wall time, ratio to %s" % (
                top["nodes"], _fleet_name(results), label, top["nodes"], _nodes(base["nodes"])),
                "%.1f s, %.2fx" % (top[key]["wall"], top[key]["wall"] / base[key]["wall"]), None))
        out.append(("fleet of %d: %s no change / the one-ping playbook" % (top["nodes"], _fleet_name(results)),
                    "%.1fx" % (top["site_nochange"]["wall"] / top["ping"]["wall"]), None))
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
    # Its font cache and config, else written under the home directory.
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.path.dirname(HERE), ".build", "matplotlib"))
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
            label="floor: pyroute2 messages, one process")
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


def _cpus(results):
    machine = results["machine"]
    return int(machine.split(" CPUs")[0].split()[-1]) if " CPUs" in machine else 0


def load_text(results):
    """What the machine's load was during the run, in words for the document."""
    load = results.get("load")
    if not load:
        return ""
    cpus = _cpus(results)
    first, last = load["start"][0], load["end"][0]
    text = ("When the run started, before any work of its own, the 1-minute load average was %.1f; it was %.1f"
            " at the end" % (first, last))
    fleet = results.get("fleet")
    if fleet:
        seen = [f[key] for f in fleet.values() for key in ("load_before", "load_after")]
        text += (", and from %.1f to %.1f before and after the fleet's labs (their own nodes and forks count"
                 " in it)" % (min(seen), max(seen)))
    settled = load.get("settled")
    if settled and settled["waits"]:
        if settled["busy"]:
            text += (". **The machine was busy with other work**: %d of the %d waits for an idle machine before a"
                     " measurement ended after %.0f s with it still busy, so absolute times are higher than on an"
                     " idle machine and the benchmark's processes shared the cores with that work"
                     % (settled["busy"], settled["waits"], settled["seconds"]))
        else:
            text += (". The machine went idle before each of the %d measurements that wait for it: the load"
                     " averages above are the benchmark's own work" % settled["waits"])
    if cpus and first > cpus:
        text += (". **The machine was loaded when the run started**: more runnable processes than its %d cores"
                 % cpus)
    text += "."
    return text


def _shape_split(results, label):
    """(the code, the whole) per container above the same tasks, ms, of one shape."""
    shapes = results["shapes"]
    shape, n = shapes[label], shapes["n"]
    return _per(_difference(shape, "imports", "ansible"), n), _per(_difference(shape, "nochange", "ansible"), n)


def run_figures(results):
    """The figures of this run that the document's prose quotes, in words."""
    shapes = results.get("shapes") or {}
    if "imports" in shapes.get("node_network", {}) and "imports" in shapes.get("bridge + container_net", {}):
        (code_b, all_b), (code_n, all_n) = (_shape_split(results, label)
                                            for label in ("bridge + container_net", "node_network"))
        shapes_text = ("In this file's run the code is %.2f of `bridge + container_net`'s %.2f ms and %.2f of "
                       "`node_network`'s %.2f ms, so the work is %.2f and %.2f ms" % (
                           code_b, all_b, code_n, all_n, all_b - code_b, all_n - code_n))
        node_network = "%.2f ms in this file's run" % all_n
    else:
        shapes_text, node_network = "This file's run measured no shapes", "no figure in this file's run"
    growth = results.get("growth")
    growth_text = "no growth rows in this file's run"
    if growth and len(growth) > 1:
        low, high = min(growth), max(growth)
        growth_text = "%.2fx in this file's run" % (_growth_ratio(growth, high) / _growth_ratio(growth, low))
    fleet = results.get("fleet")
    base = _fleet_base(fleet) if fleet else None
    one_text = ("%.2f s in this file's run" % (base["site_nochange"]["cpu"]["nodes"] / base["nodes"])
                if base and base["site_nochange"].get("cpu") else "no fleet in this file's run")
    fleet_text = "This file's run measured no fleet"
    for name, measured, _holds in targets(results):
        if name.startswith("fleet, no change: node CPU per node"):
            fleet_text = "In this file's run the nodes' CPU per node was %s on the most nodes against one" % measured
        elif name.startswith("fleet: the one-ping playbook's node CPU per node"):
            fleet_text += " (the ping playbook's %s)" % measured.split()[0]
    return {"shapes_run": shapes_text, "node_network_run": node_network, "fleet_run": fleet_text,
            "growth_run": growth_text, "fleet_one_node": one_text}


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
        date=results.get("date", datetime.date.today().isoformat()), machine=results["machine"],
        duration=results["duration"], cpus=_cpus(results) or "?", load=load_text(results),
        tables="\n".join(rows(results)), targets="\n".join(target_lines), plot=plot_text, **run_figures(results))
    with open(path, "w") as handle:
        handle.write(text)


def load_results(path):
    """Results written by run.py --json, with the integer keys it had in memory."""
    with open(path) as handle:
        results = json.load(handle)
    for section in ("inprocess", "playbook", "fleet", "growth"):
        if section in results:
            results[section] = {int(key): value for key, value in results[section].items()}
    return results


def main(argv=None):
    """Write the document (and plot) again from saved results: after a change
    to performance.md.in or to this file, without measuring again."""
    parser = argparse.ArgumentParser(description=main.__doc__.split(":", maxsplit=1)[0])
    parser.add_argument("json", help="results of run.py --json (make bench: .build/bench.json)")
    parser.add_argument("--doc", required=True, help="docs/performance.md")
    parser.add_argument("--plot", help="docs/performance.png (needs matplotlib)")
    args = parser.parse_args(argv)
    results = load_results(args.json)
    if args.plot and not plot(results, args.plot):
        args.plot = None
    write_doc(results, args.doc, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
