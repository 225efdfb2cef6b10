"""Stand-ins for AWS on loopback, for tests, benchmarks and scripts/load.py: development only.

Nothing in the app imports them, and the Lambda zip leaves them out (zappa_settings.json "exclude").
"""
