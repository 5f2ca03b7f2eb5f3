"""Metering, rating and invoices: every GPU-second that runs, priced against its contract, to the cent."""
