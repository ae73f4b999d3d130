#!/usr/bin/env python3
"""long_functions: lists the functions of src/ longer than a limit (issue 19: none over ~100
lines except pure, flat rule tables). A brace-counting scan, no compiler: comments, strings and
character literals are blanked, then every `{` opened at namespace or class level whose head
has a parameter list (and no `=`, so no initializer or lambda variable) starts a function that
ends at its matching `}`. Counts each function's lines from its signature to its closing brace
("lines") and the ones that are neither blank nor only a comment ("code").
Not run by ctest: a report for reviewers (exit 1 when anything is over the limit).
  tests/style/long_functions.py [--max N] [--by lines|code] [REPO_ROOT]
"""
import argparse
import pathlib
import re
import sys

CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|else|do|try)\b")
CONTAINER = re.compile(r"\b(namespace|class|struct|union)\b[^()]*$")


def blank_literals(text):
    """Comments, strings and chars replaced by spaces (newlines kept, so lines still count)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            k = text.find("(", i)
            delim = ")" + text[i + 2:k] + '"'
            j = text.find(delim, k)
            j = n if j < 0 else j + len(delim)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_name(head):
    head = re.sub(r"template\s*<[^{;]*?>\s*", "", head)
    m = re.search(r"(operator\s*[^\s(]+|[~\w:]+)\s*\(", head)
    return m.group(1) if m else head.strip()[:40]


def scan(path):
    raw = path.read_text(errors="replace")
    text = blank_literals(raw)
    raw_lines = raw.split("\n")
    stack = []  # each entry: "container", "other", or ("function", name, start offset)
    head_start = 0
    found = []
    for i, c in enumerate(text):
        if c in ";":
            if all(s == "container" for s in stack):
                head_start = i + 1
        elif c == "{":
            inside_function = any(s != "container" for s in stack)
            head = text[head_start:i]
            if inside_function:
                stack.append("other")
            elif CONTAINER.search(head) and "(" not in head.split("{")[-1]:
                stack.append("container")
            elif "(" in head and (("=" not in re.sub(r"\([^()]*\)", "", head)) or "operator" in head) \
                    and not CONTROL.match(head):
                start = head_start + len(head) - len(head.lstrip())
                stack.append(("function", function_name(head), start))
            else:
                stack.append("other")
            head_start = i + 1
        elif c == "}":
            top = stack.pop() if stack else "other"
            if isinstance(top, tuple):
                first = text.count("\n", 0, top[2])
                last = text.count("\n", 0, i)
                body = raw_lines[first:last + 1]
                code = sum(1 for l in body if l.strip() and not l.strip().startswith("//"))
                found.append((top[1], first + 1, last - first + 1, code))
            if all(s == "container" for s in stack):
                head_start = i + 1
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max", type=int, default=100)
    parser.add_argument("--by", choices=["lines", "code"], default="lines")
    parser.add_argument("root", nargs="?", default=pathlib.Path(__file__).resolve().parents[2])
    args = parser.parse_args()
    root = pathlib.Path(args.root)
    rows = []
    for path in sorted((root / "src").rglob("*.cpp")):
        for name, line, lines, code in scan(path):
            if (lines if args.by == "lines" else code) > args.max:
                rows.append((lines, code, f"{path.relative_to(root)}:{line}", name))
    for lines, code, where, name in sorted(rows, reverse=True):
        print(f"{lines:5} lines {code:5} code  {where}  {name}")
    return 1 if rows else 0


if __name__ == "__main__":
    sys.exit(main())
