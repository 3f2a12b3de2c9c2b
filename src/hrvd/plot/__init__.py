"""Plots of a ride, the morning history and one morning (the optional ``plot`` extra)."""
