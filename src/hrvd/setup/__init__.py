"""Setting hrvd up.

`hrvd init` with its questions and config template, `hrvd install-service` and `hrvd doctor`.
"""
