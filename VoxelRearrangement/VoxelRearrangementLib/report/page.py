"""``report.html``: one self-contained page (pictures inlined, no network) with the verdict,
the summary, the pictures and the limits; the engineering detail stays in ``report.json``."""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Dict, Optional

from .._shared.atomic import write_text
from .summary import LIMITS, summary_lines

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
.verdict { font-size: 1.5em; padding: 0.5em 0.8em; border-radius: 0.3em; }
.yes { background: #e3f4e1; } .no { background: #fbe4df; }
li { margin: 0.2em 0; } img { max-width: 100%; border: 1px solid #ccc; }
.limits { border-left: 4px solid #c60; padding: 0.3em 0.8em; background: #fff6e8; }
pre { background: #f4f4f4; padding: 1em; overflow-x: auto; font-size: 0.85em; }
"""


def report_html(summary: dict, report: dict, pictures: Dict[str, Optional[bytes]]) -> str:
    """The page: ``pictures`` maps a caption to PNG bytes (None: not made, the page says why)."""
    lines = summary_lines(summary)
    verdict, details = lines[0], lines[1:]
    reasons = [line for line in details if line.startswith("  - ")]
    facts = [line for line in details if not line.startswith(("  - ", "Note: "))]
    notes = [line[len("Note: "):] for line in details if line.startswith("Note: ")]
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<title>VoxelRearrangement report</title>", f"<style>{_STYLE}</style></head><body>",
             "<h1>Cranial implant report</h1>",
             f"<p class='limits'><b>{html.escape(LIMITS)}</b></p>",
             f"<p class='verdict {'yes' if summary['printable'] else 'no'}'>{html.escape(verdict)}</p>"]
    if reasons:
        parts.append("<ul>" + "".join(f"<li>{html.escape(r[4:])}</li>" for r in reasons) + "</ul>")
    parts.append("<h2>Summary</h2><ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in facts) + "</ul>")
    for caption, png in pictures.items():
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        if png is None:
            parts.append("<p>(no picture: matplotlib is not installed)</p>")
        else:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f"<img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>")
    parts.append("<h2>Read before use</h2><ul>"
                 + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    detail = {k: v for k, v in report.items() if k != "summary"}
    parts.append("<h2>Engineering detail (report.json)</h2><pre>"
                 + html.escape(json.dumps(detail, indent=1, default=float)) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report_html(path: Path, summary: dict, report: dict,
                      pictures: Dict[str, Optional[bytes]]) -> Path:
    """Write :func:`report_html` to ``path`` atomically."""
    return write_text(path, report_html(summary, report, pictures))
