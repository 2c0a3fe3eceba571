#!/usr/bin/python3
"""Every environment variable the code reads is in README.md's variables table,
and every variable in that table is read by the code (issue 16).

    readme_variables_check.py PROJECT_ROOT [--self-test]

"Read by the code": a whole string literal that names a variable (INFRA_*,
SLACK_*, AWS_*, LOG_*, the two Lambda ARNs, SSL_CERT_FILE, HOME, …) in the
sources of lib/*/src, lib/*/include and app/ — those literals are only ever
passed to the environment readers (a name inside a longer message does not
count). The table: the rows under the README header "| variable | meaning |
default |", first column, each `NAME` in backticks; `NAME(_SUFFIX)` stands for
NAME and NAME_SUFFIX.

--self-test feeds the check a copy with one variable read that the README
lacks, and one README row that nothing reads; it passes only if both are
reported.
"""

import pathlib
import re
import sys

VARIABLE = re.compile(
    r'"((?:INFRA|SLACK|AWS|LOG|IP_WHITELIST|ORCHESTRATOR|SSL|DISCORD)_[A-Z0-9_]*[A-Z0-9]|HOME)"')
TABLE_HEADER = re.compile(r"^\|\s*variable\s*\|\s*meaning\s*\|\s*default\s*\|\s*$")
NAME_IN_CELL = re.compile(r"`([A-Z][A-Z0-9_]*)(?:\((_[A-Z0-9_]+)\))?`")
SOURCE_SUFFIXES = {".cpp", ".hpp", ".h", ".cc"}


def variables_in_code(root: pathlib.Path, extra_sources=()):
    found = {}
    folders = [p for p in (root / "lib").glob("*/src")] + [p for p in (root / "lib").glob("*/include")]
    folders.append(root / "app")
    texts = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and path.is_file():
                texts.append((path.relative_to(root), path.read_text(encoding="utf-8")))
    texts.extend(extra_sources)
    for where, text in texts:
        for match in VARIABLE.finditer(text):
            found.setdefault(match.group(1), str(where))
    return found


def variables_in_readme(readme_text: str):
    names = set()
    in_table = False
    found_table = False
    for line in readme_text.splitlines():
        if TABLE_HEADER.match(line):
            in_table = True
            found_table = True
            continue
        if not in_table:
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        cells = line.split("|")
        if len(cells) < 3 or set(cells[1].strip()) <= {"-", ":"}:
            continue
        for name, suffix in NAME_IN_CELL.findall(cells[1]):
            names.add(name)
            if suffix:
                names.add(name + suffix)
    if not found_table:
        raise SystemExit("README.md has no '| variable | meaning | default |' table")
    return names


def compare(code, readme):
    problems = []
    for name in sorted(set(code) - readme):
        problems.append(f"{name} is read by {code[name]} but missing from README.md's variables table")
    for name in sorted(readme - set(code)):
        problems.append(f"{name} is in README.md's variables table but no code reads it")
    return problems


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    root = pathlib.Path(argv[1])
    readme_text = (root / "README.md").read_text(encoding="utf-8")
    if "--self-test" in argv[2:]:
        code = variables_in_code(root, [("self-test.cpp", 'read(env, "INFRA_SELF_TEST_ONLY_IN_CODE")')])
        readme = variables_in_readme(
            readme_text.replace("| variable | meaning | default |\n|---|---|---|\n",
                                "| variable | meaning | default |\n|---|---|---|\n"
                                "| `INFRA_SELF_TEST_ONLY_IN_README` | nothing | none |\n", 1))
        problems = compare(code, readme)
        wanted = ["INFRA_SELF_TEST_ONLY_IN_CODE is read", "INFRA_SELF_TEST_ONLY_IN_README is in"]
        missed = [w for w in wanted if not any(p.startswith(w) for p in problems)]
        if missed:
            print("self-test FAILED: the check did not report: " + "; ".join(missed))
            return 1
        print(f"self-test ok: both planted mismatches reported ({len(problems)} problem(s) in all)")
        return 0
    code = variables_in_code(root)
    readme = variables_in_readme(readme_text)
    problems = compare(code, readme)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"ok: the {len(code)} variables the code reads are exactly those of README.md's table")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
