"""The real parts around hrvd that tests and benchmarks both run against.

One implementation of each, typed and checked by ``mypy --strict``:

* :mod:`harness.dbus`: a private ``dbus-daemon`` (never the host's system bus);
* :mod:`harness.fake_bluez`: a fake BlueZ on that bus, serving fake heart-rate straps
  its layers are ``harness.fake_bluez_objects``, ``_gatt``, ``_device`` and ``_strap``;
* :mod:`harness.mosquitto`: a real mosquitto on a free loopback port;
* :mod:`harness.daemon`: ``hrvd run`` as a process of its own, and its config
  (:func:`harness.daemon.write_config`);
* :mod:`harness.subscriber`: an MQTT subscriber that records what arrives;
* :mod:`harness.process`: a child that dies with its parent, and a clean stop;
* :mod:`harness.machine`: the machine a benchmark ran on.

Tests import it as ``harness`` (pytest puts ``tests/`` on ``sys.path``); benchmarks import
``bench/harness_path.py`` first, which does the same for them.
"""
