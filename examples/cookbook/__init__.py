"""The jobframe cookbook: one small, runnable recipe per common use of background jobs.

Run one from the ``examples/`` folder with ``python -m cookbook RECIPE`` (see README.md). Each
recipe module holds its job classes and a ``run(sandbox)`` that enqueues them into a SQLite file,
runs a real ``jobframe work`` on it and prints what happened. The worker imports the same module
(``jobframe work cookbook.RECIPE``), which is why recipes live in a package and are never run as
``__main__``: a job class is known to workers by its module path.
"""
