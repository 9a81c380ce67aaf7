"""Matplotlib with the non-interactive Agg backend, imported only when a figure is drawn."""


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
