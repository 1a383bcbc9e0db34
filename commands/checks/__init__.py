"""The checks: the service that plans and runs them (service), the result contract every
check keeps (result), and the checks by kind: dns/, spf/, probes/ (SMTP, POP, the firewall),
directory/ (LDAP)."""
