"""Input formats, one module each, all producing a :class:`~nixgen.inputs.model.RequirementSet`.

``requirements_txt`` (pip's requirements file format), ``pyproject`` (PEP 621, PEP 735), ``lockfiles`` (uv.lock,
poetry.lock); ``detect`` picks one by file name. nixgen's own PEP 751 lock is read by :mod:`nixgen.lock`.
"""
