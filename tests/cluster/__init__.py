"""Integration tests against the real local control plane (kwok platform)."""
