"""From masks to printable parts: :mod:`.implant` (completed minus defective skull, cleaned),
:mod:`.openings` (the safety net), :mod:`.stray` (pieces that close nothing, dropped),
:mod:`.meshing` (watertight meshes in LPS mm), :mod:`.printability` (the checks a printing
tool makes) and :mod:`.render` (PNG pictures)."""
