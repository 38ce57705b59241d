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

from ._shared.errors import Cancelled, GridMismatchError, VoxelRearrangementError
from .batch import run_batch
from .ct.segment import skull_from_ct
from .evaluation.closure import defect_coverage
from .evaluation.implant_metrics import implant_metrics
from .evaluation.metrics import evaluate
from .grids.geometry import Grid, Image, Mask
from .grids.resample import downsample, resample_mask
from .io.images import read_image, write_image
from .io.masks import read_grid, read_mask, write_mask
from .io.meshes import read_mesh, write_mesh
from .learned.completion.inference import Completion, complete_skull
from .options import PipelineOptions
from .pipeline import run_pipeline
from .printing.fit import fit_implant
from .printing.implant import extract_implant
from .printing.meshing import Mesh, mask_to_mesh
from .printing.printability import printability_report
from .synthesis.refine import METHODS, Refinement, refine

__all__ = [
    "Cancelled", "Completion", "Grid", "GridMismatchError", "Image", "METHODS", "Mask", "Mesh",
    "PipelineOptions", "Refinement", "VoxelRearrangementError", "complete_skull",
    "defect_coverage", "downsample", "evaluate", "extract_implant", "fit_implant", "implant_metrics",
    "mask_to_mesh", "printability_report", "read_grid", "read_image", "read_mask", "read_mesh",
    "refine", "skull_from_ct", "write_image",
    "resample_mask", "run_batch", "run_pipeline", "write_mask", "write_mesh", "__version__",
]
