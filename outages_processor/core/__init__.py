"""Pure calculations: filtering outages, business hours, uptime and events. No I/O, no clock."""
