"""Mutation testing of pynet/ with mutmut: the share of small deliberate bugs the fast suite catches.

    python tests/mutation.py [MODULE ...] [--max-children N] [--survivors] [--keep]
    make mutation MODULES="optim model"

mutmut (the `mutation` extra: pip install -e '.[mutation]') copies pynet/ into mutants/, makes
every mutant (an operator, constant or argument changed in one place) and runs, for each, the
native tests that call the mutated function ([tool.mutmut] in pyproject.toml: tests/ without
tests/e2e; slow tests stay skipped). It prints one row per module: mutants, killed, survived,
timeout, no tests (no test calls the function), other (crashed or suspicious) and the score,
(killed + timeout) / mutants. MODULE names a file of pynet/ ("optim", "page.runs"); none means all.
--survivors lists the mutants no test noticed, each with its changed line (`mutmut show NAME`
prints the whole diff).
Slow (tens of minutes for a whole module on a busy machine) and not part of CI.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pynet"
MUTANTS = ROOT / "mutants"

# mutmut's exit codes by outcome (mutmut/stats.py); anything else counts as "other".
KILLED = {1, 3}
SURVIVED = {0}
TIMEOUT = {36, 24, -24, 152, 255}
NO_TESTS = {5, 33}


def modules_of(names):
    """pynet module names ("optim", "page.runs") from the arguments, all of pynet/ when none; exit
    on an unknown one."""
    known = sorted(".".join(p.relative_to(PACKAGE).with_suffix("").parts) for p in PACKAGE.rglob("*.py"))
    names = names or known
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"mutation.py: no module {', '.join(unknown)} in pynet/ (modules: {', '.join(known)})")
    return names


def tally(module):
    """Counts of outcomes for one module from mutmut's mutants/pynet/<module>.py.meta."""
    meta = MUTANTS / "pynet" / (module.replace(".", "/") + ".py.meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    row = {"mutants": len(codes), "killed": 0, "survived": 0, "timeout": 0, "no tests": 0, "other": 0}
    survivors = []
    for name, code in codes.items():
        if code in KILLED:
            row["killed"] += 1
        elif code in SURVIVED:
            row["survived"] += 1
            survivors.append(name)
        elif code in TIMEOUT:
            row["timeout"] += 1
        elif code in NO_TESTS:
            row["no tests"] += 1
            survivors.append(name)
        else:  # not run (None), segfault, suspicious: listed so that nothing is hidden
            row["other"] += 1
            survivors.append(f"{name} (exit code {code})")
    detected = row["killed"] + row["timeout"]
    row["score"] = f"{100 * detected / row['mutants']:.1f}%" if row["mutants"] else "-"
    return row, sorted(survivors)


def changed_lines(name):
    """The lines a mutant changes, as '- old | + new' (from `mutmut show`)."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "show", name.split(" ")[0]], cwd=ROOT,
                         capture_output=True, text=True).stdout
    lines = [line for line in out.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return " | ".join(" ".join(line.split()) for line in lines)


def table(modules):
    """The per-module results as a Markdown table (lines), and the survivors by module."""
    columns = ["mutants", "killed", "survived", "timeout", "no tests", "other", "score"]
    lines = ["| module | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    survivors = {}
    for module in modules:
        row, survivors[module] = tally(module)
        lines.append(f"| {module} | " + " | ".join(str(row[c]) for c in columns) + " |")
    return lines, survivors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules of pynet/ (e.g. optim model); default: all")
    parser.add_argument("--max-children", type=int, default=1,
                        help="mutants tested in parallel (default 1: the machine is shared)")
    parser.add_argument("--survivors", action="store_true", help="list the mutants that no test killed")
    parser.add_argument("--keep", action="store_true",
                        help="reuse mutants/ from the last run (only mutants never tested are run)")
    parser.add_argument("--report", action="store_true", help="print the table of the last run without running")
    args = parser.parse_args(argv)
    modules = modules_of(args.modules)

    if not args.report:
        if not args.keep and MUTANTS.exists():
            shutil.rmtree(MUTANTS)  # a fresh copy: mutmut would otherwise keep verdicts on old tests
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYNET_CACHE=os.environ.get("PYNET_CACHE", str(ROOT / ".cache")))
        env.pop("PYNET_SLOW", None)  # the fast suite: slow tests skip
        cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)]
        if args.modules:
            cmd += [f"pynet.{m}.*" for m in modules]
        code = subprocess.call(cmd, cwd=ROOT, env=env)
        if code != 0:
            print(f"mutation.py: mutmut exited with code {code}", file=sys.stderr)
            return code

    lines, survivors = table(modules)
    print("\n".join(lines))
    if args.survivors:
        for module, names in survivors.items():
            if names:
                print(f"\n{module}: {len(names)} not killed")
                for name in names:
                    print(f"  {name}: {changed_lines(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
