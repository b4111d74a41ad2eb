// Tests for MicroGossip live in the other files of this folder.
