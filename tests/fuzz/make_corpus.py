#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from proto-fixtures/.

    tests/fuzz/make_corpus.py            # rewrite tests/fuzz/corpus/<target>/

Seeds are named after the fixture they come from (slack_<file>, lambda_<case>,
console_<transcript>_<line>, table_<parser test case>, template_<fixture>), so
a failing seed names its source. Files named regression_* are inputs that once
broke a target; they are kept as they are. Run it again after changing
proto-fixtures/ or the parser test table, and commit the result.
"""

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "proto-fixtures"
CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"
GENERATED = ("slack_", "lambda_", "console_", "table_", "template_")

# fuzz_lambda_response: byte 0 = call (low nibble) | answer kind << 4.
LAMBDA_CALLS = {"status": 0, "stop": 1, "start": 2, "teardown": 3, "spinup": 4,
                "add": 5, "remove": 6, "list": 7, "refresh": 8}
FUNCTION_ERROR_KIND = {"Unhandled": 8, "Handled": 9}

# fuzz_view_submission: byte 0 = how the envelope is built.
MODE_RAW, MODE_SUBMISSION, MODE_CLOSED, MODE_BUTTON, MODE_SLASH = range(5)


def field(text: str) -> bytes:
    """One string as FuzzedDataProvider::ConsumeRandomLengthString reads it."""
    return text.encode().replace(b"\\", b"\\\\") + b"\\ "


def command_lines():
    """(name, text) of every command in the console transcripts, the slash
    command fixtures and the parser's test table."""
    for transcript in sorted((FIXTURES / "console").iterdir()):
        lines = (transcript / "input.txt").read_text().splitlines()
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.startswith(":"):
                yield f"console_{transcript.name}_{number}", line
    for path in sorted((FIXTURES / "slack").glob("slash_command_*.json")):
        payload = json.loads(path.read_text()).get("payload", {})
        yield f"slack_{path.stem}", payload.get("text", "")
    table = (ROOT / "tests/unit/command_parser_test.cpp").read_text()
    for name, literal in re.findall(r'\{"([a-z0-9_]+)",\s*"((?:[^"\\\n]|\\.)*)"', table):
        yield f"table_{name}", cpp_literal_bytes(literal)


def cpp_literal_bytes(literal: str) -> bytes:
    """The bytes of a C++ narrow string literal body: backslash escapes decoded."""
    simple = {"n": b"\n", "t": b"\t", "r": b"\r", "f": b"\f", "v": b"\v", "0": b"\0",
              "\\": b"\\", '"': b'"', "'": b"'", "?": b"?"}
    out = bytearray()
    i = 0
    while i < len(literal):
        if literal[i] != "\\":
            out += literal[i].encode()
            i += 1
        elif literal[i + 1] == "x":  # the table writes exactly two hex digits
            out.append(int(literal[i + 2:i + 4], 16))
            i += 4
        else:
            out += simple[literal[i + 1]]
            i += 2
    return bytes(out)


def seeds():
    out = {"fuzz_command_parser": {}, "fuzz_envelope": {}, "fuzz_lambda_response": {},
           "fuzz_view_submission": {}}

    seen = set()
    for name, text in command_lines():
        data = text if isinstance(text, bytes) else text.encode()
        if data in seen:
            continue
        seen.add(data)
        out["fuzz_command_parser"][name] = data

    for path in sorted((FIXTURES / "slack").glob("*.json")):
        data = path.read_bytes()
        out["fuzz_envelope"][f"slack_{path.stem}"] = data
        if path.stem.startswith(("slash_command_", "view_", "block_actions", "shortcut",
                                 "events_api")):
            out["fuzz_view_submission"][f"slack_{path.stem}"] = bytes([MODE_RAW]) + data

    for case in sorted(p for p in (FIXTURES / "lambda").iterdir() if p.is_dir()):
        request = json.loads((case / "request.json").read_text())
        kind = 0
        headers = case / "headers.json"
        if headers.exists():
            kind = FUNCTION_ERROR_KIND.get(
                json.loads(headers.read_text()).get("X-Amz-Function-Error", ""), 0)
        selector = LAMBDA_CALLS[request["action"]] | (kind << 4)
        out["fuzz_lambda_response"][f"lambda_{case.name}"] = (
            bytes([selector]) + (case / "response.json").read_bytes())

    # The teardown modal coming back: the fixtures' metadata, typed texts and view ids.
    for name in ("view_submission_teardown", "view_submission_teardown_mismatch",
                 "view_submission_teardown_empty", "view_closed_teardown"):
        payload = json.loads((FIXTURES / "slack" / f"{name}.json").read_text())["payload"]
        view = payload["view"]
        typed = ((view.get("state", {}).get("values", {}).get("teardown_confirm", {})
                  .get("confirm_text", {}).get("value")) or "")
        mode = MODE_CLOSED if payload["type"] == "view_closed" else MODE_SUBMISSION
        data = bytes([mode]) + field(view["private_metadata"]) + field(typed) + field(view["id"])
        out["fuzz_view_submission"][f"template_{name}"] = data
        if name == "view_submission_teardown":
            out["fuzz_view_submission"]["template_teardown_button"] = (
                bytes([MODE_BUTTON]) + field(view["private_metadata"]) +
                field("https://hooks.slack.com/actions/T0123ABCD/1/abc") + field(""))
    for name, text in (("status", "status"), ("stop", "stop staging"),
                       ("teardown_full", "teardown dev --level=full"),
                       ("whitelist_add", "whitelist add 203.0.113.7 --ttl=7d "
                                         "--description=\u2018Home office &amp; lab\u2019"),
                       ("help", "help"), ("unknown", "restart dev")):
        out["fuzz_view_submission"][f"template_slash_{name}"] = bytes([MODE_SLASH]) + field(text)
    return out


def main():
    for target, files in seeds().items():
        directory = CORPUS / target
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            if old.name.startswith(GENERATED):
                old.unlink()
        for name, data in files.items():
            (directory / name).write_bytes(data)
        print(f"{target}: {len(files)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
