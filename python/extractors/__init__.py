"""bronze-foundry 1.0's ``extractors`` package, as shipped with bronze-extract.

Only ``extractors.base.BaseExtractor`` is provided: the class 1.0's custom
extractors subclass. The built-in extractors (API, database, file) live in
bronze-extract itself.
"""
