"""Plain-numpy references of the metrics kernels (slow, obviously right)."""

from __future__ import annotations

import math

import numpy as np


def one_euro_filter(x, t, scale, min_cutoff, beta, d_cutoff, max_gap):
    """Casiez et al. (2012) One Euro filter; beta per (scale units)/s; NaN holds state."""
    out = np.empty(len(x))
    xh = dxh = tp = None
    for k in range(len(x)):
        if math.isnan(x[k]):
            out[k] = xh if xh is not None else np.nan
            continue
        if tp is None or t[k] - tp > max_gap or t[k] <= tp:
            xh, dxh, tp = x[k], 0.0, t[k]
            out[k] = xh
            continue
        dt = t[k] - tp

        def alpha(fc, dt=dt):
            tau = 1.0 / (2 * math.pi * fc)
            return 1.0 / (1.0 + tau / dt)

        dx = (x[k] - xh) / dt
        dxh = alpha(d_cutoff) * dx + (1 - alpha(d_cutoff)) * dxh
        a = alpha(min_cutoff + beta * abs(dxh) / scale)
        xh = a * x[k] + (1 - a) * xh
        tp = t[k]
        out[k] = xh
    return out


def quad_peak(tt, y, lo, hi, halfwin, sign):
    """Best sample in [lo, hi], refined by np.polyfit's parabola around it."""
    idx = [i for i in range(max(lo, 0), min(hi, len(y) - 1) + 1) if not math.isnan(y[i])]
    if not idx:
        return math.nan, math.nan
    best = max(idx, key=lambda i: sign * y[i])
    win = [i for i in range(max(best - halfwin, 0), min(best + halfwin, len(y) - 1) + 1)
           if not math.isnan(y[i])]
    if len(win) < 3:
        return y[best], tt[best]
    u = tt[win] - tt[best]
    c2, c1, c0 = np.polyfit(u, y[win], 2)
    if c2 * sign < 0:
        v = -c1 / (2 * c2)
        if abs(v) <= np.abs(u).max():
            return c0 + c1 * v + c2 * v * v, tt[best] + v
    return c0, tt[best]


def local_value(tt, y, t, halfwin):
    """np.polyfit parabola (line if < 4 samples) through the samples around t, at t."""
    k = int(np.searchsorted(tt, t, side="left"))
    win = [i for i in range(max(k - halfwin - 1, 0), min(k + halfwin, len(y) - 1) + 1)
           if not math.isnan(y[i])]
    if not win:
        return math.nan
    u = tt[win] - t
    if len(win) >= 4:
        return float(np.polyval(np.polyfit(u, y[win], 2), 0.0))
    if len(win) >= 2:
        return float(np.polyval(np.polyfit(u, y[win], 1), 0.0))
    return float(y[win[0]])


def swap_costs(obs, hist1, hist2, r):
    """Distances of observed L/R knee, ankle, heel and toe from constant-velocity
    predictions, as labelled and exchanged.  obs/hist: [12, 2] points."""
    pred = hist1 + (hist1 - hist2) * r
    keep = swap = 0.0
    m = 0
    for k in range(1, 5):
        pl, pr = 2 * k, 2 * k + 1
        q = np.concatenate([pred[pl], pred[pr], obs[pl], obs[pr]])
        if np.isnan(q).any():
            continue
        keep += np.linalg.norm(obs[pl] - pred[pl]) + np.linalg.norm(obs[pr] - pred[pr])
        swap += np.linalg.norm(obs[pr] - pred[pl]) + np.linalg.norm(obs[pl] - pred[pr])
        m += 1
    return keep, swap, m


def thigh_flexion_deg(hip, knee, facing):
    """Angle of hip->knee from the image's downward vertical, + when the knee is ahead."""
    d = knee - hip
    return np.degrees(np.arctan2(facing * d[..., 0], d[..., 1]))


def knee_flexion_deg(hip, knee, ankle):
    a = hip - knee
    b = ankle - knee
    c = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(c, -1, 1)))


def pelvic_drop_deg(stance_hip, swing_hip):
    """Hip line vs horizontal, + when the swing side is lower (image y down)."""
    return np.degrees(np.arctan2(swing_hip[..., 1] - stance_hip[..., 1],
                                 np.abs(swing_hip[..., 0] - stance_hip[..., 0])))


def window_max(t, y, t_now, window):
    """Max of y over samples with t_now - window <= t <= t_now (NaN if none finite)."""
    sel = (t >= t_now - window) & (t <= t_now) & ~np.isnan(y)
    return float(np.max(y[sel])) if sel.any() else math.nan


