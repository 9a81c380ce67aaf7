"""The hostile-input corpus of issue #21 and its runner.

``corpus.cases()`` is the list of hostile ``ldyn`` invocations, each with the outcome the issue's
rules demand ("bad": exit 2 and one ``ldyn: error:`` line; "ok": exit 0/1 and a report; ...);
``runner`` runs them as subprocesses against any checkout (``--pythonpath``) and classifies each
result: OK, traceback, hang, NaN, wrong exit, files.
"""
