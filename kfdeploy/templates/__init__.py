"""Starter specs written by ``kfdeploy init``."""