def raw_crossing(t, heel_y, toe_y, g_heel, g_toe, leg_len, thr, last=5):
    """Newest downward crossing of `thr` by min(heel, toe height above its floor)
    among the last `last` samples, linearly interpolated; NaN if none."""
    h = np.fmin((g_heel - heel_y) / leg_len, (g_toe - toe_y) / leg_len)
    n = len(t)
    for k in range(n - 1, max(n - last, 0), -1):
        if np.isnan(h[k]) or np.isnan(h[k - 1]):
            return math.nan
        if h[k - 1] >= thr > h[k]:
            return float(t[k - 1] + (t[k] - t[k - 1]) * (h[k - 1] - thr) / (h[k - 1] - h[k]))
    return math.nan


LM_INDEX = (23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 11, 12)


def condition_stream(lms, ts, w, h, minvis, maxgap, swap_ratio, max_swap_s):
    """The conditioning half of `frame_update`, frame by frame in plain numpy: visibility
    gating to pixels, usable-frame test, long-gap reset, L/R swap repair against
    constant-velocity track predictions.  Returns the ring rows [T, 27]:
    t, 24 x/y, mean leg visibility, valid."""
    rows = np.full((len(ts), 27), np.nan)
    h1 = h2 = None
    t1 = t2 = math.nan
    hist_n = 0
    swap_run = 0
    t_usable = math.nan
    gap_flag = False
    for i, t in enumerate(ts):
        lm = lms[i]
        raw = lm[list(LM_INDEX)]
        ok = ~np.isnan(raw[:, 0]) & ~np.isnan(raw[:, 1]) & (raw[:, 3] >= minvis)
        pts = np.where(ok[:, None], raw[:, :2] * np.array([w, h]), np.nan)
        vis = np.nan_to_num(raw[:10, 3]).sum() / 10
        has_pose = (~np.isnan(raw[:, 0])).any() or not math.isnan(lm[0, 0])
        hip_ok = not (np.isnan(pts[0, 0]) and np.isnan(pts[1, 0]))
        foot_ok = any(not (np.isnan(pts[6 + g, 1]) and np.isnan(pts[8 + g, 1])) for g in (0, 1))
        rows[i, 0] = t
        if not math.isnan(t_usable) and t - t_usable > maxgap and not gap_flag:
            gap_flag = True
            hist_n = 0
        if not (has_pose and hip_ok and foot_ok):
            rows[i, 25], rows[i, 26] = 0.0, 0.0
            continue
        gap_flag = False
        t_usable = t
        swapped = False
        if hist_n >= 2:
            r = (t - t1) / (t1 - t2) if t1 > t2 else 1.0
            keep, swap, m = swap_costs(pts, h1, h2, r)
            swapped = m >= 1 and swap < swap_ratio * keep
        if swapped:
            swap_run += 1
            if swap_run * (t - t1) > max_swap_s:
                swapped, swap_run = False, 0
        else:
            swap_run = 0
        if swapped:
            pts[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]] = pts[[1, 0, 3, 2, 5, 4, 7, 6, 9, 8]]
        r2 = (t - t1) / (t1 - t2) if (hist_n >= 2 and t1 > t2) else 0.0
        new = pts.copy()
        if hist_n >= 2:
            pred = h1 + (h1 - h2) * r2
            new = np.where(np.isnan(pts), pred, pts)
        h2 = h1 if h1 is not None else np.full((12, 2), np.nan)
        h1 = new
        t2, t1 = t1, t
        hist_n += 1
        rows[i, 1:25] = pts.ravel()
        rows[i, 25], rows[i, 26] = vis, 1.0
    return rows


