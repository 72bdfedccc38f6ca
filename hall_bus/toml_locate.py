"""Find the line a TOML key sits on, so config errors can say "hall.toml:57" and not only a key path.

tomllib throws away positions, and no maintained TOML library gives them for values, so we scan the text
ourselves. Only what hand-written hall files use is understood: tables, arrays of tables, dotted keys and
one-line inline tables. When a path cannot be placed, the caller falls back to the nearest enclosing key.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")
_PART = r'(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)'
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
_INLINE_KEY = re.compile(r'(?:^|[{,])\s*("[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)\s*=')

Path = tuple[str | int, ...]


def _split_dotted(key: str) -> list[str]:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[^.\s]+', key)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def locate_keys(text: str) -> dict[Path, int]:
    """Map every key path the file defines to its 1-based line number."""
    found: dict[Path, int] = {}
    counts: dict[Path, int] = {}
    current: Path = ()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = _split_dotted(header.group(2))
            resolved: list[str | int] = []
            for name in names[:-1]:
                resolved.append(name)
                prefix = tuple(resolved)
                if prefix in counts:  # parent is an array of tables: descend into its latest element
                    resolved.append(counts[prefix] - 1)
            resolved.append(names[-1])
            path: Path = tuple(resolved)
            if header.group(1) == "[[":
                index = counts.get(path, 0)
                counts[path] = index + 1
                found.setdefault(path, lineno)
                path = (*path, index)
            found.setdefault(path, lineno)
            current = path
            continue
        key = _KEY.match(line)
        if key:
            path = (*current, *_split_dotted(key.group(1)))
            found.setdefault(path, lineno)
            rest = line[key.end():]
            if rest.lstrip().startswith("{"):
                for inner in _INLINE_KEY.finditer(rest):
                    name = inner.group(1)
                    found.setdefault((*path, name[1:-1] if name[:1] in "\"'" else name), lineno)
    return found


def line_for(locations: dict[Path, int], path: Path) -> int | None:
    """The line of `path`, or of its nearest ancestor that the scan could place."""
    for end in range(len(path), 0, -1):
        line = locations.get(tuple(path[:end]))
        if line is not None:
            return line
    return None
