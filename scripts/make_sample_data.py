"""Rebuild the small sample bundled in VoxelRearrangementLib/data/samples from ../shared/data.

Case 069 (a validation case with a tilted grid) as the patient: its complete skull, the
defective skull (complete minus implant), the ground-truth implant and the challenge coarse
format of the complete skull; case 005 (training set, also tilted) as the template skull.
Usage: python scripts/make_sample_data.py [--data ../shared/data]
"""
import argparse
from pathlib import Path

from VoxelRearrangementLib import downsample, read_mask, write_mask
from VoxelRearrangementLib.io.skullfix import read_case

OUT = Path(__file__).resolve().parents[1] / "VoxelRearrangement" / "VoxelRearrangementLib" / "data" / "samples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    skullfix = Path(args.data) / "skullfix"
    complete, implant, defective = read_case(skullfix, "069")
    write_mask(OUT / "skull069_complete.nrrd", complete)
    write_mask(OUT / "skull069_defective.nrrd", defective)
    write_mask(OUT / "skull069_implant.nrrd", implant)
    write_mask(OUT / "skull069_coarse.nrrd", downsample(complete))
    write_mask(OUT / "template005.nrrd", read_mask(skullfix / "complete" / "005.nrrd"))
    for f in sorted(OUT.glob("*.nrrd")):
        print(f"{f.name}: {f.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
