"""The spike rule (研判预警): does a week draw more complaints than its recent past allows?

Pure: weekly counts in, alerts out; no Flask, no database.

The rule, for week t of a series of weekly counts:
- baseline: the mean λ of the BASELINE_WEEKS weeks before t (never below MIN_BASELINE, so a
  key that had no complaints still needs several to alert);
- the week is high when its count x is at least MIN_COUNT and a one-sided Poisson test
  rejects "x comes from λ" at ALPHA: P(X >= x | λ) < ALPHA;
- episodes: the first high week raises an alert; the weeks after it belong to the same
  episode, and raise nothing, until COOLDOWN_WEEKS weeks in a row are not high. During an
  episode the baseline stays the one from before it, so a lasting rise is not absorbed into
  its own baseline and forgotten.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BASELINE_WEEKS = 8
MIN_COUNT = 5
ALPHA = 0.001
MIN_BASELINE = 0.5
COOLDOWN_WEEKS = 2
RULE = (f"Poisson P(X>=x|mean of previous {BASELINE_WEEKS} weeks) < {ALPHA}, x >= {MIN_COUNT}; "
        f"one alert per episode (ends after {COOLDOWN_WEEKS} normal weeks)")


@dataclass(frozen=True)
class Spike:
    week: int               # index in the series of the first high week of the episode
    observed: int
    baseline_mean: float
    p_value: float


def poisson_tail(x: int, mean: float) -> float:
    """P(X >= x) for X ~ Poisson(mean)."""
    if x <= 0:
        return 1.0
    term = math.exp(-mean)
    below = term
    for k in range(1, x):
        term *= mean / k
        below += term
    return max(0.0, 1.0 - below)


def is_high(count: int, baseline_mean: float) -> tuple[bool, float]:
    """(high, p-value) of one week's count against a baseline mean."""
    p = poisson_tail(count, max(baseline_mean, MIN_BASELINE))
    return count >= MIN_COUNT and p < ALPHA, p


@dataclass(frozen=True)
class Episode:
    """A run of high weeks and the weeks that belong to it: its alert, its last high week so
    far, and whether COOLDOWN_WEEKS normal weeks have ended it within the series."""

    spike: Spike
    last_high: int          # index of the episode's last high week
    ended: bool


def episodes(series: Sequence[int]) -> list[Episode]:
    """Every episode in a series of weekly counts, oldest first."""
    found: list[Episode] = []
    episode_baseline: float | None = None
    normal_run = 0
    for t in range(BASELINE_WEEKS, len(series)):
        if episode_baseline is None:
            mean = sum(series[t - BASELINE_WEEKS:t]) / BASELINE_WEEKS
        else:
            mean = episode_baseline
        high, p = is_high(series[t], mean)
        if episode_baseline is None:
            if high:
                found.append(Episode(Spike(t, series[t], mean, p), t, False))
                episode_baseline, normal_run = mean, 0
            continue
        if high:
            normal_run = 0
            found[-1] = Episode(found[-1].spike, t, False)
        else:
            normal_run += 1
        if normal_run >= COOLDOWN_WEEKS:
            found[-1] = Episode(found[-1].spike, found[-1].last_high, True)
            episode_baseline = None
    return found


def scan(series: Sequence[int]) -> list[Spike]:
    """Every episode's alert in a series of weekly counts, oldest first."""
    return [episode.spike for episode in episodes(series)]


def current_episode(series: Sequence[int]) -> Episode | None:
    """The episode the last week of the series belongs to (high, or within COOLDOWN_WEEKS
    of its last high week), if any: what the daily job raises or extends."""
    found = episodes(series)
    return found[-1] if found and not found[-1].ended else None


def latest_alert(series: Sequence[int]) -> Spike | None:
    """The alert the last week of the series raises, if it starts an episode; None when the
    week is normal or continues an episode already alerted (the daily job's question)."""
    spikes = scan(series)
    return spikes[-1] if spikes and spikes[-1].week == len(series) - 1 else None
