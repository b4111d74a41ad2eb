// Tests for MicroConsul.
