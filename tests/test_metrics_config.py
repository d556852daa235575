"""MetricsConfig cross-field checks (ranges are checked by the config loader)."""

from __future__ import annotations

import pytest

from realtime.config import MetricsConfig, build
from realtime.errors import ConfigError


@pytest.mark.parametrize("data,needle", [
    ({"min_step_s": 0.5, "max_step_s": 0.4}, "min_step_s"),
    ({"contact_height": 0.05, "contact_detect_height": 0.03}, "contact_height"),
    ({"side_events": "sideways"}, "side_events"),
])
def test_inconsistent_metrics_config_is_rejected(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        build(MetricsConfig, data, "metrics.")


def test_defaults_are_consistent() -> None:
    build(MetricsConfig, {}, "metrics.")
