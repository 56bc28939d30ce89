"""Exact diff of the platform documents (the second YAML document) of two IR files.

    python platform_diff.py GOLDEN OURS

Both files must have a platform document. Key order is the only thing ignored: every value
must be equal with the same type (`'3600'` is not `3600`, `10.0` is not `10`), lists in the
same order. Prints one line per difference and `N differences`; exits 0 iff there are none.
"""

import sys

import yaml


def platform_document(path):
    with open(path, encoding="utf-8") as file:
        docs = [doc for doc in yaml.safe_load_all(file) if doc is not None]
    if len(docs) != 2:
        raise SystemExit(f"{path}: expected a pipeline and a platform document, found {len(docs)} documents")
    return docs[1]


def diff(golden, ours, path, out):
    if type(golden) is not type(ours):
        out.append(f"{path}: golden {golden!r} ({type(golden).__name__}), ours {ours!r} ({type(ours).__name__})")
    elif isinstance(golden, dict):
        for key in sorted(set(golden) | set(ours)):
            if key not in ours:
                out.append(f"{path}.{key}: missing in ours (golden {golden[key]!r})")
            elif key not in golden:
                out.append(f"{path}.{key}: extra in ours ({ours[key]!r})")
            else:
                diff(golden[key], ours[key], f"{path}.{key}", out)
    elif isinstance(golden, list):
        if len(golden) != len(ours):
            out.append(f"{path}: golden has {len(golden)} items, ours {len(ours)}")
        for i, (g, o) in enumerate(zip(golden, ours)):
            diff(g, o, f"{path}[{i}]", out)
    elif golden != ours:
        out.append(f"{path}: golden {golden!r}, ours {ours!r}")


def main(argv):
    if len(argv) != 2:
        print("usage: platform_diff.py GOLDEN OURS", file=sys.stderr)
        return 2
    out = []
    diff(platform_document(argv[0]), platform_document(argv[1]), "platform", out)
    for line in out:
        print(line)
    print(f"{len(out)} differences")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
