"""Score the metrics stage against motion capture: a wrapper of `python -m realtime.validation`.

    python bench/validate_mocap.py [--fps 30 60] [--noise 0 2] [--out DIR] ...

Same options and exit status (1 when a target is missed at 30 fps / 2 px).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.validation.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
