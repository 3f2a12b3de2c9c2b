"""Heart-rate zones: five zones from %HRmax, heart-rate reserve (Karvonen) or LTHR.

Zone 1 is recovery; its top is the default ceiling of a recovery ride. Each model's
boundaries are the lower edges of zones 2-5:

* ``hrmax``: 60/70/80/90 % of HRmax, the common five-zone %HRmax model (zone 1 50-60 %).
* ``hrr``: HRrest + 40/60/75/90 % of (HRmax - HRrest). Zone 1 covers the ACSM's "very
  light" and "light" intensities (< 40 % HRR), zone 2 its "moderate" (40-59 %)
  (Garber et al. 2011, Med Sci Sports Exerc 43(7):1334-1359); splitting "vigorous" at
  75 % is this project's choice.
* ``lthr``: 69/84/95/106 % of LTHR, Coggan's heart-rate levels (active recovery < 68 %,
  endurance 69-83 %, tempo 84-94 %, threshold 95-105 %; Allen & Coggan).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import StrEnum


class ZoneModel(StrEnum):
    """How zone boundaries are derived from the athlete's numbers."""

    HRMAX = "hrmax"
    HRR = "hrr"
    LTHR = "lthr"


ZONE_NAMES = ("recovery", "endurance", "tempo", "threshold", "maximal")
_FRACTIONS = {
    ZoneModel.HRMAX: (0.60, 0.70, 0.80, 0.90),
    ZoneModel.HRR: (0.40, 0.60, 0.75, 0.90),
    ZoneModel.LTHR: (0.69, 0.84, 0.95, 1.06),
}


@dataclass(frozen=True, slots=True)
class Zone:
    """One heart-rate zone: its number (1-5) and name."""

    number: int
    name: str


@dataclass(frozen=True, slots=True)
class Zones:
    """The lower edges of zones 2-5, bpm, for one athlete."""

    model: ZoneModel
    lower_bpm: tuple[float, float, float, float]

    @property
    def recovery_ceiling_bpm(self) -> float:
        """Top of zone 1, bpm: the default ceiling of a recovery ride."""
        return self.lower_bpm[0]

    def zone(self, hr_bpm: float) -> Zone:
        """The zone of a heart rate, bpm."""
        number = bisect.bisect_right(self.lower_bpm, hr_bpm) + 1
        return Zone(number, ZONE_NAMES[number - 1])


def zones_for(
    model: ZoneModel,
    *,
    hr_max: float | None = None,
    hr_rest: float | None = None,
    lthr: float | None = None,
) -> Zones:
    """Zone boundaries from the athlete's heart rates, bpm.

    Raises:
        ValueError: a number the model needs is missing, or they are inconsistent.
    """
    fractions = _FRACTIONS[model]
    if model is ZoneModel.LTHR:
        if not lthr or lthr <= 0:
            raise ValueError("zones 'lthr' need a positive lthr")
        edges = tuple(f * lthr for f in fractions)
    elif model is ZoneModel.HRMAX:
        if not hr_max or hr_max <= 0:
            raise ValueError("zones 'hrmax' need a positive hr_max")
        edges = tuple(f * hr_max for f in fractions)
    else:
        if not hr_max or not hr_rest or not 0 < hr_rest < hr_max:
            raise ValueError("zones 'hrr' need hr_rest and hr_max with 0 < hr_rest < hr_max")
        edges = tuple(hr_rest + f * (hr_max - hr_rest) for f in fractions)
    return Zones(model, (edges[0], edges[1], edges[2], edges[3]))