def vertical_events(ring, fps_window, thr_ic, thr_raw, thr_to, min_swing, maxgap, scale_tau,
                    leg_ratio, h_img, offset=0.0):
    """The event half of `frame_update` for the rear view, in plain numpy, from the
    kernel's ring (t, conditioned x/y, valid, smoothed foot y): leg length as a running
    mean of hip-to-ankle distance, per-marker floors as the max over the last
    `fps_window` seconds, a contact when the smoothed height falls through `thr_ic`
    after a swing higher than `min_swing`, timed on the raw heights at `thr_raw`,
    toe-off at `thr_to`.  Returns [(kind, leg, t)]."""
    T = ring.shape[0]
    t = ring[:, 0]
    xy = ring[:, 1:25].reshape(T, 12, 2)
    valid = ring[:, 26] == 1.0
    smy = ring[:, 27:31]  # heel L, heel R, toe L, toe R
    out = []
    leg2d = math.nan
    cnt = 0
    t_last = math.nan
    t_first = t[0] if T else math.nan
    t_usable = math.nan
    phase = [0, 0]
    swmax = [math.nan, math.nan]
    hp = [math.nan, math.nan]
    tp = [math.nan, math.nan]
    gap_done = False
    for i in range(T):
        if not math.isnan(t_usable) and t[i] - t_usable > maxgap and not gap_done:
            gap_done = True
            phase = [0, 0]
            out.append(("BREAK", 0, t_usable))
        if not valid[i]:
            t_last = t[i]
            continue
        gap_done = False
        t_usable = t[i]
        dt = t[i] - t_last if not math.isnan(t_last) else 0.0
        cnt += 1
        a = max(1.0 / cnt, dt / scale_tau)
        d = np.nanmean([np.hypot(*(xy[i, g] - xy[i, 4 + g])) for g in (0, 1)
                        if not np.isnan(xy[i, g]).any() and not np.isnan(xy[i, 4 + g]).any()]
                       or [math.nan])
        if not math.isnan(d) and d > 0:
            if math.isnan(leg2d):
                leg2d = d
            elif d < 1.6 * leg2d:
                leg2d += a * (d - leg2d)
        leg = leg2d / leg_ratio if not math.isnan(leg2d) else 0.4 * h_img
        t_last = t[i]
        win = slice(int(np.searchsorted(t[: i + 1], t[i] - fps_window, side="left")), i + 1)
        for g in (0, 1):
            hh = math.inf
            floors = [math.nan, math.nan]
            for k2 in (0, 1):
                fy = smy[i, 2 * k2 + g]
                if math.isnan(fy):
                    continue
                col = smy[win, 2 * k2 + g]
                fl = np.nanmax(col) if (~np.isnan(col)).any() else math.nan
                if t[i] - t_first < fps_window:
                    co = smy[win, 2 * k2 + 1 - g]
                    fo = np.nanmax(co) if (~np.isnan(co)).any() else math.nan
                    if fo > fl:
                        fl = fo
                floors[k2] = fl
                hh = min(hh, (fl - fy) / leg)
            if hh == math.inf:
                continue
            if hh < -3.0 * thr_ic:
                phase[g] = 0
            if phase[g] == 0:
                if hh > min_swing:
                    phase[g], swmax[g] = 2, hh
                elif hh < thr_ic:
                    phase[g] = 1
            elif phase[g] == 1:
                if hh > thr_to and not math.isnan(hp[g]) and hp[g] <= thr_to:
                    te = tp[g] + (t[i] - tp[g]) * (thr_to - hp[g]) / (hh - hp[g])
                    phase[g], swmax[g] = 2, hh
                    out.append(("TO", g, te))
            else:
                swmax[g] = max(swmax[g], hh)
                if hh < thr_ic and not math.isnan(hp[g]) and hp[g] >= thr_ic:
                    phase[g] = 1
                    if swmax[g] > min_swing:
                        te = tp[g] + (t[i] - tp[g]) * (hp[g] - thr_ic) / (hp[g] - hh)
                        lo = max(0, i - 4)
                        tc = raw_crossing(t[lo:i + 1], xy[lo:i + 1, 6 + g, 1],
                                          xy[lo:i + 1, 8 + g, 1], floors[0], floors[1], leg,
                                          thr_raw)
                        out.append(("IC", g, (te if math.isnan(tc) else tc) + offset))
            hp[g], tp[g] = hh, t[i]
    return out


