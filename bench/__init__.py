"""Benchmarks of the real bot against the fake Telegram and Twilio servers on 127.0.0.1."""
