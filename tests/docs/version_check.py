#!/usr/bin/python3
"""The version comes from one place, CMakeLists.txt's project VERSION (issue 16):

    version_check.py PROJECT_ROOT

 - docker/Dockerfile's `ARG VERSION=` default (the image label of a build
   without --build-arg) is that version;
 - every image tag the docs show (`…/infra-bot:X.Y.Z`, `?ref=vX.Y.Z`) is it too;
 - the Dockerfile labels the image with the OCI source, licenses and created keys,
   and licenses says what LICENSE is (MIT).
`infra-bot --version` prints the CMake version (app/infra-bot/CMakeLists.txt), and
the container test checks the built image's labels against it.
"""

import pathlib
import re
import sys


def main(argv):
    root = pathlib.Path(argv[1])
    problems = []
    cmake = (root / "CMakeLists.txt").read_text(encoding="utf-8")
    match = re.search(r"^project\(infra-bot VERSION ([0-9]+\.[0-9]+\.[0-9]+)", cmake, re.M)
    if not match:
        print("CMakeLists.txt has no `project(infra-bot VERSION x.y.z`")
        return 1
    version = match.group(1)

    dockerfile = (root / "docker" / "Dockerfile").read_text(encoding="utf-8")
    defaults = re.findall(r"^ARG VERSION=(\S*)$", dockerfile, re.M)
    if defaults != [version]:
        problems.append(f"docker/Dockerfile: ARG VERSION defaults {defaults}, not [{version!r}]")
    for key in ("source", "licenses", "created", "version", "revision"):
        if f"org.opencontainers.image.{key}=" not in dockerfile:
            problems.append(f"docker/Dockerfile: no org.opencontainers.image.{key} label")
    licence = (root / "LICENSE").read_text(encoding="utf-8")
    if not licence.startswith("MIT License") or 'org.opencontainers.image.licenses="MIT"' not in dockerfile:
        problems.append("LICENSE and the image's licenses label disagree (expected MIT for both)")

    docs = [root / "README.md", *sorted((root / "deploy").rglob("*.md")),
            *sorted((root / "deploy").rglob("*.tf")), *sorted((root / "docs").rglob("*.md"))]
    tags = 0
    for path in docs:
        text = path.read_text(encoding="utf-8")
        for found in re.finditer(r"infra-bot:(\d+\.\d+\.\d+)\b|\?ref=v(\d+\.\d+\.\d+)\b", text):
            tags += 1
            shown = found.group(1) or found.group(2)
            if shown != version:
                line = text.count("\n", 0, found.start()) + 1
                problems.append(f"{path.relative_to(root)}:{line}: shows version {shown}, not {version}")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"ok: version {version} in CMakeLists.txt, the Dockerfile and {tags} tag(s) of the docs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
