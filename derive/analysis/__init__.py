"""Analyses that apply across rules: modified equations (backward error analysis), the limits and
tuning of momentum methods, Lyapunov functions, the dynamics of adaptive methods."""
