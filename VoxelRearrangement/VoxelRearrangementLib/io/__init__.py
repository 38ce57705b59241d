"""Files: :mod:`.masks` (masks with their geometry: NRRD, Slicer .seg.nrrd, NIfTI; probability
maps), :mod:`.meshes` (STL, PLY, OBJ in LPS or RAS mm) and :mod:`.skullfix` (the SkullFix data
set on disk)."""
