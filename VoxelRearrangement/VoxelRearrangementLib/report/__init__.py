"""Reports for people: the summary block of ``report.json`` and its verdict (:mod:`.summary`),
``report.html`` (:mod:`.page`) and its pictures (:mod:`.figures`)."""
