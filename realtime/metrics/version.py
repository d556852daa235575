"""The version of the metrics stage: which measurement the stored steps come from.

Bump `METRICS_VERSION` whenever a change to the metrics stage (detectors, calibration,
a formula) can change a stored step's values.  Steps in the session store carry the
version that measured them; `realtime reanalyze` re-measures old sessions from their pose
streams under the new version (the old rows are kept), and `realtime compare` refuses to
compare sessions measured by different versions.  Rows stored before versions existed
are version "1".

- "1": the metrics stage up to 2026-12-02.
- "2": real video (issue 18): contacts from the feet's pixel evidence, legs drawn on each
  other gated out, the side view's hips moved to the joint centres, the video prior for
  body-timed contacts.  Steps of version 1 are not comparable with these: `realtime
  reanalyze` re-measures a session from its pose stream (a pose stream recorded without
  the feet's pixel evidence is timed from the ankle's height, as before).
- "3": overstride takes the mid-hip at the contact from a longer parabola
  (`metrics.hip_halfwin_s`, 0.1 s): BlazePose's hip jitters from frame to frame.
"""

METRICS_VERSION = "3"
