import pytest

from hrvd.hrv.zones import ZoneModel, zones_for


def test_lthr_zones_follow_coggan_and_zone1_top_is_68_percent():
    z = zones_for(ZoneModel.LTHR, lthr=170)
    assert z.recovery_ceiling_bpm == pytest.approx(0.69 * 170)
    assert z.zone(110).number == 1
    assert z.zone(110).name == "recovery"
    assert z.zone(130).number == 2
    assert z.zone(170).number == 4
    assert z.zone(185).number == 5


def test_hrr_zones_use_karvonen():
    z = zones_for(ZoneModel.HRR, hr_max=190, hr_rest=50)
    assert z.recovery_ceiling_bpm == pytest.approx(50 + 0.40 * 140)
    assert [z.zone(hr).number for hr in (100, 120, 145, 165, 185)] == [1, 2, 3, 4, 5]


def test_hrmax_zones_and_boundaries_belong_to_the_upper_zone():
    z = zones_for(ZoneModel.HRMAX, hr_max=200)
    assert z.lower_bpm == pytest.approx((120, 140, 160, 180))
    assert z.zone(119.9).number == 1
    assert z.zone(120).number == 2


@pytest.mark.parametrize(
    ("model", "kwargs"),
    [
        (ZoneModel.LTHR, {}),
        (ZoneModel.HRMAX, {"hr_max": 0}),
        (ZoneModel.HRR, {"hr_max": 150, "hr_rest": 160}),
    ],
)
def test_missing_or_inconsistent_numbers_are_refused(model, kwargs):
    with pytest.raises(ValueError, match="need"):
        zones_for(model, **kwargs)
