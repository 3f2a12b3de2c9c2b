import json

import pytest

from hrvd.publish import topics


def test_strap_topics_follow_the_contract():
    assert topics.availability("hrvd", "h10") == "hrvd/h10/availability"
    assert topics.link("hrvd", "h10") == "hrvd/h10/link"
    assert topics.state("hrvd", "h10") == "hrvd/h10/state"
    assert topics.alert("hrvd", "h10") == "hrvd/h10/alert"
    assert topics.ride("hrvd", "h10") == "hrvd/h10/ride"
    assert topics.session("hrvd", "h10") == "hrvd/h10/session"


def test_daemon_topics_follow_the_contract():
    assert topics.status("hrvd") == "hrvd/status"
    assert topics.morning("hrvd") == "hrvd/morning"
    assert topics.readiness("hrvd") == "hrvd/readiness"
    assert topics.cmd_morning("hrvd") == "hrvd/cmd/morning"
    assert topics.cmd_ride("hrvd") == "hrvd/cmd/ride"
    assert topics.ha_status("homeassistant") == "homeassistant/status"


def test_a_strap_name_and_its_slug_give_the_same_topic():
    assert topics.state("hrvd", "H10 Garage") == topics.state("hrvd", "h10_garage")
    assert topics.state("hrvd", "Polar H10-Ä") == "hrvd/polar_h10__/state"


def test_the_base_topic_is_configurable_and_may_have_levels():
    assert topics.alert("home/coach", "h10") == "home/coach/h10/alert"
    assert topics.cmd_ride("home/coach") == "home/coach/cmd/ride"


def test_every_topic_of_a_strap_is_distinct_and_under_the_base():
    strap = topics.strap_topics("hrvd", "h10")
    assert len(set(strap)) == len(strap) == 6
    assert all(t.startswith("hrvd/h10/") for t in strap)
    daemon = topics.daemon_topics("hrvd")
    assert len(set(daemon)) == len(daemon)
    assert not set(strap) & set(daemon)


@pytest.mark.parametrize("action", ["start", "stop"])
def test_the_ride_command_is_compact_json_naming_the_strap_by_slug(action):
    payload = topics.ride_command("H10 Garage", action)
    assert json.loads(payload) == {"strap": "h10_garage", "action": action}
    assert " " not in payload
