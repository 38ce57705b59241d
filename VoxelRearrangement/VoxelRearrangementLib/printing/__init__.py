"""From masks to printable parts: :mod:`.implant` (completed minus defective skull, cleaned),
:mod:`.meshing` (watertight meshes in LPS mm), :mod:`.printability` (the checks a printing
tool makes) and :mod:`.render` (PNG pictures)."""
