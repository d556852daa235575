"""The version of the metrics stage: which measurement the stored steps come from.

Bump `METRICS_VERSION` whenever a change to the metrics stage (detectors, calibration,
a formula) can change a stored step's values.  Steps in the session store carry the
version that measured them; `realtime reanalyze` re-measures old sessions from their pose
streams under the new version (the old rows are kept), and `realtime compare` refuses to
compare sessions measured by different versions.  Rows stored before versions existed
are version "1".
"""

METRICS_VERSION = "1"
