#!/usr/bin/python3
"""Fails when a public symbol of include/bitnet/ has no documentation.

Runs Doxygen over the public headers with the project's Doxyfile (XML output
into a temporary directory) and fails on:
  - any Doxygen warning (WARN_IF_UNDOCUMENTED: functions, types, macros,
    struct fields; WARN_IF_DOC_ERROR: a bad @param, an unknown command);
  - an enum value without a comment (Doxygen does not warn about those);
  - a BN_API function of the headers that Doxygen did not document at all.
Then checks that it catches gaps: the same run on a copy of the headers with
one enum value's and one function's comment removed must report both.

usage: check_api_docs.py DOXYGEN DOXYFILE INCLUDE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from typing import List


def text_of(node: "ET.Element | None") -> str:
    return "" if node is None else "".join(node.itertext()).strip()


def check(doxygen: str, doxyfile: str, headers: str) -> List[str]:
    """The list of problems of the headers in `headers` (empty when clean)."""
    problems: List[str] = []
    with tempfile.TemporaryDirectory(prefix="bitnet-apidoc.") as tmp:
        with open(doxyfile, encoding="utf-8") as f:
            config = f.read()
        # later assignments override the Doxyfile's
        config += "\n".join([
            "", f"INPUT = {headers}", f"STRIP_FROM_PATH = {headers}",
            f"OUTPUT_DIRECTORY = {tmp}", "GENERATE_HTML = NO", "GENERATE_XML = YES",
            f"WARN_LOGFILE = {tmp}/warnings.log", ""])
        run = subprocess.run([doxygen, "-"], input=config, text=True, capture_output=True)
        if run.returncode != 0:
            return [f"doxygen failed ({run.returncode}): {run.stderr.strip()}"]
        with open(f"{tmp}/warnings.log", encoding="utf-8") as f:
            problems += [l for l in f.read().splitlines() if l.strip()]

        documented = set()
        for name in os.listdir(f"{tmp}/xml"):
            if not name.endswith(".xml") or name == "index.xml":
                continue
            root = ET.parse(f"{tmp}/xml/{name}").getroot()
            for member in root.iter("memberdef"):
                mname = text_of(member.find("name"))
                if member.get("kind") == "function":
                    documented.add(mname)
                for value in member.iter("enumvalue"):
                    if not (text_of(value.find("briefdescription")) or
                            text_of(value.find("detaileddescription"))):
                        problems.append(f"enum {mname}: value {text_of(value.find('name'))} "
                                        "is not documented")
        declared = set()
        for h in sorted(os.listdir(headers)):
            if h.endswith(".h"):
                with open(os.path.join(headers, h), encoding="utf-8") as f:
                    declared |= set(re.findall(r"\bBN_API\b[^;(]*?\b(bn_\w+)\s*\(", f.read()))
        for fn in sorted(declared - documented):
            problems.append(f"function {fn} is not in the API reference (no doc comment?)")
        if not declared:
            problems.append(f"no BN_API function found in {headers}")
    return problems


def self_test(doxygen: str, doxyfile: str, headers: str) -> List[str]:
    """Problems of the checker itself: it must see two gaps made on purpose."""
    with tempfile.TemporaryDirectory(prefix="bitnet-apidoc-gap.") as tmp:
        for h in os.listdir(headers):
            with open(os.path.join(headers, h), encoding="utf-8") as f:
                text = f.read()
            if h == "bitnet.h":
                text = re.sub(r"(BN_OK = 0,)\s*/\*\*<[^*]*\*/", r"\1", text)
                text = re.sub(r"/\*\*[^/]*\*/\s*(BN_API const char \*bn_strerror)", r"\1", text)
            with open(os.path.join(tmp, h), "w", encoding="utf-8") as f:
                f.write(text)
        found = "\n".join(check(doxygen, doxyfile, tmp))
        return [f"the check misses an undocumented {what}" for what, key in
                [("enum value", "BN_OK"), ("function", "bn_strerror")] if key not in found]


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    doxygen, doxyfile, include = sys.argv[1:]
    headers = os.path.join(include, "bitnet")
    problems = check(doxygen, doxyfile, headers)
    for p in problems:
        print(f"undocumented: {p}")
    misses = self_test(doxygen, doxyfile, headers)
    for m in misses:
        print(f"FAIL: {m}")
    if problems or misses:
        print(f"FAIL: {len(problems)} documentation problem(s) in {headers}")
        return 1
    print(f"API reference: every public symbol of {headers} is documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
