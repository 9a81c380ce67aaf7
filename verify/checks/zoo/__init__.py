"""Checks of the optimizer zoo (issue #16): one module per family, each function returning list[CheckResult]."""
