"""Experimental model families (T2T's `models/research`): a lower bar, same conventions."""
