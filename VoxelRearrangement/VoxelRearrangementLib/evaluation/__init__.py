"""Measuring results: :mod:`.metrics` (Dice, HD95, ASSD, surface smoothness), :mod:`.implant_metrics`
(the challenge's DSC, boundary DSC, HD95), :mod:`.fidelity` (mesh-to-mesh distances, staircase
index) and :mod:`.closure` (does an implant close the defect; no ground truth needed)."""
