"""Training configs (commented YAML), shipped as package data."""
