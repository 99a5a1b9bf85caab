#!/usr/bin/env python3
"""Benchmark of `ha-crm --cib-file X configure show` and a one-line commit on a CIB with
1,000 resources (p50 / p90 wall time over N runs), with crmsh's `crm configure show` on the
same CIB (as Pacemaker XML, through CIB_file) beside it when crmsh is installed.

Usage: scripts/bench-crm-configure.py [path/to/ha-crm] [runs]
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HA_CRM = sys.argv[1] if len(sys.argv) > 1 else "target/release/ha-crm"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 50


def crm_text(resources):
    """250 groups of 4 primitives = 1,000 resources (plus 250 groups), constraints."""
    lines = ["node node1", "node node2", "property stonith-enabled=false",
             "property no-quorum-policy=ignore", "rsc_defaults resource-stickiness=100"]
    groups = resources // 4
    for g in range(groups):
        members = []
        for m in range(4):
            rid = f"r{g}_{m}"
            members.append(rid)
            lines.append(f"primitive {rid} ocf:heartbeat:IPaddr2 params ip=10.{g // 250}.{g % 250}.{m + 1} "
                         f"cidr_netmask=24 op monitor interval=10s timeout=20s op start timeout=30s")
        lines.append(f"group g{g} {' '.join(members)} meta target-role=Started")
        lines.append(f"location loc{g} g{g} {g % 200}: node{1 + g % 2}")
        if g > 0:
            lines.append(f"order o{g} Optional: g{g - 1} g{g}")
    return "\n".join(lines) + "\n"


def timed(cmd, env=None):
    """Wall time and CPU time (user + system of the child) of one run, in ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def report(name, runs):
    walls = sorted(wall for wall, _ in runs)
    cpus = sorted(cpu for _, cpu in runs)
    p50 = statistics.median(walls)
    p90 = walls[int(len(walls) * 0.9) - 1]
    cpu = statistics.median(cpus)
    print(f"{name:<58} p50 {p50:7.2f} ms   p90 {p90:7.2f} ms   CPU p50 {cpu:6.2f} ms   (n={len(runs)})")


def main():
    work = tempfile.mkdtemp(prefix="bench-crm-")
    cib = os.path.join(work, "cib.json")
    text_file = os.path.join(work, "config.crm")
    with open(text_file, "w") as f:
        f.write(crm_text(1000))
    subprocess.run([HA_CRM, "--cib-file", cib, "configure", "load", "replace", text_file],
                   check=True, stderr=subprocess.DEVNULL)
    size = os.path.getsize(cib)
    print(f"CIB: 1000 primitives in 250 groups, 250 locations, 249 orders; file {size} bytes")
    report("ha-crm --cib-file X configure show",
           [timed([HA_CRM, "--cib-file", cib, "configure", "show"]) for _ in range(RUNS)])
    values = ["100", "200"]
    report("ha-crm --cib-file X configure rsc_defaults ... (commit)",
           [timed([HA_CRM, "--cib-file", cib, "configure", "rsc_defaults",
                   f"resource-stickiness={values[i % 2]}"]) for i in range(RUNS)])
    # A change to a resource, which takes the general path (a copy of the configuration, every
    # verify check on the changed objects) unlike the options above.
    report("ha-crm --cib-file X configure primitive ... (commit)",
           [timed([HA_CRM, "--cib-file", cib, "configure", "primitive", f"bench{i}",
                   "ocf:heartbeat:Dummy"]) for i in range(RUNS)])
    if shutil.which("crm"):
        xml = os.path.join(work, "cib.xml")
        with open(xml, "w") as f:
            subprocess.run([HA_CRM, "--cib-file", cib, "configure", "show", "xml"], check=True, stdout=f)
        env = dict(os.environ, CIB_file=xml)
        crm_runs = max(3, RUNS // 10)
        report("crmsh: CIB_file=X crm configure show",
               [timed(["crm", "configure", "show"], env=env) for _ in range(crm_runs)])
    shutil.rmtree(work)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
