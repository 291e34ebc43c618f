"""Telling people what happened: the messaging channel (e-mail, SMS, the dev outbox)."""
