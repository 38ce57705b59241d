"""Per-case training data cached as npz, so training reads the 512^2 files only once."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Type, TypeVar

import numpy as np

from .._shared.atomic import atomic_output

T = TypeVar("T")


def cached_cases(kind: Type[T], cases: Sequence[str], cache_dir: Path,
                 file_name: Callable[[str], str], make: Callable[[str], T],
                 progress: Optional[Callable[[float, str], None]] = None,
                 what: str = "cases") -> List[T]:
    """One ``kind`` per case: a dataclass whose first field is ``case`` (str) and whose other
    fields are arrays. Read from ``cache_dir / file_name(case)`` when there, else ``make(case)``
    and written there atomically."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for n, case in enumerate(cases):
        path = cache_dir / file_name(case)
        if path.is_file():
            with np.load(path) as z:
                item = kind(case, **{k: z[k] for k in z.files})
        else:
            item = make(case)
            with atomic_output(path, ".npz") as tmp:
                np.savez_compressed(tmp, **{f.name: getattr(item, f.name) for f in fields(item)
                                            if f.name != "case"})
        out.append(item)
        if progress is not None:
            progress((n + 1) / len(cases), f"{what} {n + 1}/{len(cases)}")
    return out
