"""Print the requirements of the named extras of pyproject.toml, one per line,
following an extra that names fastnn's own extras (``fastnn[ja]``).

CI installs them with ``pip install $(python .ci/extra_deps.py onnx torch)``
rather than ``pip install ".[onnx,torch]"``, which would build fastnn again
for every extra; fastnn itself is already installed from this checkout.
"""

import re
import sys
from pathlib import Path

import tomllib

project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
extras = project["optional-dependencies"]


def requirements(name: str, seen: set[str]) -> list[str]:
    if name not in extras:
        sys.exit(f"pyproject.toml has no extra {name!r}; it has {sorted(extras)}")
    if name in seen:
        return []
    seen.add(name)
    out = []
    for req in extras[name]:
        own = re.fullmatch(rf"{project['name']}\[([\w,\s-]+)\]", req.strip())
        if own:
            for inner in own.group(1).split(","):
                out += requirements(inner.strip(), seen)
        else:
            out.append(req)
    return out


seen: set[str] = set()
print("\n".join(dict.fromkeys(r for name in sys.argv[1:] for r in requirements(name, seen))))
