"""``eldercare``: the operator's command line (migrations, log verification, projection
rebuilds, parked and unroutable events, the demo county)."""
