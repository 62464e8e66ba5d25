"""Imports the modules that register non-synthetic tasks (their configs and trainers)."""
