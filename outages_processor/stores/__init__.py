"""Where things are kept: the SQLite event store and output files written atomically."""
