"""Pure value helpers: fixed-width types and hex codecs. No I/O."""
