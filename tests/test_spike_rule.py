"""The spike rule on synthetic weekly series: quiet on noise, an alert on a planted rise,
one alert per episode, a new one for a new episode."""

from __future__ import annotations

import math
import random

from pledge_registry.analysis import spike_rule
from pledge_registry.analysis.spike_rule import latest_alert, poisson_tail, scan


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's Poisson sampler (means here stay small)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def test_poisson_tail():
    assert poisson_tail(0, 3.0) == 1.0
    assert abs(poisson_tail(1, 2.0) - (1 - math.exp(-2))) < 1e-12
    assert abs(poisson_tail(3, 1.0) - (1 - math.exp(-1) * 2.5)) < 1e-12


def test_no_alert_on_noise():
    rng = random.Random(20261202)
    weeks_tested = alerts = 0
    for _ in range(2000):
        mean = rng.uniform(0.5, 25)
        series = [_poisson(rng, mean) for _ in range(60)]
        alerts += len(scan(series))
        weeks_tested += len(series) - spike_rule.BASELINE_WEEKS
    # Stable noise: the weekly false-alarm rate stays of the order of the test's level.
    assert alerts / weeks_tested < 5 * spike_rule.ALPHA, (alerts, weeks_tested)


def test_alert_on_a_planted_rise():
    rng = random.Random(7)
    for mean in (2, 6, 15):
        quiet = [_poisson(rng, mean) for _ in range(30)]
        risen = quiet + [_poisson(rng, mean * 4 + 6) for _ in range(4)]
        spikes = scan(risen)
        assert [s.week for s in spikes] == [30], (mean, risen)
        assert spikes[0].observed == risen[30] and spikes[0].p_value < spike_rule.ALPHA


def test_one_alert_per_episode():
    series = [3] * 10 + [20, 22, 25, 30]          # a rise that lasts four weeks
    assert [s.week for s in scan(series)] == [10]
    assert latest_alert(series[:11]) is not None   # the first high week alerts ...
    assert latest_alert(series) is None            # ... the later ones belong to it
    # Back to normal for long enough, then a new rise: a new episode.
    again = series + [3] * 10 + [25]
    assert [s.week for s in scan(again)] == [10, len(again) - 1]


def test_a_minimum_count():
    # From nothing to four complaints is very unlikely under the floor baseline, but too few.
    assert scan([0] * 8 + [4]) == []
    assert [s.week for s in scan([0] * 8 + [5])] == [8]


def test_an_episode_runs_until_enough_normal_weeks():
    from pledge_registry.analysis.spike_rule import current_episode, episodes

    rise = [3] * 10 + [20, 22]
    [episode] = episodes(rise)
    assert (episode.spike.week, episode.last_high, episode.ended) == (10, 11, False)
    # One normal week: still the same episode, the daily job's current one, with nothing new.
    assert current_episode([*rise, 3]) == episodes([*rise, 3])[0]
    assert current_episode([*rise, 3]).last_high == 11
    # A high week after one normal week extends it, and raises nothing.
    assert [e.last_high for e in episodes([*rise, 3, 25])] == [13]
    assert len(scan([*rise, 3, 25])) == 1
    # COOLDOWN_WEEKS normal weeks end it: no current episode.
    ended = rise + [3] * spike_rule.COOLDOWN_WEEKS
    assert episodes(ended)[0].ended and current_episode(ended) is None


def test_the_baseline_stays_the_one_before_the_rise():
    """A lasting rise is not absorbed into its own baseline: weeks later it is still high
    against the old normal, and still the same episode."""
    from pledge_registry.analysis.spike_rule import episodes

    lasting = [2] * 8 + [15] * 20
    [episode] = episodes(lasting)
    assert episode.spike.baseline_mean == 2 and episode.last_high == len(lasting) - 1 and not episode.ended


def test_after_an_episode_ends_the_usual_weeks_raise_nothing():
    """After an episode ends the baseline is the trailing mean again (the high week in it
    lifts it a little), and ordinary weeks raise nothing more."""
    series = [2] * 8 + [14] + [2, 2] + [3, 2, 4, 3, 2, 3, 4, 3, 2, 3]
    assert [s.week for s in scan(series)] == [8]
