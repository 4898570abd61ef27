"""Where an assignment's material lives (`assignment`) and the bundled sample classes (`samples`)."""
