"""The pure HRV core: artifacts, time-domain metrics, DFA alpha1, zones. numpy, no I/O."""
