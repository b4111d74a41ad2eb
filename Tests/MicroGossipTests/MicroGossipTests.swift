// Tests for MicroGossip.
