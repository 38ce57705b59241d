"""VoxelRearrangementLib: high-resolution skulls and cranial implants from coarse masks.

Importable without Slicer or Qt; PyTorch is imported only by the functions that run a
network. Arrays + geometry in (:class:`Mask`: a uint8 0/1 array indexed i, j, k and its
4 x 4 IJK-to-LPS matrix in mm), arrays, meshes and reports out. The public API::

    from VoxelRearrangementLib import read_mask, refine, run_pipeline, PipelineOptions
    coarse = read_mask("skull_coarse.nrrd")
    fine = refine(coarse, "hash").mask                      # 4x finer, bundled vote tables
    report = run_pipeline("defective.nrrd", "out", PipelineOptions(method="learned"))
    rows = run_batch("defectives/", "out/", workers=4)       # every case, on Dask

Subpackages by domain: :mod:`.io` (mask, image, mesh and data-set files), :mod:`.ct` (the
skull from a head CT; synthetic CTs), :mod:`.grids` (grids,
masks, resampling, the pyramid), :mod:`.synthesis` (refinement: template synthesis and
baselines), :mod:`.learned` (the completion and rearrangement networks), :mod:`.printing`
(implant, fit, meshing, printability, renders), :mod:`.report` (the summary and
report.html), :mod:`.evaluation` (metrics), :mod:`.cli` (the
command line, also the Slicer worker); :mod:`.options`, :mod:`.pipeline` (``run``) and
:mod:`.batch` (``batch``: the pipeline over a folder of cases, on Dask).
"""
__version__ = "0.1.0"

import importlib

#: The public API: each name and the module that defines it, imported on first use (PEP 562),
#: so that ``import VoxelRearrangementLib`` and its command line load only what they use
#: (VTK, SciPy's image filters and Dask only where needed).
_API = {
    "Cancelled": "._shared.errors", "GridMismatchError": "._shared.errors",
    "VoxelRearrangementError": "._shared.errors",
    "run_batch": ".batch",
    "skull_from_ct": ".ct.segment",
    "defect_coverage": ".evaluation.closure",
    "implant_metrics": ".evaluation.implant_metrics",
    "evaluate": ".evaluation.metrics",
    "Grid": ".grids.geometry", "Image": ".grids.geometry", "Mask": ".grids.geometry",
    "downsample": ".grids.resample", "resample_mask": ".grids.resample",
    "read_image": ".io.images", "write_image": ".io.images",
    "read_grid": ".io.masks", "read_mask": ".io.masks", "write_mask": ".io.masks",
    "read_mesh": ".io.meshes", "write_mesh": ".io.meshes",
    "Completion": ".learned.completion.inference", "complete_skull": ".learned.completion.inference",
    "PipelineOptions": ".options",
    "run_pipeline": ".pipeline",
    "fit_implant": ".printing.fit",
    "extract_implant": ".printing.implant",
    "Mesh": ".printing.meshing", "mask_to_mesh": ".printing.meshing",
    "printability_report": ".printing.printability",
    "METHODS": ".synthesis.refine", "Refinement": ".synthesis.refine", "refine": ".synthesis.refine",
}


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))


__all__ = [*_API, "__version__"]
