#!/usr/bin/env python3
"""Generates src/graph/op_schemas.inc, the table of ONNX operator schemas, from the spec's
operator changelogs (../shared/onnx-spec/docs/Changelog.md and Changelog-ml.md): every
(domain, op, since_version) with its inputs, outputs, attributes and type constraints.

Usage: python3 scripts/gen_op_schemas.py [SPEC_DOCS_DIR] > src/graph/op_schemas.inc
The entries use a compact text encoding that src/graph/op_schema.cc parses once at start-up:
  inputs/outputs  "name:Type|name?:Type|name*:Type"   (? optional, * variadic)
  attributes      "name:kind=default|name:kind!"      (! required)
  constraints     "T=tensor(float);tensor(double)|T1=..."
"""
import html
import os
import re
import sys

SECTION = re.compile(r'^### <a name="([^"]+)-(\d+)"></a>')
DOMAIN = re.compile(r"^## Version \d+ of (?:the )?(?:'([^']+)' operator set|the default ONNX operator set|default ONNX operator set)")
DT = re.compile(r"<dt><tt>([^<]+)</tt>(.*?)</dt>")


def parse_file(path, default_domain):
    schemas = []
    domain = default_domain
    lines = open(path, encoding="utf-8").read().split("\n")
    current = None
    part = None
    for line in lines:
        if line.startswith("## Version"):
            m = re.search(r"of the '([^']+)' operator set", line)
            domain = m.group(1) if m else default_domain
            if domain == "ai.onnx":
                domain = ""
            continue
        m = SECTION.match(line)
        if m:
            name = m.group(1)
            if domain and name.startswith(domain + "."):
                name = name[len(domain) + 1:]
            current = {"domain": domain, "name": name, "since": int(m.group(2)), "deprecated": False,
                       "inputs": [], "outputs": [], "attributes": [], "constraints": [],
                       "in_range": None, "out_range": None}
            schemas.append(current)
            part = None
            continue
        if current is None:
            continue
        if "has been deprecated" in line:
            current["deprecated"] = True
        if line.startswith("#### "):
            title = line[5:].strip()
            rng = re.search(r"\((\d+) - ([^)]+)\)", html.unescape(title))
            if title.startswith("Attributes"):
                part = "attributes"
            elif title.startswith("Inputs"):
                part = "inputs"
                if rng:
                    current["in_range"] = (int(rng.group(1)), rng.group(2))
            elif title.startswith("Outputs"):
                part = "outputs"
                if rng:
                    current["out_range"] = (int(rng.group(1)), rng.group(2))
            elif title.startswith("Type Constraints"):
                part = "constraints"
            else:
                part = None
            continue
        if part is None:
            continue
        for name, rest in DT.findall(line):
            rest = html.unescape(rest)
            if part == "attributes":
                kind_text = rest.split(":", 1)[1].strip() if ":" in rest else ""
                required = "(required)" in kind_text
                default = ""
                dm = re.search(r"\(default is (.*)\)\s*$", kind_text)
                if dm:
                    default = dm.group(1).strip()
                kind = re.sub(r"\s*\(.*$", "", kind_text).strip()
                kind = {"list of ints": "ints", "list of floats": "floats", "list of strings": "strings",
                        "list of tensors": "tensors", "list of graphs": "graphs", "sparse tensor": "sparse_tensor",
                        "type proto": "type_proto", "list of type protos": "type_protos"}.get(kind, kind)
                current["attributes"].append((name, kind, required, default))
            elif part in ("inputs", "outputs"):
                flags_match = re.match(r"\s*\(([^)]*)\)", rest)
                flags = flags_match.group(1) if flags_match else ""
                type_name = rest.split(":", 1)[1].strip() if ":" in rest else ""
                current[part].append((name, "optional" in flags, "variadic" in flags, type_name))
            elif part == "constraints":
                types = rest.split(":", 1)[1].strip() if ":" in rest else ""
                current["constraints"].append((name, [t.strip() for t in split_types(types)]))
    return schemas


def split_types(text):
    """Splits 'tensor(float), seq(tensor(int8)), map(string, int64)' at top-level commas."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    if text[start:].strip():
        out.append(text[start:])
    return [t.replace(" ", "") for t in out]


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def count_range(params, declared):
    required = sum(1 for _, optional, variadic, _ in params if not optional and not variadic)
    has_variadic = any(variadic for _, _, variadic, _ in params)
    if declared:
        low = declared[0]
        high = -1 if ("∞" in declared[1] or "8734" in declared[1]) else int(declared[1])
        return low, high
    # Trailing optional inputs count towards the maximum.
    last_required = max((i + 1 for i, p in enumerate(params) if not p[1] and not p[2]), default=0)
    return last_required if not has_variadic else max(required, 1), (-1 if has_variadic else len(params))


def main():
    docs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../shared/onnx-spec/docs")
    schemas = parse_file(os.path.join(docs, "Changelog.md"), "")
    schemas += parse_file(os.path.join(docs, "Changelog-ml.md"), "ai.onnx.ml")
    print("// Generated by scripts/gen_op_schemas.py from the ONNX spec's operator changelogs. Do not edit.")
    print("// {domain, op, since_version, deprecated, min_inputs, max_inputs (-1: unbounded), min_outputs,")
    print("//  max_outputs, inputs, outputs, attributes, type constraints}")
    for s in schemas:
        min_in, max_in = count_range(s["inputs"], s["in_range"])
        min_out, max_out = count_range(s["outputs"], s["out_range"])
        inputs = "|".join(f"{n}{'?' if o else ''}{'*' if v else ''}:{t}" for n, o, v, t in s["inputs"])
        outputs = "|".join(f"{n}{'?' if o else ''}{'*' if v else ''}:{t}" for n, o, v, t in s["outputs"])
        attrs = "|".join(f"{n}:{k}{'!' if r else ''}{'=' + d if d and not r else ''}" for n, k, r, d in s["attributes"])
        cons = "|".join(f"{n}={';'.join(ts)}" for n, ts in s["constraints"])
        print(f"{{{c_string(s['domain'])}, {c_string(s['name'])}, {s['since']}, {str(s['deprecated']).lower()}, "
              f"{min_in}, {max_in}, {min_out}, {max_out},\n {c_string(inputs)},\n {c_string(outputs)},\n "
              f"{c_string(attrs)},\n {c_string(cons)}}},")


if __name__ == "__main__":
    main()
