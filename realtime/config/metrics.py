"""The metrics stage's thresholds: `[metrics]` (realtime/metrics/README.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from realtime.config.fields import rng
from realtime.errors import ConfigError


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """Every threshold of the metrics stage, with its unit and why (metrics/README.md).

    Lengths are in leg lengths (the mean image hip-to-ankle distance), so nothing depends
    on the image size or the camera distance.  The two delays marked *calibrated* are
    fitted against force plates by `python -m realtime.validation --calibrate`.
    """

    # ---- conditioning
    min_visibility: float = field(
        default=0.3, metadata=rng(0.0, 1.0, "landmarks below this visibility are gaps")
    )
    max_gap_s: float = field(
        default=0.2, metadata=rng(0.0, 2.0, "gaps longer than this break the step chain, s")
    )
    swap_ratio: float = field(
        default=0.6,
        metadata=rng(0.0, 1.0, "legs count as L/R-swapped when the swapped labelling fits "
                     "the tracks' predictions better than this fraction of the labelled one"),
    )
    max_swap_s: float = field(
        default=1.0,
        metadata=rng(0.0, 10.0, "after disagreeing this long (s), trust the model's L/R "
                     "labels again"),
    )
    fold_dist: float = field(
        default=0.12,
        metadata=rng(0.0, 1.0, "feet closer than this (leg lengths) are one leg drawn on the "
                      "other: the leg whose track is further away is gated out there"),
    )
    fold_jump: float = field(
        default=0.18,
        metadata=rng(0.01, 10.0, "a foot landmark whose own pixels (the pose stage's flow) "
                      "came from further than this (leg lengths) from its track jumped to "
                      "something else: gated out"),
    )
    hip_near_forward: float = field(
        default=0.046,
        metadata=rng(-0.5, 0.5, "side view: BlazePose's near hip sits this far behind the "
                      "hip joint centre, leg lengths (the shift that makes its thigh point like "
                      "the thigh between joint centres placed by eye on the shared clip, two "
                      "labellers, every labelled frame); the hips are moved to the joint "
                      "centres before any metric"),
    )
    hip_far_forward: float = field(
        default=0.029,
        metadata=rng(-0.5, 0.5, "... and its far hip this far behind"),
    )
    hip_max_thigh_ratio: float = field(
        default=1.15,
        metadata=rng(0.5, 3.0, "side view: when BlazePose's mean thigh (hip to knee) is longer "
                      "than this times its mean shank, its hips sit above the joint centres "
                      "(loose clothes): they are moved down the trunk by the excess (joint "
                      "centre to joint centre: 1.06-1.13 in the motion-capture runners)"),
    )
    scale_tau_s: float = field(
        default=4.0,
        metadata=rng(0.1, 600.0, "time constant of the mean thigh and leg lengths in "
                     "the image (the unit of % metrics), s"),
    )
    rear_leg_ratio: float = field(
        default=0.91,
        metadata=rng(0.5, 1.0, "rear view: mean image hip-to-ankle length over the "
                     "true mean leg length (the image loses the fore-aft part; 0.85-0.96 "
                     "in the motion-capture trials)"),
    )
    facing_tau_s: float = field(
        default=1.0, metadata=rng(0.05, 30.0, "time constant of the facing evidence, s")
    )
    body_tau_s: float = field(
        default=1.5,
        metadata=rng(0.1, 60.0, "time constant of each point's running mean the body's "
                     "bounce is measured from (about two strides), s"),
    )
    one_euro_min_cutoff_hz: float = field(
        default=6.0, metadata=rng(0.01, 100.0, "display smoothing (One Euro) cutoff at "
                                  "rest, Hz; never used for metric values")
    )
    one_euro_beta: float = field(
        default=0.5, metadata=rng(0.0, 100.0, "display smoothing speed coefficient, per "
                                  "leg length per second")
    )
    one_euro_d_cutoff_hz: float = field(
        default=3.0, metadata=rng(0.01, 100.0, "display smoothing derivative cutoff, Hz")
    )
    # ---- steps
    min_step_s: float = field(
        default=0.2, metadata=rng(0.05, 2.0, "shortest plausible running step, s "
                                  "(300 steps/min)")
    )
    max_step_s: float = field(
        default=0.6, metadata=rng(0.1, 5.0, "longest plausible running step, s "
                                  "(100 steps/min); a longer one breaks the chain")
    )
    # ---- foot detector (foot.py): contact and toe-off from the ankle's height
    floor_window_s: float = field(
        default=1.5,
        metadata=rng(0.2, 10.0, "until a stance has been seen, the ankle's floor is its "
                     "lowest point over this window, s"),
    )
    floor_min_span_s: float = field(
        default=0.45,
        metadata=rng(0.05, 10.0, "no floor (no events) until this much of the stream is "
                     "in, s (more than a step, so that a stance is included)"),
    )
    floor_tau_stances: float = field(
        default=3.0,
        metadata=rng(1.0, 100.0, "the ankle's floor is a running mean of its lowest points "
                     "over about this many stances (follows a drifting camera or belt)"),
    )
    contact_height: float = field(
        default=0.02,
        metadata=rng(0.001, 0.5, "a contact is the ankle coming down through this height "
                     "above its floor, leg lengths"),
    )
    contact_delay_s: float = field(
        default=0.0218,
        metadata=rng(-0.2, 0.2, "calibrated: the ankle crosses contact_height this long "
                     "after the force onset (it sinks while the foot rolls flat), s"),
    )
    toe_off_height: float = field(
        default=0.1,
        metadata=rng(0.001, 0.5, "a stance ends when the ankle rises through this height, "
                     "leg lengths"),
    )
    toe_off_delay_s: float = field(
        default=0.0325,
        metadata=rng(-0.2, 0.2, "calibrated: force ends this long after the ankle rises "
                     "through toe_off_height (the heel lifts before the toes leave), s"),
    )
    swing_height: float = field(
        default=0.06,
        metadata=rng(0.0, 1.0, "a swing must lift the ankle this high (leg lengths) before "
                     "the next contact counts (noise at the floor is not a step)"),
    )
    crossing_halfwin_s: float = field(
        default=0.02,
        metadata=rng(0.0, 0.5, "a contact's height crossing is timed by a line through the "
                     "samples within this of it, s (below a frame: the two samples that "
                     "straddle it; the landing curves too fast for a longer line at 30 fps)"),
    )
    toe_off_halfwin_s: float = field(
        default=0.05,
        metadata=rng(0.0, 0.5, "a toe-off's height crossing is timed by a line through the "
                     "samples within this of it, s (the ankle rises steadily: a longer "
                     "line averages the noise)"),
    )
    # ---- body detector (body.py) and fusion (fuse.py): the hidden foot
    body_hysteresis: float = field(
        default=0.02,
        metadata=rng(0.0, 0.5, "the body's lowest point is confirmed once it has risen "
                     "this much (leg lengths; vertical oscillation is 6-10 %)"),
    )
    body_halfwin_s: float = field(
        default=0.07,
        metadata=rng(0.0, 0.5, "half-width of the parabola timing the body's lowest point, s"),
    )
    body_delay_prior: float = field(
        default=0.326,
        metadata=rng(0.0, 1.0, "until a delay is learned, a contact is this share of the "
                     "step period before the body's lowest point (0.28-0.39 in the "
                     "motion-capture runners)"),
    )
    body_delay_prior_video: float = field(
        default=0.24,
        metadata=rng(0.0, 1.0, "the same on a real video (a stream with the feet's pixel "
                      "evidence): BlazePose's trunk bottoms out 0.24 step periods after the "
                      "contacts labelled by eye on the shared clip, and contacts timed with "
                      "0.326 were 30-35 ms early on it and on a clip the team does not have"),
    )
    body_delay_min: float = field(
        default=0.2,
        metadata=rng(-1.0, 1.0, "a foot's contact-to-lowest-point delay below this share of "
                     "the step period is implausible: the foot's timing is not trusted "
                     "(0.28-0.39 in the motion-capture runners, 0.24 on the real clip)"),
    )
    body_delay_max: float = field(
        default=0.45,
        metadata=rng(0.0, 2.0, "... and above this share"),
    )
    stance_ahead: float = field(
        default=0.15,
        metadata=rng(0.0, 2.0, "side view, at the body's lowest point: the better-seen "
                     "ankle less than this far behind the hips (leg lengths) is the stance "
                     "foot (it is under the hips then)"),
    )
    swing_behind: float = field(
        default=0.3,
        metadata=rng(0.0, 2.0, "... and more than this far behind, it is the swing foot "
                     "(it left the belt 0.1-0.15 s earlier); in between: unknown"),
    )
    rear_lift: float = field(
        default=0.08,
        metadata=rng(0.0, 1.0, "rear view, at the body's lowest point: the lower ankle is "
                     "the stance foot if the other is at least this much higher, leg lengths"),
    )
    hidden_delay_tol_s: float = field(
        default=0.03,
        metadata=rng(0.0, 1.0, "a leg whose contact-to-lowest-point delay spreads by more "
                     "than this, or differs from the other leg's by more while being the "
                     "noisier, is hidden: its contacts come from the body (s)"),
    )
    hidden_min_strides: float = field(
        default=3.0,
        metadata=rng(1.0, 100.0, "strides each leg needs before a leg can be judged hidden"),
    )
    # ---- drag detector (drag.py): contacts from the feet's pixel velocity
    drag_ic_level: float = field(
        default=0.5,
        metadata=rng(0.05, 2.0, "a foot is on the belt once its pixel velocity is within "
                      "this share of the belt's speed from the belt's velocity"),
    )
    drag_air_level: float = field(
        default=1.0,
        metadata=rng(0.1, 5.0, "... and it must have been off the belt (further than this "
                      "share) since its last contact"),
    )
    drag_confirm_level: float = field(
        default=0.8,
        metadata=rng(0.05, 5.0, "the sample after the crossing must still be within this "
                      "share of the belt's speed (a foot that is really down)"),
    )
    drag_ic_delay_s: float = field(
        default=0.0,
        metadata=rng(-0.2, 0.2, "calibrated: the drag crossing comes this long after the "
                      "contact, s"),
    )
    drag_min_belt: float = field(
        default=0.8,
        metadata=rng(0.0, 20.0, "no drag contacts unless the belt moves at least this fast, "
                      "leg lengths per second (no treadmill, no pixel evidence: the ankle's "
                      "height times the contacts)"),
    )
    # ---- knee drive (swing.py) and per-step metrics (step.py)
    peak_halfwin_s: float = field(
        default=0.07,
        metadata=rng(0.0, 0.5, "half-width of the parabola fitted around a peak, s"),
    )
    knee_mean_tau_s: float = field(
        default=1.5,
        metadata=rng(0.1, 60.0, "time constant of the thigh angle's running mean and "
                     "spread (a swing's peak lies in the upper part), s"),
    )
    knee_peak_hysteresis_deg: float = field(
        default=2.0,
        metadata=rng(0.1, 45.0, "a swing's peak thigh flexion is final once the thigh is "
                     "back this far below it (and peak_halfwin_s of samples are in), deg"),
    )
    contact_halfwin_s: float = field(
        default=0.04,
        metadata=rng(0.0, 0.5, "half-width of the parabola giving knee flexion and "
                     "overstride at the contact time, s (short: the knee moves fast there)"),
    )
    hip_halfwin_s: float = field(
        default=0.1,
        metadata=rng(0.0, 0.5, "half-width of the parabola giving the mid-hip's position at the "
                     "contact for overstride, s: BlazePose's hip (under clothes) jumps 5-16 px "
                     "between frames where the joint centre moves under 4, and the real hip "
                     "moves smoothly (on the force-plate runners a parabola this wide is "
                     "within 0.12 % leg of the hip at the contact: tools/hip_fit_on_force.py)"),
    )
    # ---- reliability (what the summary, the cues and the display may trust)
    reliable_visibility: float = field(
        default=0.5,
        metadata=rng(0.0, 1.0, "a metric is reliable only if the landmarks it is measured "
                     "on have at least this mean visibility when it is measured"),
    )
    trusted_visibility: float = field(
        default=0.8,
        metadata=rng(0.0, 1.0, "a swing seen at least this well is trusted as measured; "
                     "between reliable_visibility and this (a far leg, half hidden) only "
                     "if it agrees with the leg's own recent swings"),
    )
    outlier_mads: float = field(
        default=3.0,
        metadata=rng(0.5, 100.0, "a half-hidden leg's knee drive further than this many "
                     "robust SDs (and outlier_min_deg) from its recent median is a landmark "
                     "error, not a change of gait"),
    )
    outlier_min_deg: float = field(
        default=5.0,
        metadata=rng(0.0, 90.0, "... and at least this far, deg"),
    )
    reliable_event_confidence: float = field(
        default=0.5,
        metadata=rng(0.0, 1.0, "a contact timed with less confidence than this makes its "
                     "steps' cadence and contact metrics unreliable"),
    )
    walk_min_flight_s: float = field(
        default=0.0,
        metadata=rng(-1.0, 1.0, "a step whose flight (next contact minus toe-off, s) is "
                     "below this looks like walking: low confidence"),
    )
    cadence_window_strides: int = field(
        default=2,
        metadata=rng(1, 50, "the cadence the display and the cues show: fitted over this "
                     "many recent whole strides"),
    )

    def validate(self) -> None:
        if self.min_step_s >= self.max_step_s:
            raise ConfigError(
                f"metrics.min_step_s = {self.min_step_s} must be < "
                f"metrics.max_step_s = {self.max_step_s}"
            )
        if self.contact_height >= self.toe_off_height:
            raise ConfigError(
                f"metrics.contact_height = {self.contact_height} must be < "
                f"metrics.toe_off_height = {self.toe_off_height} (the stance needs a "
                "hysteresis between landing and leaving)"
            )
        if self.body_delay_min >= self.body_delay_max:
            raise ConfigError(
                f"metrics.body_delay_min = {self.body_delay_min} must be < "
                f"metrics.body_delay_max = {self.body_delay_max}"
            )
        if self.swing_height <= self.contact_height:
            raise ConfigError(
                f"metrics.swing_height = {self.swing_height} must be > "
                f"metrics.contact_height = {self.contact_height}"
            )
