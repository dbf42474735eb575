"""Input formats, one module each: pip's requirements files and nixgen's own PEP 751 locks."""
