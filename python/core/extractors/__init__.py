"""Later 1.0 releases import the base class from here."""