def side_hybrid_events(ring, fps_window, thr_ic, thr_raw, thr_to, min_swing, maxgap,
                       scale_tau, h_img, hyst, gate, min_step, offset=0.0, hidden_ratio=0.0):
    """`vertical_events` plus the side view's fore-aft tracker (plain numpy): a
    median-of-3 of facing * (ankle - mid-hip) / leg, extremes found with hysteresis and
    refined by a parabola; height contacts accepted only in the front part of the
    ankle's excursion and not twice within 2 * min_step; strides without one filled in at
    the extreme + the learned delay.  A leg whose mean stance (height contact to its first
    toe-off, 0.3-weighted) is below `hidden_ratio` times the other's, once the other has
    two delay pairs, is hidden: its height contacts are not emitted; every stride's
    contact is the extreme + the other leg's delay (averaged with its own height contact
    minus its own learned delay when there is one).  `ring` must carry the facing column."""
    T = ring.shape[0]
    t = ring[:, 0]
    xy = ring[:, 1:25].reshape(T, 12, 2)
    valid = ring[:, 26] == 1.0
    smy = ring[:, 27:31]
    facing_col = ring[:, 31]
    out = []
    leg2d = math.nan
    cnt = 0
    t_last = math.nan
    t_first = t[0] if T else math.nan
    t_usable = math.nan
    phase = [0, 0]
    swmax = [math.nan] * 2
    hp = [math.nan] * 2
    tp = [math.nan] * 2
    gap_done = False
    # tracker state per leg
    H = [dict(phase=0, ext=math.nan, ext_t=math.nan, ext_prev=math.nan, ext_next=math.nan,
              fprev=math.nan, tprev=math.nan, fwd=math.nan, back=math.nan, off=0.0,
              vdone=False, npair=0, raw1=math.nan, raw2=math.nan, traw1=math.nan,
              v_last=math.nan, last_emit=math.nan, stance=math.nan, last_to=math.nan)
         for _ in (0, 1)]

    def hidden(g):
        s_, o_ = H[g], H[1 - g]
        return (not math.isnan(s_["stance"]) and not math.isnan(o_["stance"])
                and s_["stance"] < hidden_ratio * o_["stance"] and o_["npair"] >= 2)

    for i in range(T):
        if not math.isnan(t_usable) and t[i] - t_usable > maxgap and not gap_done:
            gap_done = True
            phase = [0, 0]
        if not valid[i]:
            t_last = t[i]
            continue
        gap_done = False
        t_usable = t[i]
        dt = t[i] - t_last if not math.isnan(t_last) else 0.0
        cnt += 1
        a = max(1.0 / cnt, dt / scale_tau)
        d = np.nanmean([np.hypot(*(xy[i, g] - xy[i, 4 + g])) for g in (0, 1)
                        if not np.isnan(xy[i, g]).any() and not np.isnan(xy[i, 4 + g]).any()]
                       or [math.nan])
        if not math.isnan(d) and d > 0:
            if math.isnan(leg2d):
                leg2d = d
            elif d < 1.6 * leg2d:
                leg2d += a * (d - leg2d)
        leg = leg2d if not math.isnan(leg2d) else 0.4 * h_img
        t_last = t[i]
        facing = facing_col[i]
        hybrid = facing != 0.0
        if hybrid:
            hips = [xy[i, g, 0] for g in (0, 1) if not math.isnan(xy[i, g, 0])]
            hx = (hips[0] + hips[1]) / 2 if len(hips) == 2 else (hips[0] if hips else math.nan)
            for g in (0, 1):
                s = H[g]
                fr = facing * (xy[i, 4 + g, 0] - hx) / leg
                if math.isnan(fr):
                    continue
                r1, r2, t1 = s["raw1"], s["raw2"], s["traw1"]
                s["raw2"], s["raw1"], s["traw1"] = r1, fr, t[i]
                if math.isnan(r1) or math.isnan(r2):
                    continue
                f = float(np.median([r2, r1, fr]))
                tm = t1
                fp, tpv = s["fprev"], s["tprev"]
                if s["ext_t"] == tpv:
                    s["ext_next"] = f
                sgn = 1.0 if s["phase"] != 1 else -1.0
                if s["phase"] == 0:
                    s.update(phase=2, ext=f, ext_t=tm, ext_prev=math.nan)
                elif sgn * f > sgn * s["ext"]:
                    s.update(ext=f, ext_t=tm, ext_prev=fp)
                elif sgn * (s["ext"] - f) > hyst:
                    te = s["ext_t"]
                    f0, fm, fn = s["ext"], s["ext_prev"], s["ext_next"]
                    if not (math.isnan(fm) or math.isnan(fn) or math.isnan(tpv)):
                        den = fm - 2 * f0 + fn
                        if den * sgn < 0:
                            te += float(np.clip(0.5 * (fm - fn) / den, -0.5, 0.5)) * (tm - tpv)
                    if s["phase"] != 1:
                        s["fwd"] = f0 if math.isnan(s["fwd"]) else s["fwd"] + 0.3 * (f0 - s["fwd"])
                        if s["vdone"]:
                            dd = s["v_last"] - te
                            if abs(dd) < 0.15:
                                s["npair"] += 1
                                s["off"] += max(0.2, 1.0 / s["npair"]) * (dd - s["off"])
                        o_ = H[1 - g]
                        # the delay of the leg with more pairs (this one's from two on)
                        own, oth = s["npair"], o_["npair"]
                        off = s["off"] if (own >= 2 or own >= oth) else o_["off"]
                        hid = hidden(g)
                        if hid:
                            off = o_["off"]
                        if (not s["vdone"] or hid) and max(own, oth) >= 1:
                            tc = te + off
                            vl = s["v_last"]
                            if hid and s["vdone"] and own >= 2 and abs(vl - te) < 0.15:
                                tc = 0.5 * (tc + vl - (s["off"] - off))
                            le = s["last_emit"]
                            if math.isnan(le) or tc - le >= 2 * min_step:
                                s["last_emit"] = tc
                                out.append(("IC", g, tc))
                        s["vdone"] = False
                        s["phase"] = 1
                    else:
                        bk = s["back"]
                        s["back"] = f0 if math.isnan(bk) else bk + 0.3 * (f0 - bk)
                        s["phase"] = 2
                    s.update(ext=f, ext_t=tm, ext_prev=fp)
                s["fprev"], s["tprev"] = f, tm
        win = slice(int(np.searchsorted(t[: i + 1], t[i] - fps_window, side="left")), i + 1)
        for g in (0, 1):
            s = H[g]
            hh = math.inf
            floors = [math.nan, math.nan]
            for k2 in (0, 1):
                fy = smy[i, 2 * k2 + g]
                if math.isnan(fy):
                    continue
                col = smy[win, 2 * k2 + g]
                fl = np.nanmax(col) if (~np.isnan(col)).any() else math.nan
                if t[i] - t_first < fps_window:
                    co = smy[win, 2 * k2 + 1 - g]
                    fo = np.nanmax(co) if (~np.isnan(co)).any() else math.nan
                    if fo > fl:
                        fl = fo
                floors[k2] = fl
                hh = min(hh, (fl - fy) / leg)
            if hh == math.inf:
                continue
            if hh < -3.0 * thr_ic:
                phase[g] = 0
            if phase[g] == 0:
                if hh > min_swing:
                    phase[g], swmax[g] = 2, hh
                elif hh < thr_ic:
                    phase[g] = 1
            elif phase[g] == 1:
                if hh > thr_to and not math.isnan(hp[g]) and hp[g] <= thr_to:
                    te = tp[g] + (t[i] - tp[g]) * (thr_to - hp[g]) / (hh - hp[g])
                    phase[g], swmax[g] = 2, hh
                    vl, lt = s["v_last"], s["last_to"]
                    s["last_to"] = te
                    if (hybrid and not math.isnan(vl) and 0.25 * min_step < te - vl < 4 * min_step
                            and not lt >= vl):
                        st_ = s["stance"]
                        s["stance"] = te - vl if math.isnan(st_) else st_ + 0.3 * (te - vl - st_)
                    out.append(("TO", g, te))
            else:
                swmax[g] = max(swmax[g], hh)
                if hh < thr_ic and not math.isnan(hp[g]) and hp[g] >= thr_ic:
                    phase[g] = 1
                    if swmax[g] > min_swing:
                        te = tp[g] + (t[i] - tp[g]) * (hp[g] - thr_ic) / (hp[g] - hh)
                        lo = max(0, i - 4)
                        tc = raw_crossing(t[lo:i + 1], xy[lo:i + 1, 6 + g, 1],
                                          xy[lo:i + 1, 8 + g, 1], floors[0], floors[1], leg,
                                          thr_raw)
                        te = (te if math.isnan(tc) else tc) + offset
                        emit = True
                        if hybrid:
                            ok = True
                            if not (math.isnan(s["fwd"]) or math.isnan(s["back"])
                                    or math.isnan(s["fprev"])):
                                ok = s["fprev"] >= s["back"] + gate * (s["fwd"] - s["back"])
                            if not math.isnan(s["v_last"]) and te - s["v_last"] < 2 * min_step:
                                ok = False
                            if ok:
                                s["v_last"], s["vdone"] = te, True
                            le = s["last_emit"]
                            emit = ok and not hidden(g) and not (
                                not math.isnan(le) and te - le < 2 * min_step)
                        if emit:
                            s["last_emit"] = te
                            out.append(("IC", g, te))
            hp[g], tp[g] = hh, t[i]
    return out
