"""SPF: reading a record and its includes (record), evaluating it for the gateway's ranges
(evaluate, with pyspf), and the outbound.spf check (outbound)."""
