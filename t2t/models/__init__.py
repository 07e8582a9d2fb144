"""Models: one family per module (transformer, lstm), built by name with `create_model`.

Importing this package imports no model module; the registry loads them on first lookup.
"""
