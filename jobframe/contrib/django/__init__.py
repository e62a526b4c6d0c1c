"""Django integration (``jobframe[django]``, Django 5.2 LTS and 6.x).

Add ``"jobframe.contrib.django"`` to ``INSTALLED_APPS`` and configure jobframe in
``settings.JOBFRAME`` (the same keys as ``[tool.jobframe]``). See ``docs/django.md``.
"""
