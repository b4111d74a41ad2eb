// Tests for MicroMDNS.
