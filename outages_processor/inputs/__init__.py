"""File readers: CSV tables, the status file (byte ranges), business hours, time zones and
event records, each with ``file:line`` errors and rejects."""
