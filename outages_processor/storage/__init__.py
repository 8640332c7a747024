"""Local I/O: input files, atomic output files and the SQLite event store."""
