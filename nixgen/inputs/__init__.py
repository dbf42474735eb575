"""Input formats, one module each, all producing a :class:`~nixgen.inputs.model.RequirementSet`.

``requirements_txt`` (pip's requirements file format), ``pyproject`` (PEP 621, PEP 735), ``lockfiles`` (uv.lock,
poetry.lock), ``pylock`` (PEP 751, nixgen's own lock); ``detect`` picks one by file name.
"""
