"""CLI commands of the printing step: ``implant`` (completed minus defective skull, cleaned)
and ``mesh`` (mask to a watertight STL/PLY/OBJ in LPS mm, with a printability report)."""
from __future__ import annotations

import argparse
import json

from .. import options as pipeline_options
from .._shared.atomic import check_outputs, write_text
from .._shared.bounds import argument
from .._shared.progress import Stage
from ..checks import check_skull
from ..io.masks import check_mask_output, read_mask, write_mask
from ..io.meshes import mesh_format, write_mesh
from ..printing.fit import fit_implant
from ..printing.implant import DEFAULT_MIN_COMPONENT_ML, DEFAULT_SMOOTHING_MM, extract_implant
from ..printing.meshing import DEFAULT_SMOOTHING, mask_to_mesh
from ..printing.printability import printability_report
from .commands import add_command
from .protocol import print_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "implant")
    p.add_argument("--complete", required=True, help="completed skull mask (same grid as --defective)")
    p.add_argument("--defective", required=True, help="defective skull mask")
    p.add_argument("--output", required=True, help="implant mask to write (.nrrd, .seg.nrrd, .nii[.gz])")
    pipeline_options.add_arguments(p, only=("opening_mm", "clearance_mm", "min_edge_mm"))
    p.add_argument("--smoothing-mm", type=argument("smoothing_mm", "--smoothing-mm"),
                   default=DEFAULT_SMOOTHING_MM,
                   help="Gaussian sigma (mm) smoothing the implant's surfaces jointly with the "
                        "defective skull; 0 disables (default %(default)s)")
    p.add_argument("--min-component-ml", type=argument("min_component_ml", "--min-component-ml"),
                   default=DEFAULT_MIN_COMPONENT_ML,
                   help="extra pieces touching the defect border are kept from this volume (mL) "
                        "up; the largest piece is always kept (default %(default)s)")
    p.add_argument("--segment", help="segment name or ID when an input .seg.nrrd holds several")
    p.set_defaults(func=_implant)

    p = add_command(sub, "mesh")
    p.add_argument("--input", required=True, help="mask (.nrrd, .seg.nrrd, .nii[.gz])")
    p.add_argument("--output", required=True, help="mesh to write: .stl (binary), .ply or .obj")
    p.add_argument("--smoothing", type=argument("smoothing", "--smoothing"), default=DEFAULT_SMOOTHING,
                   help="non-shrinking smoothing strength 0..1 (0 = raw marching cubes; "
                        "default %(default)s as in Slicer)")
    p.add_argument("--decimate", type=argument("decimate", "--decimate"), default=0.0,
                   help="fraction of triangles to remove, 0..1 (default 0: keep all)")
    p.add_argument("--space", choices=("LPS", "RAS"), default="LPS",
                   help="world convention of the file (default LPS, as Slicer writes)")
    p.add_argument("--report", help="write the printability report to this JSON file")
    p.add_argument("--thickness", action="store_true",
                   help="also measure the wall thickness (ray casting) in the report")
    p.add_argument("--segment", help="segment name or ID when the input holds several")
    p.set_defaults(func=_mesh)


def _implant(args) -> int:
    check_mask_output(args.output)
    check_outputs([args.output], [args.complete, args.defective])
    print_progress(0.0, "reading the skulls")
    complete = read_mask(args.complete, args.segment)
    defective = read_mask(args.defective, args.segment)
    check_skull(complete, f"--complete {args.complete}")
    check_skull(defective, f"--defective {args.defective}")
    options = pipeline_options.from_arguments(args, "complete")
    implant = extract_implant(complete, defective, opening_mm=options.opening_mm,
                              smoothing_mm=args.smoothing_mm,
                              min_component_ml=args.min_component_ml,
                              progress=Stage(print_progress).sub(0.1, 0.8).report)
    implant = fit_implant(implant, defective, options.clearance_mm, options.min_edge_mm,
                          args.min_component_ml, progress=Stage(print_progress).sub(0.8, 0.95).report)
    write_mask(args.output, implant, segment_name="Implant")
    print(f"implant: {implant.volume_ml:.2f} mL -> {args.output}", flush=True)
    print_progress(1.0, "done")
    return 0


def _mesh(args) -> int:
    mesh_format(args.output)
    check_outputs([args.output, args.report], [args.input])
    print_progress(0.0, "reading the mask")
    mask = read_mask(args.input, args.segment)
    mesh = mask_to_mesh(mask, smoothing=args.smoothing, decimate=args.decimate,
                        progress=Stage(print_progress).sub(0.1, 0.8).report)
    write_mesh(args.output, mesh, space=args.space)
    print_progress(0.85, "checking printability")
    report = printability_report(mesh, thickness=args.thickness)
    report.update({"input": str(args.input), "output": str(args.output), "space": args.space,
                   "smoothing": args.smoothing, "decimate": args.decimate})
    if args.report:
        write_text(args.report, json.dumps(report, indent=2))
    print(f"mesh: {report['triangles']} triangles, {report['pieces']} piece(s), "
          f"{report['volume_ml']:.2f} mL, watertight {report['watertight']} -> {args.output}",
          flush=True)
    print_progress(1.0, "done")
    return 0

