"""Models: one family per module (transformer, lstm), built by name with `t2t.create_model`
(`t2t.runs.build`). A family with fast decoding implements the decoding protocol
(`t2t.decode.protocol`): `init_decode_states` and `decode_step`.

Importing this package imports no model module; the registry loads them on first lookup.
"""
