"""Talking to Kubernetes: pure cores (ordering, health, diff) and the apply engine built on them."""
