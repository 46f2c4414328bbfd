"""The postman: claims L1→L2 and L2→L1 messages whose fee pays for the claim (Linea's postman, spec §7)."""
