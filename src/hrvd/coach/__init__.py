"""The coaches: recovery ride and morning readiness (pure)."""
